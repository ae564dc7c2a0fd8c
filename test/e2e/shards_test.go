package e2e

import (
	"context"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/utils"
)

// shardLabel is the namespace label the spec's two shards select on.
const shardLabel = "peapod.io/shard"

// Two managers, each a shard started with its own namespace selector and leader Lease (as two releases of the
// chart run them), divide the groups between them: each reconciles its own namespaces' groups, neither touches a
// namespace no shard selects, and one shard's manager killed in the middle of a node failure leaves the other's
// failovers to run as if it were alone, and its own groups as they were until it is back.
var _ = Describe("shards: managers that divide the groups by namespace", Ordered, func() {
	It("reconciles each shard's own groups only, and one shard killed leaves the other's failovers untouched", func(ctx context.Context) {
		tc := defaultTimingsCluster(ctx, 4, "needs kwok nodes it can fail")
		binary, err := utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		startShard := func(name string) *utils.ManagerProcess {
			m := startManagerProcess(tc, binary, "--namespace-selector="+shardLabel+"="+name, "--leader-elect",
				"--leader-election-namespace=default", "--leader-election-id=shard-"+name+".peapod.io")
			DeferCleanup(m.Kill)
			return m
		}
		shardA := startShard("a")
		startShard("b")

		c := utils.NewClient(tc.Config)
		namespace := func(prefix string, labels map[string]string) string {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix, Labels: labels}}
			Expect(c.Create(ctx, ns)).To(Succeed())
			group := pt.MakePodGroup("web", ns.Name).Replicas(3).Spread(peapodv1alpha1.SpreadNode).Obj()
			Expect(c.Create(ctx, group)).To(Succeed())
			return ns.Name
		}
		nsA := namespace("shard-a-", map[string]string{shardLabel: "a"})
		nsB := namespace("shard-b-", map[string]string{shardLabel: "b"})
		nsNone := namespace("no-shard-", nil)

		members := func(g Gomega, ns string) map[string]corev1.Pod {
			var list corev1.PodList
			g.Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			byName := map[string]corev1.Pod{}
			for _, pod := range list.Items {
				byName[pod.Name] = pod
			}
			return byName
		}
		allReady := func(ns string, avoid string) map[string]corev1.Pod {
			var pods map[string]corev1.Pod
			Eventually(func(g Gomega) {
				pods = members(g, ns)
				g.Expect(pods).To(HaveLen(3))
				for name, pod := range pods {
					g.Expect(plan.Ready(&pod)).To(BeTrue(), "%s/%s not Ready", ns, name)
					g.Expect(pod.DeletionTimestamp).To(BeNil(), "%s/%s terminating", ns, name)
					g.Expect(pod.Spec.NodeName).NotTo(Equal(avoid), "%s/%s on the failed node", ns, name)
				}
			}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
			return pods
		}
		podsA, podsB := allReady(nsA, ""), allReady(nsB, "")

		By("neither shard touches the group of a namespace no shard selects")
		Consistently(func(g Gomega) {
			g.Expect(members(g, nsNone)).To(BeEmpty())
			var group peapodv1alpha1.PodGroup
			g.Expect(c.Get(ctx, types.NamespacedName{Namespace: nsNone, Name: "web"}, &group)).To(Succeed())
			g.Expect(group.Status.ObservedGeneration).To(BeZero(), "a status written for %s/web", nsNone)
		}).WithContext(ctx).WithTimeout(5 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		for _, id := range []string{"shard-a.peapod.io", "shard-b.peapod.io"} {
			lease, err := tc.Clientset.CoordinationV1().Leases("default").Get(ctx, id, metav1.GetOptions{})
			Expect(err).NotTo(HaveOccurred(), "each shard elects its leader on a Lease of its own")
			Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
		}

		By("shard a's manager killed, a node holding a member of each shard fails")
		node := ""
		for _, pod := range podsA {
			for _, other := range podsB {
				if other.Spec.NodeName == pod.Spec.NodeName {
					node = pod.Spec.NodeName
				}
			}
		}
		Expect(node).NotTo(BeEmpty(), "3 members each spread over 4 nodes share a node")
		shardA.Kill()
		Expect(tc.Simulated.FailNode(ctx, node)).To(Succeed())
		DeferCleanup(tc.Simulated.RecoverNode, node)
		failed := time.Now()

		By("shard b's member comes back elsewhere, while shard a's groups stay exactly as they were")
		untouched := func(g Gomega) {
			now := members(g, nsA)
			g.Expect(now).To(HaveLen(3))
			for name, pod := range podsA {
				g.Expect(now[name].UID).To(Equal(pod.UID), "%s/%s replaced while its shard is down", nsA, name)
				g.Expect(now[name].DeletionTimestamp).To(BeNil(), "%s/%s deleted while its shard is down", nsA, name)
			}
		}
		Eventually(func(g Gomega) {
			untouched(g)
			g.Expect(readyOff(members(g, nsB), node)).To(Equal(3))
		}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("shard b's member back on a healthy node %s after the node failed\n", time.Since(failed).Round(100*time.Millisecond))
		Consistently(untouched).WithContext(ctx).WithTimeout(15 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())

		By("a namespace relabelled into shard b is reconciled by shard b")
		var none corev1.Namespace
		Expect(c.Get(ctx, types.NamespacedName{Name: nsNone}, &none)).To(Succeed())
		none.Labels = map[string]string{shardLabel: "b"}
		Expect(c.Update(ctx, &none)).To(Succeed())
		allReady(nsNone, node)
		untouched(Default)

		By("shard a's manager back, its member leaves the failed node")
		startShard("a")
		allReady(nsA, node)
	})
})

// readyOff counts the pods that are Ready, not terminating, and not on the node avoided.
func readyOff(pods map[string]corev1.Pod, avoid string) int {
	ready := 0
	for _, pod := range pods {
		if plan.Ready(&pod) && pod.DeletionTimestamp == nil && pod.Spec.NodeName != avoid {
			ready++
		}
	}
	return ready
}
