package scheduler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/component-helpers/storage/ephemeral"
	storagehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/orca-pods/orca/internal/apis/storageutil"
)

// VolumeBinding is upstream's plugin of that name, for the volumes a pod
// gets through PersistentVolumeClaims:
//
//   - PreFilter rejects a pod whose claim is missing or being deleted, or
//     that waits for an Immediate claim to be bound by the PV controller;
//   - Filter keeps the nodes where the pod's bound volumes are reachable
//     (their node affinity) and where each WaitForFirstConsumer claim can be
//     met, by an Available volume there or by provisioning;
//   - PreBind, once a node is chosen, binds those claims there: it reserves
//     the chosen volumes for them (claimRef) or asks for provisioning by
//     setting the volume.kubernetes.io/selected-node annotation, then waits
//     until the PV controller reports them bound. The pod is bound to the
//     node only after that, so a pod never reaches an agent before its
//     volumes exist.
type VolumeBinding struct {
	// The listers and client are set when the scheduler starts.
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	client  kubernetes.Interface
	// bindTimeout bounds PreBind's wait (upstream's bindTimeoutSeconds).
	bindTimeout  time.Duration
	pollInterval time.Duration
}

// Upstream's reasons and messages.
const (
	ErrReasonBindConflict     = "node(s) didn't find available persistent volumes to bind"
	ErrReasonNodeConflict     = "node(s) had volume node affinity conflict"
	ErrReasonPVNotExist       = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
	errUnboundImmediateClaims = "pod has unbound immediate PersistentVolumeClaims"

	volumeBindingStateKey = "PreFilterVolumeBinding"
	defaultBindTimeout    = 600 * time.Second
)

var (
	_ PreFilterPlugin = (*VolumeBinding)(nil)
	_ FilterPlugin    = (*VolumeBinding)(nil)
	_ PreBindPlugin   = (*VolumeBinding)(nil)
)

func newVolumeBinding() *VolumeBinding {
	return &VolumeBinding{bindTimeout: defaultBindTimeout, pollInterval: time.Second}
}

// Name returns the upstream plugin name.
func (*VolumeBinding) Name() string { return "VolumeBinding" }

// staticBinding is an Available volume chosen for a claim on one node.
type staticBinding struct {
	pv  *v1.PersistentVolume
	pvc *v1.PersistentVolumeClaim
}

// nodeVolumes is what PreBind must do if the pod lands on a node.
type nodeVolumes struct {
	bindings   []staticBinding
	provisions []*v1.PersistentVolumeClaim
}

type volumeBindingState struct {
	bound   []*v1.PersistentVolumeClaim
	delayed []*v1.PersistentVolumeClaim
	mu      sync.Mutex
	perNode map[string]*nodeVolumes
}

// Clone shares the state: Filter only adds per-node results, which a
// preemption simulation may as well reuse.
func (s *volumeBindingState) Clone() StateData { return s }

// PreFilter sorts the pod's claims into bound and WaitForFirstConsumer ones.
func (pl *VolumeBinding) PreFilter(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) (*PreFilterResult, *Status) {
	if pl.claims == nil || !hasClaims(pod) {
		return nil, NewStatus(Skip)
	}
	s := &volumeBindingState{perNode: map[string]*nodeVolumes{}}
	immediate := false
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		name, ok := storageutil.ClaimName(pod, v)
		if !ok {
			continue
		}
		pvc, err := pl.claims.PersistentVolumeClaims(pod.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			if v.Ephemeral != nil {
				return nil, NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf("waiting for ephemeral volume controller to create the persistentvolumeclaim %q", name))
			}
			return nil, NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q not found", name))
		} else if err != nil {
			return nil, AsStatus(err)
		}
		if pvc.DeletionTimestamp != nil {
			return nil, NewStatus(UnschedulableAndUnresolvable, fmt.Sprintf("persistentvolumeclaim %q is being deleted", pvc.Name))
		}
		if v.Ephemeral != nil {
			if err := ephemeral.VolumeIsForPod(pod, pvc); err != nil {
				return nil, NewStatus(UnschedulableAndUnresolvable, err.Error())
			}
		}
		if fullyBound(pvc) {
			s.bound = append(s.bound, pvc)
			continue
		}
		delay, err := storagehelpers.IsDelayBindingMode(pvc, pl.classes)
		if err != nil {
			return nil, AsStatus(err)
		}
		// A claim pre-bound to a volume by name is the PV controller's to
		// finish, like an Immediate one.
		if delay && pvc.Spec.VolumeName == "" {
			s.delayed = append(s.delayed, pvc)
		} else {
			immediate = true
		}
	}
	if immediate {
		return nil, NewStatus(UnschedulableAndUnresolvable, errUnboundImmediateClaims)
	}
	if len(s.bound) == 0 && len(s.delayed) == 0 {
		return nil, NewStatus(Skip)
	}
	state.Write(volumeBindingStateKey, s)
	return nil, nil
}

