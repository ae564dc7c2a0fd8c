package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
)

// RealNodeDirEnv names the directory with what a real node runs (kubelet, containerd, its shim, ctr, pause),
// built by `make realnode`.
const RealNodeDirEnv = "PEAPOD_REALNODE_DIR"

// RealNodeLabel marks the nodes that run real containers, so a spec can keep its Pods on them.
const RealNodeLabel = "peapod.test/real-node"

// A real node's network: the bridge every node's Pods plug into, with the nodes' addresses on it; no default
// route and no masquerade, so nothing leaves the machine.
const (
	bridgeName = "peapod0"
	// nodeNet holds the bridge's and the nodes' addresses (10.88.0.0/24) and the nodes' Pod ranges
	// (10.88.<node>.0/24, node 1 upwards).
	nodeNet = "10.88"
)

// RealNode is a node of the cluster run by a real kubelet and containerd on this machine.
type RealNode struct {
	Name string
	// IP is the node's address, on the bridge.
	IP  string
	dir string
	// index numbers the node (1, 2, ...): its address and Pod range.
	index      int
	containerd *process
	kubelet    *process
	kubeletCfg []string
}

func (n *RealNode) socket() string     { return filepath.Join(n.dir, "containerd.sock") }
func (n *RealNode) cgroupRoot() string { return "/peapod-" + n.Name }
func (n *RealNode) podCIDR() string    { return fmt.Sprintf("%s.%d.0/24", nodeNet, n.index) }
func (n *RealNode) logDir() string     { return filepath.Join(n.dir, "logs") }

// AddRealNodes starts n real nodes (one containerd and one kubelet each) and waits until they are Ready. binDir
// is `make realnode`'s directory; empty means $PEAPOD_REALNODE_DIR.
func (c *Cluster) AddRealNodes(ctx context.Context, n int, binDir string) ([]*RealNode, error) {
	if binDir == "" {
		binDir = os.Getenv(RealNodeDirEnv)
	}
	if err := RealNodesPossible(binDir); err != nil {
		return nil, err
	}
	if len(c.realNodes) == 0 {
		if err := c.setUpHost(binDir); err != nil {
			return nil, err
		}
	}
	var added []*RealNode
	for range n {
		index := len(c.realNodes) + 1
		node := &RealNode{Name: fmt.Sprintf("real-%d", index), IP: fmt.Sprintf("%s.0.%d", nodeNet, 10+index), index: index,
			dir: filepath.Join(c.Dir, fmt.Sprintf("real-%d", index))}
		c.mu.Lock()
		c.realNodes = append(c.realNodes, node)
		c.mu.Unlock()
		if err := c.startRealNode(ctx, binDir, node); err != nil {
			return nil, err
		}
		added = append(added, node)
	}
	for _, node := range added {
		if err := c.waitNodeReady(ctx, node.Name, 60*time.Second); err != nil {
			return nil, fmt.Errorf("real node %s: %w\n%s", node.Name, err, node.kubelet.logTail(30))
		}
	}
	return added, nil
}

// RealNodesPossible says why this machine cannot run real nodes, or nil when it can.
func RealNodesPossible(binDir string) error {
	if os.Geteuid() != 0 {
		return errors.New("real nodes need root (containerd, runc, network namespaces)")
	}
	if binDir == "" {
		return fmt.Errorf("no real-node binaries: set %s (`make realnode` prints the directory)", RealNodeDirEnv)
	}
	for _, bin := range []string{"kubelet", "containerd", "containerd-shim-runc-v2", "ctr", "pause"} {
		if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
			return fmt.Errorf("%s has no %s: run `make realnode`", binDir, bin)
		}
	}
	for _, tool := range []string{"runc", "ip", busyboxBinary} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed: run `make realnode`", tool)
		}
	}
	if _, err := os.Stat(cniBinDir + "/bridge"); err != nil {
		return fmt.Errorf("the CNI plugins are not in %s: run `make realnode`", cniBinDir)
	}
	return nil
}

// cniBinDir is where Debian's containernetworking-plugins puts them.
const cniBinDir = "/usr/lib/cni"

