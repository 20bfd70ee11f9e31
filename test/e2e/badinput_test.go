package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestBadInputGetsKubernetesStatusErrorsAndChangesNothing(t *testing.T) {
	s := framework.StartServer(t)
	ctx := context.Background()
	client := s.Client()
	pods := client.CoreV1().Pods("default")
	good := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "keeper", Labels: map[string]string{"v": "1"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	stored, err := pods.Create(ctx, good, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := client.CoreV1().RESTClient()

	post := func(body string) (int, string) {
		res := raw.Post().Namespace("default").Resource("pods").SetHeader("Content-Type", "application/json").Body([]byte(body)).Do(ctx)
		var code int
		res.StatusCode(&code)
		b, _ := res.Raw()
		return code, string(b)
	}
	cases := []struct {
		name     string
		body     string
		code     int
		contains string
	}{
		{"malformed json", `{"apiVersion":"v1","kind":"Pod",`, http.StatusBadRequest, "BadRequest"},
		{"wrong kind", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}`, http.StatusBadRequest, "BadRequest"},
		{"invalid name", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Not_Valid"},"spec":{"containers":[{"name":"a","image":"b"}]}}`,
			http.StatusUnprocessableEntity, `metadata.name: Invalid value: \"Not_Valid\"`},
		{"name too long", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"` + strings.Repeat("a", 254) + `"},"spec":{"containers":[{"name":"a","image":"b"}]}}`,
			http.StatusUnprocessableEntity, "must be no more than 253 characters"},
		{"no containers", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"empty"},"spec":{}}`,
			http.StatusUnprocessableEntity, "spec.containers: Required value"},
		{"bad quantity", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"q"},"spec":{"containers":[{"name":"a","image":"b","resources":{"limits":{"cpu":"lots"}}}]}}`,
			http.StatusBadRequest, "quantities must match the regular expression"},
		{"requests above limits", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"rl"},"spec":{"containers":[{"name":"a","image":"b","resources":{"requests":{"cpu":"1"},"limits":{"cpu":"500m"}}}]}}`,
			http.StatusUnprocessableEntity, "must be less than or equal to cpu limit of 500m"},
		{"duplicate container names", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup"},"spec":{"containers":[{"name":"a","image":"b"},{"name":"a","image":"c"}]}}`,
			http.StatusUnprocessableEntity, `spec.containers[1].name: Duplicate value: \"a\"`},
		{"probe without handler", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"pr"},"spec":{"containers":[{"name":"a","image":"b","livenessProbe":{"periodSeconds":5}}]}}`,
			http.StatusUnprocessableEntity, "must specify a handler type"},
		{"bad restart policy", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"rp"},"spec":{"restartPolicy":"Sometimes","containers":[{"name":"a","image":"b"}]}}`,
			http.StatusUnprocessableEntity, `spec.restartPolicy: Unsupported value: \"Sometimes\"`},
		{"oversize annotations", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"big","annotations":{"x":"` + strings.Repeat("x", 1600*1024) + `"}},"spec":{"containers":[{"name":"a","image":"b"}]}}`,
			http.StatusUnprocessableEntity, "Too long: may not be more than 262144 bytes"},
		{"body over the request limit", `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"huge","annotations":{"x":"` + strings.Repeat("x", 4<<20) + `"}}}`,
			http.StatusRequestEntityTooLarge, "Request entity too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(tc.body)
			if code != tc.code || !strings.Contains(body, tc.contains) {
				t.Fatalf("got %d %s\nwant %d containing %q", code, truncate(body), tc.code, tc.contains)
			}
		})
	}

	t.Run("missing namespace is 404", func(t *testing.T) {
		_, err := client.CoreV1().Pods("nowhere").Create(ctx, good.DeepCopy(), metav1.CreateOptions{})
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `namespaces "nowhere" not found`) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("stale resourceVersion is 409", func(t *testing.T) {
		// The scheduler writes status too, so read the current version first.
		current, err := pods.Get(ctx, stored.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		first := current.DeepCopy()
		first.Labels["v"] = "2"
		if _, err := pods.Update(ctx, first, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		stale := current.DeepCopy()
		stale.Labels["v"] = "3"
		_, err = pods.Update(ctx, stale, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "the object has been modified; please apply your changes to the latest version and try again") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("oversize secret is 422", func(t *testing.T) {
		sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Data: map[string][]byte{"k": make([]byte, 1536*1024)}}
		_, err := client.CoreV1().Secrets("default").Create(ctx, sec, metav1.CreateOptions{})
		if !apierrors.IsInvalid(err) {
			t.Fatalf("got %v", err)
		}
	})

	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "keeper" || list.Items[0].Labels["v"] != "2" {
		t.Fatalf("stored pods changed: %+v", list.Items)
	}
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "..."
	}
	return s
}
