package printers

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

type goldenCase struct {
	file string // testdata/<file>.golden
	gr   schema.GroupResource
	obj  runtime.Object
}

// TestGolden renders each fixture list as `kubectl get` and `-o wide` would
// show it and compares with testdata. Run `go test ./internal/printers
// -run TestGolden -update` after an intended output change.
func TestGolden(t *testing.T) {
	for _, g := range goldenCases() {
		t.Run(g.file, func(t *testing.T) {
			table, err := forClock(g.gr, fixedClock).ConvertToTable(context.Background(), g.obj, nil)
			if err != nil {
				t.Fatal(err)
			}
			kind := g.gr.Resource
			if g.gr.Group != "" {
				kind += "." + g.gr.Group
			}
			got := "$ kubectl get " + kind + "\n" + renderTable(table, false) +
				"\n$ kubectl get " + kind + " -o wide\n" + renderTable(table, true)

			path := filepath.Join("testdata", g.file+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update if intended)\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

func TestEveryResourceHasGolden(t *testing.T) {
	for gr := range registry {
		if len(zeroObjectsFor(gr)) == 0 {
			t.Errorf("%s has no golden fixture", gr)
		}
	}
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"pods", schema.GroupResource{Resource: "pods"}, goldenPods()},
		{"nodes", schema.GroupResource{Resource: "nodes"}, goldenNodes()},
		{"events", schema.GroupResource{Resource: "events"}, goldenEvents()},
		{"events.events.k8s.io", schema.GroupResource{Group: "events.k8s.io", Resource: "events"}, goldenEventsV1()},
		{"namespaces", schema.GroupResource{Resource: "namespaces"}, goldenNamespaces()},
		{"configmaps", schema.GroupResource{Resource: "configmaps"}, goldenConfigMaps()},
		{"secrets", schema.GroupResource{Resource: "secrets"}, goldenSecrets()},
		{"serviceaccounts", schema.GroupResource{Resource: "serviceaccounts"}, goldenServiceAccounts()},
		{"podtemplates", schema.GroupResource{Resource: "podtemplates"}, goldenPodTemplates()},
		{"resourcequotas", schema.GroupResource{Resource: "resourcequotas"}, goldenResourceQuotas()},
		{"limitranges", schema.GroupResource{Resource: "limitranges"}, goldenLimitRanges()},
		{"persistentvolumes", schema.GroupResource{Resource: "persistentvolumes"}, goldenPVs()},
		{"persistentvolumeclaims", schema.GroupResource{Resource: "persistentvolumeclaims"}, goldenPVCs()},
		{"storageclasses", schema.GroupResource{Group: "storage.k8s.io", Resource: "storageclasses"}, goldenStorageClasses()},
		{"leases", schema.GroupResource{Group: "coordination.k8s.io", Resource: "leases"}, goldenLeases()},
		{"priorityclasses", schema.GroupResource{Group: "scheduling.k8s.io", Resource: "priorityclasses"}, goldenPriorityClasses()},
	}
}

func objMeta(name string, age time.Duration) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: ago(age)}
}

