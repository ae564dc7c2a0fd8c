package e2e

import (
	"context"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// realBed is a control plane of its own with real nodes only (kubelets and containerd, test/cluster/realnode.go),
// a manager, and what the real-node specs do with them: exec into a member, read a node's runtime.
type realBed struct {
	tc    *utils.TestCluster
	c     client.Client
	nodes []string
}

// startRealBed starts the bed for an Ordered container's BeforeAll, or skips it with the reason where the machine
// cannot run real nodes; the container's DeferCleanup stops it all.
func startRealBed(ctx context.Context, nodes int) *realBed {
	if fastCluster.Simulated == nil {
		Skip("starts real kubelets beside a control plane of its own: " + utils.ExistingClusterEnv + " is set")
	}
	if err := cluster.RealNodesPossible(os.Getenv(cluster.RealNodeDirEnv)); err != nil {
		Skip("real nodes: " + err.Error())
	}
	b := &realBed{tc: defaultTimingsCluster(ctx, 0, "starts real kubelets beside a control plane of its own")}
	started := time.Now()
	real, err := b.tc.Simulated.AddRealNodes(ctx, nodes, "")
	Expect(err).NotTo(HaveOccurred())
	for _, n := range real {
		b.nodes = append(b.nodes, n.Name)
	}
	AddReportEntry("real nodes Ready (containerd and kubelet each)", time.Since(started).Round(100*time.Millisecond).String())
	startManager(b.tc.Config)
	b.c = utils.NewClient(b.tc.Config)
	return b
}

// exec runs a command in a member's container and returns what it printed.
func (b *realBed) exec(ctx context.Context, pod *corev1.Pod, container string, command ...string) (string, error) {
	args := append([]string{"exec", "-n", pod.Namespace, pod.Name, "-c", container, "--"}, command...)
	out, err := b.tc.Kubectl(ctx, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// sleeper is a group of a container that just runs, kept on the real nodes, one member per node.
func (b *realBed) sleeper(name, ns string, replicas int32, fencing peapodv1alpha1.FencingPolicy) *peapodv1alpha1.PodGroup {
	g := pt.MakePodGroup(name, ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).Obj()
	g.Spec.Template.Spec.NodeSelector = map[string]string{cluster.RealNodeLabel: "true"}
	g.Spec.Template.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	g.Spec.Template.Spec.Containers = []corev1.Container{{Name: "app", Image: cluster.BusyboxImage,
		ImagePullPolicy: corev1.PullNever, Command: []string{"/bin/sh", "-c", "exec sleep 3600"}}}
	g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: fencing}}
	return g
}

// runningElsewhere waits for member 0 to run on a node other than old, proved by exec into its container there.
func (b *realBed) runningElsewhere(ctx context.Context, ns, old string, within time.Duration) {
	Eventually(func(g Gomega) {
		pod := memberPod(ctx, g, b.tc, ns, 0)
		g.Expect(pod.Spec.NodeName).NotTo(BeEmpty())
		g.Expect(pod.Spec.NodeName).NotTo(Equal(old))
		out, err := b.exec(ctx, pod, "app", "sh", "-c", "echo $NODE_NAME")
		g.Expect(err).NotTo(HaveOccurred(), out)
		g.Expect(out).To(Equal(pod.Spec.NodeName))
	}).WithContext(ctx).WithTimeout(within).WithPolling(500 * time.Millisecond).Should(Succeed())
}

// firstRunning waits until member 0 is Ready and returns its Pod.
func (b *realBed) firstRunning(ctx context.Context, ns string) *corev1.Pod {
	var pod *corev1.Pod
	Eventually(func(g Gomega) {
		pod = memberPod(ctx, g, b.tc, ns, 0)
		g.Expect(plan.Ready(pod)).To(BeTrue())
	}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	return pod
}

// containersOf lists, by node, the containers the nodes' runtimes run for a Pod name.
func (b *realBed) containersOf(ctx context.Context, pod string) map[string][]string {
	out := map[string][]string{}
	for _, node := range b.nodes {
		ids, err := b.tc.Simulated.RealNodeContainers(ctx, node, pod)
		Expect(err).NotTo(HaveOccurred())
		if len(ids) > 0 {
			out[node] = ids
		}
	}
	return out
}

// containersOfMembers lists containersOf for each member's Pod, by Pod name.
func (b *realBed) containersOfMembers(ctx context.Context, members map[int]*corev1.Pod) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, pod := range members {
		out[pod.Name] = b.containersOf(ctx, pod.Name)
	}
	return out
}

func (b *realBed) recoverNode(ctx context.Context, node string) {
	Expect(b.tc.Simulated.RecoverRealNode(ctx, node)).To(Succeed())
}

// setOutOfService adds or removes the out-of-service taint, as an administrator does once a node is known off.
func (b *realBed) setOutOfService(ctx context.Context, node string, on bool) {
	Eventually(func(g Gomega) {
		n, err := b.tc.Clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		var taints []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != corev1.TaintNodeOutOfService {
				taints = append(taints, t)
			}
		}
		if on {
			taints = append(taints, corev1.Taint{Key: corev1.TaintNodeOutOfService, Value: "nodeshutdown", Effect: corev1.TaintEffectNoExecute})
		}
		n.Spec.Taints = taints
		_, err = b.tc.Clientset.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		g.Expect(err).NotTo(HaveOccurred())
	}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
}
