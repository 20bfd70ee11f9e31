package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/orca-pods/orca/test/e2e/framework"
)

const configVolumesPod = `apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  greeting: hello
  app.properties: |
    color=blue
---
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: configured
  labels: {app: configured, tier: web}
spec:
  securityContext: {fsGroup: 2000}
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    resources: {limits: {memory: 64Mi}}
    volumeMounts:
    - {name: config, mountPath: /etc/config}
    - {name: secret, mountPath: /etc/secret}
    - {name: info, mountPath: /etc/podinfo}
    - {name: all, mountPath: /etc/all}
  volumes:
  - name: config
    configMap: {name: app-config}
  - name: secret
    secret: {secretName: app-secret, defaultMode: 0400}
  - name: info
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: mem, resourceFieldRef: {containerName: app, resource: limits.memory, divisor: 1Mi}}
  - name: all
    projected:
      sources:
      - configMap: {name: app-config, items: [{key: greeting, path: cm/greeting}]}
      - secret: {name: app-secret, items: [{key: password, path: sec/password}]}
      - downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}
`

// configMap, secret, downwardAPI and projected volumes: the files, their
// modes and group, read-only mounts, and a ConfigMap update reaching the
// running container.
func TestConfigMapSecretDownwardAndProjectedVolumes(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(configVolumesPod, "apply", "-f", "-")
	waitForPod(t, s, "default", "configured", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	sh := func(cmd string) string {
		return k.MustRun("", "exec", "configured", "--", "sh", "-c", cmd)
	}
	for cmd, want := range map[string]string{
		"cat /etc/config/greeting":                                     "hello",
		"cat /etc/config/app.properties":                               "color=blue\n",
		"cat /etc/secret/password":                                     "s3cret",
		"stat -L -c '%a %g' /etc/secret/password":                      "440 2000\n",
		"cat /etc/podinfo/labels":                                      "app=\"configured\"\ntier=\"web\"",
		"cat /etc/podinfo/mem":                                         "64",
		"cat /etc/all/cm/greeting /etc/all/sec/password /etc/all/name": "hellos3cretconfigured",
		"readlink /etc/config/greeting":                                "..data/greeting\n",
		"touch /etc/config/x 2>&1 || echo refused":                     "touch: /etc/config/x: Read-only file system\nrefused\n",
	} {
		if got := sh(cmd); got != want {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}
	k.MustRun("", "patch", "configmap", "app-config", "-p", `{"data":{"greeting":"bonjour"}}`)
	framework.Eventually(t, 60*time.Second, "the update in the running container", func() bool {
		return sh("cat /etc/config/greeting") == "bonjour"
	})
}

// A volume naming a ConfigMap that does not exist keeps the pod in
// ContainerCreating with the kubelet's FailedMount event; creating the
// ConfigMap lets it start.
func TestMissingConfigMapVolume(t *testing.T) {
	s := startNode(t)
	ctx := context.Background()
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: needs-config
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: config, mountPath: /etc/config}]
  volumes:
  - name: config
    configMap: {name: later}
`, "apply", "-f", "-")
	want := `MountVolume.SetUp failed for volume "config" : configmap "later" not found`
	framework.Eventually(t, 30*time.Second, "FailedMount event", func() bool {
		evs, err := s.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.Set{"involvedObject.name": "needs-config", "reason": "FailedMount"}.String()})
		return err == nil && len(evs.Items) > 0 && evs.Items[0].Message == want
	})
	if out := k.MustRun("", "get", "pod", "needs-config"); !strings.Contains(out, "ContainerCreating") {
		t.Errorf("get pod:\n%s", out)
	}
	k.MustRun("", "create", "configmap", "later", "--from-literal=k=v")
	waitForPod(t, s, "default", "needs-config", 60*time.Second, "Running once the ConfigMap exists", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning
	})
}
