package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestPodsGetIPsAndReachEachOther(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: server
spec:
  containers:
  - name: web
    image: nginx:alpine
    volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]
  - name: writer
    image: busybox
    command: ["sh", "-c", "echo hello from $(hostname) > /usr/share/nginx/html/index.html; sleep 3600"]
    volumeMounts: [{name: html, mountPath: /usr/share/nginx/html}]
  volumes:
  - name: html
    emptyDir: {}
`, "apply", "-f", "-")
	srv := waitForPod(t, s, "default", "server", 60*time.Second, "Running with an IP", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != ""
	})
	ip := net.ParseIP(srv.Status.PodIP)
	if ip == nil || len(srv.Status.PodIPs) != 1 || srv.Status.PodIPs[0].IP != srv.Status.PodIP {
		t.Fatalf("podIP %q podIPs %v", srv.Status.PodIP, srv.Status.PodIPs)
	}
	wide := k.MustRun("", "get", "pod", "server", "-o", "wide")
	if !regexp.MustCompile(`(?m)^server\s+2/2\s+Running\s+0\s+\S+\s+` + regexp.QuoteMeta(srv.Status.PodIP) + `\s+orca-e2e\s+`).MatchString(wide) {
		t.Fatalf("get -o wide:\n%s", wide)
	}
	k.MustRun(fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  restartPolicy: Never
  containers:
  - name: get
    image: busybox
    command: ["sh", "-c", "sleep 1; wget -qO- http://%s:80/; grep client /etc/hosts"]
`, srv.Status.PodIP), "apply", "-f", "-")
	cli := waitForPod(t, s, "default", "client", 60*time.Second, "Succeeded", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	out := k.MustRun("", "logs", "client")
	if cli.Status.Phase != corev1.PodSucceeded || !strings.Contains(out, "hello from server") {
		t.Fatalf("client %s, logs %q", cli.Status.Phase, out)
	}
	if !strings.Contains(out, cli.Status.PodIP+"\tclient") {
		t.Fatalf("/etc/hosts lacks the pod's own name and IP %s: %q", cli.Status.PodIP, out)
	}
	if cli.Status.PodIP == srv.Status.PodIP {
		t.Fatal("two pods share an IP")
	}
}
