package e2e

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Safe under faults (issue 9): the faults a real cluster has, at Kubernetes' default node timings (Lease renewed
// every 10 s, NotReady after 50 s), on 4 kwok nodes with a group of 5 members. Each spec asserts what a user
// sees, followed by a watch for the whole spec: no healthy member deleted, no member kept off a healthy node,
// one live Pod per identity where fencing is required, and the Ready count where a drain must keep it.
var _ = Describe("safe under faults", Ordered, ContinueOnFailure, func() {
	var (
		tc  *utils.TestCluster
		sim *cluster.Cluster
		c   client.Client
	)

	BeforeAll(func(ctx context.Context) {
		tc = defaultTimingsCluster(ctx, 4, "needs a control plane it can kill and kwok nodes it can fail")
		sim = tc.Simulated
		c = utils.NewClient(tc.Config)
		startManager(tc.Config)
	}, NodeTimeout(cluster.StartTimeout))

	// group creates a group of faultReplicas members spread over the nodes, waits until all are Ready, and returns
	// its namespace and its members' Pods by ordinal. The namespace goes when the spec ends.
	group := func(ctx context.Context, prefix string, fencing peapodv1alpha1.FencingPolicy) (string, map[int]*corev1.Pod) {
		// The spec's own fault comes into a healthy cluster: after the previous spec's outage, kwok may take a
		// while to renew every node's Lease again, and a node still silent then would be failed over (rightly).
		Eventually(func(g Gomega) {
			for _, node := range sim.Nodes() {
				lease, err := tc.Clientset.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, node, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(lease.Spec.RenewTime).NotTo(BeNil())
				g.Expect(time.Since(lease.Spec.RenewTime.Time)).To(BeNumerically("<", 15*time.Second), "node %s renews its Lease", node)
			}
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Succeed())
		ns := faultNamespace(ctx, tc, prefix)
		g := pt.MakePodGroup("web", ns).Replicas(faultReplicas).Spread(peapodv1alpha1.SpreadNode).Obj()
		g.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: fencing}}
		Expect(c.Create(ctx, g)).To(Succeed())
		var members map[int]*corev1.Pod
		Eventually(func(g Gomega) {
			members = readyMembers(ctx, g, tc, ns)
			g.Expect(members).To(HaveLen(faultReplicas))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		return ns, members
	}
	// failNodes silences nodes, telling the watch first, and brings them back when the spec ends.
	failNodes := func(ctx context.Context, w *faultWatch, nodes ...string) {
		for _, node := range nodes {
			w.failed(node, true)
			Expect(sim.FailNode(ctx, node)).To(Succeed())
			DeferCleanup(sim.RecoverNode, node)
		}
	}
	// recoverNodes brings nodes back at once, and tells the watch once they are Ready.
	recoverNodes := func(ctx context.Context, w *faultWatch, nodes ...string) {
		var wg sync.WaitGroup
		errs := make([]error, len(nodes))
		for i, node := range nodes {
			wg.Go(func() { errs[i] = sim.RecoverNode(ctx, node) })
		}
		wg.Wait()
		for i, node := range nodes {
			Expect(errs[i]).NotTo(HaveOccurred(), node)
			w.failed(node, false)
		}
	}
	degraded := func(ctx context.Context, g Gomega, ns string) metav1.Condition {
		cond := meta.FindStatusCondition(groupOf(ctx, g, c, ns).Status.Conditions, "Degraded")
		g.Expect(cond).NotTo(BeNil())
		return *cond
	}
	// converges scales the group from 5 to 6 and waits until the group says all 6 are Ready.
	converges := func(ctx context.Context, ns string) {
		g := groupOf(ctx, Default, c, ns)
		patch := client.MergeFrom(g.DeepCopy())
		g.Spec.Replicas = ptr.To[int32](faultReplicas + 1)
		Expect(c.Patch(ctx, g, patch)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(readyMembers(ctx, g, tc, ns)).To(HaveLen(faultReplicas + 1))
			group := groupOf(ctx, g, c, ns)
			g.Expect(group.Status.ObservedGeneration).To(Equal(group.Generation))
			g.Expect(group.Status.ReadyReplicas).To(BeNumerically("==", faultReplicas+1))
			g.Expect(meta.IsStatusConditionTrue(group.Status.Conditions, "Available")).To(BeTrue())
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}
	// outage: a control-plane component is killed and comes back; every member keeps its Pod for 90 s after
	// the restart, no member is kept off a node, and the group then scales as if nothing happened.
	outage := func(ctx context.Context, prefix string, restart func(context.Context) error) {
		ns, members := group(ctx, prefix, peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		Expect(restart(ctx)).To(Succeed())
		holds(ctx, tc, ns, members, 90*time.Second, "a healthy member was replaced after the restart")
		Expect(w.Deleted()).To(BeEmpty(), "healthy members deleted")
		converges(ctx, ns)
		Expect(w.Deleted()).To(BeEmpty(), "healthy members deleted")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
	}

	It("keeps every member through a kube-apiserver SIGKILL and 15 s outage", func(ctx SpecContext) {
		outage(ctx, "apiserver-15s-", func(ctx context.Context) error { return sim.RestartAPIServer(ctx, 15*time.Second) })
	}, SpecTimeout(4*time.Minute))

	It("keeps every member through a kube-apiserver SIGKILL and 60 s outage", func(ctx SpecContext) {
		outage(ctx, "apiserver-60s-", func(ctx context.Context) error { return sim.RestartAPIServer(ctx, 60*time.Second) })
	}, SpecTimeout(5*time.Minute))

	It("keeps every member through an etcd SIGKILL and 15 s outage", func(ctx SpecContext) {
		outage(ctx, "etcd-15s-", func(ctx context.Context) error { return sim.RestartEtcd(ctx, 15*time.Second) })
	}, SpecTimeout(4*time.Minute))

	It("pauses failover while every node is silent, says so, and deletes nothing", func(ctx SpecContext) {
		ns, members := group(ctx, "all-silent-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		silent := time.Now()
		failNodes(ctx, w, sim.Nodes()...)

		// The group, the metric and an event say failover is paused, with the figures.
		Eventually(func(g Gomega) {
			keeps(ctx, tc, ns, members)(g)
			g.Expect(degraded(ctx, g, ns)).To(SatisfyAll(HaveField("Status", metav1.ConditionTrue),
				HaveField("Reason", "FailoverPaused"), HaveField("Message", ContainSubstring("4 of 4 nodes"))))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(failoverPaused(g, "")).To(Equal(1.0))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(groupEventReasons(ctx, g, tc, ns)).To(ContainElement("FailoverPaused"))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())

		// Held well past `after` (20 s) and the controller-manager's 50 s: nothing is deleted.
		holds(ctx, tc, ns, members, time.Until(silent.Add(65*time.Second)), "a member was deleted while every node was silent")

		recoverNodes(ctx, w, sim.Nodes()...)
		Eventually(func(g Gomega) {
			g.Expect(degraded(ctx, g, ns).Reason).NotTo(Equal("FailoverPaused"))
			g.Expect(failoverPaused(g, "")).To(BeZero())
			g.Expect(groupEventReasons(ctx, g, tc, ns)).To(ContainElement("FailoverResumed"))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		keeps(ctx, tc, ns, members)(Default)
		Expect(w.Deleted()).To(BeEmpty(), "members deleted")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
		Expect(groupEventCount(ctx, Default, tc, ns, "FailoverPaused")).To(Equal(1), "the pause was told more than once")
	}, SpecTimeout(4*time.Minute))

	It("resumes failover on its own when all nodes but one come back", func(ctx SpecContext) {
		ns, members := group(ctx, "all-but-one-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		failNodes(ctx, w, sim.Nodes()...)
		// Longer than a silent node's members take to be replaced (`after` plus 15 s); the previous spec asserts
		// what the group says meanwhile.
		holds(ctx, tc, ns, members, 40*time.Second, "a member was deleted while every node was silent")

		// kwok-node-0 stays silent (zone-a keeps kwok-node-3); every node holds a member with 5 over 4 nodes.
		stillSilent := sim.Nodes()[0]
		recoverNodes(ctx, w, sim.Nodes()[1:]...)
		lost, kept := onNodes(members, stillSilent)
		Expect(lost).NotTo(BeEmpty())
		replacedOff(ctx, tc, ns, lost, stillSilent)
		keeps(ctx, tc, ns, kept)(Default)
		Expect(w.Deleted()).To(ConsistOf(uidsOf(lost)), "only the members of the silent node are replaced")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
	}, SpecTimeout(4*time.Minute))

	// Most of the cluster silent while one node still renews: failovers pause cluster-wide, and the silence then
	// is likelier the network's than the nodes'. When it ends, nodes come back over seconds, not at once; the
	// first ones back end the pause, and a node a few seconds behind them must get a full window from that
	// moment, not be judged on the silence of the pause. The returning nodes' own Ready changes reconcile the
	// group before the lease monitor's next look: the judgement itself must see the window begin again.
	It("gives every node a full window when a cluster-wide pause ends, so a node back seconds later keeps its members", func(ctx SpecContext) {
		ns, members := group(ctx, "pause-ends-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		nodes := sim.Nodes()
		late, first, alive := nodes[0], nodes[1:3], nodes[3]
		onLate, _ := onNodes(members, late)
		Expect(onLate).NotTo(BeEmpty())
		silent := time.Now()
		failNodes(ctx, w, append([]string{late}, first...)...)
		Eventually(func(g Gomega) {
			g.Expect(degraded(ctx, g, ns)).To(SatisfyAll(HaveField("Reason", "FailoverPaused"),
				HaveField("Message", ContainSubstring("3 of 4 nodes"))))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		// Past `after` and the controller-manager's 50 s, so the nodes coming back are seen Ready again.
		holds(ctx, tc, ns, members, time.Until(silent.Add(65*time.Second)), "a member was deleted while 3 of 4 nodes were silent")
		Expect(sim.WaitNodeReady(ctx, alive, corev1.ConditionTrue, time.Second)).To(Succeed(), "one node renews throughout")

		recoverNodes(ctx, w, first...)
		holds(ctx, tc, ns, members, 8*time.Second, "a member of a node silent only through the pause was replaced as it ended")
		recoverNodes(ctx, w, late)
		holds(ctx, tc, ns, members, 30*time.Second, "a member was replaced after every node came back")
		Expect(w.Deleted()).To(BeEmpty(), "members deleted")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
	}, SpecTimeout(4*time.Minute))

	It("replaces the members of a silent zone on the live nodes, and no other", func(ctx SpecContext) {
		ns, members := group(ctx, "zone-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		zone := nodesInZone(ctx, tc, "zone-a")
		Expect(zone).To(ConsistOf(cluster.NodeNamePrefix+"0", cluster.NodeNamePrefix+"3"))
		lost, kept := onNodes(members, zone...)
		failNodes(ctx, w, zone...)

		// `after` (20 s) plus 15 s.
		Eventually(func(g Gomega) {
			now := readyMembers(ctx, g, tc, ns)
			for ordinal, old := range lost {
				g.Expect(now).To(HaveKey(ordinal))
				g.Expect(now[ordinal].UID).NotTo(Equal(old.UID), old.Name)
				g.Expect(zone).NotTo(ContainElement(now[ordinal].Spec.NodeName), old.Name)
			}
		}).WithContext(ctx).WithTimeout(35 * time.Second).Should(Succeed())
		keeps(ctx, tc, ns, kept)(Default)
		Expect(w.Deleted()).To(ConsistOf(uidsOf(lost)), "only the members of the silent zone are replaced")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off healthy nodes")
	}, SpecTimeout(3*time.Minute))

	It("keeps the members of a node whose clock is 15 s behind while it renews its Lease", func(ctx SpecContext) {
		ns, members := group(ctx, "skew-", peapodv1alpha1.FencingNone)
		w := watchFaults(ctx, tc, ns)
		node := sim.Nodes()[1]
		stop, err := sim.SkewNodeClock(ctx, node, 15*time.Second)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(sim.RecoverNode, node)
		DeferCleanup(stop)

		holds(ctx, tc, ns, members, 90*time.Second, "a member of a node that renews its Lease was replaced")
		// The controller-manager, which times the Lease by when it sees it change, agrees the node is fine.
		Expect(sim.WaitNodeReady(ctx, node, corev1.ConditionTrue, time.Second)).To(Succeed())
		Expect(w.Deleted()).To(BeEmpty(), "members deleted")
		Expect(w.avoidingHealthy()).To(BeEmpty(), "members kept off a node that renews its Lease")

		// The control: once it stops renewing, its members are replaced.
		lost, kept := onNodes(members, node)
		w.failed(node, true)
		stop()
		replacedOff(ctx, tc, ns, lost, node)
		keeps(ctx, tc, ns, kept)(Default)
	}, SpecTimeout(4*time.Minute))

	It("with fencing required, never replaces the member of a partitioned node, which comes back", func(ctx SpecContext) {
		ns, members := group(ctx, "partition-", peapodv1alpha1.FencingRequired)
		w := watchFaults(ctx, tc, ns)
		node := members[0].Spec.NodeName
		onNode, _ := onNodes(members, node)
		partitioned := time.Now()
		failNodes(ctx, w, node)

		Eventually(func(g Gomega) {
			keeps(ctx, tc, ns, members)(g)
			cond := degraded(ctx, g, ns)
			g.Expect(cond.Reason).To(Equal("AwaitingFencing"))
			for _, pod := range onNode {
				g.Expect(cond.Message).To(ContainSubstring(pod.Name + " on " + node))
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		holds(ctx, tc, ns, members, time.Until(partitioned.Add(90*time.Second)), "a member was replaced while its node was not fenced")

		recoverNodes(ctx, w, node)
		Eventually(func(g Gomega) {
			g.Expect(degraded(ctx, g, ns).Reason).NotTo(Equal("AwaitingFencing"))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		keeps(ctx, tc, ns, members)(Default)
		Expect(w.Overlaps()).To(BeEmpty(), "two live Pods of one identity")
		Expect(w.Deleted()).To(BeEmpty(), "members deleted")
	}, SpecTimeout(4*time.Minute))
})

// The manager as a process, as it runs in a cluster, so it can be SIGKILLed or stopped at the worst moment of a
// PodMigration: its own cluster, at default timings. manager_crash_test.go covers the kill in the middle of a
// failover, and migration_test.go a kill that may or may not land inside a fast migration; here the moment is
// held.
var _ = Describe("the manager at the worst moment of a PodMigration", Ordered, ContinueOnFailure, func() {
	var (
		tc      *utils.TestCluster
		c       client.Client
		binary  string
		manager *utils.ManagerProcess
		// started are all the managers started, each killed when the container ends (a spec restarts it).
		started []*utils.ManagerProcess
	)
	startManager := func() {
		manager = startManagerProcess(tc, binary)
		started = append(started, manager)
	}

	BeforeAll(func(ctx context.Context) {
		tc = defaultTimingsCluster(ctx, 4, "needs kwok nodes it can pause")
		DeferCleanup(func() {
			for _, m := range started {
				m.Kill()
			}
		})
		c = utils.NewClient(tc.Config)
		var err error
		binary, err = utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		startManager()
	}, NodeTimeout(cluster.StartTimeout+3*time.Minute))

	group := func(ctx context.Context, prefix string) (string, map[int]*corev1.Pod) {
		ns := faultNamespace(ctx, tc, prefix)
		Expect(c.Create(ctx, pt.MakePodGroup("web", ns).Replicas(faultReplicas).Spread(peapodv1alpha1.SpreadNode).Obj())).To(Succeed())
		var members map[int]*corev1.Pod
		Eventually(func(g Gomega) {
			members = readyMembers(ctx, g, tc, ns)
			g.Expect(members).To(HaveLen(faultReplicas))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		return ns, members
	}
	// holdReplacement starts a PodMigration of the first member not on target to target, whose kubelet is slow
	// to start the replacement (an image pull): it returns once the replacement is bound there and still Pending,
	// with the function that lets the kubelet go on.
	holdReplacement := func(ctx context.Context, ns string, members map[int]*corev1.Pod, target string) (
		*peapodv1alpha1.PodMigration, int, func(context.Context) error) {
		ordinal := -1
		for _, o := range slices.Sorted(maps.Keys(members)) {
			if members[o].Spec.NodeName != target && ordinal < 0 {
				ordinal = o
			}
		}
		resume, err := tc.Simulated.PauseKubelet(ctx, target)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Simulated.RecoverNode, target)
		m := requestMigration(ctx, c, ns, ordinal, target)
		Eventually(func(g Gomega) {
			g.Expect(replacementOf(ctx, g, tc, ns, m)).To(SatisfyAll(
				HaveField("Spec.NodeName", target), HaveField("Status.Phase", corev1.PodPending)))
		}).WithContext(ctx).WithTimeout(10 * time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
		return m, ordinal, resume
	}
	succeeded := func(ctx context.Context, m *peapodv1alpha1.PodMigration) {
		Eventually(func(g Gomega) {
			g.Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded), m.Status.Message)
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	}

	It("converges after a SIGKILL between the replacement's creation and the source's retirement", func(ctx SpecContext) {
		ns, members := group(ctx, "kill-migration-")
		target := tc.Simulated.Nodes()[3]
		m, ordinal, resume := holdReplacement(ctx, ns, members, target)
		// The replacement exists and cannot be Ready yet: the manager dies now.
		manager.Kill()
		startManager()
		Expect(resume(ctx)).To(Succeed())

		succeeded(ctx, m)
		Eventually(func(g Gomega) {
			pods := memberPods(ctx, g, tc, ns)
			g.Expect(pods).To(HaveLen(faultReplicas), "one Pod per member")
			for _, pod := range pods {
				g.Expect(metav1.GetControllerOf(pod)).NotTo(BeNil(), "orphan Pod %s", pod.Name)
				g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
			}
			now := readyMembers(ctx, g, tc, ns)
			g.Expect(now).To(HaveLen(faultReplicas))
			g.Expect(now[ordinal].Spec.NodeName).To(Equal(target))
			g.Expect(now[ordinal].UID).NotTo(Equal(members[ordinal].UID))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	}, SpecTimeout(3*time.Minute))

	It("drains two nodes at once while a PodMigration is in flight, never below the replicas Ready", func(ctx SpecContext) {
		ns, members := group(ctx, "drains-")
		pdb := func(g Gomega) *policyv1.PodDisruptionBudget {
			pdb, err := tc.Clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pdb.Status.ObservedGeneration).To(Equal(pdb.Generation))
			return pdb
		}
		// The disruption controller has taken up the group's budget: evictions are refused, not granted.
		Eventually(func(g Gomega) {
			g.Expect(pdb(g).Status).To(SatisfyAll(HaveField("CurrentHealthy", BeNumerically("==", faultReplicas)),
				HaveField("DisruptionsAllowed", BeZero())))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		w := watchFaults(ctx, tc, ns)
		nodes := tc.Simulated.Nodes()
		drained, target := nodes[:2], nodes[3]

		// The migration's replacement turns Ready while the manager is stopped, before it retires the source:
		// for that moment the member has two healthy Pods.
		m, _, resume := holdReplacement(ctx, ns, members, target)
		manager.Pause()
		DeferCleanup(manager.Resume)
		Expect(resume(ctx)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(plan.Ready(replacementOf(ctx, g, tc, ns, m))).To(BeTrue())
			g.Expect(pdb(g).Status.CurrentHealthy).To(BeNumerically("==", faultReplicas+1))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())

		// Two drains at once, each evicting its members while the migration is in flight.
		started := time.Now()
		drains := make([]*utils.BackgroundCommand, len(drained))
		for i, node := range drained {
			DeferCleanup(func(ctx context.Context) {
				out, err := tc.Kubectl(ctx, "uncordon", node).CombinedOutput()
				Expect(err).NotTo(HaveOccurred(), string(out))
			})
			drains[i] = tc.StartKubectl(ctx, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=120s")
		}
		Eventually(func(g Gomega) {
			for _, d := range drains {
				g.Expect(d.Output()).To(ContainSubstring("evicting pod"))
			}
		}).WithContext(ctx).WithTimeout(15 * time.Second).Should(Succeed())
		// Long enough for an eviction the budget grants to take its member away.
		Consistently(w.lowestReady).WithContext(ctx).WithTimeout(3*time.Second).Should(BeNumerically(">=", faultReplicas),
			"a drain evicted a Ready member while another member had two Pods")
		Expect(c.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
		Expect(m.Status.Phase).NotTo(BeElementOf(peapodv1alpha1.MigrationSucceeded, peapodv1alpha1.MigrationFailed))
		manager.Resume()

		for i, d := range drains {
			out, err := d.Wait()
			GinkgoWriter.Printf("kubectl drain %s:\n%s\n", drained[i], out)
			Expect(err).NotTo(HaveOccurred(), "kubectl drain %s: %s", drained[i], out)
			Expect(out).To(ContainSubstring("drained"))
		}
		AddReportEntry("two concurrent drains with a PodMigration in flight", time.Since(started).Round(100*time.Millisecond).String())
		succeeded(ctx, m)
		Eventually(func(g Gomega) {
			now := readyMembers(ctx, g, tc, ns)
			g.Expect(now).To(HaveLen(faultReplicas))
			for _, pod := range now {
				g.Expect(drained).NotTo(ContainElement(pod.Spec.NodeName), pod.Name)
			}
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		Expect(w.lowestReady()).To(BeNumerically(">=", faultReplicas), "fewer members Ready than replicas during the drains")
	}, SpecTimeout(4*time.Minute))
})

// faultReplicas is the size of the groups the fault specs run.
const faultReplicas = 5

// faultNamespace creates a namespace for one spec, deleted when the spec ends and waited for: the next fault
// must find none of this spec's Pods left to act on.
func faultNamespace(ctx context.Context, tc *utils.TestCluster, prefix string) string {
	ns := utils.CreateNamespace(ctx, tc.Clientset, prefix)
	DeferCleanup(func(ctx context.Context) {
		Expect(tc.Clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(Succeed())
		Eventually(func() bool {
			_, err := tc.Clientset.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}).WithContext(ctx).WithTimeout(60*time.Second).Should(BeTrue(), "namespace %s not gone", ns)
	})
	return ns
}

// readyMembers returns the members with a live Ready Pod, by ordinal; it fails if an ordinal has two live Pods.
func readyMembers(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string) map[int]*corev1.Pod {
	out := map[int]*corev1.Pod{}
	for _, pod := range memberPods(ctx, g, tc, ns) {
		ordinal, ok := desired.OrdinalOf(pod.Labels)
		g.Expect(ok).To(BeTrue(), pod.Name)
		g.Expect(out).NotTo(HaveKey(ordinal), "two live Pods of member %d", ordinal)
		if plan.Ready(pod) {
			out[ordinal] = pod
		}
	}
	return out
}

// holds checks every half second for d that every member keeps its Pod.
func holds(ctx context.Context, tc *utils.TestCluster, ns string, members map[int]*corev1.Pod, d time.Duration, why string) {
	Consistently(keeps(ctx, tc, ns, members)).WithContext(ctx).WithTimeout(d).WithPolling(500*time.Millisecond).Should(Succeed(), why)
}

// keeps checks that each of the members still runs the same Pod (same UID).
func keeps(ctx context.Context, tc *utils.TestCluster, ns string, members map[int]*corev1.Pod) func(Gomega) {
	return func(g Gomega) {
		pods := memberPods(ctx, g, tc, ns)
		live := map[types.UID]bool{}
		for _, pod := range pods {
			live[pod.UID] = true
		}
		var gone []string
		for _, ordinal := range slices.Sorted(maps.Keys(members)) {
			if pod := members[ordinal]; !live[pod.UID] {
				gone = append(gone, fmt.Sprintf("%s (%s on %s)", pod.Name, pod.UID, pod.Spec.NodeName))
			}
		}
		g.Expect(gone).To(BeEmpty(), "%d of %d members gone", len(gone), len(members))
	}
}

// onNodes splits members into those on the nodes and the others.
func onNodes(members map[int]*corev1.Pod, nodes ...string) (on, off map[int]*corev1.Pod) {
	on, off = map[int]*corev1.Pod{}, map[int]*corev1.Pod{}
	for ordinal, pod := range members {
		if slices.Contains(nodes, pod.Spec.NodeName) {
			on[ordinal] = pod
		} else {
			off[ordinal] = pod
		}
	}
	return on, off
}

func uidsOf(pods map[int]*corev1.Pod) []types.UID {
	out := make([]types.UID, 0, len(pods))
	for _, pod := range pods {
		out = append(out, pod.UID)
	}
	return out
}

func nodesInZone(ctx context.Context, tc *utils.TestCluster, zone string) []string {
	list, err := tc.Clientset.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: corev1.LabelTopologyZone + "=" + zone})
	Expect(err).NotTo(HaveOccurred())
	out := make([]string, 0, len(list.Items))
	for _, node := range list.Items {
		out = append(out, node.Name)
	}
	return out
}

// requestMigration asks for a member to be moved to a node, as a user does.
func requestMigration(ctx context.Context, c client.Client, ns string, ordinal int, target string) *peapodv1alpha1.PodMigration {
	m := &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{GenerateName: fmt.Sprintf("web-%d-", ordinal), Namespace: ns},
		Spec: peapodv1alpha1.PodMigrationSpec{Group: "web", Member: ptr.To(int32(ordinal)),
			Target: &peapodv1alpha1.MigrationTarget{NodeName: target}},
	}
	Expect(c.Create(ctx, m)).To(Succeed())
	return m
}

// replacementOf finds a PodMigration's replacement Pod: named after the member, with a suffix, and labelled
// with the migration.
func replacementOf(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string, m *peapodv1alpha1.PodMigration) *corev1.Pod {
	var found *corev1.Pod
	prefix := desired.MemberName(m.Spec.Group, int(*m.Spec.Member)) + "-m"
	for _, pod := range memberPods(ctx, g, tc, ns) {
		if pod.Labels[peapodv1alpha1.MigrationLabel] == m.Name && strings.HasPrefix(pod.Name, prefix) {
			found = pod
		}
	}
	g.Expect(found).NotTo(BeNil(), "no replacement for %s yet", m.Name)
	return found
}

// groupEventReasons lists the reasons of the events about the group.
func groupEventReasons(ctx context.Context, g Gomega, tc *utils.TestCluster, ns string) []string {
	list, err := tc.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	var out []string
	for _, e := range list.Items {
		if e.Regarding.Kind == "PodGroup" && e.Regarding.Name == "web" {
			out = append(out, e.Reason)
		}
	}
	return out
}

// groupEventCount is how many times the group was told an event of this reason, repeats counted (an event
// recorded again soon after is a series on the first one).
func groupEventCount(ctx context.Context, g Gomega, tc *utils.TestCluster, ns, reason string) int {
	list, err := tc.Clientset.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
	g.Expect(err).NotTo(HaveOccurred())
	n := 0
	for _, e := range list.Items {
		if e.Regarding.Kind != "PodGroup" || e.Regarding.Name != "web" || e.Reason != reason {
			continue
		}
		n++
		if e.Series != nil {
			n += int(e.Series.Count) - 1
		}
	}
	return n
}

// failoverPaused reads peapod_failover_paused for a zone ("" for the whole cluster) from this process's
// registry, where the in-process managers register it; 0 when it is not there.
func failoverPaused(g Gomega, zone string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "peapod_failover_paused" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "zone" && l.GetValue() == zone {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// faultWatch follows the namespace's member Pods for the whole spec (a MemberWatch: it relists by itself after a
// control-plane outage, where a bare watch would end; a Pod is live until its deletion begins), with the rule
// only the fault specs have: every Pod created with a required node affinity that keeps it off a node the spec
// has not failed is recorded.
type faultWatch struct {
	*utils.MemberWatch
	mu         sync.Mutex
	failedNode map[string]bool
	avoiding   []string
}

func watchFaults(ctx context.Context, tc *utils.TestCluster, ns string) *faultWatch {
	w := &faultWatch{failedNode: map[string]bool{}}
	w.MemberWatch = watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{Liveness: utils.LiveUntilDeleting, OnChange: w.checkAvoided})
	return w
}

// failed tells the watch a node is failed on purpose (or back): new Pods may keep off it meanwhile.
func (w *faultWatch) failed(node string, failed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failedNode[node] = failed
}

// checkAvoided looks at a Pod as first seen, as it was created.
func (w *faultWatch) checkAvoided(_ *utils.MemberWatch, change utils.MemberChange) {
	if change.Before.UID != "" || change.Deleted {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, node := range avoidedNodes(change.Pod) {
		if !w.failedNode[node] {
			w.avoiding = append(w.avoiding, fmt.Sprintf("%s (%s) created to keep off healthy node %s", change.Pod.Name, change.Pod.UID, node))
		}
	}
}

// avoidedNodes are the nodes a Pod's required node affinity keeps it off by name.
func avoidedNodes(pod *corev1.Pod) []string {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	var out []string
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, req := range slices.Concat(term.MatchFields, term.MatchExpressions) {
			if (req.Key == "metadata.name" || req.Key == corev1.LabelHostname) && req.Operator == corev1.NodeSelectorOpNotIn {
				out = append(out, req.Values...)
			}
		}
	}
	return out
}

func (w *faultWatch) avoidingHealthy() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.avoiding)
}

// lowestReady is the fewest members of the group with a Ready Pod at once, since all of them had one.
func (w *faultWatch) lowestReady() int { return w.LowestReadyMembers("web", faultReplicas) }

// replacedOff waits until every lost member runs Ready again as a new Pod on a node other than the one it lost.
func replacedOff(ctx context.Context, tc *utils.TestCluster, ns string, lost map[int]*corev1.Pod, node string) {
	Eventually(func(g Gomega) {
		now := readyMembers(ctx, g, tc, ns)
		for ordinal, old := range lost {
			g.Expect(now).To(HaveKey(ordinal))
			g.Expect(now[ordinal].UID).NotTo(Equal(old.UID), old.Name)
			g.Expect(now[ordinal].Spec.NodeName).NotTo(Equal(node), old.Name)
		}
	}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
}