// setUpHost creates the bridge and builds the images, and registers what undoes it (the bridge, the sysctls the
// kubelet changes) for Stop.
func (c *Cluster) setUpHost(binDir string) error {
	sysctls := map[string]string{}
	for _, key := range []string{"vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward"} {
		if v, err := os.ReadFile("/proc/sys/" + key); err == nil {
			sysctls[key] = strings.TrimSpace(string(v))
		}
	}
	reapLeftovers()
	c.mu.Lock()
	c.faults = append(c.faults, func() { c.tearDownRealNodes(sysctls) })
	c.mu.Unlock()
	if err := ip("link", "add", bridgeName, "type", "bridge"); err != nil {
		return err
	}
	if err := ip("addr", "add", nodeNet+".0.1/16", "dev", bridgeName); err != nil {
		return err
	}
	if err := ip("link", "set", bridgeName, "up"); err != nil {
		return err
	}
	// Between the nodes' Pod ranges on the one bridge; nothing routes beyond it.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		return err
	}
	images := filepath.Join(c.Dir, "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		return err
	}
	archives, err := buildImages(binDir, images)
	if err != nil {
		return err
	}
	c.imageArchives = archives
	return nil
}

func (c *Cluster) startRealNode(ctx context.Context, binDir string, node *RealNode) error {
	for _, d := range []string{node.logDir(), filepath.Join(node.dir, "cni"), filepath.Join(node.dir, "kubelet")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := ip("addr", "add", node.IP+"/16", "dev", bridgeName); err != nil {
		return err
	}
	if err := createCgroups(node.cgroupRoot()); err != nil {
		return err
	}
	if err := c.writeRealNodeConfig(node); err != nil {
		return err
	}
	if err := c.startContainerd(ctx, binDir, node); err != nil {
		return err
	}
	for _, archive := range c.imageArchives {
		out, err := ctrCommand(ctx, binDir, node.socket(), "images", "import", archive).CombinedOutput()
		if err != nil {
			return fmt.Errorf("real node %s: importing %s: %w: %s", node.Name, archive, err, out)
		}
	}
	return c.startKubelet(binDir, node)
}

func (c *Cluster) startContainerd(ctx context.Context, binDir string, node *RealNode) error {
	p, err := launchWithPath(node.Name+"-containerd", filepath.Join(binDir, "containerd"),
		[]string{"--config", filepath.Join(node.dir, "containerd.toml")},
		filepath.Join(node.logDir(), "containerd.log"), binDir)
	if err != nil {
		return err
	}
	node.containerd = p
	return p.waitUntil(ctx, 30*time.Second, func(ctx context.Context) bool {
		return ctrCommand(ctx, binDir, node.socket(), "version").Run() == nil
	})
}

func (c *Cluster) startKubelet(binDir string, node *RealNode) error {
	p, err := launchWithPath(node.Name+"-kubelet", filepath.Join(binDir, "kubelet"), node.kubeletCfg,
		filepath.Join(node.logDir(), "kubelet.log"), binDir)
	if err != nil {
		return err
	}
	node.kubelet = p
	return nil
}

func (c *Cluster) writeRealNodeConfig(node *RealNode) error {
	ports, err := FreePorts(2)
	if err != nil {
		return err
	}
	certPEM, keyPEM, err := c.certs.clientCertificate("system:node:"+node.Name, "system:nodes")
	if err != nil {
		return err
	}
	kubeconfig := kubeconfigFor(c.Config.Host, c.certs.caCertPEM, certPEM, keyPEM)
	kubeconfigPath := filepath.Join(node.dir, "kubelet.kubeconfig")
	if err := clientcmd.WriteToFile(*kubeconfig, kubeconfigPath); err != nil {
		return err
	}
	files := map[string]string{
		"containerd.toml": containerdConfig(node),
		// One L2 network for every node and Pod (10.88.0.0/16 on the bridge), each node allocating from its own
		// /24: every address is on-link, so there is no gateway, no route and no masquerade.
		"cni/10-peapod.conflist": fmt.Sprintf(`{"cniVersion": "1.0.0", "name": "peapod", "plugins": [{
  "type": "bridge", "bridge": %q, "isGateway": false, "ipMasq": false, "hairpinMode": true,
  "ipam": {"type": "host-local", "dataDir": %q, "ranges": [[{"subnet": "%s.0.0/16",
    "rangeStart": "%s.%d.2", "rangeEnd": "%s.%d.254"}]]}}]}`,
			bridgeName, filepath.Join(node.dir, "ipam"), nodeNet, nodeNet, node.index, nodeNet, node.index),
		"kubelet.yaml": fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: %s
port: %d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %d
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: %s}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: %s
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://%s
resolvConf: ""
makeIPTablesUtilChains: false
podCIDR: %s
maxPods: 110
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
volumePluginDir: %s
registerNode: true
`, node.IP, ports[0], ports[1], c.certs.caCertFile, node.cgroupRoot(), node.socket(), node.podCIDR(),
			filepath.Join(node.dir, "volume-plugins")),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(node.dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	node.kubeletCfg = []string{
		"--config=" + filepath.Join(node.dir, "kubelet.yaml"),
		"--kubeconfig=" + kubeconfigPath,
		"--root-dir=" + filepath.Join(node.dir, "kubelet"),
		"--cert-dir=" + filepath.Join(node.dir, "kubelet-pki"),
		"--hostname-override=" + node.Name,
		"--node-ip=" + node.IP,
		"--node-labels=" + RealNodeLabel + "=true",
		"--v=2",
	}
	return nil
}

func containerdConfig(node *RealNode) string {
	return fmt.Sprintf(`version = 3
root = %q
state = %q

[grpc]
  address = %q

[ttrpc]
  address = %q

[plugins.'io.containerd.cri.v1.runtime']
  enable_selinux = false
  # The machine lacks CAP_SYS_RESOURCE: runc may not lower a container's oom_score_adj below its own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = [%q]
    conf_dir = %q
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = 'io.containerd.runc.v2'
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = '/usr/sbin/runc'
      SystemdCgroup = false

[plugins.'io.containerd.cri.v1.images']
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = %q
`, filepath.Join(node.dir, "containerd", "root"), filepath.Join(node.dir, "containerd", "state"),
		node.socket(), node.socket()+".ttrpc", cniBinDir, filepath.Join(node.dir, "cni"), PauseImage)
}

// createCgroups makes a node's cgroup root in every hierarchy, as the kubelet requires it to exist; a cpuset
// takes its parent's CPUs and memory nodes, or no process could join it.
func createCgroups(root string) error {
	for _, hierarchy := range cgroupRoots() {
		if filepath.Base(hierarchy) == "unified" {
			continue
		}
		dir := filepath.Join(hierarchy, root)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if filepath.Base(hierarchy) == "cpuset" {
			for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
				v, err := os.ReadFile(filepath.Join(hierarchy, file))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dir, file), v, 0o644); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// waitNodeReady waits for a node to be registered, Ready and renewing its Lease.
func (c *Cluster) waitNodeReady(ctx context.Context, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ready, err := c.nodeUp(ctx, name)
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not Ready with a fresh Lease after %s (last error: %v)", timeout, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// nodeUp says a node is Ready and has renewed its Lease lately. A kubelet creates its Lease some seconds after it
// registers the Node: until then, a node that dies is seen only by its Ready condition, 50 s later, so a node
// counts as up only once it renews.
func (c *Cluster) nodeUp(ctx context.Context, name string) (bool, error) {
	node, err := c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	if ReadyStatus(node) != corev1.ConditionTrue {
		return false, nil
	}
	lease, err := c.Clientset.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	fresh := lease.Spec.RenewTime != nil && lease.Spec.LeaseDurationSeconds != nil &&
		time.Since(lease.Spec.RenewTime.Time) < time.Duration(*lease.Spec.LeaseDurationSeconds)*time.Second/4*3/2
	return fresh, nil
}

// ctrCommand is ctr against a node's containerd, in the CRI's namespace.
func ctrCommand(ctx context.Context, binDir, socket string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, filepath.Join(binDir, "ctr"), append([]string{"--address", socket, "-n", "k8s.io"}, args...)...)
}

// ip runs iproute2's ip.
func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
