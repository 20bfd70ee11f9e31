// Package cni sets up pod networking through standard CNI plugins (via
// libcni) in place of orca's built-in bridge, behaving as the kubelet with
// containerd's CRI plugin does:
//
//   - the network is the first config in the conf dir in lexical order (a
//     .conflist, or a .conf/.json single plugin wrapped into a list);
//   - ADD runs with the pod UID as the container ID, eth0 as the interface,
//     the K8S_POD_* args and the pod's hostPorts as the portMappings
//     capability;
//   - libcni's result cache (under CacheDir) makes SetUpPod idempotent and
//     gives DEL the config and arguments ADD used, even after the conf dir
//     changed;
//   - errors carry libcni's `plugin type="..." name="..." failed (add): ...`
//     wording, which is what FailedCreatePodSandBox events show.
package cni

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/orca-pods/orca/internal/network"
)

// Defaults, as containerd's; /usr/lib/cni is where Debian's
// containernetworking-plugins installs the plugins.
const (
	DefaultConfDir  = "/etc/cni/net.d"
	DefaultCacheDir = "/var/lib/cni"
)

// DefaultBinDirs are searched for plugins when Config.BinDirs is empty.
var DefaultBinDirs = []string{"/opt/cni/bin", "/usr/lib/cni"}

// ErrNotInitialized is returned (wrapped) while no usable network config
// has been found; the text is containerd's.
var ErrNotInitialized = errors.New("cni plugin not initialized")

const (
	ifName = "eth0"
	// rescanInterval bounds how often a loaded config is checked for
	// changes; without a config the dir is re-read on every call.
	rescanInterval = 5 * time.Second
	// cleanupTimeout bounds the DEL that undoes a failed ADD, which runs
	// even when the caller's context is done.
	cleanupTimeout = time.Minute
)

// Config configures the plugin. Zero fields take the defaults above.
type Config struct {
	// ConfDir holds the network configs (.conflist, .conf, .json).
	ConfDir string
	// BinDirs are searched in order for plugin binaries.
	BinDirs []string
	// CacheDir is libcni's cache of results and configs per attachment.
	CacheDir string
	Logger   *slog.Logger
}

// Plugin runs the CNI plugins of the first network config of ConfDir.
type Plugin struct {
	confDir string
	cni     *libcni.CNIConfig
	log     *slog.Logger
	locks   podLocks

	mu       sync.Mutex
	closed   bool
	list     *libcni.NetworkConfigList // nil while not ready
	loadErr  error                     // why list is nil
	loadedFP fileStamp                 // the file list came from
	lastScan time.Time
}

// fileStamp identifies a version of a config file, to notice rewrites.
type fileStamp struct {
	path    string
	size    int64
	modTime time.Time
}

// New returns a plugin for cfg. A missing or empty conf dir is not an
// error: the plugin is not ready until a config appears.
func New(cfg Config) (*Plugin, error) {
	if cfg.ConfDir == "" {
		cfg.ConfDir = DefaultConfDir
	}
	if len(cfg.BinDirs) == 0 {
		cfg.BinDirs = DefaultBinDirs
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "cni")
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		return nil, fmt.Errorf("create cni cache dir: %w", err)
	}
	// Plugins write diagnostics to stderr; send them to our log instead of
	// the agent's stderr.
	exec := &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: stderrLog{log}},
		PluginDecoder: version.PluginDecoder{},
	}
	p := &Plugin{
		confDir: cfg.ConfDir,
		cni:     libcni.NewCNIConfigWithCacheDir(cfg.BinDirs, cfg.CacheDir, exec),
		log:     log,
		locks:   podLocks{m: map[string]*podLock{}},
	}
	p.mu.Lock()
	p.rescanLocked()
	p.mu.Unlock()
	return p, nil
}

// Ready reports whether a network config is loaded; if not, the message
// is the kubelet's NetworkReady=false runtime condition.
func (p *Plugin) Ready() (bool, string) {
	if _, err := p.config(); err != nil {
		return false, "container runtime network not ready: NetworkReady=false " +
			"reason:NetworkPluginNotReady message:Network plugin returns error: " + err.Error()
	}
	return true, ""
}

// Close stops the plugin; pods keep their network.
func (p *Plugin) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	return nil
}

