package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Members move make-before-break: on `kubectl drain`, on a PodMigration, and through a manager killed midway.
// The manager runs as its own process, as it does in a cluster, so it can be SIGKILLed.
var _ = Describe("migration", Ordered, func() {
	const replicas = 3
	var (
		tc      *utils.TestCluster
		c       client.Client
		binary  string
		manager *utils.ManagerProcess
	)
	startManager := func() {
		manager = startManagerProcess(tc, binary)
		DeferCleanup(manager.Kill)
	}

	BeforeAll(func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("needs kwok nodes it can cordon and taint: " + utils.ExistingClusterEnv + " is set")
		}
		var err error
		tc, err = utils.StartTestCluster(ctx, cluster.Options{Nodes: 5, Timings: cluster.FastTimings,
			Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		Expect(tc.Install(ctx, "../../config/crd/bases", "../../config/policy/podgroup_validation.yaml")).To(Succeed())
		c = utils.NewClient(tc.Config)
		binary, err = utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		startManager()
	}, NodeTimeout(cluster.StartTimeout+3*time.Minute))

	// newGroup creates a group of 3 members, one per node, and waits until they are Ready.
	newGroup := func(ctx context.Context, prefix string) string {
		ns := utils.CreateNamespace(ctx, tc.Clientset, prefix)
		group := pt.MakePodGroup("web", ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).
			SharedVolume("scratch").ServicePort("http", 80).Obj()
		Expect(c.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(memberPods(ctx, g, tc, ns)).To(HaveLen(replicas))
			for _, pod := range memberPods(ctx, g, tc, ns) {
				g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		return ns
	}
	// spareNode is a node none of the namespace's members runs on.
	spareNode := func(ctx context.Context, ns string, except ...string) string {
		used := except
		for _, pod := range memberPods(ctx, Default, tc, ns) {
			used = append(used, pod.Spec.NodeName)
		}
		for _, node := range tc.Simulated.Nodes() {
			if !slices.Contains(used, node) {
				return node
			}
		}
		Fail("no spare node")
		return ""
	}
	kubectl := func(ctx context.Context, args ...string) string {
		out, err := tc.Kubectl(ctx, args...).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, out)
		return string(out)
	}
	migrate := func(ctx context.Context, ns string, member int32, target string) *peapodv1alpha1.PodMigration {
		m := &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "web-1-", Namespace: ns},
			Spec:       peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To(member)},
		}
		if target != "" {
			m.Spec.Target = &peapodv1alpha1.MigrationTarget{NodeName: target}
		}
		Expect(c.Create(ctx, m)).To(Succeed())
		return m
	}
	ended := func(ctx context.Context, m *peapodv1alpha1.PodMigration, phase peapodv1alpha1.MigrationPhase) {
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(phase), m.Status.Message)
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	}

	It("moves the members of a drained node make-before-break: the Ready count never drops", func(ctx context.Context) {
		ns := newGroup(ctx, "drain-")
		// The controller-manager's disruption controller has taken up the group's budget: evictions are refused.
		Eventually(func(g Gomega) {
			pdb, err := tc.Clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pdb.Status.ObservedGeneration).To(Equal(pdb.Generation))
			g.Expect(pdb.Status.CurrentHealthy).To(BeNumerically("==", replicas))
			g.Expect(pdb.Status.DisruptionsAllowed).To(BeZero())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		members := watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{})
		old := memberPod(ctx, Default, tc, ns, 1)
		node := old.Spec.NodeName
		DeferCleanup(func(ctx context.Context) { kubectl(ctx, "uncordon", node) })

		started := time.Now()
		out := kubectl(ctx, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=90s")
		took := time.Since(started)
		GinkgoWriter.Printf("kubectl drain took %s:\n%s\n", took.Round(100*time.Millisecond), out)
		AddReportEntry("kubectl drain of a node with a member (make-before-break)", took.Round(100*time.Millisecond).String())
		Expect(out).To(ContainSubstring("drained"))

		moved := memberPod(ctx, Default, tc, ns, 1)
		Expect(moved.UID).NotTo(Equal(old.UID))
		Expect(moved.Spec.NodeName).NotTo(Equal(node))
		Expect(moved.Spec.Hostname).To(Equal("web-1"), "the member keeps its DNS name")
		Expect(moved.Spec.Subdomain).To(Equal("web-members"))
		Expect(members.LowestReadyPods("web", replicas)).To(BeNumerically(">=", replicas), "the Ready count dropped during the drain")

		var migrations peapodv1alpha1.PodMigrationList
		Expect(c.List(ctx, &migrations, client.InNamespace(ns))).To(Succeed())
		Expect(migrations.Items).To(ContainElement(SatisfyAll(
			HaveField("Status.Reason", peapodv1alpha1.MigrationDrain),
			HaveField("Status.Phase", peapodv1alpha1.MigrationSucceeded),
			HaveField("Status.SourceNode", node),
			HaveField("Status.TargetNode", moved.Spec.NodeName))))
		Eventually(func(g Gomega) {
			g.Expect(groupOf(ctx, g, c, ns).Status.LastMigration).To(SatisfyAll(
				Not(BeNil()), HaveField("Reason", peapodv1alpha1.MigrationDrain), HaveField("From", node)))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
	})

	It("rolls a template change out make-before-break with maxSurge 1: the Ready members never fewer than replicas", func(ctx context.Context) {
		ns := newGroup(ctx, "surge-")
		members := watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{})
		before := map[string]types.UID{}
		for _, pod := range memberPods(ctx, Default, tc, ns) {
			before[pod.Labels[peapodv1alpha1.OrdinalLabel]] = pod.UID
		}
		started := time.Now()
		Eventually(func() error {
			group := groupOf(ctx, Default, c, ns)
			group.Spec.UpdateStrategy = &peapodv1alpha1.UpdateStrategy{RollingUpdate: &peapodv1alpha1.RollingUpdate{
				MaxSurge: ptr.To(intstr.FromInt32(1))}}
			group.Spec.Template.Spec.Containers[0].Env = append(group.Spec.Template.Spec.Containers[0].Env,
				corev1.EnvVar{Name: "RELEASE", Value: "2"})
			return c.Update(ctx, group)
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			group := groupOf(ctx, g, c, ns)
			g.Expect(group.Status.ObservedGeneration).To(Equal(group.Generation))
			g.Expect(group.Status.UpdatedReplicas).To(BeNumerically("==", replicas))
			g.Expect(group.Status.ReadyReplicas).To(BeNumerically("==", replicas))
			g.Expect(group.Status.CurrentRevision).To(Equal(group.Status.UpdateRevision))
			g.Expect(memberPods(ctx, g, tc, ns)).To(HaveLen(replicas))
		}).WithContext(ctx).WithTimeout(90 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		took := time.Since(started)
		AddReportEntry("rolling update of 3 members with maxSurge 1", took.Round(100*time.Millisecond).String())

		Expect(members.LowestReadyMembers("web", replicas)).To(BeNumerically("==", replicas), "a member had no Ready Pod during the update")
		for _, pod := range memberPods(ctx, Default, tc, ns) {
			Expect(pod.UID).NotTo(Equal(before[pod.Labels[peapodv1alpha1.OrdinalLabel]]), "%s was not replaced", pod.Name)
			ordinal, _ := desired.OrdinalOf(pod.Labels)
			Expect(pod.Spec.Hostname).To(Equal(desired.MemberName("web", ordinal)), "the member keeps its DNS name")
		}
		var migrations peapodv1alpha1.PodMigrationList
		Expect(c.List(ctx, &migrations, client.InNamespace(ns))).To(Succeed())
		updates := 0
		for _, m := range migrations.Items {
			if m.Status.Reason == peapodv1alpha1.MigrationUpdate {
				updates++
				Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded), "%s: %s", m.Name, m.Status.Message)
				Expect(m.Status.Mode).To(Equal(peapodv1alpha1.MakeBeforeBreak))
			}
		}
		Expect(updates).To(Equal(replicas), "one make-before-break move per member")
		GinkgoWriter.Printf("maxSurge 1 rolled %d members in %s, the fewest Ready members at once %d\n", replicas,
			took.Round(100*time.Millisecond), members.LowestReadyMembers("web", replicas))
	})

	It("moves a member to the node a PodMigration names, and says when each step happened", func(ctx context.Context) {
		ns := newGroup(ctx, "move-")
		old := memberPod(ctx, Default, tc, ns, 1)
		target := spareNode(ctx, ns)
		requested := time.Now()
		m := migrate(ctx, ns, 1, target)
		ended(ctx, m, peapodv1alpha1.MigrationSucceeded)
		took := time.Since(requested)

		moved := memberPod(ctx, Default, tc, ns, 1)
		Expect(moved.Spec.NodeName).To(Equal(target))
		Expect(moved.UID).NotTo(Equal(old.UID))
		Expect(m.Status.SourceNode).To(Equal(old.Spec.NodeName))
		Expect(m.Status.TargetNode).To(Equal(target))
		Expect(m.Status.StartTime).NotTo(BeNil())
		Expect(m.Status.ReplacementReadyTime).NotTo(BeNil())
		Expect(m.Status.CompletionTime).NotTo(BeNil())
		Expect(m.Status.Conditions).To(ContainElements(
			HaveField("Type", peapodv1alpha1.MigrationReplacementReady), HaveField("Type", peapodv1alpha1.MigrationComplete)))
		AddReportEntry("PodMigration: created -> replacement Ready -> old Pod retired (seen by the test)",
			took.Round(100*time.Millisecond).String())
	})

	It("moves a member with `kubectl peapod migrate --wait`, and `kubectl peapod status` shows it", func(ctx context.Context) {
		ns := newGroup(ctx, "plugin-")
		plugin, err := utils.Build(ctx, filepath.Join("..", ".."), "./cmd/kubectl-peapod", "kubectl-peapod")
		Expect(err).NotTo(HaveOccurred())
		// Through kubectl itself, which finds the plugin on PATH; kubectl takes no flags before a plugin's name, so
		// the cluster comes from $KUBECONFIG.
		peapod := func(args ...string) (string, error) {
			cmd := tc.Kubectl(ctx)
			cmd.Args = append([]string{cmd.Args[0], "peapod", "-n", ns}, args...)
			cmd.Env = append(cmd.Env, "PATH="+filepath.Dir(plugin)+string(os.PathListSeparator)+os.Getenv("PATH"))
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		target := spareNode(ctx, ns)
		out, err := peapod("migrate", "web", "2", "--to", target, "--wait", "--timeout", "60s")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(MatchRegexp(`member web-2 moved from node \S+ to node %s`, target))
		Expect(memberPod(ctx, Default, tc, ns, 2).Spec.NodeName).To(Equal(target))

		GinkgoWriter.Println(out)
		Eventually(func(g Gomega) {
			out, err = peapod("status", "web")
			g.Expect(err).NotTo(HaveOccurred(), out)
			g.Expect(out).To(ContainSubstring("3/3 ready"))
			g.Expect(out).To(MatchRegexp(`web-2\s+web-2-m[0-9a-f]{5}\s+%s\s+true`, target))
			g.Expect(out).To(ContainSubstring("last migration: member web-2 (Requested)"))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		GinkgoWriter.Println(out)

		out, err = peapod("migrate", "web", "7")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("web-0 to web-2"))
	})

	It("fails a migration to a node the member cannot go to, with the reason, and leaves the member running", func(ctx context.Context) {
		ns := newGroup(ctx, "refuse-")
		before := memberPod(ctx, Default, tc, ns, 1)

		cordoned := spareNode(ctx, ns)
		kubectl(ctx, "cordon", cordoned)
		DeferCleanup(func(ctx context.Context) { kubectl(ctx, "uncordon", cordoned) })
		m := migrate(ctx, ns, 1, cordoned)
		ended(ctx, m, peapodv1alpha1.MigrationFailed)
		Expect(m.Status.Message).To(ContainSubstring("cordoned"))
		Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", peapodv1alpha1.ReasonTargetUnschedulable)))

		// A node the scheduler refuses: the replacement is tried, found unschedulable, and removed.
		tainted := spareNode(ctx, ns, cordoned)
		kubectl(ctx, "taint", "node", tainted, "dedicated=other:NoSchedule")
		DeferCleanup(func(ctx context.Context) { kubectl(ctx, "taint", "node", tainted, "dedicated-") })
		m = migrate(ctx, ns, 1, tainted)
		ended(ctx, m, peapodv1alpha1.MigrationFailed)
		Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", peapodv1alpha1.ReasonUnschedulable)))
		Expect(m.Status.Message).To(ContainSubstring("untolerated taint"))

		// The Failed status is written first, then the replacement removed; from then on the member stays as it was.
		unchanged := func(g Gomega) {
			pods := memberPods(ctx, g, tc, ns)
			g.Expect(pods).To(HaveLen(replicas), "the replacement is removed")
			now := memberPod(ctx, g, tc, ns, 1)
			g.Expect(now.UID).To(Equal(before.UID))
			g.Expect(plan.Ready(now)).To(BeTrue())
		}
		Eventually(unchanged).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		Consistently(unchanged).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("waits for room, and cancels the move when the PodMigration is deleted before the replacement is Ready", func(ctx context.Context) {
		ns := newGroup(ctx, "cancel-")
		before := memberPod(ctx, Default, tc, ns, 0)
		for _, node := range tc.Simulated.Nodes() {
			if node != before.Spec.NodeName {
				kubectl(ctx, "taint", "node", node, "full=true:NoSchedule")
				DeferCleanup(func(ctx context.Context) { kubectl(ctx, "taint", "node", node, "full-") })
			}
		}
		m := migrate(ctx, ns, 0, "")
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationRunning))
			g.Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", peapodv1alpha1.ReasonWaitingForCapacity)))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		Expect(c.Delete(ctx, m)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(memberPods(ctx, g, tc, ns)).To(HaveLen(replicas), "the replacement is deleted")
			g.Expect(memberPod(ctx, g, tc, ns, 0).UID).To(Equal(before.UID), "the member stays")
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("calls a drain off when its node is uncordoned before the replacement is Ready, and drains again on the next cordon",
		func(ctx context.Context) {
			ns := newGroup(ctx, "uncordon-")
			before := memberPod(ctx, Default, tc, ns, 0)
			node := before.Spec.NodeName
			for _, other := range tc.Simulated.Nodes() {
				if other != node {
					kubectl(ctx, "taint", "node", other, "full=true:NoSchedule")
					DeferCleanup(func(ctx context.Context) { kubectl(ctx, "taint", "node", other, "full-") })
				}
			}
			drainOf := func(ctx context.Context, g Gomega) *peapodv1alpha1.PodMigration {
				var list peapodv1alpha1.PodMigrationList
				g.Expect(c.List(ctx, &list, client.InNamespace(ns),
					client.MatchingLabels{peapodv1alpha1.MigrationReasonLabel: string(peapodv1alpha1.MigrationDrain)})).To(Succeed())
				g.Expect(list.Items).To(HaveLen(1))
				return &list.Items[0]
			}
			waitingForRoom := func() *peapodv1alpha1.PodMigration {
				var m *peapodv1alpha1.PodMigration
				Eventually(func(g Gomega) {
					m = drainOf(ctx, g)
					g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationRunning), m.Status.Message)
					g.Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", peapodv1alpha1.ReasonWaitingForCapacity)))
				}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
				return m
			}
			calledOff := func(m *peapodv1alpha1.PodMigration) {
				ended(ctx, m, peapodv1alpha1.MigrationFailed)
				Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", migration.ReasonDrainCancelled)))
				Eventually(func(g Gomega) {
					g.Expect(memberPods(ctx, g, tc, ns)).To(HaveLen(replicas), "the waiting replacement is removed")
					g.Expect(memberPod(ctx, g, tc, ns, 0).UID).To(Equal(before.UID), "the member stays")
				}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
			}

			kubectl(ctx, "cordon", node)
			DeferCleanup(func(ctx context.Context) { kubectl(ctx, "uncordon", node) })
			first := waitingForRoom()
			kubectl(ctx, "uncordon", node)
			calledOff(first)

			// The same Pod drained again: its earlier drain's record is cleared and a new one starts.
			kubectl(ctx, "cordon", node)
			again := waitingForRoom()
			Expect(again.UID).NotTo(Equal(first.UID))
			kubectl(ctx, "uncordon", node)
			calledOff(again)
		})

	It("converges when the manager is SIGKILLed in the middle of a migration", func(ctx context.Context) {
		ns := newGroup(ctx, "killmid-")
		old := memberPod(ctx, Default, tc, ns, 2)
		m := migrate(ctx, ns, 2, spareNode(ctx, ns))
		// The moment the replacement exists, the manager dies: before it can see it Ready and retire the old Pod.
		Eventually(func(g Gomega) {
			g.Expect(len(memberPods(ctx, g, tc, ns))).To(BeNumerically(">", replicas))
		}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
		manager.Kill()
		startManager()

		ended(ctx, m, peapodv1alpha1.MigrationSucceeded)
		Eventually(func(g Gomega) {
			pods := memberPods(ctx, g, tc, ns)
			g.Expect(pods).To(HaveLen(replicas), "one Pod per member")
			ordinals := map[int]bool{}
			for _, pod := range pods {
				ordinal, _ := desired.OrdinalOf(pod.Labels)
				ordinals[ordinal] = true
				g.Expect(metav1.GetControllerOf(pod)).NotTo(BeNil(), "orphan Pod %s", pod.Name)
				g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
			}
			g.Expect(ordinals).To(HaveLen(replicas))
			g.Expect(memberPod(ctx, g, tc, ns, 2).UID).NotTo(Equal(old.UID))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})
})

// memberPods lists the live (not terminating) Pods of the namespace's group.
func memberPods(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string) []*corev1.Pod {
	list, err := tc.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: peapodv1alpha1.GroupLabel})
	g.Expect(err).NotTo(HaveOccurred())
	var out []*corev1.Pod
	for i := range list.Items {
		if list.Items[i].DeletionTimestamp == nil {
			out = append(out, &list.Items[i])
		}
	}
	return out
}

// expectReadyMembers expects the namespace's group to have n live Pods, every one Ready.
func expectReadyMembers(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string, n int) {
	pods := memberPods(ctx, g, tc, ns)
	g.Expect(pods).To(HaveLen(n))
	for _, pod := range pods {
		g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
	}
}

// memberPod is the live Pod of one member; after a migration it has the member's identity under its own name.
func memberPod(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string, ordinal int) *corev1.Pod {
	var found []*corev1.Pod
	for _, pod := range memberPods(ctx, g, tc, ns) {
		if o, _ := desired.OrdinalOf(pod.Labels); o == ordinal {
			found = append(found, pod)
		}
	}
	g.Expect(found).To(HaveLen(1), "member %d", ordinal)
	return found[0]
}

func groupOf(ctx context.Context, g Gomega, c client.Client, ns string) *peapodv1alpha1.PodGroup {
	var group peapodv1alpha1.PodGroup
	g.Expect(c.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web"}, &group)).To(Succeed())
	return &group
}
