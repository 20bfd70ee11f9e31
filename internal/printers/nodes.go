package printers

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	// nodeRoleLabelPrefix marks a role as node-role.kubernetes.io/<role>.
	nodeRoleLabelPrefix = "node-role.kubernetes.io/"
	// nodeRoleLabel is the older kubernetes.io/role=<role> form.
	nodeRoleLabel = "kubernetes.io/role"
)

func newNodeConvertor(now func() time.Time) *convertor {
	infoDoc := corev1.NodeSystemInfo{}.SwaggerDoc()
	addrDoc := corev1.NodeStatus{}.SwaggerDoc()["addresses"]
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Status", Type: "string", Description: "Readiness of the node, and whether scheduling is disabled."},
			{Name: "Roles", Type: "string", Description: "Roles taken from the node's role labels."},
			ageColumn,
			{Name: "Version", Type: "string", Description: infoDoc["kubeletVersion"]},
			{Name: "Internal-IP", Type: "string", Priority: 1, Description: addrDoc},
			{Name: "External-IP", Type: "string", Priority: 1, Description: addrDoc},
			{Name: "OS-Image", Type: "string", Priority: 1, Description: infoDoc["osImage"]},
			{Name: "Kernel-Version", Type: "string", Priority: 1, Description: infoDoc["kernelVersion"]},
			{Name: "Container-Runtime", Type: "string", Priority: 1, Description: infoDoc["containerRuntimeVersion"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			node, ok := obj.(*corev1.Node)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.Node", obj)
			}
			info := node.Status.NodeInfo
			return metav1.TableRow{Cells: []interface{}{
				node.Name,
				nodeStatus(node),
				orNone(strings.Join(nodeRoles(node), ",")),
				since(node.CreationTimestamp, now),
				info.KubeletVersion,
				nodeAddress(node, corev1.NodeInternalIP),
				nodeAddress(node, corev1.NodeExternalIP),
				orUnknown(info.OSImage),
				orUnknown(info.KernelVersion),
				orUnknown(info.ContainerRuntimeVersion),
			}}, nil
		},
	}
}

// nodeStatus is Ready / NotReady from the Ready condition (the last one of
// that type wins, as upstream indexes conditions by type), Unknown without
// one, plus ",SchedulingDisabled" for cordoned nodes.
func nodeStatus(node *corev1.Node) string {
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	status := "Unknown"
	if ready != nil {
		status = "NotReady"
		if ready.Status == corev1.ConditionTrue {
			status = "Ready"
		}
	}
	if node.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// nodeRoles collects roles from both label conventions, sorted and unique.
func nodeRoles(node *corev1.Node) []string {
	seen := map[string]bool{}
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, nodeRoleLabelPrefix):
			if role := strings.TrimPrefix(k, nodeRoleLabelPrefix); role != "" {
				seen[role] = true
			}
		case k == nodeRoleLabel && v != "":
			seen[v] = true
		}
	}
	roles := make([]string, 0, len(seen))
	for r := range seen {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// nodeAddress returns the first address of the given type, or <none>.
func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return none
}

func orUnknown(s string) string {
	if s == "" {
		return unknownTime
	}
	return s
}
