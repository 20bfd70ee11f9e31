package scheduler

import (
	"fmt"
	"maps"
	"reflect"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

func assigned(p *v1.Pod) bool { return p.Spec.NodeName != "" }

func terminal(p *v1.Pod) bool {
	return p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed
}

// responsibleFor reports whether this scheduler schedules the pod. The API
// server defaults an empty spec.schedulerName to "default-scheduler"; an
// empty name is treated the same way in case it did not.
func (s *Scheduler) responsibleFor(p *v1.Pod) bool {
	return p.Spec.SchedulerName == s.name || (p.Spec.SchedulerName == "" && s.name == v1.DefaultSchedulerName)
}

// wantsScheduling: an unassigned, live, non-terminal pod for this scheduler.
func (s *Scheduler) wantsScheduling(p *v1.Pod) bool {
	return !assigned(p) && s.responsibleFor(p) && p.DeletionTimestamp == nil && !terminal(p)
}

func podFromObj(obj any) *v1.Pod {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, _ := obj.(*v1.Pod)
	return p
}

func nodeFromObj(obj any) *v1.Node {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	n, _ := obj.(*v1.Node)
	return n
}

// podHandlers keeps the cache (bound pods) and the queue (pending pods) in
// step with the informer. Bound pods that turn Succeeded/Failed stop
// holding resources, like upstream whose informer excludes terminal pods.
func (s *Scheduler) podHandlers() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			p := podFromObj(obj)
			switch {
			case p == nil:
			case assigned(p):
				if !terminal(p) {
					s.cache.SetPod(p)
				}
			case s.wantsScheduling(p):
				s.queue.Add(p)
				s.maybeSetGatedCondition(p)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldPod, newPod := podFromObj(oldObj), podFromObj(newObj)
			if oldPod == nil || newPod == nil {
				return
			}
			if assigned(newPod) {
				if !assigned(oldPod) {
					s.queue.Delete(oldPod)
				}
				if terminal(newPod) {
					if assigned(oldPod) && !terminal(oldPod) {
						s.cache.RemovePod(newPod.UID)
						s.queue.MoveAllToActiveOrBackoff()
					}
					return
				}
				s.cache.SetPod(newPod)
				return
			}
			if !s.wantsScheduling(newPod) {
				s.queue.Delete(newPod)
				return
			}
			s.queue.Update(oldPod, newPod)
			s.maybeSetGatedCondition(newPod)
		},
		DeleteFunc: func(obj any) {
			p := podFromObj(obj)
			if p == nil {
				return
			}
			s.queue.Delete(p)
			s.cache.RemovePod(p.UID)
			if assigned(p) {
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
	}
}

func (s *Scheduler) maybeSetGatedCondition(p *v1.Pod) {
	if !isGated(p) {
		return
	}
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return
		}
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		s.ensureSchedulingGatedCondition(s.ctx, p)
	}()
}

// nodeHandlers keeps nodes in the cache and wakes unschedulable pods when a
// node appears or changes in a way that can matter to scheduling.
func (s *Scheduler) nodeHandlers() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n := nodeFromObj(obj); n != nil {
				s.cache.AddNode(n)
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			oldNode, newNode := nodeFromObj(oldObj), nodeFromObj(newObj)
			if newNode == nil {
				return
			}
			s.cache.AddNode(newNode)
			if oldNode == nil || nodeSchedulingPropertiesChanged(oldNode, newNode) {
				s.queue.MoveAllToActiveOrBackoff()
			}
		},
		DeleteFunc: func(obj any) {
			if n := nodeFromObj(obj); n != nil {
				s.cache.RemoveNode(n.Name)
			}
		},
	}
}

// nodeSchedulingPropertiesChanged mirrors upstream's filter on node
// updates, so that status heartbeats do not churn the queue: it is true
// when the node became schedulable, or its allocatable, labels, taints or
// condition statuses changed.
func nodeSchedulingPropertiesChanged(oldNode, newNode *v1.Node) bool {
	if oldNode.Spec.Unschedulable != newNode.Spec.Unschedulable && !newNode.Spec.Unschedulable {
		return true
	}
	if !equality.Semantic.DeepEqual(oldNode.Status.Allocatable, newNode.Status.Allocatable) {
		return true
	}
	if !maps.Equal(oldNode.Labels, newNode.Labels) {
		return true
	}
	if !reflect.DeepEqual(oldNode.Spec.Taints, newNode.Spec.Taints) {
		return true
	}
	conds := func(n *v1.Node) map[v1.NodeConditionType]v1.ConditionStatus {
		m := map[v1.NodeConditionType]v1.ConditionStatus{}
		for _, c := range n.Status.Conditions {
			m[c.Type] = c.Status
		}
		return m
	}
	return !maps.Equal(conds(oldNode), conds(newNode))
}

// startVolumeInformers gives VolumeBinding its listers and wakes
// unschedulable pods when claims, volumes or classes appear or change (a
// claim created after its pod, a volume becoming Available, a claim bound).
func (s *Scheduler) startVolumeInformers(factory informers.SharedInformerFactory) ([]cache.InformerSynced, error) {
	pvcs, pvs := factory.Core().V1().PersistentVolumeClaims(), factory.Core().V1().PersistentVolumes()
	classes := factory.Storage().V1().StorageClasses()
	s.volumes.claims, s.volumes.volumes, s.volumes.classes = pvcs.Lister(), pvs.Lister(), classes.Lister()
	s.volumes.client = s.client
	wake := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.queue.MoveAllToActiveOrBackoff() },
		UpdateFunc: func(_, _ any) { s.queue.MoveAllToActiveOrBackoff() },
	}
	var synced []cache.InformerSynced
	for _, inf := range []cache.SharedIndexInformer{pvcs.Informer(), pvs.Informer(), classes.Informer()} {
		reg, err := inf.AddEventHandler(wake)
		if err != nil {
			return nil, fmt.Errorf("scheduler: adding volume event handler: %w", err)
		}
		synced = append(synced, reg.HasSynced)
	}
	return synced, nil
}
