package pods

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/images"
	"github.com/orca-pods/orca/internal/runtime"
)

// containerConfigError marks failures Kubernetes reports as
// CreateContainerConfigError (missing config, runAsNonRoot, ...).
type containerConfigError struct{ msg string }

func (e *containerConfigError) Error() string { return e.msg }

func configErrorf(format string, args ...any) error {
	return &containerConfigError{msg: fmt.Sprintf(format, args...)}
}

// containerConfig resolves everything a container needs into the runtime's
// configuration.
func (w *worker) containerConfig(ctx context.Context, pod *corev1.Pod, c *corev1.Container, img *images.Image, attempt int) (runtime.ContainerConfig, error) {
	env, err := w.resolveEnv(ctx, pod, c)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	user, err := resolveUser(pod, c, img)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	mounts, err := w.mounts(pod, c)
	if err != nil {
		return runtime.ContainerConfig{}, err
	}
	if c.TerminationMessagePath != "" {
		path, err := w.terminationFile(pod, c.Name)
		if err != nil {
			return runtime.ContainerConfig{}, err
		}
		mounts = append(mounts, runtime.Mount{HostPath: path, ContainerPath: c.TerminationMessagePath})
	}
	if err := os.MkdirAll(filepath.Dir(containers.LogPath(w.m.cfg.LogDir, pod, c.Name, attempt)), 0o755); err != nil {
		return runtime.ContainerConfig{}, fmt.Errorf("create container log directory for container %s failed: %w", c.Name, err)
	}
	cfg := containers.Build(containers.Input{
		Pod: pod, Container: c, Attempt: attempt,
		Image: containers.Image{
			Ref: img.Name, Layers: img.Layers,
			Entrypoint: img.Config.Entrypoint, Cmd: img.Config.Cmd, Env: img.Config.Env,
			WorkingDir: img.Config.WorkingDir, User: img.Config.User, StopSignal: img.Config.StopSignal,
		},
		Env: env, Mounts: mounts, User: user,
		LogDir: w.m.cfg.LogDir, MemoryCapacity: w.m.cfg.MemoryCapacity,
		Security: security(pod, c),
	})
	if len(cfg.Args) == 0 {
		return runtime.ContainerConfig{}, fmt.Errorf("no command specified")
	}
	return cfg, nil
}

// terminationFile creates the per-attempt file bind-mounted at the
// container's terminationMessagePath, as the kubelet does.
func (w *worker) terminationFile(pod *corev1.Pod, name string) (string, error) {
	dir := filepath.Join(w.podDir(pod), "containers", name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	path := filepath.Join(dir, hex.EncodeToString(b))
	f, err := os.Create(path)
	if err != nil {
		return "", fmt.Errorf("error on creating termination-log file %q: %w", path, err)
	}
	f.Close()
	return path, os.Chmod(path, 0o666)
}

func (w *worker) podDir(pod *corev1.Pod) string {
	return filepath.Join(w.m.cfg.PodsDir, string(pod.UID))
}

// resolveUser combines the image's USER with the security context; named
// users are looked up in the image's /etc/passwd.
func resolveUser(pod *corev1.Pod, c *corev1.Container, img *images.Image) (runtime.User, error) {
	var u runtime.User
	var named string
	if img.Config.User != "" {
		uid, gid, err := lookupUser(img.Layers, img.Config.User)
		if err != nil {
			named = img.Config.User
		} else {
			u.UID, u.GID = uid, gid
		}
	}
	psc, csc := pod.Spec.SecurityContext, c.SecurityContext
	if psc != nil && psc.RunAsUser != nil {
		u.UID, named = *psc.RunAsUser, ""
	}
	if csc != nil && csc.RunAsUser != nil {
		u.UID, named = *csc.RunAsUser, ""
	}
	if psc != nil && psc.RunAsGroup != nil {
		u.GID = *psc.RunAsGroup
	}
	if csc != nil && csc.RunAsGroup != nil {
		u.GID = *csc.RunAsGroup
	}
	if psc != nil {
		u.AdditionalGIDs = append(u.AdditionalGIDs, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			u.AdditionalGIDs = append(u.AdditionalGIDs, *psc.FSGroup)
		}
	}
	nonRoot := false
	if psc != nil && psc.RunAsNonRoot != nil {
		nonRoot = *psc.RunAsNonRoot
	}
	if csc != nil && csc.RunAsNonRoot != nil {
		nonRoot = *csc.RunAsNonRoot
	}
	if nonRoot {
		switch {
		case named != "":
			return u, configErrorf("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", named, formatPod(pod), c.Name)
		case u.UID == 0:
			return u, configErrorf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", formatPod(pod), c.Name)
		}
	}
	return u, nil
}

// security resolves the container's effective security context.
func security(pod *corev1.Pod, c *corev1.Container) runtime.Security {
	s := runtime.Security{SeccompProfile: "RuntimeDefault"}
	if psc := pod.Spec.SecurityContext; psc != nil {
		if psc.SeccompProfile != nil {
			s.SeccompProfile = seccomp(psc.SeccompProfile)
		}
		for _, sc := range psc.Sysctls {
			if s.Sysctls == nil {
				s.Sysctls = map[string]string{}
			}
			s.Sysctls[sc.Name] = sc.Value
		}
	}
	csc := c.SecurityContext
	if csc == nil {
		return s
	}
	if csc.Privileged != nil {
		s.Privileged = *csc.Privileged
	}
	if csc.ReadOnlyRootFilesystem != nil {
		s.ReadOnlyRootfs = *csc.ReadOnlyRootFilesystem
	}
	if csc.AllowPrivilegeEscalation != nil {
		s.NoNewPrivileges = !*csc.AllowPrivilegeEscalation
	}
	if csc.Capabilities != nil {
		for _, cp := range csc.Capabilities.Add {
			s.CapabilitiesAdd = append(s.CapabilitiesAdd, capName(cp))
		}
		for _, cp := range csc.Capabilities.Drop {
			s.CapabilitiesDrop = append(s.CapabilitiesDrop, capName(cp))
		}
	}
	if csc.SeccompProfile != nil {
		s.SeccompProfile = seccomp(csc.SeccompProfile)
	}
	if csc.ProcMount != nil && *csc.ProcMount == corev1.UnmaskedProcMount {
		s.MaskedPathsUnmasked = true
	}
	return s
}

func capName(c corev1.Capability) string {
	name := strings.ToUpper(string(c))
	if name == "ALL" || strings.HasPrefix(name, "CAP_") {
		return name
	}
	return "CAP_" + name
}

func seccomp(p *corev1.SeccompProfile) string {
	switch p.Type {
	case corev1.SeccompProfileTypeUnconfined:
		return "Unconfined"
	case corev1.SeccompProfileTypeLocalhost:
		if p.LocalhostProfile != nil {
			return *p.LocalhostProfile
		}
	}
	return "RuntimeDefault"
}
