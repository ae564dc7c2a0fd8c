package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/nodehealth"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Migrations where something is off: a PodMigration name used before, a member on a node that went silent under
// fencing Required, a group name as long as admission allows. On Kubernetes' default node timings, where a
// silent node behaves as in users' clusters (the Lease renewed every 10 s, NotReady after 50 s).
var _ = Describe("migration faults", Ordered, func() {
	const replicas = 3
	var (
		tc  *utils.TestCluster
		sim *cluster.Cluster
		c   client.Client
	)

	BeforeAll(func(ctx context.Context) {
		tc = defaultTimingsCluster(ctx, 5, "needs kwok nodes it can cordon, taint and fail")
		sim = tc.Simulated
		startManager(tc.Config)
		c = utils.NewClient(tc.Config)
	}, NodeTimeout(cluster.StartTimeout))

	kubectl := func(ctx context.Context, args ...string) string {
		out, err := tc.Kubectl(ctx, args...).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "kubectl %v: %s", args, out)
		return string(out)
	}
	// newGroup creates a group of 3 members spread over the nodes and waits until they are Ready; its namespace
	// goes when the spec ends, so the next spec's drain has only its own members to move.
	newGroup := func(ctx context.Context, ns, name string, change func(*peapodv1alpha1.PodGroup)) {
		DeferCleanup(func(ctx context.Context) {
			Expect(c.Delete(ctx, &peapodv1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}})).To(Succeed())
			Expect(tc.Clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(Succeed())
		})
		group := pt.MakePodGroup(name, ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).Obj()
		if change != nil {
			change(group)
		}
		Expect(c.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) { expectReadyMembers(ctx, g, tc, ns, replicas) }).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}
	// migrationOf is a PodMigration of a member of group web.
	migrationOf := func(ns, name string, member int32) *peapodv1alpha1.PodMigration {
		return &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To(member)},
		}
	}
	ended := func(ctx context.Context, m *peapodv1alpha1.PodMigration, phase peapodv1alpha1.MigrationPhase) {
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(phase), m.Status.Message)
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	}
	deleted := func(ctx context.Context, m *peapodv1alpha1.PodMigration) {
		Expect(c.Delete(ctx, m)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(c.Get(ctx, client.ObjectKeyFromObject(m), &peapodv1alpha1.PodMigration{}))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(BeTrue())
	}

	It("moves a member again with a PodMigration re-created under a used name, and never leaves a member without a Pod",
		func(ctx context.Context) {
			ns := utils.CreateNamespace(ctx, tc.Clientset, "reused-")
			newGroup(ctx, ns, "web", nil)
			ordinals := watchOrdinals(ctx, tc, ns, replicas)

			first := migrationOf(ns, "move-web-1", 1)
			Expect(c.Create(ctx, first)).To(Succeed())
			ended(ctx, first, peapodv1alpha1.MigrationSucceeded)
			moved := memberPod(ctx, Default, tc, ns, 1)
			Expect(moved.Name).To(HavePrefix("web-1-m"))
			Expect(moved.Labels).To(HaveKeyWithValue(peapodv1alpha1.MigrationLabel, "move-web-1"),
				"the member's Pod keeps the label of the migration that started it")
			deleted(ctx, first)

			// The name again, for another member: member 1's Pod, labelled move-web-1, is not its replacement.
			second := migrationOf(ns, "move-web-1", 2)
			before2 := memberPod(ctx, Default, tc, ns, 2)
			Expect(c.Create(ctx, second)).To(Succeed())
			ended(ctx, second, peapodv1alpha1.MigrationSucceeded)
			Expect(ordinals.problems()).To(BeEmpty())
			Expect(second.Status.ReplacementPod).To(HavePrefix("web-2-m"))
			Expect(memberPod(ctx, Default, tc, ns, 1).UID).To(Equal(moved.UID), "member 1 untouched")
			Expect(memberPod(ctx, Default, tc, ns, 2).UID).NotTo(Equal(before2.UID), "member 2 moved")
			deleted(ctx, second)

			// The name again, for the same member, as re-applying the manifest does: the member moves again.
			third := migrationOf(ns, "move-web-1", 1)
			Expect(c.Create(ctx, third)).To(Succeed())
			ended(ctx, third, peapodv1alpha1.MigrationSucceeded)
			Expect(ordinals.problems()).To(BeEmpty())
			again := memberPod(ctx, Default, tc, ns, 1)
			Expect(again.UID).NotTo(Equal(moved.UID), "member 1 moved again: %s", third.Status.Message)
			Expect(again.Spec.NodeName).NotTo(Equal(moved.Spec.NodeName))
			Expect(third.Status.SourcePod).To(Equal(moved.Name))
			Expect(third.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", peapodv1alpha1.MigrationComplete), HaveField("Reason", "Migrated"))))

			// One Pod per member at the end, and none created under the plain name: the plan never lost the member.
			Eventually(func(g Gomega) {
				g.Expect(memberPods(ctx, g, tc, ns)).To(HaveLen(replicas))
			}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
			Expect(ordinals.problems()).To(BeEmpty())
			Expect(ordinals.createdNamed("web-1")).To(BeFalse(), "a second Pod web-1 was created for member 1")
		})

	It("drains the member of a group whose name is as long as admission allows", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "longname-")
		name := ("g" + strings.Repeat("long", 14))[:desired.MaxGroupNameLength] // the most spec.group and the group's name allow
		Expect(name).To(HaveLen(55))
		newGroup(ctx, ns, name, nil)
		Eventually(func(g Gomega) {
			pdb, err := tc.Clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pdb.Status.ObservedGeneration).To(Equal(pdb.Generation))
			g.Expect(pdb.Status.DisruptionsAllowed).To(BeZero())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		old := memberPod(ctx, Default, tc, ns, 1)
		node := old.Spec.NodeName
		DeferCleanup(func(ctx context.Context) { kubectl(ctx, "uncordon", node) })

		started := time.Now()
		out, err := tc.Kubectl(ctx, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s").CombinedOutput()
		took := time.Since(started)
		if err != nil {
			var migrations peapodv1alpha1.PodMigrationList
			Expect(c.List(ctx, &migrations, client.InNamespace(ns))).To(Succeed())
			for _, m := range migrations.Items {
				GinkgoWriter.Printf("PodMigration %s (%d characters): %s %s\n", m.Name, len(m.Name), m.Status.Phase, m.Status.Message)
			}
		}
		Expect(err).NotTo(HaveOccurred(), "kubectl drain: %s", out)
		Expect(string(out)).To(ContainSubstring("drained"))
		AddReportEntry("kubectl drain, group name of 55 characters", took.Round(100*time.Millisecond).String())

		moved := memberPod(ctx, Default, tc, ns, 1)
		Expect(moved.UID).NotTo(Equal(old.UID))
		Expect(moved.Spec.NodeName).NotTo(Equal(node))
		Expect(moved.Spec.Hostname).To(Equal(desired.MemberName(name, 1)))
		var migrations peapodv1alpha1.PodMigrationList
		Expect(c.List(ctx, &migrations, client.InNamespace(ns))).To(Succeed())
		Expect(migrations.Items).To(HaveLen(1))
		m := migrations.Items[0]
		Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded), m.Status.Message)
		Expect(validation.IsValidLabelValue(m.Name)).To(BeEmpty(), "the drain's name %s labels the replacement", m.Name)
		Expect(moved.Labels).To(HaveKeyWithValue(peapodv1alpha1.MigrationLabel, m.Name))
	})

	It("with fencing required, drains no member off a silent node before it is fenced", func(ctx context.Context) {
		ns := utils.CreateNamespace(ctx, tc.Clientset, "silentdrain-")
		newGroup(ctx, ns, "web", func(g *peapodv1alpha1.PodGroup) {
			// One migration at a time, so the test can hold the drain back until the node is known silent; the
			// shortest `after`, so that is soon after it stops renewing its Lease.
			g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{
				MaxConcurrentMigrations: ptr.To[int32](1),
				NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: peapodv1alpha1.FencingRequired,
					After: &metav1.Duration{Duration: 5 * time.Second}},
			}
		})
		identities := watchIdentities(ctx, tc, ns)
		holder := memberPod(ctx, Default, tc, ns, 0)
		old := memberPod(ctx, Default, tc, ns, 1)
		silent := old.Spec.NodeName

		// A move of member 0 that waits for room holds the group's one migration slot.
		var full []string
		for _, node := range sim.Nodes() {
			if node != holder.Spec.NodeName {
				full = append(full, node)
				kubectl(ctx, "taint", "node", node, "full=true:NoSchedule")
			}
		}
		untaint := func(ctx context.Context) {
			for _, node := range full {
				_ = tc.Kubectl(ctx, "taint", "node", node, "full-").Run()
			}
		}
		DeferCleanup(untaint)
		hold := migrationOf(ns, "hold-web-0", 0)
		Expect(c.Create(ctx, hold)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(hold), hold)).To(Succeed())
			g.Expect(hold.Status.Conditions).To(ContainElement(HaveField("Reason", peapodv1alpha1.ReasonWaitingForCapacity)))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		// kubectl drain of member 1's node: peapod starts a drain migration, which waits for the slot.
		DeferCleanup(func(ctx context.Context) { kubectl(ctx, "uncordon", silent) })
		drain := tc.StartKubectl(ctx, "drain", silent, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=150s")
		drainOf := func(g Gomega) *peapodv1alpha1.PodMigration {
			var list peapodv1alpha1.PodMigrationList
			g.Expect(c.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			for i := range list.Items {
				if list.Items[i].Status.Reason == peapodv1alpha1.MigrationDrain {
					return &list.Items[i]
				}
			}
			g.Expect("no drain migration").To(BeEmpty())
			return nil
		}
		Eventually(func(g Gomega) {
			g.Expect(drainOf(g).Status.Phase).To(Equal(peapodv1alpha1.MigrationPending))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		// The node goes silent, and peapod sees it.
		failed := time.Now()
		Expect(sim.FailNode(ctx, silent)).To(Succeed())
		DeferCleanup(sim.RecoverNode, silent)
		Eventually(func(g Gomega) {
			g.Expect(groupOf(ctx, g, c, ns).Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Message", ContainSubstring("web-1 on "+silent)))))
		}).WithContext(ctx).WithTimeout(45 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("node %s seen silent after %s\n", silent, time.Since(failed).Round(100*time.Millisecond))

		// The slot and room free up: the drain could start now. It must not, while the node may still run web-1.
		deleted(ctx, hold)
		untaint(ctx)
		onlyOld := func(g Gomega) {
			for _, pod := range memberPods(ctx, g, tc, ns) {
				if ordinal, _ := desired.OrdinalOf(pod.Labels); ordinal == 1 {
					g.Expect(pod.UID).To(Equal(old.UID), "a replacement %s on node %s while %s is not fenced", pod.Name, pod.Spec.NodeName, silent)
				}
			}
		}
		Eventually(func(g Gomega) {
			onlyOld(g)
			m := drainOf(g)
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationPending))
			g.Expect(m.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", peapodv1alpha1.MigrationReplacementReady), HaveField("Status", metav1.ConditionFalse),
				HaveField("Reason", "AwaitingFencing"))))
			g.Expect(m.Status.Message).To(SatisfyAll(ContainSubstring(silent), ContainSubstring(nodehealth.OutOfServiceTaint)))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		Consistently(onlyOld).WithContext(ctx).WithTimeout(5 * time.Second).WithPolling(250 * time.Millisecond).Should(Succeed())
		GinkgoWriter.Printf("drain migration: %s\n", drainOf(Default).Status.Message)

		// Fenced: the group's failover replaces the member, and the drain ends.
		fencedAt := time.Now()
		kubectl(ctx, "taint", "node", silent, nodehealth.OutOfServiceTaint+"=nodeshutdown:NoExecute")
		DeferCleanup(func(ctx context.Context) {
			_ = tc.Kubectl(ctx, "taint", "node", silent, nodehealth.OutOfServiceTaint+"-").Run()
		})
		Eventually(func(g Gomega) {
			now := memberPod(ctx, g, tc, ns, 1)
			g.Expect(now.UID).NotTo(Equal(old.UID))
			g.Expect(now.Spec.NodeName).NotTo(Equal(silent))
			g.Expect(plan.Ready(now)).To(BeTrue())
			g.Expect(drainOf(g).Active()).To(BeFalse())
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		AddReportEntry("fenced drain: out-of-service taint -> member Ready elsewhere", time.Since(fencedAt).Round(100*time.Millisecond).String())
		m := drainOf(Default)
		GinkgoWriter.Printf("drain migration: %s: %s\n", m.Status.Phase, m.Status.Message)

		// The first kubectl drain never ends by itself: it retries evicting "web-1" by name, and that is now the
		// member recreated on a healthy node, which the budget protects. Run again, the drain finds the node empty.
		GinkgoWriter.Printf("the first kubectl drain, stopped:\n%s\n", drain.Stop())
		// Any other Pod whose deletion began while the node was silent goes only when PodGC force-deletes it, once the
		// node is NotReady (50 s after it went silent) and out of service: a user's drain waits for it, or is re-run.
		Eventually(func(g Gomega) {
			out, err := tc.Kubectl(ctx, "drain", silent, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=20s").CombinedOutput()
			if err != nil {
				GinkgoWriter.Printf("kubectl drain again: %v\n%s\npods on %s:\n%s\n", err, out, silent, kubectl(ctx, "get", "pods", "-A", "-o", "wide",
					"--field-selector", "spec.nodeName="+silent))
			}
			g.Expect(err).NotTo(HaveOccurred(), "kubectl drain: %s", out)
			g.Expect(string(out)).To(ContainSubstring("drained"))
			g.Expect(string(out)).NotTo(ContainSubstring("evicting pod "+ns+"/web-1"), "the member recreated elsewhere is not on the node")
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Succeed())
		Expect(identities.Overlaps(web(1))).To(BeEmpty())
		Expect(identities.CreatedAfter(web(1), old.UID, fencedAt)).To(BeTrue(), "web-1 had a replacement before its node was fenced")
	})
})

// ordinalWatcher follows a group's Pods for the whole spec and flags any moment, once every member has had a
// live Pod, when a member has none, or more than two (its Pod and one migration's replacement); a Pod is live
// until its deletion begins.
type ordinalWatcher struct {
	*utils.MemberWatch
	replicas int
	mu       sync.Mutex
	armed    bool
	found    []string
}

func watchOrdinals(ctx context.Context, tc *utils.TestCluster, ns string, replicas int) *ordinalWatcher {
	w := &ordinalWatcher{replicas: replicas}
	w.MemberWatch = watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{Liveness: utils.LiveUntilDeleting, OnChange: w.check})
	return w
}

// check flags a member that a change leaves with no live Pod, or more than two, once all have had one.
func (w *ordinalWatcher) check(pods *utils.MemberWatch, change utils.MemberChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.armed {
		w.armed = true
		for o := range w.replicas {
			w.armed = w.armed && len(pods.Live(web(o))) > 0
		}
		return
	}
	if n := len(pods.Live(change.After.Identity)); n == 0 || n > 2 {
		w.found = append(w.found, fmt.Sprintf("member %d had %d live Pods (after a change of %s)", change.After.Identity.Ordinal, n, change.Pod.Name))
	}
}

// problems are the moments flagged, and the Pods with no ordinal.
func (w *ordinalWatcher) problems() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append(w.Strays(), w.found...)
}

// createdNamed says a Pod of that name was created after the watch started.
func (w *ordinalWatcher) createdNamed(name string) bool {
	named := 0
	for _, p := range w.Seen() {
		if p.Name == name {
			named++
		}
	}
	return named > 1 // the first is the existing Pod, seen when the watch starts
}
