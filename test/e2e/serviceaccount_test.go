package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// tokenClient is a client that authenticates with token alone.
func tokenClient(t *testing.T, s *framework.Server, token string) kubernetes.Interface {
	t.Helper()
	return s.ClientFor(&rest.Config{
		Host:            s.RESTConfig().Host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(s.DataDir, "pki", "ca.crt")},
	})
}

// withToken runs kubectl with token as its only credential: the admin
// kubeconfig the framework passes is replaced by an empty one, or its
// client certificate would authenticate the request instead.
func withToken(t *testing.T, k *framework.Kubectl, token string, args ...string) framework.Result {
	t.Helper()
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := k.Server
	return k.Run("", append([]string{"--kubeconfig", empty, "--server", s.RESTConfig().Host,
		"--certificate-authority", filepath.Join(s.DataDir, "pki", "ca.crt"), "--token", token}, args...)...)
}

// jwtClaims decodes a token's payload without verifying it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func whoami(t *testing.T, cs kubernetes.Interface) (*authenticationv1.SelfSubjectReview, error) {
	t.Helper()
	return cs.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
}

// `kubectl create token` issues tokens the API accepts as
// system:serviceaccount:<ns>:<name>, with the requested lifetime, audience
// and binding, and refuses what Kubernetes refuses.
func TestKubectlCreateToken(t *testing.T) {
	s := startNode(t)
	admin := s.Client()
	ctx := context.Background()
	framework.Eventually(t, 30*time.Second, "default service account", func() bool {
		_, err := admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	sa, err := admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			token := strings.TrimSpace(k.MustRun("", "create", "token", "default"))
			c := jwtClaims(t, token)
			if c["iss"] != "https://kubernetes.default.svc.cluster.local" || c["sub"] != "system:serviceaccount:default:default" ||
				c["exp"].(float64)-c["iat"].(float64) != 3600 {
				t.Errorf("claims = %v", c)
			}

			if r := withToken(t, k, token, "get", "pods"); r.ExitCode != 0 {
				t.Errorf("get pods with the token: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
			}
			if v == "1.33" {
				// 1.27's whoami asks for authentication.k8s.io/v1beta1.
				r := withToken(t, k, token, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.uid} {.status.userInfo.groups}")
				want := `system:serviceaccount:default:default ` + string(sa.UID) + ` ["system:serviceaccounts","system:serviceaccounts:default","system:authenticated"]`
				if r.ExitCode != 0 || r.Stdout != want {
					t.Errorf("auth whoami: exit %d\n%q\nwant %q\n%s", r.ExitCode, r.Stdout, want, r.Stderr)
				}
			}

			long := strings.TrimSpace(k.MustRun("", "create", "token", "default", "--duration", "20m"))
			if c := jwtClaims(t, long); c["exp"].(float64)-c["iat"].(float64) != 1200 {
				t.Errorf("--duration 20m: claims %v", c)
			}
			r := k.Run("", "create", "token", "default", "--duration", "5m")
			if r.ExitCode == 0 || !strings.Contains(r.Stderr, "may not specify a duration less than 10 minutes") {
				t.Errorf("--duration 5m: exit %d, stderr %s", r.ExitCode, r.Stderr)
			}

			vault := strings.TrimSpace(k.MustRun("", "create", "token", "default", "--audience", "vault"))
			if aud := jwtClaims(t, vault)["aud"]; len(aud.([]any)) != 1 || aud.([]any)[0] != "vault" {
				t.Errorf("--audience vault: aud = %v", aud)
			}
			// A token for another audience is not one for the API.
			if r := withToken(t, k, vault, "get", "pods"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "Unauthorized") {
				t.Errorf("get pods with a vault token: exit %d, stderr %s", r.ExitCode, r.Stderr)
			}

			r = k.Run("", "create", "token", "nobody")
			if r.ExitCode == 0 || !strings.Contains(r.Stderr, `serviceaccounts "nobody" not found`) {
				t.Errorf("token for a missing account: exit %d, stderr %s", r.ExitCode, r.Stderr)
			}
			r = k.Run("", "create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "nope")
			if r.ExitCode == 0 || !strings.Contains(r.Stderr, `pods "nope" not found`) {
				t.Errorf("token bound to a missing pod: exit %d, stderr %s", r.ExitCode, r.Stderr)
			}
		})
	}

	// A pod-bound token works while its pod exists.
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun("", "run", "holder", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
	pod, err := admin.CoreV1().Pods("default").Get(ctx, "holder", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := strings.TrimSpace(k.MustRun("", "create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "holder",
		"--bound-object-uid", string(pod.UID)))
	claims := jwtClaims(t, bound)["kubernetes.io"].(map[string]any)
	if p := claims["pod"].(map[string]any); p["name"] != "holder" || p["uid"] != string(pod.UID) {
		t.Errorf("bound token claims %v", claims)
	}
	review, err := whoami(t, tokenClient(t, s, bound))
	if err != nil {
		t.Fatal(err)
	}
	if got := review.Status.UserInfo.Extra["authentication.kubernetes.io/pod-name"]; len(got) != 1 || got[0] != "holder" {
		t.Errorf("extra = %v", review.Status.UserInfo.Extra)
	}
	r := k.Run("", "create", "token", "default", "--bound-object-kind", "Pod", "--bound-object-name", "holder", "--bound-object-uid", "stale")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "the UID in the bound object reference (stale) does not match the UID in record") {
		t.Errorf("stale bound UID: exit %d, stderr %s", r.ExitCode, r.Stderr)
	}
}

// Every pod gets the kube-api-access volume: its container reads a token,
// the cluster CA and its namespace at the Kubernetes path; the token
// works from outside as the pod's service account until the pod is
// deleted, and is refused after.
func TestPodServiceAccountTokenVolume(t *testing.T) {
	s := startNode(t)
	ctx := context.Background()
	admin := s.Client()
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: reader
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
`, "apply", "-f", "-")
	pod := waitForPod(t, s, "default", "reader", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })

	const dir = "/var/run/secrets/kubernetes.io/serviceaccount"
	sh := func(cmd string) string { return k.MustRun("", "exec", "reader", "--", "sh", "-c", cmd) }
	token := sh("cat " + dir + "/token")
	if ns := sh("cat " + dir + "/namespace"); ns != "default" {
		t.Errorf("namespace file = %q", ns)
	}
	ca, err := os.ReadFile(filepath.Join(s.DataDir, "pki", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sh("cat " + dir + "/ca.crt"); got != string(ca) {
		t.Errorf("ca.crt in the pod differs from the cluster CA:\n%s", got)
	}
	if got := sh("touch " + dir + "/x 2>&1 || echo refused"); !strings.HasSuffix(got, "refused\n") {
		t.Errorf("the token volume is writable: %q", got)
	}
	if got := sh("ls " + dir); got != "ca.crt\nnamespace\ntoken\n" {
		t.Errorf("ls %s = %q", dir, got)
	}

	claims := jwtClaims(t, token)
	k8s := claims["kubernetes.io"].(map[string]any)
	if p := k8s["pod"].(map[string]any); p["name"] != "reader" || p["uid"] != string(pod.UID) || k8s["namespace"] != "default" {
		t.Errorf("token claims = %v", claims)
	}
	if n, _ := k8s["node"].(map[string]any); n["name"] != "orca-e2e" {
		t.Errorf("token names node %v, want orca-e2e", k8s["node"])
	}

	cs := tokenClient(t, s, token)
	if _, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("list pods with the pod's token: %v", err)
	}
	review, err := whoami(t, cs)
	if err != nil {
		t.Fatal(err)
	}
	u := review.Status.UserInfo
	if u.Username != "system:serviceaccount:default:default" {
		t.Errorf("user = %s", u.Username)
	}
	if got := u.Extra["authentication.kubernetes.io/pod-uid"]; len(got) != 1 || got[0] != string(pod.UID) {
		t.Errorf("extra = %v", u.Extra)
	}

	// TokenReview tells others (a webhook, a sidecar) the same.
	tr, err := admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil || !tr.Status.Authenticated || tr.Status.User.Username != "system:serviceaccount:default:default" {
		t.Errorf("TokenReview = %+v, %v", tr, err)
	}

	grace := int64(1)
	if err := admin.CoreV1().Pods("default").Delete(ctx, "reader", metav1.DeleteOptions{GracePeriodSeconds: &grace}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 60*time.Second, "pod gone", func() bool {
		_, err := admin.CoreV1().Pods("default").Get(ctx, "reader", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	var last error
	framework.Eventually(t, 10*time.Second, "the deleted pod's token refused with 401", func() bool {
		_, last = cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		return apierrors.IsUnauthorized(last)
	})
	tr, err = admin.AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil || tr.Status.Authenticated || !strings.Contains(tr.Status.Error, "service account token has been invalidated") {
		t.Errorf("TokenReview of the deleted pod's token = %+v, %v", tr.Status, err)
	}
}

// The signing key lives in the data dir: tokens issued before a restart
// still work after it.
func TestServiceAccountTokensSurviveARestart(t *testing.T) {
	s := framework.StartServer(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	framework.Eventually(t, 30*time.Second, "default service account", func() bool {
		return k.Run("", "get", "serviceaccount", "default").ExitCode == 0
	})
	token := strings.TrimSpace(k.MustRun("", "create", "token", "default"))
	s.Stop()
	s.Start()
	if _, err := tokenClient(t, s, token).CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}
}