// SetUpPod attaches the pod's network namespace to the network and
// returns its IPv4 address. Calling it again for a pod that is set up
// returns the same address after a CHECK.
func (p *Plugin) SetUpPod(ctx context.Context, pod network.Pod) (net.IP, error) {
	id := pod.UID
	if id == "" {
		return nil, errors.New("cni: pod has no UID")
	}
	if pod.NetNSPath == "" {
		return nil, fmt.Errorf("failed to setup network for sandbox %q: no network namespace", id)
	}
	defer p.locks.lock(id)()

	list, err := p.config()
	if err != nil {
		return nil, fmt.Errorf("failed to setup network for sandbox %q: %w", id, err)
	}
	rt := runtimeConf(pod)

	attachments, err := p.cni.GetCachedAttachments(id)
	if err != nil {
		return nil, fmt.Errorf("read cni cache for sandbox %q: %w", id, err)
	}
	for _, a := range attachments {
		if a.Network != list.Name || a.IfName != ifName || a.NetNS != pod.NetNSPath {
			continue
		}
		ip, err := p.checkCached(ctx, list, rt)
		if err == nil {
			p.log.Debug("pod network already set up", "pod", podRef(pod), "ip", ip)
			return ip, nil
		}
		p.log.Warn("cached pod network failed check; setting it up again", "pod", podRef(pod), "err", err)
	}
	// Whatever is cached is stale now (another netns, another network, or a
	// failed CHECK): DEL it before ADD so nothing leaks.
	if err := p.delAttachments(ctx, pod, attachments); err != nil {
		return nil, fmt.Errorf("failed to setup network for sandbox %q: remove previous network: %w", id, err)
	}

	res, err := p.cni.AddNetworkList(ctx, list, rt)
	if err == nil {
		var ip net.IP
		if ip, err = podIPv4(res); err == nil {
			p.log.Info("pod network set up", "pod", podRef(pod), "network", list.Name, "ip", ip)
			return ip, nil
		}
		err = fmt.Errorf("network %q: %w", list.Name, err)
	}
	// Undo what the plugins before the failing one did (the IP lease, the
	// veth), as containerd does, so that a retry starts clean.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if derr := p.cni.DelNetworkList(dctx, list, rt); derr != nil {
		p.log.Warn("clean up after failed setup", "pod", podRef(pod), "err", derr)
	}
	return nil, fmt.Errorf("failed to setup network for sandbox %q: %w", id, err)
}

// TearDownPod detaches the pod from the network. It is idempotent and
// works after the network namespace is gone.
func (p *Plugin) TearDownPod(ctx context.Context, pod network.Pod) error {
	id := pod.UID
	if id == "" {
		return errors.New("cni: pod has no UID")
	}
	defer p.locks.lock(id)()

	attachments, err := p.cni.GetCachedAttachments(id)
	if err != nil {
		return fmt.Errorf("read cni cache for sandbox %q: %w", id, err)
	}
	if len(attachments) > 0 {
		if err := p.delAttachments(ctx, pod, attachments); err != nil {
			return fmt.Errorf("failed to destroy network for sandbox %q: %w", id, err)
		}
		p.log.Info("pod network torn down", "pod", podRef(pod))
		return nil
	}
	// No cached ADD: it failed half way or ran before a cache existed. A
	// DEL with the current config cleans up either; plugins treat DEL of
	// something absent as success.
	list, err := p.config()
	if err != nil {
		p.log.Debug("no network config and nothing cached; nothing to tear down", "pod", podRef(pod))
		return nil
	}
	if err := p.cni.DelNetworkList(ctx, list, runtimeConf(pod)); err != nil {
		return fmt.Errorf("failed to destroy network for sandbox %q: %w", id, err)
	}
	return nil
}

// checkCached returns the IP of the pod's cached result once CHECK passes
// (or the config predates CHECK).
func (p *Plugin) checkCached(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) (net.IP, error) {
	res, err := p.cni.GetNetworkListCachedResult(list, rt)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, errors.New("no cached result")
	}
	if err := p.cni.CheckNetworkList(ctx, list, rt); err != nil && !errors.Is(err, libcni.ErrorCheckNotSupp) {
		return nil, err
	}
	return podIPv4(res)
}