func goldenPods() *corev1.PodList {
	day := 24 * time.Hour
	last2m, last5m := lastTerminated(2*time.Minute), lastTerminated(5*time.Minute)
	readyConds := []corev1.PodCondition{cond(corev1.PodInitialized, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}
	pods := []corev1.Pod{
		{
			ObjectMeta: objMeta("web-0", 3*day+4*time.Hour),
			Spec:       corev1.PodSpec{Containers: containers("app", "metrics"), NodeName: "worker-1"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: readyConds,
				PodIPs:            []corev1.PodIP{{IP: "10.244.1.5"}},
				ContainerStatuses: []corev1.ContainerStatus{cstatus("app", running(), true), cstatus("metrics", running(), true)}},
		},
		{
			ObjectMeta: objMeta("web-1", 45*time.Minute),
			Spec:       corev1.PodSpec{Containers: containers("app"), NodeName: "worker-2"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.2.9",
				ContainerStatuses: []corev1.ContainerStatus{withRestarts(cstatus("app", waiting("CrashLoopBackOff"), false), 3, &last2m)}},
		},
		{
			ObjectMeta: objMeta("migrate-7f9c", 90*time.Second),
			Spec:       corev1.PodSpec{Containers: containers("app"), InitContainers: initSpec("wait-db", "migrate"), NodeName: "worker-1"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, PodIPs: []corev1.PodIP{{IP: "10.244.1.6"}},
				InitContainerStatuses: []corev1.ContainerStatus{cstatus("wait-db", terminated("Completed", 0, 0), false), cstatus("migrate", running(), false)},
				ContainerStatuses:     []corev1.ContainerStatus{cstatus("app", waiting("PodInitializing"), false)}},
		},
		{
			ObjectMeta: objMeta("mesh-client", 6*time.Hour+30*time.Minute),
			Spec: corev1.PodSpec{Containers: containers("app"), InitContainers: []corev1.Container{sidecarSpec("proxy")}, NodeName: "worker-2",
				ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "mesh.example.com/registered"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.244.2.10"}},
				Conditions:            append([]corev1.PodCondition{{Type: "mesh.example.com/registered", Status: corev1.ConditionTrue}}, readyConds...),
				InitContainerStatuses: []corev1.ContainerStatus{started(withRestarts(cstatus("proxy", running(), true), 1, &last5m), true)},
				ContainerStatuses:     []corev1.ContainerStatus{cstatus("app", running(), true)}},
		},
		{
			ObjectMeta: objMeta("report-29871", 2*time.Hour),
			Spec:       corev1.PodSpec{Containers: containers("report"), NodeName: "worker-1"},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded,
				ContainerStatuses: []corev1.ContainerStatus{cstatus("report", terminated("Completed", 0, 0), false)}},
		},
		{
			ObjectMeta: objMeta("report-29870", 3*time.Hour),
			Spec:       corev1.PodSpec{Containers: containers("report"), NodeName: "worker-1"},
			Status: corev1.PodStatus{Phase: corev1.PodFailed,
				ContainerStatuses: []corev1.ContainerStatus{cstatus("report", terminated("Error", 2, 0), false)}},
		},
		{
			ObjectMeta: objMeta("batch-gated", 20*time.Second),
			Spec:       corev1.PodSpec{Containers: containers("work"), SchedulingGates: []corev1.PodSchedulingGate{{Name: "quota"}}},
			Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}},
		},
		{
			ObjectMeta: objMeta("preempting", 5*time.Second),
			Spec:       corev1.PodSpec{Containers: containers("work")},
			Status:     corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "worker-2"},
		},
		{
			ObjectMeta: objMeta("evicted-1", 9*day),
			Spec:       corev1.PodSpec{Containers: containers("app"), NodeName: "worker-3"},
			Status:     corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."},
		},
		{
			ObjectMeta: func() metav1.ObjectMeta {
				m := objMeta("old-web", 400*day)
				m.DeletionTimestamp = agoPtr(3 * time.Second)
				return m
			}(),
			Spec: corev1.PodSpec{Containers: containers("app"), NodeName: "worker-1"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: readyConds, PodIPs: []corev1.PodIP{{IP: "10.244.1.2"}},
				ContainerStatuses: []corev1.ContainerStatus{cstatus("app", running(), true)}},
		},
	}
	return &corev1.PodList{ListMeta: metav1.ListMeta{ResourceVersion: "1234"}, Items: pods}
}

func goldenNodes() *corev1.NodeList {
	ready := func(s corev1.ConditionStatus) []corev1.NodeCondition {
		return []corev1.NodeCondition{
			{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse},
			{Type: corev1.NodeReady, Status: s},
		}
	}
	info := corev1.NodeSystemInfo{
		KubeletVersion: "v1.37.2", OSImage: "Debian GNU/Linux 13 (trixie)",
		KernelVersion: "6.12.38+deb13-amd64", ContainerRuntimeVersion: "orca://0.1.0",
	}
	nodeMeta := func(name string, age time.Duration, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Labels: labels, CreationTimestamp: ago(age)}
	}
	return &corev1.NodeList{Items: []corev1.Node{
		{
			ObjectMeta: nodeMeta("control-plane", 30*24*time.Hour, map[string]string{"node-role.kubernetes.io/control-plane": ""}),
			Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue), NodeInfo: info,
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "control-plane"}, {Type: corev1.NodeInternalIP, Address: "192.0.2.10"}}},
		},
		{
			ObjectMeta: nodeMeta("worker-1", 29*24*time.Hour, map[string]string{"kubernetes.io/role": "worker", "node-role.kubernetes.io/ingress": "true"}),
			Spec:       corev1.NodeSpec{Unschedulable: true},
			Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionTrue), NodeInfo: info,
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.11"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.11"}}},
		},
		{
			ObjectMeta: nodeMeta("worker-2", 2*time.Hour, nil),
			Status: corev1.NodeStatus{Conditions: ready(corev1.ConditionUnknown), NodeInfo: info,
				Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.0.2.12"}}},
		},
		{ObjectMeta: nodeMeta("joining", 15*time.Second, nil)},
	}}
}