func hasClaims(pod *v1.Pod) bool {
	for i := range pod.Spec.Volumes {
		if _, ok := storageutil.ClaimName(pod, &pod.Spec.Volumes[i]); ok {
			return true
		}
	}
	return false
}

// fullyBound: the PV controller finished binding the claim.
func fullyBound(pvc *v1.PersistentVolumeClaim) bool {
	return pvc.Spec.VolumeName != "" && metav1.HasAnnotation(pvc.ObjectMeta, storagehelpers.AnnBindCompleted)
}

// Filter checks the pod's volumes against one node.
func (pl *VolumeBinding) Filter(_ context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	d, err := state.Read(volumeBindingStateKey)
	if err != nil {
		return AsStatus(fmt.Errorf("reading %q from cycle state: %w", volumeBindingStateKey, err))
	}
	s := d.(*volumeBindingState)
	node := nodeInfo.Node()
	var reasons []string

	boundOK, pvsFound := true, true
	for _, pvc := range s.bound {
		pv, err := pl.volumes.Get(pvc.Spec.VolumeName)
		if apierrors.IsNotFound(err) {
			pvsFound = false
			break
		} else if err != nil {
			return AsStatus(err)
		}
		if storagehelpers.CheckNodeAffinity(pv, node.Labels) != nil {
			boundOK = false
			break
		}
	}
	if !boundOK {
		reasons = append(reasons, ErrReasonNodeConflict)
	}
	if !pvsFound {
		reasons = append(reasons, ErrReasonPVNotExist)
	}

	if len(s.delayed) > 0 {
		nv, ok, err := pl.findVolumes(s.delayed, node)
		if err != nil {
			return AsStatus(err)
		}
		if !ok {
			reasons = append(reasons, ErrReasonBindConflict)
		} else {
			s.mu.Lock()
			s.perNode[node.Name] = nv
			s.mu.Unlock()
		}
	}
	if len(reasons) > 0 {
		return NewStatus(UnschedulableAndUnresolvable, reasons...)
	}
	return nil
}

// findVolumes decides how each WaitForFirstConsumer claim would be met on
// node: by an Available volume reachable from it (the smallest fit), or by
// provisioning if the claim's class can provision there. ok is false when a
// claim can be met neither way.
func (pl *VolumeBinding) findVolumes(claims []*v1.PersistentVolumeClaim, node *v1.Node) (*nodeVolumes, bool, error) {
	all, err := pl.volumes.List(labels.Everything())
	if err != nil {
		return nil, false, err
	}
	nv := &nodeVolumes{}
	chosen := map[string]*v1.PersistentVolume{}
	for _, pvc := range claims {
		// Provisioning already asked for (by an earlier attempt) binds
		// the claim to that node.
		if selected, ok := pvc.Annotations[storagehelpers.AnnSelectedNode]; ok {
			if selected != node.Name {
				return nil, false, nil
			}
			nv.provisions = append(nv.provisions, pvc)
			continue
		}
		pv, err := storagehelpers.FindMatchingVolume(pvc, all, node, chosen, false, true)
		if err != nil {
			return nil, false, err
		}
		if pv != nil {
			chosen[pv.Name] = pv
			nv.bindings = append(nv.bindings, staticBinding{pv: pv, pvc: pvc})
			continue
		}
		ok, err := pl.canProvision(pvc, node)
		if err != nil || !ok {
			return nil, false, err
		}
		nv.provisions = append(nv.provisions, pvc)
	}
	return nv, true, nil
}

// canProvision: the claim's class names a provisioner and allows the node's
// topology.
func (pl *VolumeBinding) canProvision(pvc *v1.PersistentVolumeClaim, node *v1.Node) (bool, error) {
	name := storagehelpers.GetPersistentVolumeClaimClass(pvc)
	if name == "" {
		return false, nil
	}
	class, err := pl.classes.Get(name)
	if apierrors.IsNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if class.Provisioner == storagehelpers.NotSupportedProvisioner {
		return false, nil
	}
	if len(class.AllowedTopologies) == 0 {
		return true, nil
	}
	return matchesTopology(class.AllowedTopologies, node.Labels), nil
}

