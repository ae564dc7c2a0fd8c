package e2e

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Node failure on a cluster with Kubernetes' default node timings (Lease 40 s renewed every 10 s, NotReady after
// 50 s, pods evicted after 300 s): what users' clusters have.
var _ = Describe("node failure at default cluster timings", Ordered, func() {
	var (
		tc  *utils.TestCluster
		sim *cluster.Cluster
	)

	BeforeAll(func(ctx context.Context) {
		tc = defaultTimingsCluster(ctx, 4, "needs kwok nodes it can fail")
		sim = tc.Simulated
		startManager(tc.Config)
	}, NodeTimeout(cluster.StartTimeout))

	member := func(ctx context.Context, g Gomega, ns, name string) *corev1.Pod {
		pod, err := tc.Clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return pod
	}
	createGroup := func(ctx context.Context, ns string, fencing peapodv1alpha1.FencingPolicy) {
		g := pt.MakePodGroup("web", ns).Replicas(3).Spread(peapodv1alpha1.SpreadNode).ServicePort("http", 80).Obj()
		g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: fencing}}
		c := utils.NewClient(tc.Config)
		Expect(c.Create(ctx, g)).To(Succeed())
		Eventually(func(g Gomega) {
			for i := range 3 {
				g.Expect(plan.Ready(member(ctx, g, ns, fmt.Sprintf("web-%d", i)))).To(BeTrue())
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}
	// replaced waits until the member runs Ready under the same name with a new UID on another node, and the
	// Service's endpoints point at the new Pod.
	replaced := func(ctx context.Context, ns string, old *corev1.Pod, within time.Duration) *corev1.Pod {
		var now *corev1.Pod
		Eventually(func(g Gomega) {
			now = member(ctx, g, ns, old.Name)
			g.Expect(now.UID).NotTo(Equal(old.UID))
			g.Expect(plan.Ready(now)).To(BeTrue())
			g.Expect(now.Spec.NodeName).NotTo(Equal(old.Spec.NodeName))
			g.Expect(now.Spec.Hostname).To(Equal(old.Name))
			g.Expect(readyEndpointUIDs(ctx, g, tc, ns, "web")).To(ContainElement(now.UID))
			g.Expect(readyEndpointUIDs(ctx, g, tc, ns, "web")).NotTo(ContainElement(old.UID))
		}).WithContext(ctx).WithTimeout(within).WithPolling(100 * time.Millisecond).Should(Succeed())
		return now
	}

	It("replaces the member of a silent node on a healthy one within `after` plus a few seconds", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "unfenced-")
		createGroup(ctx, ns, peapodv1alpha1.FencingNone)
		old := member(ctx, Default, ns, "web-1")

		failed := time.Now()
		Expect(sim.FailNode(ctx, old.Spec.NodeName)).To(Succeed())
		DeferCleanup(sim.RecoverNode, old.Spec.NodeName)
		replaced(ctx, ns, old, 20*time.Second+10*time.Second)
		took := time.Since(failed)
		AddReportEntry("unfenced failover: node silent -> replacement Ready", took.Round(100*time.Millisecond).String())
		// The manager timed it too, from the node's last heartbeat: peapod_failover_duration_seconds.
		Eventually(func(g Gomega) {
			count, sum := failoverHistogram(g, "None")
			g.Expect(count).To(BeNumerically(">=", 1))
			g.Expect(sum / float64(count)).To(BeNumerically("<=", 30))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		// The group tells the story: kubectl describe and kubectl peapod status show the last failover.
		Eventually(func(g Gomega) {
			g.Expect(groupOf(ctx, g, utils.NewClient(tc.Config), ns).Status.LastMigration).To(SatisfyAll(Not(BeNil()),
				HaveField("Member", int32(1)), HaveField("Reason", peapodv1alpha1.MigrationNodeFailed),
				HaveField("From", old.Spec.NodeName), HaveField("ReadyTime", Not(BeNil()))))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("member %s replaced %s after its node went silent\n", old.Name, took.Round(100*time.Millisecond))
	})

	It("with fencing required, waits for the node to be known dead, then replaces within 5 s", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "fenced-")
		createGroup(ctx, ns, peapodv1alpha1.FencingRequired)
		identities := watchIdentities(ctx, tc, ns)

		// A silent node: nothing is replaced, and the group says why.
		first := member(ctx, Default, ns, "web-0")
		Expect(sim.FailNode(ctx, first.Spec.NodeName)).To(Succeed())
		DeferCleanup(sim.RecoverNode, first.Spec.NodeName)
		c := utils.NewClient(tc.Config)
		Eventually(func(g Gomega) {
			var group peapodv1alpha1.PodGroup
			g.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &group)).To(Succeed())
			g.Expect(group.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Reason", "AwaitingFencing"),
				HaveField("Message", ContainSubstring("web-0 on "+first.Spec.NodeName)))))
		}).WithContext(ctx).WithTimeout(45 * time.Second).Should(Succeed())
		Expect(member(ctx, Default, ns, "web-0").UID).To(Equal(first.UID))

		// The out-of-service taint says the node is dead.
		fencedAt := time.Now()
		out, err := sim.Kubectl(ctx, "taint", "node", first.Spec.NodeName, nodehealth.OutOfServiceTaint+"=nodeshutdown:NoExecute").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		replaced(ctx, ns, first, 5*time.Second)
		AddReportEntry("fenced failover: out-of-service taint -> replacement Ready", time.Since(fencedAt).Round(100*time.Millisecond).String())

		// So does deleting the Node.
		second := member(ctx, Default, ns, "web-1")
		Expect(sim.FailNode(ctx, second.Spec.NodeName)).To(Succeed())
		Eventually(func(g Gomega) {
			var group peapodv1alpha1.PodGroup
			g.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &group)).To(Succeed())
			g.Expect(group.Status.Conditions).To(ContainElement(HaveField("Message", ContainSubstring("web-1 on "+second.Spec.NodeName))))
		}).WithContext(ctx).WithTimeout(45 * time.Second).Should(Succeed())
		deletedAt := time.Now()
		Expect(tc.Clientset.CoreV1().Nodes().Delete(ctx, second.Spec.NodeName, metav1.DeleteOptions{})).To(Succeed())
		replaced(ctx, ns, second, 5*time.Second)
		AddReportEntry("fenced failover: Node deleted -> replacement Ready", time.Since(deletedAt).Round(100*time.Millisecond).String())

		Expect(identities.Strays()).To(BeEmpty())
		Expect(identities.Overlaps()).To(BeEmpty())
		Expect(identities.CreatedAfter(web(0), first.UID, fencedAt)).To(BeTrue(), "web-0 was replaced before its node was fenced")
		Expect(identities.CreatedAfter(web(1), second.UID, deletedAt)).To(BeTrue(), "web-1 was replaced before its Node was deleted")
	})
})

// readyEndpointUIDs lists the Pods the Service's EndpointSlices call ready.
func readyEndpointUIDs(ctx context.Context, g Gomega, tc *utils.TestCluster, ns, service string) []types.UID {
	slices, err := tc.Clientset.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	g.Expect(err).NotTo(HaveOccurred())
	var uids []types.UID
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if ptr.Deref(e.Conditions.Ready, false) && e.TargetRef != nil {
				uids = append(uids, e.TargetRef.UID)
			}
		}
	}
	return uids
}

// failoverHistogram reads peapod_failover_duration_seconds for a fencing policy from this process's registry
// (the managers under test run in it).
func failoverHistogram(g Gomega, fencing string) (count uint64, sum float64) {
	families, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "peapod_failover_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "fencing" && l.GetValue() == fencing {
					count += m.GetHistogram().GetSampleCount()
					sum += m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return count, sum
}