func goldenEvents() *corev1.EventList {
	podRef := func(name, field string) corev1.ObjectReference {
		return corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name, FieldPath: field}
	}
	return &corev1.EventList{Items: []corev1.Event{
		{
			ObjectMeta: objMeta("web-1.17c1a2b3c4d5e6f7", 30*time.Minute), InvolvedObject: podRef("web-1", ""),
			Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned default/web-1 to worker-2",
			Source:         corev1.EventSource{Component: "default-scheduler"},
			FirstTimestamp: ago(30 * time.Minute), LastTimestamp: ago(30 * time.Minute), Count: 1,
		},
		{
			ObjectMeta: objMeta("web-1.17c1a2b3c4d5e6f8", 29*time.Minute), InvolvedObject: podRef("web-1", "spec.containers{app}"),
			Type: "Warning", Reason: "BackOff", Message: "Back-off restarting failed container app in pod web-1\n",
			Source:         corev1.EventSource{Component: "kubelet", Host: "worker-2"},
			FirstTimestamp: ago(29 * time.Minute), LastTimestamp: ago(2 * time.Minute), Count: 12,
		},
		{
			// Written through events.k8s.io/v1: eventTime and series only.
			ObjectMeta: objMeta("web-0.17c1a2b3c4d5e6f9", 10*time.Minute), InvolvedObject: podRef("web-0", "spec.containers{metrics}"),
			Type: "Warning", Reason: "Unhealthy", Message: "Readiness probe failed: HTTP probe failed with statuscode: 503",
			EventTime:           metav1.NewMicroTime(testNow.Add(-10 * time.Minute)),
			Series:              &corev1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(testNow.Add(-10 * time.Second))},
			ReportingController: "kubelet", ReportingInstance: "worker-1", Action: "Probe",
		},
		{
			ObjectMeta:     metav1.ObjectMeta{Name: "worker-2.17c1a2b3c4d5e700", Namespace: "default", CreationTimestamp: ago(3 * time.Minute)},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "worker-2"},
			Type:           "Normal", Reason: "NodeNotReady", Message: "Node worker-2 status is now: NodeNotReady",
			EventTime:           metav1.NewMicroTime(testNow.Add(-3 * time.Minute)),
			ReportingController: "node-controller",
		},
		{
			ObjectMeta:     objMeta("cluster.17c1a2b3c4d5e701", time.Hour),
			InvolvedObject: corev1.ObjectReference{Kind: "ClusterPolicy"},
			Type:           "Normal", Reason: "Reconciled", Message: "policy applied",
			FirstTimestamp: ago(3 * time.Hour), LastTimestamp: ago(time.Hour), Count: 4,
			Source: corev1.EventSource{Component: "policy-controller"},
		},
	}}
}

func goldenEventsV1() *eventsv1.EventList {
	return &eventsv1.EventList{Items: []eventsv1.Event{
		{
			ObjectMeta: objMeta("web-0.17c1a2b3c4d5e6f9", 10*time.Minute),
			EventTime:  metav1.NewMicroTime(testNow.Add(-10 * time.Minute)),
			Series:     &eventsv1.EventSeries{Count: 5, LastObservedTime: metav1.NewMicroTime(testNow.Add(-10 * time.Second))},
			Regarding:  corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-0", FieldPath: "spec.containers{metrics}"},
			Note:       "Readiness probe failed: HTTP probe failed with statuscode: 503",
			Type:       "Warning", Reason: "Unhealthy", Action: "Probe",
			ReportingController: "kubelet", ReportingInstance: "worker-1",
		},
		{
			ObjectMeta: objMeta("web-1.17c1a2b3c4d5e6f7", 30*time.Minute),
			Regarding:  corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1"},
			Note:       "Successfully assigned default/web-1 to worker-2",
			Type:       "Normal", Reason: "Scheduled",
			DeprecatedSource:         corev1.EventSource{Component: "default-scheduler"},
			DeprecatedFirstTimestamp: ago(30 * time.Minute), DeprecatedLastTimestamp: ago(30 * time.Minute), DeprecatedCount: 1,
		},
	}}
}

