// Package scheduler is orca's pod scheduler. Like kube-scheduler it runs
// against the API only through client-go: shared informers for pods and
// nodes, the pods/binding subresource to bind, status patches and core/v1
// Events to report. Its semantics and user-visible strings follow upstream
// kube-scheduler (pkg/scheduler), for the subset of plugins listed in
// defaultProfile.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
)

// Config configures a Scheduler.
type Config struct {
	// Client is the only way the scheduler talks to the API.
	Client kubernetes.Interface
	// SchedulerName selects the pods to schedule (spec.schedulerName) and is
	// the source of the events; default "default-scheduler".
	SchedulerName string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock drives back-off and condition timestamps; default the real
	// clock. Tests may pass k8s.io/utils/clock/testing.FakeClock.
	Clock clock.WithTicker
}

// Scheduler assigns pending pods to nodes.
type Scheduler struct {
	client  kubernetes.Interface
	name    string
	logger  *slog.Logger
	clock   clock.WithTicker
	rand    *rand.Rand
	profile *profile
	volumes *VolumeBinding
	cache   *schedulerCache
	queue   *schedulingQueue

	// Set by Run.
	ctx        context.Context
	recorder   record.EventRecorder
	podLister  corelisters.PodLister
	bindings   sync.WaitGroup // in-flight bindings
	background sync.WaitGroup // other API calls started from handlers
	runOnce    sync.Once
}

// New validates cfg and returns a Scheduler; call Run to start it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil {
		return nil, errors.New("scheduler: Config.Client is required")
	}
	s := &Scheduler{
		client:  cfg.Client,
		name:    cfg.SchedulerName,
		logger:  cfg.Logger,
		clock:   cfg.Clock,
		rand:    rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		volumes: newVolumeBinding(),
		cache:   newSchedulerCache(),
	}
	s.profile = defaultProfile(s.volumes)
	if s.name == "" {
		s.name = v1.DefaultSchedulerName
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	s.logger = s.logger.With("component", "scheduler", "schedulerName", s.name)
	if s.clock == nil {
		s.clock = clock.RealClock{}
	}
	s.queue = newSchedulingQueue(s.clock)
	return s, nil
}

// Run starts the informers and schedules pods until ctx is done, then waits
// for in-flight bindings and returns nil. It returns an error if it was
// already run, or if ctx ended before the informer caches synced.
func (s *Scheduler) Run(ctx context.Context) error {
	started := false
	s.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("scheduler: Run called more than once")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = logr.NewContext(ctx, logr.FromSlogHandler(s.logger.Handler()))
	s.ctx = ctx

	// The broadcaster outlives ctx until the in-flight work below is done, so
	// that events of the last attempts are not dropped with an error.
	eventCtx, stopEvents := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEvents()
	broadcaster := record.NewBroadcaster(record.WithContext(eventCtx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: s.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	s.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: s.name})

	factory := informers.NewSharedInformerFactory(s.client, 0)
	podInformer := factory.Core().V1().Pods()
	nodeInformer := factory.Core().V1().Nodes()
	s.podLister = podInformer.Lister()
	podReg, err := podInformer.Informer().AddEventHandler(s.podHandlers())
	if err != nil {
		return fmt.Errorf("scheduler: adding pod event handler: %w", err)
	}
	nodeReg, err := nodeInformer.Informer().AddEventHandler(s.nodeHandlers())
	if err != nil {
		return fmt.Errorf("scheduler: adding node event handler: %w", err)
	}
	volumeRegs, err := s.startVolumeInformers(factory)
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	// Wait until the handlers (not just the stores) have seen the initial
	// lists, so that the first cycle sees every node and bound pod.
	if !cache.WaitForCacheSync(ctx.Done(), append(volumeRegs, podReg.HasSynced, nodeReg.HasSynced)...) {
		cancel()
		factory.Shutdown()
		s.background.Wait()
		return fmt.Errorf("scheduler: informer caches did not sync: %w", context.Cause(ctx))
	}
	s.logger.Info("Scheduler started")

	var loops sync.WaitGroup
	loops.Add(2)
	go func() {
		defer loops.Done()
		s.queue.Run(ctx)
	}()
	go func() {
		defer loops.Done()
		<-ctx.Done()
		s.queue.Close()
	}()
	for s.scheduleOne(ctx) {
	}
	// Stop the informers first so that no handler starts more work.
	factory.Shutdown()
	loops.Wait()
	s.bindings.Wait()
	s.background.Wait()
	s.logger.Info("Scheduler stopped")
	return nil
}
