package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

type fakeStats struct {
	s   *statsv1alpha1.Summary
	err error
}

func (f fakeStats) Summary(context.Context) (*statsv1alpha1.Summary, error) { return f.s, f.err }

func u64(v uint64) *uint64 { return &v }

func fullSummary() *statsv1alpha1.Summary {
	ts := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	cpu := &statsv1alpha1.CPUStats{Time: ts, UsageNanoCores: u64(250_000_000), UsageCoreNanoSeconds: u64(9_000_000_000)}
	mem := &statsv1alpha1.MemoryStats{Time: ts, UsageBytes: u64(64 << 20), WorkingSetBytes: u64(48 << 20)}
	fs := &statsv1alpha1.FsStats{Time: ts, CapacityBytes: u64(100 << 30), AvailableBytes: u64(40 << 30)}
	return &statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{
			NodeName: "node-a", StartTime: ts, CPU: cpu, Memory: mem, Fs: fs,
			Runtime: &statsv1alpha1.RuntimeStats{ImageFs: fs},
			Rlimit:  &statsv1alpha1.RlimitStats{Time: ts},
		},
		Pods: []statsv1alpha1.PodStats{{
			PodRef:       statsv1alpha1.PodReference{Name: "web", Namespace: "default", UID: "uid-1"},
			StartTime:    ts,
			CPU:          cpu,
			Memory:       mem,
			ProcessStats: &statsv1alpha1.ProcessStats{ProcessCount: u64(3)},
			Containers: []statsv1alpha1.ContainerStats{{
				Name: "app", StartTime: ts, CPU: cpu, Memory: mem, Rootfs: fs,
			}},
		}},
	}
}

func getSummary(t *testing.T, p StatsProvider, query string) (*http.Response, map[string]any) {
	t.Helper()
	mux := http.NewServeMux()
	registerStats(mux, p, nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stats/summary"+query, nil))
	res := rec.Result()
	if res.StatusCode != http.StatusOK {
		return res, nil
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res, body
}

// jsonAt walks decoded JSON by object keys and array indexes.
func jsonAt(t *testing.T, v any, keys ...any) any {
	t.Helper()
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestStatsSummaryJSON(t *testing.T) {
	_, body := getSummary(t, fakeStats{s: fullSummary()}, "")
	for _, c := range []struct {
		keys []any
		want any
	}{
		{[]any{"node", "nodeName"}, "node-a"},
		{[]any{"node", "startTime"}, "2026-01-02T03:04:05Z"},
		{[]any{"node", "cpu", "usageNanoCores"}, 250e6},
		{[]any{"node", "cpu", "usageCoreNanoSeconds"}, 9e9},
		{[]any{"node", "memory", "workingSetBytes"}, float64(48 << 20)},
		{[]any{"node", "fs", "capacityBytes"}, float64(100 << 30)},
		{[]any{"node", "runtime", "imageFs", "availableBytes"}, float64(40 << 30)},
		{[]any{"pods", 0, "podRef", "uid"}, "uid-1"},
		{[]any{"pods", 0, "process_stats", "process_count"}, 3.0},
		{[]any{"pods", 0, "containers", 0, "name"}, "app"},
		{[]any{"pods", 0, "containers", 0, "memory", "usageBytes"}, float64(64 << 20)},
		{[]any{"pods", 0, "containers", 0, "rootfs", "capacityBytes"}, float64(100 << 30)},
	} {
		if got := jsonAt(t, body, c.keys...); got != c.want {
			t.Errorf("%v = %v, want %v", c.keys, got, c.want)
		}
	}
}

func TestStatsSummaryOnlyCPUAndMemory(t *testing.T) {
	full := fullSummary()
	_, body := getSummary(t, fakeStats{s: full}, "?only_cpu_and_memory=true")
	for _, gone := range [][]any{
		{"node", "fs"}, {"node", "runtime"}, {"node", "rlimit"},
		{"pods", 0, "process_stats"}, {"pods", 0, "containers", 0, "rootfs"},
	} {
		if v := jsonAt(t, body, gone...); v != nil {
			t.Errorf("%v = %v, want it left out", gone, v)
		}
	}
	for _, kept := range [][]any{
		{"node", "nodeName"}, {"node", "cpu", "usageNanoCores"}, {"node", "memory", "usageBytes"},
		{"pods", 0, "podRef", "name"}, {"pods", 0, "cpu", "usageCoreNanoSeconds"},
		{"pods", 0, "memory", "workingSetBytes"}, {"pods", 0, "containers", 0, "cpu", "usageNanoCores"},
	} {
		if jsonAt(t, body, kept...) == nil {
			t.Errorf("%v missing", kept)
		}
	}
	// The provider's summary is not modified by the filtering.
	if full.Node.Fs == nil || full.Pods[0].ProcessStats == nil {
		t.Error("only_cpu_and_memory changed the provider's summary")
	}

	// false is the full summary.
	if _, body := getSummary(t, fakeStats{s: fullSummary()}, "?only_cpu_and_memory=false"); jsonAt(t, body, "node", "fs") == nil {
		t.Error("only_cpu_and_memory=false dropped node fs")
	}
}

func TestStatsSummaryErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		p     StatsProvider
		query string
		code  int
	}{
		{"no provider", nil, "", http.StatusServiceUnavailable},
		{"provider error", fakeStats{err: errors.New("boom")}, "", http.StatusInternalServerError},
		{"bad flag", fakeStats{s: fullSummary()}, "?only_cpu_and_memory=maybe", http.StatusBadRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			if res, _ := getSummary(t, c.p, c.query); res.StatusCode != c.code {
				t.Errorf("status = %d, want %d", res.StatusCode, c.code)
			}
		})
	}
}

// The summary sits behind the same client-certificate rule as every other
// route of the endpoint.
func TestStatsSummaryOnlyAPIServer(t *testing.T) {
	mux := http.NewServeMux()
	registerStats(mux, fakeStats{s: fullSummary()}, nil)
	h := onlyClient("orca-apiserver", mux)
	for _, c := range []struct {
		name string
		cn   string // "" = no TLS at all
		code int
	}{
		{"no client cert", "", http.StatusForbidden},
		{"other client", "someone-else", http.StatusForbidden},
		{"api server", "orca-apiserver", http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/stats/summary", nil)
			if c.cn != "" {
				req.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{Subject: pkix.Name{CommonName: c.cn}}}}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.code {
				t.Errorf("status = %d, want %d", rec.Code, c.code)
			}
		})
	}
}