func goldenNamespaces() *corev1.NamespaceList {
	ns := func(name string, age time.Duration, phase corev1.NamespacePhase) corev1.Namespace {
		return corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: ago(age)}, Status: corev1.NamespaceStatus{Phase: phase}}
	}
	return &corev1.NamespaceList{Items: []corev1.Namespace{
		ns("default", 30*24*time.Hour, corev1.NamespaceActive),
		ns("kube-system", 30*24*time.Hour, corev1.NamespaceActive),
		ns("scratch", 7*time.Minute, corev1.NamespaceTerminating),
	}}
}

func goldenConfigMaps() *corev1.ConfigMapList {
	return &corev1.ConfigMapList{Items: []corev1.ConfigMap{
		{ObjectMeta: objMeta("kube-root-ca.crt", 30*24*time.Hour), Data: map[string]string{"ca.crt": "..."}},
		{ObjectMeta: objMeta("app-config", 3*time.Hour), Data: map[string]string{"a": "1", "b": "2"}, BinaryData: map[string][]byte{"logo.png": {0x89}}},
		{ObjectMeta: objMeta("empty", 42*time.Second)},
	}}
}

func goldenSecrets() *corev1.SecretList {
	return &corev1.SecretList{Items: []corev1.Secret{
		{ObjectMeta: objMeta("db-credentials", 5*24*time.Hour), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"username": nil, "password": nil}},
		{ObjectMeta: objMeta("web-tls", 12*time.Hour), Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil, "tls.key": nil, "ca.crt": nil}},
		{ObjectMeta: objMeta("pending-merge", time.Minute), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": nil}, StringData: map[string]string{"a": "x", "b": "y"}},
	}}
}

func goldenServiceAccounts() *corev1.ServiceAccountList {
	return &corev1.ServiceAccountList{Items: []corev1.ServiceAccount{
		{ObjectMeta: objMeta("default", 30*24*time.Hour)},
		{ObjectMeta: objMeta("builder", 4*time.Hour), Secrets: []corev1.ObjectReference{{Name: "builder-token"}}},
	}}
}

func goldenPodTemplates() *corev1.PodTemplateList {
	return &corev1.PodTemplateList{Items: []corev1.PodTemplate{
		{ObjectMeta: objMeta("web-template", time.Hour), Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web", "tier": "frontend"}},
			Spec:       corev1.PodSpec{Containers: containers("app", "metrics")},
		}},
		{ObjectMeta: objMeta("bare", time.Hour), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containers("main")}}},
	}}
}

func goldenResourceQuotas() *corev1.ResourceQuotaList {
	q := resource.MustParse
	return &corev1.ResourceQuotaList{Items: []corev1.ResourceQuota{
		{
			ObjectMeta: objMeta("compute", 6*24*time.Hour),
			Status: corev1.ResourceQuotaStatus{
				Hard: corev1.ResourceList{"requests.cpu": q("4"), "requests.memory": q("8Gi"), "limits.cpu": q("8"), "limits.memory": q("16Gi"), "pods": q("20")},
				Used: corev1.ResourceList{"requests.cpu": q("1500m"), "requests.memory": q("2Gi"), "limits.cpu": q("3"), "pods": q("7")},
			},
		},
		{ObjectMeta: objMeta("fresh", 5*time.Second)},
	}}
}

func goldenLimitRanges() *corev1.LimitRangeList {
	return &corev1.LimitRangeList{Items: []corev1.LimitRange{
		{ObjectMeta: metav1.ObjectMeta{Name: "defaults", Namespace: "default", CreationTimestamp: metav1.NewTime(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))}},
	}}
}

func goldenPVs() *corev1.PersistentVolumeList {
	fs, block := corev1.PersistentVolumeFilesystem, corev1.PersistentVolumeBlock
	size := func(s string) corev1.ResourceList {
		return corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(s)}
	}
	terminating := metav1.ObjectMeta{Name: "pv-old", CreationTimestamp: ago(40 * 24 * time.Hour), DeletionTimestamp: agoPtr(time.Second),
		Annotations: map[string]string{betaStorageClassAnnotation: "legacy"}}
	return &corev1.PersistentVolumeList{Items: []corev1.PersistentVolume{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "pvc-6f1d", CreationTimestamp: ago(2 * 24 * time.Hour)},
			Spec: corev1.PersistentVolumeSpec{Capacity: size("10Gi"), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete, StorageClassName: "standard", VolumeMode: &fs,
				ClaimRef: &corev1.ObjectReference{Namespace: "default", Name: "data-web-0"}},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Name: "shared", CreationTimestamp: ago(5 * time.Hour)},
			Spec: corev1.PersistentVolumeSpec{Capacity: size("1Ti"),
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadOnlyMany, corev1.ReadWriteMany},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain, VolumeMode: &block, VolumeAttributesClassName: strPtr("gold")},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
		},
		{
			ObjectMeta: terminating,
			Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRecycle, StorageClassName: "ignored"},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeFailed, Reason: "RecyclerFailed"},
		},
	}}
}

