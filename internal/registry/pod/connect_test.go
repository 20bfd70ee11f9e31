package pod

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

type getterFunc func(name string) (runtime.Object, error)

func (f getterFunc) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	return f(name)
}

type errResponder struct{ w http.ResponseWriter }

func (r errResponder) Object(code int, _ runtime.Object) { r.w.WriteHeader(code) }
func (r errResponder) Error(err error)                   { http.Error(r.w, err.Error(), http.StatusInternalServerError) }

// fakeAgent answers every request as the agent does for a container that
// is not running, and remembers the URLs it was asked for.
type fakeAgent struct {
	*httptest.Server
	mu   sync.Mutex
	urls []string
}

func startFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.urls = append(a.urls, r.Method+" "+r.URL.String())
		a.mu.Unlock()
		http.Error(w, `container not found ("app")`, http.StatusInternalServerError)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeAgent) connection(t *testing.T) *KubeletConnection {
	_, port, _ := net.SplitHostPort(a.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(p)}},
	}}
	return &KubeletConnection{Transport: a.Client().Transport, Nodes: getterFunc(func(string) (runtime.Object, error) { return node, nil })}
}

func testPods() rest.Getter {
	pods := map[string]*corev1.Pod{
		"p": {ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{
			NodeName:   "n1",
			Containers: []corev1.Container{{Name: "app"}, {Name: "side"}},
		}},
		"pending": {ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "ns"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app"}},
		}},
	}
	return getterFunc(func(name string) (runtime.Object, error) {
		if p, ok := pods[name]; ok {
			return p, nil
		}
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
	})
}

func TestConnectRejectsBadRequestsAsKubeApiserverDoes(t *testing.T) {
	a := startFakeAgent(t)
	exec := &execREST{pods: testPods(), kubelet: a.connection(t)}
	pf := &portForwardREST{pods: testPods(), kubelet: a.connection(t)}
	for _, tc := range []struct {
		name string
		rest rest.Connecter
		pod  string
		opts runtime.Object
		want string
	}{
		{"no command", exec, "p", &corev1.PodExecOptions{Container: "app", Stdout: true}, "you must specify at least 1 command"},
		{"unknown container", exec, "p", &corev1.PodExecOptions{Container: "xyz", Command: []string{"true"}}, "container xyz is not valid for pod p"},
		{"ambiguous container", exec, "p", &corev1.PodExecOptions{Command: []string{"true"}}, "a container name must be specified for pod p, choose one of: [app side]"},
		{"unscheduled pod", exec, "pending", &corev1.PodExecOptions{Command: []string{"true"}}, "pod pending does not have a host assigned"},
		{"unscheduled pod port-forward", pf, "pending", &corev1.PodPortForwardOptions{}, "pod pending does not have a host assigned"},
	} {
		_, err := tc.rest.Connect(context.Background(), tc.pod, tc.opts, nil)
		if !apierrors.IsBadRequest(err) || err.Error() != tc.want {
			t.Errorf("%s: %v, want BadRequest %q", tc.name, err, tc.want)
		}
	}
	if _, err := exec.Connect(context.Background(), "ghost", &corev1.PodExecOptions{Command: []string{"true"}}, nil); !apierrors.IsNotFound(err) {
		t.Errorf("missing pod: %v", err)
	}
}

func TestConnectProxiesTheUpgradeToTheAgentsStreamingPaths(t *testing.T) {
	a := startFakeAgent(t)
	k := a.connection(t)
	for _, tc := range []struct {
		rest rest.Connecter
		opts runtime.Object
		want string
	}{
		{&execREST{pods: testPods(), kubelet: k}, &corev1.PodExecOptions{Container: "side", Command: []string{"sh", "-c", "exit 3"}, Stdin: true, Stdout: true, TTY: true},
			"POST /exec/ns/p/side?command=sh&command=-c&command=exit+3&input=1&output=1&tty=1"},
		{&attachREST{pods: testPods(), kubelet: k}, &corev1.PodAttachOptions{Container: "app", Stdout: true, Stderr: true},
			"POST /attach/ns/p/app?error=1&output=1"},
		{&portForwardREST{pods: testPods(), kubelet: k}, &corev1.PodPortForwardOptions{Ports: []int32{80, 8080}},
			"POST /portForward/ns/p?port=80%2C8080"},
	} {
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h, err := tc.rest.Connect(r.Context(), "p", tc.opts, errResponder{w})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			h.ServeHTTP(w, r)
		}))
		req, _ := http.NewRequest(http.MethodPost, front.URL, nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "SPDY/3.1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		front.Close()
		// The agent's refusal reaches the client as is: kubectl prints
		// "unable to upgrade connection: " and the body.
		if resp.StatusCode != http.StatusInternalServerError || strings.TrimSpace(string(body)) != `container not found ("app")` {
			t.Errorf("%T: %d %q", tc.rest, resp.StatusCode, body)
		}
		a.mu.Lock()
		got := a.urls[len(a.urls)-1]
		a.mu.Unlock()
		if got != tc.want {
			t.Errorf("agent got %s, want %s", got, tc.want)
		}
	}
}