// delAttachments runs DEL for each cached attachment with the config and
// arguments its ADD used, so that e.g. portmap removes the right rules.
func (p *Plugin) delAttachments(ctx context.Context, pod network.Pod, attachments []*libcni.NetworkAttachment) error {
	p.mu.Lock()
	current := p.list
	p.mu.Unlock()
	for _, a := range attachments {
		list := current
		var err error
		// The current list may hold plugins loaded from <confdir>/<name>/
		// that the cached bytes lack, so prefer it when it is the same.
		if list == nil || list.Name != a.Network || !bytes.Equal(list.Bytes, a.Config) {
			if list, err = parseCachedList(a.Config); err != nil {
				return fmt.Errorf("cached config of network %q: %w", a.Network, err)
			}
		}
		rt := &libcni.RuntimeConf{
			ContainerID:    a.ContainerID,
			NetNS:          a.NetNS,
			IfName:         a.IfName,
			Args:           a.CniArgs,
			CapabilityArgs: a.CapabilityArgs,
		}
		// DEL goes to the namespace ADD configured (a recreated sandbox has
		// a new one), existing or not: plugins must cope with it gone.
		if rt.NetNS == "" {
			rt.NetNS = pod.NetNSPath
		}
		if len(rt.Args) == 0 {
			rt.Args = podArgs(pod)
		}
		if rt.CapabilityArgs == nil {
			rt.CapabilityArgs = capabilityArgs(pod)
		}
		if err := p.cni.DelNetworkList(ctx, list, rt); err != nil {
			return err
		}
	}
	return nil
}

// config returns the loaded network config, re-reading the conf dir when
// none is loaded or the last look is old.
func (p *Plugin) config() (*libcni.NetworkConfigList, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("cni plugin closed")
	}
	if p.list == nil || time.Since(p.lastScan) >= rescanInterval {
		p.rescanLocked()
	}
	return p.list, p.loadErr
}

// rescanLocked loads the first config file of the conf dir unless it is
// the one already loaded. Like containerd, a file that fails to parse
// makes the plugin not ready rather than being skipped.
func (p *Plugin) rescanLocked() {
	p.lastScan = time.Now()
	list, stamp, err := p.loadFirst()
	if err == nil && p.list != nil && stamp == p.loadedFP {
		return
	}
	switch {
	case err != nil:
		if p.loadErr == nil || p.loadErr.Error() != err.Error() {
			p.log.Warn("no usable cni network config", "err", err)
		}
	default:
		kinds := make([]string, len(list.Plugins))
		for i, pl := range list.Plugins {
			kinds[i] = pl.Network.Type
		}
		p.log.Info("loaded cni network config", "file", stamp.path, "network", list.Name,
			"cniVersion", list.CNIVersion, "plugins", strings.Join(kinds, ","))
	}
	p.list, p.loadErr, p.loadedFP = list, err, stamp
}

func (p *Plugin) loadFirst() (*libcni.NetworkConfigList, fileStamp, error) {
	files, err := libcni.ConfFiles(p.confDir, []string{".conf", ".conflist", ".json"})
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("read cni config dir %s: %w: %w", p.confDir, err, ErrNotInitialized)
	}
	if len(files) == 0 {
		return nil, fileStamp{}, fmt.Errorf("no network config found in %s: %w", p.confDir, ErrNotInitialized)
	}
	sort.Strings(files)
	file := files[0]
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("failed to load cni config %s: %w: %w", file, err, ErrNotInitialized)
	}
	stamp := fileStamp{path: file, size: fi.Size(), modTime: fi.ModTime()}
	var list *libcni.NetworkConfigList
	if filepath.Ext(file) == ".conflist" {
		list, err = libcni.ConfListFromFile(file)
	} else {
		var conf *libcni.NetworkConfig
		if conf, err = libcni.ConfFromFile(file); err == nil {
			list, err = libcni.ConfListFromConf(conf)
		}
	}
	if err != nil {
		return nil, stamp, fmt.Errorf("failed to load cni config %s: %w: %w", file, err, ErrNotInitialized)
	}
	nameUnnamedPlugins(list)
	return list, stamp, nil
}