func goldenPVCs() *corev1.PersistentVolumeClaimList {
	fs := corev1.PersistentVolumeFilesystem
	rwo := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	return &corev1.PersistentVolumeClaimList{Items: []corev1.PersistentVolumeClaim{
		{
			ObjectMeta: objMeta("data-web-0", 2*24*time.Hour),
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: rwo, StorageClassName: strPtr("standard"), VolumeName: "pvc-6f1d", VolumeMode: &fs,
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: rwo,
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
		},
		{
			ObjectMeta: objMeta("scratch", 30*time.Second),
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: rwo, StorageClassName: strPtr("fast"), VolumeAttributesClassName: strPtr("gold"),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
		},
		{
			ObjectMeta: func() metav1.ObjectMeta {
				m := objMeta("legacy-claim", 90*24*time.Hour)
				m.Annotations = map[string]string{betaStorageClassAnnotation: "legacy"}
				m.DeletionTimestamp = agoPtr(time.Second)
				return m
			}(),
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: "pv-old"},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimLost},
		},
	}}
}

func goldenStorageClasses() *storagev1.StorageClassList {
	retain := corev1.PersistentVolumeReclaimRetain
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	scMeta := func(name string, age time.Duration, isDefault string) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: name, CreationTimestamp: ago(age)}
		if isDefault != "" {
			m.Annotations = map[string]string{isDefault: "true"}
		}
		return m
	}
	return &storagev1.StorageClassList{Items: []storagev1.StorageClass{
		// Two classes claim to be the default; only the newer one is marked.
		{ObjectMeta: scMeta("legacy", 300*24*time.Hour, betaDefaultClassAnnotation), Provisioner: "kubernetes.io/no-provisioner"},
		{ObjectMeta: scMeta("standard", 30*24*time.Hour, defaultClassAnnotation), Provisioner: "orca.dev/hostpath", VolumeBindingMode: &wait},
		{ObjectMeta: scMeta("fast", 2*time.Hour, ""), Provisioner: "csi.example.com", ReclaimPolicy: &retain, AllowVolumeExpansion: boolPtr(true)},
	}}
}

func goldenLeases() *coordinationv1.LeaseList {
	return &coordinationv1.LeaseList{Items: []coordinationv1.Lease{
		{ObjectMeta: objMeta("orca-scheduler", 30*24*time.Hour), Spec: coordinationv1.LeaseSpec{HolderIdentity: strPtr("control-plane_5c0ffee")}},
		{ObjectMeta: objMeta("released", time.Hour)},
	}}
}

func goldenPriorityClasses() *schedulingv1.PriorityClassList {
	lower, never := corev1.PreemptLowerPriority, corev1.PreemptNever
	return &schedulingv1.PriorityClassList{Items: []schedulingv1.PriorityClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "system-cluster-critical", CreationTimestamp: ago(30 * 24 * time.Hour)}, Value: 2000000000, PreemptionPolicy: &lower},
		{ObjectMeta: metav1.ObjectMeta{Name: "batch-low", CreationTimestamp: ago(time.Hour)}, Value: -10, GlobalDefault: true, PreemptionPolicy: &never},
		{ObjectMeta: metav1.ObjectMeta{Name: "unset-policy", CreationTimestamp: ago(time.Minute)}, Value: 1000},
	}}
}

// Guard against accidentally committing an -update run that produced
// nothing useful.
func TestGoldenFilesNonEmpty(t *testing.T) {
	for _, g := range goldenCases() {
		b, err := os.ReadFile(filepath.Join("testdata", g.file+".golden"))
		if err != nil {
			continue // TestGolden reports missing files
		}
		if strings.Count(string(b), "\n") < 4 {
			t.Errorf("%s.golden looks empty", g.file)
		}
	}
}
