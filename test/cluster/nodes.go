package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
)

const (
	// ManagedNodeLabel marks the nodes kwok keeps alive; removing it silences the node's "kubelet".
	ManagedNodeLabel = "peapod.io/kwok-managed"
	// NodeNamePrefix starts the name of every node the cluster creates.
	NodeNamePrefix = "kwok-node-"
	// trueValue is the value of the boolean labels and annotations the cluster writes.
	trueValue = "true"
)

// zones spread the nodes round-robin, so zone spreading and zone outages can be tested.
var zones = []string{"zone-a", "zone-b", "zone-c"}

// Nodes lists the names of the nodes created so far.
func (c *Cluster) Nodes() []string { return append([]string(nil), c.nodes...) }

// AddNodes creates n kwok nodes and waits until all are Ready.
func (c *Cluster) AddNodes(ctx context.Context, n int) error {
	first := len(c.nodes)
	for i := first; i < first+n; i++ {
		name := fmt.Sprintf("%s%d", NodeNamePrefix, i)
		node := kwokNode(name, zones[i%len(zones)], c.podsPerNode)
		if _, err := c.Clientset.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating node %s: %w", name, err)
		}
		c.nodes = append(c.nodes, name)
	}
	for _, name := range c.nodes[first:] {
		if err := c.WaitNodeReady(ctx, name, corev1.ConditionTrue, 30*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// FailNode silences a node's kubelet: kwok stops renewing its Lease and status, and stops acting on its pods,
// as when a machine loses power. The controller-manager notices after its node-monitor grace period.
func (c *Cluster) FailNode(ctx context.Context, name string) error {
	return c.setManaged(ctx, name, false)
}

// RecoverNode brings a failed node's kubelet back and waits until the node is Ready and the controller-manager
// has lifted the not-ready and unreachable taints, so the scheduler uses it again.
func (c *Cluster) RecoverNode(ctx context.Context, name string) error {
	if err := c.setManaged(ctx, name, true); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		node, err := c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // transient: retried until the timeout
		}
		for _, t := range node.Spec.Taints {
			if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
				return false, nil
			}
		}
		return ReadyStatus(node) == corev1.ConditionTrue, nil
	})
}

// WaitNodeReady waits until the node's Ready condition has the given status, failing early if a component died.
func (c *Cluster) WaitNodeReady(ctx context.Context, name string, want corev1.ConditionStatus, timeout time.Duration) error {
	var last corev1.ConditionStatus
	var seen *corev1.Node
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Failed(); err != nil {
			return false, err
		}
		node, err := c.Clientset.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil // transient: retried until the timeout
		}
		seen, last = node, ReadyStatus(node)
		return last == want, nil
	})
	if err != nil {
		return fmt.Errorf("node %s Ready=%q, want %q (%s): %w", name, last, want, c.heartbeats(seen, name), err)
	}
	return nil
}

// heartbeats says what the controller-manager judges a node's health by, for a wait that timed out: whether kwok
// still manages it, when its Lease and its Ready condition (of node, the wait's last read; nil if none) were last
// renewed, and which components restarted.
func (c *Cluster) heartbeats(node *corev1.Node, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := time.Now()
	var facts []string
	if node != nil {
		facts = append(facts, fmt.Sprintf("%s=%q", ManagedNodeLabel, node.Labels[ManagedNodeLabel]))
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				facts = append(facts, fmt.Sprintf("Ready heartbeat %s ago", now.Sub(cond.LastHeartbeatTime.Time).Round(time.Second)))
			}
		}
	}
	if lease, err := c.NodeLease(ctx, name); err == nil && lease.Spec.RenewTime != nil {
		facts = append(facts, fmt.Sprintf("Lease renewed %s ago", now.Sub(lease.Spec.RenewTime.Time).Round(time.Second)))
	}
	for _, r := range c.Restarts() {
		facts = append(facts, fmt.Sprintf("%s restarted %s ago", r.Component, now.Sub(r.At).Round(time.Second)))
	}
	return strings.Join(facts, ", ")
}

// NodeLease returns the node's Lease in kube-node-lease, the heartbeat kwok renews.
func (c *Cluster) NodeLease(ctx context.Context, name string) (*coordinationv1.Lease, error) {
	return c.Clientset.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, name, metav1.GetOptions{})
}

func (c *Cluster) setManaged(ctx context.Context, name string, managed bool) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"true"}}}`, ManagedNodeLabel)
	if !managed {
		patch = fmt.Sprintf(`{"metadata":{"labels":{%q:null}}}`, ManagedNodeLabel)
	}
	_, err := c.Clientset.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("node %s does not exist: %w", name, err)
	}
	return err
}

// ReadyStatus is the status of a Node's Ready condition, "" when it has none.
func ReadyStatus(node *corev1.Node) corev1.ConditionStatus {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			return cond.Status
		}
	}
	return ""
}

// defaultPodsPerNode is the kubelet's default --max-pods.
const defaultPodsPerNode = 110

func kwokNode(name, zone string, pods int) *corev1.Node {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				ManagedNodeLabel:              trueValue,
				"kubernetes.io/hostname":      name,
				"kubernetes.io/os":            "linux",
				"kubernetes.io/arch":          "amd64",
				"topology.kubernetes.io/zone": zone,
				"type":                        "kwok",
			},
			Annotations: map[string]string{
				"kwok.x-k8s.io/node":           "fake",
				"node.alpha.kubernetes.io/ttl": "0",
				// The attach/detach controller attaches volumes only to the nodes whose kubelet says it should.
				"volumes.kubernetes.io/controller-managed-attach-detach": trueValue,
			},
		},
		Status: corev1.NodeStatus{Capacity: capacity, Allocatable: capacity},
	}
}
