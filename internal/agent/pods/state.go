package pods

import (
	"net"
	"os"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/agent/logs"
	"github.com/orca-pods/orca/internal/agent/podstatus"
	"github.com/orca-pods/orca/internal/runtime"
)

// podState is what a worker remembers between syncs; everything else is
// read back from the runtime, which is the source of truth for containers.
type podState struct {
	sandbox *runtime.Sandbox
	// podIP is set once the pod's network is up.
	podIP net.IP
	// waiting holds why a container could not be (re)started, by name.
	waiting map[string]*corev1.ContainerStateWaiting
	// imageIDs remembers each container's resolved image digest.
	imageIDs map[string]string
	// messages holds termination messages by runtime container ID, read
	// once the container exits from termFiles.
	messages  map[string]string
	termFiles map[string]termFile
	// reason/message/terminal force a pod-level outcome (DeadlineExceeded).
	reason, message string
	terminal        bool
	lastSent        *corev1.PodStatus
	sandboxErr      error
	// volumesUpdated is when API-data volumes were last refreshed.
	volumesUpdated time.Time
	// admitted: the node's admission check ran. condition is an eviction's
	// DisruptionTarget; graceOverride an eviction's grace period.
	admitted      bool
	condition     *corev1.PodCondition
	graceOverride *time.Duration
}

func newPodState() *podState {
	return &podState{
		waiting:   map[string]*corev1.ContainerStateWaiting{},
		imageIDs:  map[string]string{},
		messages:  map[string]string{},
		termFiles: map[string]termFile{},
	}
}

func (s *podState) setWaiting(name, reason, message string) {
	s.waiting[name] = &corev1.ContainerStateWaiting{Reason: reason, Message: message}
}

// records groups the runtime's containers of this pod by container name,
// keeping the latest attempt and the one before it.
type records struct {
	init, app, ephemeral map[string]*podstatus.ContainerRecord
	// all lists every runtime container of the pod (for cleanup).
	all []*runtime.ContainerStatus
}

func (w *worker) collect(list []*runtime.ContainerStatus, pod *corev1.Pod) *records {
	r := &records{init: map[string]*podstatus.ContainerRecord{}, app: map[string]*podstatus.ContainerRecord{}, ephemeral: map[string]*podstatus.ContainerRecord{}}
	byName := map[string][]*runtime.ContainerStatus{}
	for _, c := range list {
		if c.Labels[containers.LabelPodUID] != string(pod.UID) {
			continue
		}
		r.all = append(r.all, c)
		byName[c.Labels[containers.LabelContainer]] = append(byName[c.Labels[containers.LabelContainer]], c)
	}
	kind := func(name string) map[string]*podstatus.ContainerRecord {
		for _, c := range pod.Spec.InitContainers {
			if c.Name == name {
				return r.init
			}
		}
		for _, c := range pod.Spec.EphemeralContainers {
			if c.Name == name {
				return r.ephemeral
			}
		}
		return r.app
	}
	for name, attempts := range byName {
		sort.Slice(attempts, func(i, j int) bool { return attempts[i].Attempt > attempts[j].Attempt })
		rec := &podstatus.ContainerRecord{Current: attempts[0], RestartCount: attempts[0].Attempt, ImageID: w.state.imageIDs[name]}
		if len(attempts) > 1 {
			rec.Previous = attempts[1]
			rec.PreviousMessage = w.state.messages[attempts[1].ID]
		}
		if attempts[0].State == runtime.StateExited {
			w.readTerminationMessage(attempts[0])
		}
		rec.Message = w.state.messages[attempts[0].ID]
		running := rec.Current.State == runtime.StateRunning
		rec.Ready, rec.Started = running, running
		kind(name)[name] = rec
	}
	// Containers the sync loop could not start yet carry their reason.
	for name, waiting := range w.state.waiting {
		m := kind(name)
		rec, ok := m[name]
		if !ok {
			rec = &podstatus.ContainerRecord{ImageID: w.state.imageIDs[name]}
			m[name] = rec
		}
		if rec.Current == nil || rec.Current.State != runtime.StateRunning {
			rec.Waiting = waiting
		}
	}
	return r
}

func exitedAt(c *runtime.ContainerStatus) time.Time {
	if c.FinishedAt.IsZero() {
		return c.CreatedAt
	}
	return c.FinishedAt
}

// termFile is where a container attempt's termination message is written.
type termFile struct {
	path           string
	fallbackToLogs bool
}

// Kubernetes' limits on termination messages.
const (
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

// readTerminationMessage reads an exited attempt's message once: the file at
// terminationMessagePath, or, with FallbackToLogsOnError and a failure, the
// tail of its log.
func (w *worker) readTerminationMessage(c *runtime.ContainerStatus) {
	if _, done := w.state.messages[c.ID]; done {
		return
	}
	tf, ok := w.state.termFiles[c.ID]
	if !ok {
		return
	}
	msg := ""
	if data, err := os.ReadFile(tf.path); err == nil {
		if len(data) > maxTerminationMessage {
			data = data[len(data)-maxTerminationMessage:]
		}
		msg = string(data)
	}
	if msg == "" && tf.fallbackToLogs && c.ExitCode != 0 && c.Reason != "ContainerCannotRun" && c.LogPath != "" {
		msg, _ = logs.Tail(c.LogPath, fallbackLogLines, fallbackLogBytes)
	}
	w.state.messages[c.ID] = msg
}
