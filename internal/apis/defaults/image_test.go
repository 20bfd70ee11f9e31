package defaults

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestImagePullPolicy(t *testing.T) {
	sha256 := "sha256:" + strings.Repeat("ab", 32)
	always, ifNotPresent := corev1.PullAlways, corev1.PullIfNotPresent
	tests := []struct {
		image string
		want  corev1.PullPolicy
	}{
		// No tag and no digest means :latest.
		{"nginx", always},
		{"nginx:latest", always},
		{"library/nginx", always},
		{"docker.io/library/nginx", always},
		{"index.docker.io/nginx", always},
		{"gcr.io/project/img", always},
		{"localhost/busybox", always},
		{"localhost:5000/busybox", always}, // the port is not a tag
		{"[::1]:5000/busybox", always},
		{"Registry.Example.com/team/app", always}, // hosts may be upper case
		{"example.com/" + strings.Repeat("a", 255), always},

		// Tagged or pinned by digest.
		{"nginx:1.27", ifNotPresent},
		{"nginx:LATEST", ifNotPresent}, // tags are case sensitive
		{"nginx@" + sha256, ifNotPresent},
		{"nginx:1.27@" + sha256, ifNotPresent},
		{"localhost:5000/busybox:1", ifNotPresent},
		{"[::1]:5000/busybox:v1", ifNotPresent},
		{"registry.k8s.io/pause:3.10", ifNotPresent},

		// A tag and a digest together keep the tag.
		{"nginx:latest@" + sha256, always},
		{"nginx:latest@sha512:" + strings.Repeat("0", 128), always},

		// References that do not parse have no tag, hence IfNotPresent.
		{"", ifNotPresent},
		{"Nginx", ifNotPresent},
		{"foo/Bar", ifNotPresent},
		{"nginx:", ifNotPresent},
		{"nginx:latest@sha256:abc", ifNotPresent}, // digest too short
		{"nginx:latest@sha256:" + strings.Repeat("AB", 32), ifNotPresent}, // upper-case hex
		{"nginx:latest@md5:" + strings.Repeat("a", 32), ifNotPresent},     // unsupported algorithm
		{"nginx:latest@sha256:" + strings.Repeat("a", 63), ifNotPresent},  // wrong length
		{strings.Repeat("ab", 32), ifNotPresent},                          // an image ID
		{"example.com/" + strings.Repeat("a", 256), ifNotPresent},         // path too long
		{"nginx:" + strings.Repeat("t", 129), ifNotPresent},               // tag too long
		{"nginx@@" + sha256, ifNotPresent},
		{"-nginx", ifNotPresent},
	}
	for _, tt := range tests {
		if got := ImagePullPolicy(tt.image); got != tt.want {
			t.Errorf("ImagePullPolicy(%q) = %s, want %s", tt.image, got, tt.want)
		}
	}
}
