package pod

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// KubeletConnection is how the API server reaches node agents for logs and
// streams: an HTTPS transport with the API server's client certificate, and
// a way to look nodes up.
type KubeletConnection struct {
	Transport http.RoundTripper
	Nodes     rest.Getter
	// DefaultPort is used when a node does not publish its agent's port.
	DefaultPort int
}

// location is https://<node InternalIP>:<port><path> for the node a pod runs on.
func (k *KubeletConnection) location(ctx context.Context, pod *corev1.Pod, path string, query url.Values) (*url.URL, error) {
	if pod.Spec.NodeName == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	obj, err := k.Nodes.Get(genericapirequest.WithNamespace(ctx, ""), pod.Spec.NodeName, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	node := obj.(*corev1.Node)
	host := ""
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeExternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && host == "" {
				host = a.Address
			}
		}
	}
	if host == "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("node %s has no address", node.Name))
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = k.DefaultPort
	}
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(host, strconv.Itoa(port)), Path: path, RawQuery: query.Encode()}, nil
}

// getPod reads the pod a subresource request is about.
func getPod(ctx context.Context, getter rest.Getter, name string) (*corev1.Pod, error) {
	obj, err := getter.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*corev1.Pod), nil
}

// containerFor picks the container a request names, or the pod's default
// one, with Kubernetes' errors when that is ambiguous or wrong.
func containerFor(pod *corev1.Pod, name string) (string, error) {
	if name == "" {
		if d := pod.Annotations["kubectl.kubernetes.io/default-container"]; d != "" {
			name = d
		} else if len(pod.Spec.Containers) == 1 {
			name = pod.Spec.Containers[0].Name
		} else {
			var names []string
			for _, c := range pod.Spec.Containers {
				names = append(names, c.Name)
			}
			var init []string
			for _, c := range pod.Spec.InitContainers {
				init = append(init, c.Name)
			}
			msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names)
			if len(init) > 0 {
				msg += fmt.Sprintf(" or one of the init containers: %v", init)
			}
			return "", apierrors.NewBadRequest(msg)
		}
	}
	for _, group := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range group {
			if c.Name == name {
				return name, nil
			}
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return name, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}
