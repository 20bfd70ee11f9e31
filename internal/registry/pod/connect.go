package pod

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream/wsstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/apiserver/pkg/registry/rest"
	translator "k8s.io/apiserver/pkg/util/proxy"
)

// pods/exec, pods/attach and pods/portforward proxy the client's upgraded
// connection to the node agent, as kube-apiserver proxies it to the
// kubelet (pkg/registry/core/pod/rest/subresources.go): an
// UpgradeAwareHandler for SPDY, with a StreamTranslatorHandler in front for
// WebSocket v5 exec/attach (kubectl >= 1.30 tries it first) and a
// TunnelingHandler for port-forward's SPDY-over-WebSocket (kubectl >= 1.31).
// The agent speaks SPDY (and WebSocket up to v4) only.

// upgradeableMethods: GET for WebSocket clients, POST for SPDY.
var upgradeableMethods = []string{"GET", "POST"}

// Query parameters of the kubelet's streaming endpoints.
const (
	paramStdin   = "input"
	paramStdout  = "output"
	paramStderr  = "error"
	paramTTY     = "tty"
	paramCommand = "command"
	paramPort    = "port"
)

// execREST serves pods/exec.
type execREST struct {
	pods    rest.Getter
	kubelet *KubeletConnection
}

var _ rest.Connecter = (*execREST)(nil)

func (r *execREST) New() runtime.Object { return &corev1.PodExecOptions{} }
func (r *execREST) Destroy()            {}
func (r *execREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodExecOptions{}, false, ""
}
func (r *execREST) ConnectMethods() []string { return upgradeableMethods }

func (r *execREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodExecOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	if len(o.Command) == 0 {
		return nil, apierrors.NewBadRequest("you must specify at least 1 command")
	}
	q := streamQuery(o.Stdin, o.Stdout, o.Stderr, o.TTY)
	q[paramCommand] = o.Command
	loc, err := r.kubelet.streamLocation(ctx, r.pods, name, "exec", o.Container, q)
	if err != nil {
		return nil, err
	}
	return remoteCommandHandler(loc, r.kubelet.Transport, responder, translator.Options{
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Tty: o.TTY,
	}), nil
}

// attachREST serves pods/attach.
type attachREST struct {
	pods    rest.Getter
	kubelet *KubeletConnection
}

var _ rest.Connecter = (*attachREST)(nil)

func (r *attachREST) New() runtime.Object { return &corev1.PodAttachOptions{} }
func (r *attachREST) Destroy()            {}
func (r *attachREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodAttachOptions{}, false, ""
}
func (r *attachREST) ConnectMethods() []string { return upgradeableMethods }

func (r *attachREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodAttachOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	q := streamQuery(o.Stdin, o.Stdout, o.Stderr, o.TTY)
	loc, err := r.kubelet.streamLocation(ctx, r.pods, name, "attach", o.Container, q)
	if err != nil {
		return nil, err
	}
	return remoteCommandHandler(loc, r.kubelet.Transport, responder, translator.Options{
		Stdin: o.Stdin, Stdout: o.Stdout, Stderr: o.Stderr, Tty: o.TTY,
	}), nil
}

// portForwardREST serves pods/portforward.
type portForwardREST struct {
	pods    rest.Getter
	kubelet *KubeletConnection
}

var _ rest.Connecter = (*portForwardREST)(nil)

func (r *portForwardREST) New() runtime.Object { return &corev1.PodPortForwardOptions{} }
func (r *portForwardREST) Destroy()            {}
func (r *portForwardREST) NewConnectOptions() (runtime.Object, bool, string) {
	return &corev1.PodPortForwardOptions{}, false, ""
}
func (r *portForwardREST) ConnectMethods() []string { return upgradeableMethods }

func (r *portForwardREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	o, ok := opts.(*corev1.PodPortForwardOptions)
	if !ok {
		return nil, fmt.Errorf("invalid options object: %#v", opts)
	}
	pod, err := getPod(ctx, r.pods, name)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if len(o.Ports) > 0 {
		ports := make([]string, len(o.Ports))
		for i, p := range o.Ports {
			ports[i] = strconv.Itoa(int(p))
		}
		q.Set(paramPort, strings.Join(ports, ","))
	}
	loc, err := r.kubelet.location(ctx, pod, fmt.Sprintf("/portForward/%s/%s", pod.Namespace, pod.Name), q)
	if err != nil {
		return nil, err
	}
	var h http.Handler = upgradeProxy(loc, r.kubelet.Transport, responder)
	return translator.NewTranslatingHandler(h, translator.NewTunnelingHandler(h), wsstream.IsWebSocketRequestWithTunnelingProtocol), nil
}

// streamLocation resolves the pod's container and node for exec or attach
// (kube-apiserver's streamLocation), with its errors.
func (k *KubeletConnection) streamLocation(ctx context.Context, pods rest.Getter, name, path, container string, q url.Values) (*url.URL, error) {
	pod, err := getPod(ctx, pods, name)
	if err != nil {
		return nil, err
	}
	container, err = containerFor(pod, container)
	if err != nil {
		return nil, err
	}
	return k.location(ctx, pod, fmt.Sprintf("/%s/%s/%s/%s", path, pod.Namespace, pod.Name, container), q)
}

func streamQuery(stdin, stdout, stderr, tty bool) url.Values {
	q := url.Values{}
	for param, on := range map[string]bool{paramStdin: stdin, paramStdout: stdout, paramStderr: stderr, paramTTY: tty} {
		if on {
			q.Set(param, "1")
		}
	}
	return q
}

// upgradeProxy passes an upgraded connection through to the agent; upgrade
// is required, redirects are not followed.
func upgradeProxy(loc *url.URL, transport http.RoundTripper, responder rest.Responder) *proxy.UpgradeAwareHandler {
	return proxy.NewUpgradeAwareHandler(loc, transport, false, true, proxy.NewErrorResponder(responder))
}

// remoteCommandHandler proxies SPDY (and WebSocket up to v4) as is and
// translates WebSocket v5 to SPDY toward the agent.
func remoteCommandHandler(loc *url.URL, transport http.RoundTripper, responder rest.Responder, opts translator.Options) http.Handler {
	h := upgradeProxy(loc, transport, responder)
	st := translator.NewStreamTranslatorHandler(loc, transport, 0, opts)
	return translator.NewTranslatingHandler(h, st, wsstream.IsWebSocketRequestWithStreamCloseProtocol)
}
