package eviction

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		in   string
		want []string // Threshold.String() of each
	}{
		{"", nil},
		{DefaultEvictionHard, []string{"memory.available<100Mi", "nodefs.available<10%", "nodefs.inodesFree<5%", "imagefs.available<15%"}},
		{"memory.available<1Gi", []string{"memory.available<1Gi"}},
		{" memory.available < 500M , pid.available<10% ,", []string{"memory.available<500M", "pid.available<10%"}},
		{"nodefs.available<12.5%", []string{"nodefs.available<12.5%"}},
		{"imagefs.inodesFree<1000", []string{"imagefs.inodesFree<1k"}},
		// 0% and 100% switch a signal off, as in the kubelet.
		{"memory.available<100Mi,nodefs.available<0%,imagefs.available<100%", []string{"memory.available<100Mi"}},
		// The flag is a map: the last value of a signal wins.
		{"memory.available<100Mi,nodefs.available<1Gi,memory.available<200Mi", []string{"memory.available<200Mi", "nodefs.available<1Gi"}},
	}
	for _, tt := range tests {
		got, err := ParseThresholds(tt.in)
		if err != nil {
			t.Errorf("ParseThresholds(%q): %v", tt.in, err)
			continue
		}
		var gotS []string
		for _, th := range got {
			gotS = append(gotS, th.String())
		}
		if strings.Join(gotS, ",") != strings.Join(tt.want, ",") {
			t.Errorf("ParseThresholds(%q) = %v, want %v", tt.in, gotS, tt.want)
		}
	}
}

func TestParseThresholdsValues(t *testing.T) {
	ts, err := ParseThresholds("memory.available<100Mi,nodefs.available<10%")
	if err != nil {
		t.Fatal(err)
	}
	if ts[0].Signal != SignalMemoryAvailable || ts[0].Value.Quantity.Cmp(resource.MustParse("100Mi")) != 0 || !ts[0].hard() {
		t.Errorf("memory threshold = %+v", ts[0])
	}
	if ts[1].Signal != SignalNodeFsAvailable || ts[1].Value.Quantity != nil || ts[1].Value.Percentage != 0.1 {
		t.Errorf("nodefs threshold = %+v", ts[1])
	}
	// 10% of 1000Gi is 100Gi, give or take float32 rounding.
	q := ts[1].Value.quantity(resource.NewQuantity(1000<<30, resource.BinarySI))
	if d := q.Value() - 100<<30; d < 0 || d > 100<<30/1_000_000 {
		t.Errorf("10%% of 1000Gi = %v", q)
	}
}

func TestParseThresholdsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo.available<1Gi", "unsupported eviction signal foo.available"},
		{"memory.available>1Gi", `invalid eviction threshold syntax "memory.available>1Gi"`},
		{"memory.available", `invalid eviction threshold syntax "memory.available"`},
		{"<1Gi", "invalid eviction threshold syntax"},
		{"memory.available<lots", `eviction threshold memory.available: invalid quantity "lots"`},
		{"memory.available<", `invalid quantity ""`},
		{"memory.available<0", "eviction threshold memory.available must be positive: 0"},
		{"memory.available<-1Gi", "eviction threshold memory.available must be positive: -1Gi"},
		{"nodefs.available<101%", "eviction percentage threshold nodefs.available must be <= 100%: 101%"},
		{"nodefs.available<-5%", "eviction percentage threshold nodefs.available must be >= 0%: -5%"},
		{"nodefs.available<ten%", `invalid percentage "ten%"`},
		{"containerfs.available<10%", "unsupported eviction signal containerfs.available"},
	}
	for _, tt := range tests {
		_, err := ParseThresholds(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseThresholds(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestParseThresholdConfig(t *testing.T) {
	ts, err := ParseThresholdConfig(
		"memory.available<100Mi",
		"memory.available<500Mi,nodefs.available<15%",
		"memory.available=1m30s,nodefs.available=2m",
		"memory.available=0Mi,nodefs.available=5%",
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 3 {
		t.Fatalf("got %d thresholds: %v", len(ts), ts)
	}
	if !ts[0].hard() || ts[0].MinReclaim == nil || !ts[0].MinReclaim.Quantity.IsZero() {
		t.Errorf("hard memory = %+v", ts[0])
	}
	if ts[1].GracePeriod != 90*time.Second || ts[1].Value.Quantity.String() != "500Mi" {
		t.Errorf("soft memory = %+v", ts[1])
	}
	if ts[2].GracePeriod != 2*time.Minute || ts[2].MinReclaim == nil || ts[2].MinReclaim.Percentage != 0.05 {
		t.Errorf("soft nodefs = %+v", ts[2])
	}

	errs := []struct{ hard, soft, grace, reclaim, want string }{
		{"", "memory.available<1Gi", "", "", "grace period must be specified for the soft eviction threshold memory.available"},
		{"", "memory.available<1Gi", "memory.available=soon", "", "eviction grace period memory.available"},
		{"", "memory.available<1Gi", "memory.available=-1s", "", "invalid eviction grace period specified: -1s, must be a positive value"},
		{"", "", "foo=1s", "", "unsupported eviction signal foo"},
		{"", "", "memory.available", "", `malformed pair "memory.available", expect string=string`},
		{"", "", "", "nodefs.available=-1Gi", "negative eviction minimum reclaim specified for nodefs.available"},
		{"", "", "", "nodefs.available=0%", "eviction percentage minimum reclaim nodefs.available must be positive: 0%"},
		{"", "", "", "bar.free=1Gi", "unsupported eviction signal bar.free"},
		{"x<1", "", "", "", "unsupported eviction signal x"},
	}
	for _, tt := range errs {
		_, err := ParseThresholdConfig(tt.hard, tt.soft, tt.grace, tt.reclaim)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseThresholdConfig(%q, %q, %q, %q) error = %v, want %q", tt.hard, tt.soft, tt.grace, tt.reclaim, err, tt.want)
		}
	}
}
