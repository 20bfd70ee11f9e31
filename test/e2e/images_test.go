package e2e

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/testimages"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// An air-gapped node: no registry at all, images imported from a tarball
// with `orca images import`, pods run them with imagePullPolicy Never.
func TestImportedImagesRunWithoutARegistry(t *testing.T) {
	s := framework.StartNode(t)
	archive := filepath.Join(t.TempDir(), "images.tar")
	testimages.WriteArchive(t, archive, "busybox:1.36")
	out, err := exec.Command(s.Bin, "images", "import", "--data-dir", s.DataDir, archive).CombinedOutput()
	if err != nil {
		t.Fatalf("orca images import: %v\n%s", err, out)
	}
	ls, err := exec.Command(s.Bin, "images", "ls", "--data-dir", s.DataDir).CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^IMAGE\s+TAG\s+IMAGE ID\s+SIZE\n.*busybox\s+1\.36\s+[0-9a-f]{12}\s+`).Match(ls) {
		t.Fatalf("orca images ls: %v\n%s", err, ls)
	}
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: offline
spec:
  containers:
  - name: app
    image: busybox:1.36
    imagePullPolicy: Never
    command: ["sleep", "3600"]
  - name: missing
    image: busybox:9.99
    imagePullPolicy: Never
    command: ["sleep", "3600"]
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "offline", 60*time.Second, "app running, missing image refused", func(p *corev1.Pod) bool {
		running, never := false, false
		for _, cs := range p.Status.ContainerStatuses {
			running = running || (cs.Name == "app" && cs.State.Running != nil)
			never = never || (cs.Name == "missing" && cs.State.Waiting != nil && cs.State.Waiting.Reason == "ErrImageNeverPull" &&
				cs.State.Waiting.Message == `Container image "busybox:9.99" is not present with pull policy of Never`)
		}
		return running && never
	})
}
