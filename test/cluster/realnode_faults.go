package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KillRealNode cuts a real node's power: its kubelet, its containerd, the shims and every container die at once.
func (c *Cluster) KillRealNode(name string) error {
	node, err := c.realNode(name)
	if err != nil {
		return err
	}
	node.powerOff()
	return nil
}

// PartitionRealNode cuts a real node off the control plane: its kubelet dies, its containers keep running (as on
// a node behind a network partition), until RecoverRealNode starts the kubelet again.
func (c *Cluster) PartitionRealNode(name string) error {
	node, err := c.realNode(name)
	if err != nil {
		return err
	}
	if node.kubelet != nil {
		node.kubelet.kill()
	}
	return nil
}

// RecoverRealNode starts what a kill or a partition stopped: containerd if it is down, then the kubelet.
func (c *Cluster) RecoverRealNode(ctx context.Context, name string) error {
	node, err := c.realNode(name)
	if err != nil {
		return err
	}
	binDir := filepath.Dir(node.kubelet.binary)
	if node.containerd.hasExited() {
		if err := c.startContainerd(ctx, binDir, node); err != nil {
			return err
		}
	}
	if node.kubelet.hasExited() {
		if err := c.startKubelet(binDir, node); err != nil {
			return err
		}
	}
	return c.waitNodeReady(ctx, node.Name, 60*time.Second)
}

// RealNodeContainers lists the containers of a Pod (by name, in any namespace) running on a real node, as its
// runtime sees them, so a spec can tell that a second copy of a member never ran there, whatever the API says.
// A node whose containerd is down runs none.
func (c *Cluster) RealNodeContainers(ctx context.Context, node, pod string) ([]string, error) {
	n, err := c.realNode(node)
	if err != nil {
		return nil, err
	}
	running, err := n.runningTasks(ctx)
	if err != nil || len(running) == 0 {
		return nil, err
	}
	out, err := ctrCommand(ctx, filepath.Dir(n.containerd.binary), n.socket(), "containers", "ls", "-q",
		// One filter, its terms joined by commas: containerd ORs separate filters.
		`labels."io.kubernetes.pod.name"==`+pod+`,labels."io.cri-containerd.kind"==container`).Output()
	if err != nil {
		return nil, err
	}
	var ofPod []string
	for _, id := range strings.Fields(string(out)) {
		if slices.Contains(running, id) {
			ofPod = append(ofPod, id)
		}
	}
	return ofPod, nil
}

func (c *Cluster) realNode(name string) (*RealNode, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.realNodes {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no real node %s", name)
}

// powerOff kills everything of the node: the kubelet and containerd, then every process in the node's cgroups
// (the containers) and the shims that served them, then unmounts what they mounted.
func (n *RealNode) powerOff() {
	if n.kubelet != nil {
		n.kubelet.kill()
	}
	if n.containerd != nil {
		n.containerd.kill()
	}
	killMatching(func(pid int, cmdline string) bool {
		return strings.Contains(cmdline, n.socket()) || inCgroup(pid, n.cgroupRoot())
	})
	unmountUnder(n.dir)
}

// tearDownRealNodes leaves the machine as it was: no process, mount, cgroup, address or bridge of the real nodes,
// and the sysctls the kubelet changed restored.
func (c *Cluster) tearDownRealNodes(sysctls map[string]string) {
	c.mu.Lock()
	nodes := c.realNodes
	c.realNodes = nil
	c.mu.Unlock()
	for _, n := range nodes {
		n.powerOff()
		removeCgroups(n.cgroupRoot())
	}
	_ = ip("link", "del", bridgeName)
	for key, v := range sysctls {
		_ = os.WriteFile("/proc/sys/"+key, []byte(v), 0o644)
	}
}

// reapLeftovers removes what a run killed before its teardown left: processes and mounts of an earlier cluster's
// real nodes, their cgroups, and the bridge.
func reapLeftovers() {
	killMatching(func(pid int, cmdline string) bool {
		return strings.Contains(cmdline, "/peapod-cluster-") && strings.Contains(cmdline, "containerd.sock") ||
			inCgroup(pid, "/peapod-real-")
	})
	unmountUnder(filepath.Join(os.TempDir(), "peapod-cluster-"))
	for _, root := range cgroupRoots() {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "peapod-real-") {
				removeCgroups("/" + e.Name())
			}
		}
	}
	_ = ip("link", "del", bridgeName)
}

// killMatching SIGKILLs every process that match picks, until none is left.
func killMatching(match func(pid int, cmdline string) bool) {
	for range 20 {
		found := false
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == os.Getpid() {
				continue
			}
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if match(pid, strings.ReplaceAll(string(cmdline), "\x00", " ")) {
				found = true
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inCgroup reports whether a process is in a cgroup under root (cgroup v1: any hierarchy).
func inCgroup(pid int, root string) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && strings.HasPrefix(parts[2], root) {
			return true
		}
	}
	return false
}

// unmountUnder detaches every mount at or under a path prefix, deepest first.
func unmountUnder(prefix string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if fields := strings.Fields(scanner.Text()); len(fields) > 4 && strings.HasPrefix(fields[4], prefix) {
			points = append(points, fields[4])
		}
	}
	_ = f.Close()
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

func cgroupRoots() []string {
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	var roots []string
	for _, e := range entries {
		if e.IsDir() {
			roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return roots
}

// removeCgroups removes a cgroup and those under it in every hierarchy, deepest first.
func removeCgroups(root string) {
	for _, hierarchy := range cgroupRoots() {
		var dirs []string
		_ = filepath.WalkDir(filepath.Join(hierarchy, root), func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			_ = os.Remove(dirs[i])
		}
	}
}

// runningTasks lists the node's running containers by their runtime (ctr tasks).
func (n *RealNode) runningTasks(ctx context.Context) ([]string, error) {
	if n.containerd == nil || n.containerd.hasExited() {
		return nil, nil
	}
	out, err := ctrCommand(ctx, filepath.Dir(n.containerd.binary), n.socket(), "tasks", "ls").Output()
	if err != nil {
		return nil, err
	}
	var running []string
	for _, line := range strings.Split(string(out), "\n")[1:] {
		if fields := strings.Fields(line); len(fields) == 3 && fields[2] == "RUNNING" {
			running = append(running, fields[0])
		}
	}
	return running, nil
}