func parseCachedList(b []byte) (*libcni.NetworkConfigList, error) {
	list, err := libcni.ConfListFromBytes(b)
	if err != nil {
		return nil, err
	}
	nameUnnamedPlugins(list)
	return list, nil
}

// nameUnnamedPlugins gives the plugins of a list the list's name, which
// libcni injects on every invocation anyway, so that its errors read
// `plugin type="bridge" name="mynet" failed (add)` as containerd's do.
func nameUnnamedPlugins(list *libcni.NetworkConfigList) {
	for _, pl := range list.Plugins {
		if pl.Network != nil && pl.Network.Name == "" {
			pl.Network.Name = list.Name
		}
	}
}

// runtimeConf is what ADD (and DEL without a cache) is given for a pod.
func runtimeConf(pod network.Pod) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID:    pod.UID,
		NetNS:          pod.NetNSPath,
		IfName:         ifName,
		Args:           podArgs(pod),
		CapabilityArgs: capabilityArgs(pod),
	}
}

// podArgs are the CNI_ARGS the kubelet's runtimes pass; the pod UID stands
// in for the infra container, as orca's sandbox is per pod.
func podArgs(pod network.Pod) [][2]string {
	return [][2]string{
		{"IgnoreUnknown", "1"},
		{"K8S_POD_NAMESPACE", pod.Namespace},
		{"K8S_POD_NAME", pod.Name},
		{"K8S_POD_INFRA_CONTAINER_ID", pod.UID},
		{"K8S_POD_UID", pod.UID},
	}
}

// portMapping is one entry of the portMappings capability, in the form
// containerd passes and the portmap plugin reads.
type portMapping struct {
	HostPort      int32  `json:"hostPort"`
	ContainerPort int32  `json:"containerPort"`
	Protocol      string `json:"protocol"`
	HostIP        string `json:"hostIP,omitempty"`
}

func capabilityArgs(pod network.Pod) map[string]interface{} {
	// Never nil: libcni would inject a JSON null.
	pms := []portMapping{}
	for _, hp := range pod.HostPorts {
		if hp.HostPort <= 0 {
			continue
		}
		proto := strings.ToLower(hp.Protocol)
		if proto == "" {
			proto = "tcp" // the API's default
		}
		pms = append(pms, portMapping{
			HostPort:      hp.HostPort,
			ContainerPort: hp.ContainerPort,
			Protocol:      proto,
			HostIP:        hp.HostIP,
		})
	}
	return map[string]interface{}{"portMappings": pms}
}

// podIPv4 returns the first IPv4 address the result gives the pod,
// skipping addresses of host-side interfaces (a bridge's gateway).
func podIPv4(res types.Result) (net.IP, error) {
	r, err := types100.NewResultFromResult(res)
	if err != nil {
		return nil, fmt.Errorf("convert cni result: %w", err)
	}
	for _, ipc := range r.IPs {
		if i := ipc.Interface; i != nil && *i >= 0 && *i < len(r.Interfaces) && r.Interfaces[*i].Sandbox == "" {
			continue
		}
		if ip4 := ipc.Address.IP.To4(); ip4 != nil {
			return ip4, nil
		}
	}
	return nil, errors.New("cni result has no IPv4 address for the pod")
}

func podRef(pod network.Pod) string { return pod.Namespace + "/" + pod.Name }

// podLocks serialises operations on one pod; different pods run in
// parallel.
type podLocks struct {
	mu sync.Mutex
	m  map[string]*podLock
}

type podLock struct {
	sync.Mutex
	refs int
}

// lock locks id and returns the unlock function.
func (l *podLocks) lock(id string) func() {
	l.mu.Lock()
	pl := l.m[id]
	if pl == nil {
		pl = &podLock{}
		l.m[id] = pl
	}
	pl.refs++
	l.mu.Unlock()
	pl.Lock()
	return func() {
		pl.Unlock()
		l.mu.Lock()
		if pl.refs--; pl.refs == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// stderrLog logs what plugins write to stderr.
type stderrLog struct{ log *slog.Logger }

func (w stderrLog) Write(b []byte) (int, error) {
	if msg := strings.TrimSpace(string(b)); msg != "" {
		w.log.Warn("cni plugin stderr", "output", msg)
	}
	return len(b), nil
}
