package e2e

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/test/cluster"
)

// The node faults of the safety suite (faults_test.go) where kwok can only pretend: real kubelets that lose the
// API server, or are cut off from it all at once, while their containers go on running. What must hold is what a
// user sees on the nodes, not only in the API: the same containers run before and after, none restarted or doubled.
var _ = Describe("on real nodes, under faults", Ordered, Label("real-node"), func() {
	var bed *realBed

	BeforeAll(func(ctx context.Context) {
		bed = startRealBed(ctx, 2)
	}, NodeTimeout(cluster.StartTimeout+2*time.Minute))

	// spread is a group with a member on each real node, all Ready; the members by ordinal, and their containers.
	spread := func(ctx context.Context, prefix string, fencing peapodv1alpha1.FencingPolicy) (string, map[int]*corev1.Pod, map[string]map[string][]string) {
		ns := faultNamespace(ctx, bed.tc, prefix)
		Expect(bed.c.Create(ctx, bed.sleeper("web", ns, int32(len(bed.nodes)), fencing))).To(Succeed())
		var members map[int]*corev1.Pod
		Eventually(func(g Gomega) {
			members = readyMembers(ctx, g, bed.tc, ns)
			g.Expect(members).To(HaveLen(len(bed.nodes)))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		containers := bed.containersOfMembers(ctx, members)
		for name, byNode := range containers {
			Expect(byNode).To(HaveLen(1), "%s runs on one node", name)
		}
		return ns, members, containers
	}
	// unmoved checks what the nodes run: every member's same one container, never restarted.
	unmoved := func(ctx context.Context, ns string, members map[int]*corev1.Pod, containers map[string]map[string][]string) {
		Expect(bed.containersOfMembers(ctx, members)).To(Equal(containers), "the same containers run on the same nodes")
		for _, pod := range readyMembers(ctx, Default, bed.tc, ns) {
			for _, s := range pod.Status.ContainerStatuses {
				Expect(s.RestartCount).To(BeZero(), "%s/%s restarted", pod.Name, s.Name)
			}
		}
	}

	// unharmed holds every member's Pod for d, then checks the whole spec's watch and what the nodes run.
	unharmed := func(ctx context.Context, w *faultWatch, ns string, members map[int]*corev1.Pod,
		containers map[string]map[string][]string, d time.Duration, why string) {
		holds(ctx, bed.tc, ns, members, d, why)
		Expect(w.Deleted()).To(BeEmpty(), "healthy members deleted")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
		unmoved(ctx, ns, members, containers)
	}

	It("keeps every member, and the very containers, through a kube-apiserver SIGKILL and 60 s outage", func(ctx SpecContext) {
		ns, members, containers := spread(ctx, "real-apiserver-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, bed.tc, ns)
		Expect(bed.tc.Simulated.RestartAPIServer(ctx, 60*time.Second)).To(Succeed())
		// Every kubelet missed 6 Lease renewals; each renews again within seconds, and nothing is replaced.
		unharmed(ctx, w, ns, members, containers, 60*time.Second, "a healthy member was replaced after the restart")
	}, SpecTimeout(5*time.Minute))

	It("pauses failover while every real node is cut off, with their containers running, and moves nothing when the "+
		"kubelets return", func(ctx SpecContext) {
		ns, members, containers := spread(ctx, "real-all-cut-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, bed.tc, ns)
		cut := time.Now()
		for _, node := range bed.nodes {
			w.failed(node, true)
			Expect(bed.tc.Simulated.PartitionRealNode(node)).To(Succeed())
			DeferCleanup(bed.recoverNode, node)
		}
		Eventually(func(g Gomega) {
			keeps(ctx, bed.tc, ns, members)(g)
			var group peapodv1alpha1.PodGroup
			g.Expect(bed.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &group)).To(Succeed())
			cond := meta.FindStatusCondition(group.Status.Conditions, "Degraded")
			g.Expect(cond).NotTo(BeNil())
			g.Expect(cond.Reason).To(Equal("FailoverPaused"))
			g.Expect(cond.Message).To(ContainSubstring("2 of 2 nodes"))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		// Past `after` (20 s) and the controller-manager's grace period (50 s): nothing is deleted, and the
		// containers behind the cut go on running.
		holds(ctx, bed.tc, ns, members, time.Until(cut.Add(65*time.Second)), "a member was deleted while every node was cut off")
		Expect(bed.containersOfMembers(ctx, members)).To(Equal(containers), "the containers run on behind the cut")

		back := time.Now()
		var wg sync.WaitGroup
		for _, node := range bed.nodes {
			wg.Go(func() { defer GinkgoRecover(); bed.recoverNode(ctx, node) })
		}
		wg.Wait()
		for _, node := range bed.nodes {
			w.failed(node, false)
		}
		Eventually(func(g Gomega) {
			g.Expect(groupEventReasons(ctx, g, bed.tc, ns)).To(ContainElement("FailoverResumed"))
			g.Expect(readyMembers(ctx, g, bed.tc, ns)).To(HaveLen(len(members)))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		AddReportEntry("every real node cut off for 65 s -> every member Ready again, same containers", time.Since(back).Round(100*time.Millisecond).String())
		unharmed(ctx, w, ns, members, containers, 10*time.Second, "a member was replaced after the kubelets returned")
	}, SpecTimeout(5*time.Minute))

	It("with fencing Required, never runs a second copy of a partitioned node's member, which runs on when the "+
		"partition heals", func(ctx SpecContext) {
		ns, members, containers := spread(ctx, "real-heal-", peapodv1alpha1.FencingRequired)
		w := watchFaults(ctx, bed.tc, ns)
		cut := bed.nodes[0]
		w.failed(cut, true)
		Expect(bed.tc.Simulated.PartitionRealNode(cut)).To(Succeed())
		DeferCleanup(bed.recoverNode, cut)
		// Sampled every 250 ms on both nodes' runtimes, past `after` (20 s) and the controller-manager's 50 s.
		Consistently(func(g Gomega) {
			g.Expect(bed.containersOfMembers(ctx, members)).To(Equal(containers))
		}).WithContext(ctx).WithTimeout(75*time.Second).WithPolling(250*time.Millisecond).Should(Succeed(),
			"a second container of a member, or one gone")
		Expect(w.Overlaps(web(0), web(1))).To(BeEmpty(), "two live Pods of one member")

		bed.recoverNode(ctx, cut)
		w.failed(cut, false)
		Eventually(func(g Gomega) {
			g.Expect(readyMembers(ctx, g, bed.tc, ns)).To(HaveLen(len(members)))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		unharmed(ctx, w, ns, members, containers, 10*time.Second, "a member was replaced after the partition healed")
	}, SpecTimeout(5*time.Minute))
})