// matchesTopology: any term (ORed) whose expressions all (ANDed) find the
// node's label value among their values.
func matchesTopology(terms []v1.TopologySelectorTerm, nodeLabels map[string]string) bool {
	for _, term := range terms {
		if slices.IndexFunc(term.MatchLabelExpressions, func(e v1.TopologySelectorLabelRequirement) bool {
			value, ok := nodeLabels[e.Key]
			return !ok || !slices.Contains(e.Values, value)
		}) < 0 {
			return true
		}
	}
	return false
}

// PreBind binds or provisions the pod's WaitForFirstConsumer claims on the
// chosen node and waits until the PV controller has bound them all.
func (pl *VolumeBinding) PreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	d, err := state.Read(volumeBindingStateKey)
	if err != nil {
		return nil // PreFilter skipped: no claims
	}
	s := d.(*volumeBindingState)
	if len(s.delayed) == 0 {
		return nil
	}
	s.mu.Lock()
	nv := s.perNode[nodeName]
	s.mu.Unlock()
	if nv == nil {
		return AsStatus(fmt.Errorf("no volume decisions for node %q", nodeName))
	}
	if err := pl.bindVolumes(ctx, nv, nodeName); err != nil {
		return AsStatus(fmt.Errorf("binding volumes: %w", err))
	}
	return nil
}

func (pl *VolumeBinding) bindVolumes(ctx context.Context, nv *nodeVolumes, nodeName string) error {
	for _, b := range nv.bindings {
		pv, dirty, err := storagehelpers.GetBindVolumeToClaim(b.pv, b.pvc)
		if err != nil {
			return err
		}
		if dirty {
			// The resourceVersion read during Filter makes a volume taken
			// meanwhile by another pod's claim fail here, not bind twice.
			if _, err := pl.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
	}
	for _, pvc := range nv.provisions {
		if pvc.Annotations[storagehelpers.AnnSelectedNode] == nodeName {
			continue
		}
		next := pvc.DeepCopy()
		metav1.SetMetaDataAnnotation(&next.ObjectMeta, storagehelpers.AnnSelectedNode, nodeName)
		if _, err := pl.client.CoreV1().PersistentVolumeClaims(pvc.Namespace).Update(ctx, next, metav1.UpdateOptions{}); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, pl.bindTimeout)
	defer cancel()
	selected := map[string]bool{}
	return wait.PollUntilContextCancel(ctx, pl.pollInterval, true, func(context.Context) (bool, error) {
		return pl.bindingsDone(nv, selected)
	})
}

// bindingsDone reports whether every claim PreBind handled is bound; an
// error ends the wait (the pod is then scheduled again). selected records
// the claims seen with their selected node: the cache may still show a
// claim from before PreBind's own update, so only an annotation seen and
// then gone means a provisioner gave up.
func (pl *VolumeBinding) bindingsDone(nv *nodeVolumes, selected map[string]bool) (bool, error) {
	check := func(ns, name string, provisioned bool) (bool, error) {
		pvc, err := pl.claims.PersistentVolumeClaims(ns).Get(name)
		if err != nil {
			return false, fmt.Errorf("failed to fetch PVC %s/%s from API server: %w", ns, name, err)
		}
		if pvc.DeletionTimestamp != nil {
			return false, fmt.Errorf("persistentvolumeclaim %q is being deleted", name)
		}
		if provisioned {
			switch {
			case metav1.HasAnnotation(pvc.ObjectMeta, storagehelpers.AnnSelectedNode):
				selected[ns+"/"+name] = true
			case selected[ns+"/"+name]:
				// The provisioner gave up on this node.
				return false, fmt.Errorf("selectedNode annotation reset for PVC %q", name)
			default:
				return false, nil
			}
		}
		return fullyBound(pvc), nil
	}
	for _, b := range nv.bindings {
		if done, err := check(b.pvc.Namespace, b.pvc.Name, false); !done || err != nil {
			return false, err
		}
	}
	for _, pvc := range nv.provisions {
		if done, err := check(pvc.Namespace, pvc.Name, true); !done || err != nil {
			return false, err
		}
	}
	return true, nil
}
