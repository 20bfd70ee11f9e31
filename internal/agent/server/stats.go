package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"

	statsv1alpha1 "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// StatsProvider computes the node's resource summary (internal/agent/stats
// implements it).
type StatsProvider interface {
	Summary(ctx context.Context) (*statsv1alpha1.Summary, error)
}

// registerStats adds the kubelet's Summary API. Without a provider the
// route still exists and answers 503, so a caller can tell "no stats on
// this node" from a wrong URL.
func registerStats(mux *http.ServeMux, p StatsProvider, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux.HandleFunc("GET /stats/summary", func(w http.ResponseWriter, r *http.Request) {
		serveSummary(w, r, p, log)
	})
}

func serveSummary(w http.ResponseWriter, r *http.Request, p StatsProvider, log *slog.Logger) {
	if p == nil {
		http.Error(w, "stats not available on this node", http.StatusServiceUnavailable)
		return
	}
	onlyCPUAndMemory := false
	if v := r.URL.Query().Get("only_cpu_and_memory"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			http.Error(w, "only_cpu_and_memory: "+err.Error(), http.StatusBadRequest)
			return
		}
		onlyCPUAndMemory = b
	}
	s, err := p.Summary(r.Context())
	if err != nil {
		log.Warn("stats summary", "err", err)
		http.Error(w, "stats summary: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if onlyCPUAndMemory {
		s = cpuAndMemory(s)
	}
	body, err := json.Marshal(s)
	if err != nil {
		http.Error(w, "encode stats summary: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// cpuAndMemory keeps what the kubelet's only_cpu_and_memory summary has
// (what metrics-server scrapes): identities, start times, CPU and memory.
func cpuAndMemory(s *statsv1alpha1.Summary) *statsv1alpha1.Summary {
	out := &statsv1alpha1.Summary{
		Node: statsv1alpha1.NodeStats{
			NodeName:  s.Node.NodeName,
			StartTime: s.Node.StartTime,
			CPU:       s.Node.CPU,
			Memory:    s.Node.Memory,
		},
		Pods: make([]statsv1alpha1.PodStats, 0, len(s.Pods)),
	}
	for _, sc := range s.Node.SystemContainers {
		out.Node.SystemContainers = append(out.Node.SystemContainers, containerCPUAndMemory(sc))
	}
	for _, ps := range s.Pods {
		pod := statsv1alpha1.PodStats{
			PodRef:     ps.PodRef,
			StartTime:  ps.StartTime,
			CPU:        ps.CPU,
			Memory:     ps.Memory,
			Containers: make([]statsv1alpha1.ContainerStats, 0, len(ps.Containers)),
		}
		for _, c := range ps.Containers {
			pod.Containers = append(pod.Containers, containerCPUAndMemory(c))
		}
		out.Pods = append(out.Pods, pod)
	}
	return out
}

func containerCPUAndMemory(c statsv1alpha1.ContainerStats) statsv1alpha1.ContainerStats {
	return statsv1alpha1.ContainerStats{Name: c.Name, StartTime: c.StartTime, CPU: c.CPU, Memory: c.Memory}
}
