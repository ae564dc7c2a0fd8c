package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gomegatypes "github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// Members with claims of their own, at Kubernetes' default node timings, on six nodes (two per zone, so a zonal
// volume's member has somewhere to go): a ReadWriteOnce volume is attached to one node at a time, so its member is
// replaced on a silent node only once the node is known dead, and moves stop-then-start on a drain; ReadWriteMany
// members move make-before-break. The faults are real: a silenced kubelet, the out-of-service taint, kubectl drain.
var _ = Describe("stateful members at default cluster timings", Ordered, func() {
	const replicas = 3
	var (
		tc          *utils.TestCluster
		sim         *cluster.Cluster
		c           client.Client
		attachments *utils.AttachmentWatch
	)

	BeforeAll(func(ctx context.Context) {
		tc = defaultTimingsCluster(ctx, 6, "needs kwok nodes it can fail and drain, and the simulated cluster's storage")
		sim = tc.Simulated
		startManager(tc.Config)
		c = utils.NewClient(tc.Config)
		var err error
		attachments, err = utils.WatchAttachments(ctx, tc.Clientset)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(attachments.Stop)
	}, NodeTimeout(cluster.StartTimeout))

	AfterEach(func() {
		if CurrentSpecReport().Failed() && sim != nil {
			for _, a := range sim.StorageActions() {
				GinkgoWriter.Println(a.String())
			}
		}
	})

	// newNamespace is the spec's own namespace, deleted when the spec ends so its members leave the nodes the next
	// spec fails or drains.
	newNamespace := func(ctx context.Context, prefix string) string {
		ns := utils.CreateNamespace(ctx, tc.Clientset, prefix)
		DeferCleanup(func(ctx context.Context) {
			Expect(tc.Clientset.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})).To(Succeed())
		})
		return ns
	}
	// createGroup creates the group and waits until its members are Ready.
	createGroup := func(ctx context.Context, group *peapodv1alpha1.PodGroup) {
		Expect(c.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) {
			pods := memberPods(ctx, g, tc, group.Namespace)
			g.Expect(pods).To(HaveLen(replicas))
			for _, pod := range pods {
				g.Expect(plan.Ready(pod)).To(BeTrue(), pod.Name)
			}
		}).WithContext(ctx).WithTimeout(90 * time.Second).Should(Succeed())
	}
	withFencing := func(group *peapodv1alpha1.PodGroup, fencing peapodv1alpha1.FencingPolicy) *peapodv1alpha1.PodGroup {
		group.Spec.Migration = &peapodv1alpha1.MigrationPolicy{NodeFailure: &peapodv1alpha1.NodeFailurePolicy{Fencing: fencing}}
		return group
	}
	claimOf := func(ctx context.Context, ns string, ordinal int) *corev1.PersistentVolumeClaim {
		pvc, err := tc.Clientset.CoreV1().PersistentVolumeClaims(ns).Get(ctx, claimName(ordinal), metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(pvc.Status.Phase).To(Equal(corev1.ClaimBound))
		return pvc
	}
	volumeOf := func(ctx context.Context, pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
		pv, err := tc.Clientset.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		return pv
	}
	zoneOf := func(ctx context.Context, node string) string {
		n, err := tc.Clientset.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		return n.Labels[corev1.LabelTopologyZone]
	}
	// failNode silences the node's kubelet and waits until the node is NotReady; the spec's cleanup lifts any
	// out-of-service taint and brings the kubelet back.
	failNode := func(ctx context.Context, node string) (failed, notReady time.Time) {
		failed = time.Now()
		Expect(sim.FailNode(ctx, node)).To(Succeed())
		DeferCleanup(func(ctx context.Context) {
			Expect(utils.Unfence(ctx, tc.Clientset, node)).To(Succeed())
			Expect(sim.RecoverNode(ctx, node)).To(Succeed())
		})
		Expect(sim.WaitNodeReady(ctx, node, corev1.ConditionUnknown, 2*time.Minute)).To(Succeed())
		notReady = time.Now()
		GinkgoWriter.Printf("node %s NotReady %s after its kubelet went silent\n", node, notReady.Sub(failed).Round(100*time.Millisecond))
		return failed, notReady
	}
	// awaitingFencing checks the group's Degraded condition names the member waiting for its node to be fenced.
	awaitingFencing := func(ctx context.Context, g Gomega, ns, member, node string, more ...string) {
		group := groupOf(ctx, g, c, ns)
		matchers := make([]gomegatypes.GomegaMatcher, 0, 4+len(more))
		matchers = append(matchers, HaveField("Type", "Degraded"), HaveField("Status", metav1.ConditionTrue),
			HaveField("Reason", "AwaitingFencing"), HaveField("Message", ContainSubstring(member+" on "+node)))
		for _, m := range more {
			matchers = append(matchers, HaveField("Message", ContainSubstring(m)))
		}
		g.Expect(group.Status.Conditions).To(ContainElement(SatisfyAll(matchers...)))
	}
	// backElsewhere waits until the member is Ready again in another Pod, on another node of the zone, mounting
	// its claim under the member's hostname.
	backElsewhere := func(ctx context.Context, ns string, old *corev1.Pod, zone string, within time.Duration) *corev1.Pod {
		ordinal, _ := desired.OrdinalOf(old.Labels)
		var now *corev1.Pod
		Eventually(func(g Gomega) {
			now = memberPod(ctx, g, tc, ns, ordinal)
			g.Expect(now.UID).NotTo(Equal(old.UID))
			g.Expect(plan.Ready(now)).To(BeTrue())
			g.Expect(now.Spec.NodeName).NotTo(Equal(old.Spec.NodeName))
		}).WithContext(ctx).WithTimeout(within).WithPolling(50 * time.Millisecond).Should(Succeed())
		Expect(zoneOf(ctx, now.Spec.NodeName)).To(Equal(zone), "the member runs where its volume is")
		Expect(now.Spec.Hostname).To(Equal(desired.MemberName("web", ordinal)))
		Expect(mountedClaims(now)).To(ConsistOf(claimName(ordinal)))
		return now
	}
	// sameClaim checks the member's claim is the one it had, bound to the same volume.
	sameClaim := func(ctx context.Context, ns string, before *corev1.PersistentVolumeClaim) {
		now, err := tc.Clientset.CoreV1().PersistentVolumeClaims(ns).Get(ctx, before.Name, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(now.UID).To(Equal(before.UID), "claim %s was re-created", before.Name)
		Expect(now.Spec.VolumeName).To(Equal(before.Spec.VolumeName), "claim %s is bound to another volume", before.Name)
		Expect(now.DeletionTimestamp).To(BeNil())
	}
	// movedOnce checks the volume was attached to the old node, then to the new one, and never to both at once.
	movedOnce := func(pv, from, to string) (was, now utils.Attachment) {
		history := attachments.History(pv)
		Expect(history).To(HaveLen(2), "%v", history)
		was, now = history[0], history[1]
		Expect(was.Node).To(Equal(from))
		Expect(now.Node).To(Equal(to))
		Expect(was.Gone()).To(BeTrue())
		Expect(was.Deleted).To(BeTemporally("<", now.Created), "the old VolumeAttachment was gone before the new one existed")
		Expect(now.Attached).NotTo(BeZero())
		Expect(attachments.Violations(pv)).To(BeEmpty())
		return was, now
	}
	readyAt := func(watch *utils.MemberWatch, pod *corev1.Pod) time.Time {
		p, ok := watch.Pod(pod.UID)
		Expect(ok).To(BeTrue(), "the watch saw %s", pod.Name)
		Expect(p.WasReady()).To(BeTrue(), "the watch saw %s Ready", pod.Name)
		return p.ReadyAt
	}

	// rwoMember runs a group with a ReadWriteOnce claim per member, one member per zone (a member's replacement has
	// its zone's other node to itself), and returns member 1 with its claim, volume and zone.
	rwoMember := func(ctx context.Context, prefix string, fencing peapodv1alpha1.FencingPolicy) (ns string,
		identities *utils.MemberWatch, old *corev1.Pod, claim *corev1.PersistentVolumeClaim, pv *corev1.PersistentVolume, zone string) {
		ns = newNamespace(ctx, prefix)
		createGroup(ctx, withFencing(pt.MakePodGroup("web", ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadZone).
			Claim("data", "1Gi").Obj(), fencing))
		identities = watchIdentities(ctx, tc, ns)
		old = memberPod(ctx, Default, tc, ns, 1)
		claim = claimOf(ctx, ns, 1)
		pv = volumeOf(ctx, claim)
		return ns, identities, old, claim, pv, zoneOf(ctx, old.Spec.NodeName)
	}

	It("brings back a member with a ReadWriteOnce claim whose node died, with that claim, once the node is out of service",
		func(ctx context.Context) {
			ns, identities, old, claim, pv, zone := rwoMember(ctx, "rwo-fenced-", peapodv1alpha1.FencingRequired)
			node := old.Spec.NodeName
			Expect(pv.Spec.NodeAffinity).To(Equal(zoneAffinity(zone)))
			Expect(mountedClaims(old)).To(ConsistOf(claim.Name))
			Expect(attachments.History(pv.Name)).To(ConsistOf(HaveField("Node", node)))

			_, notReady := failNode(ctx, node)
			Eventually(func(g Gomega) { awaitingFencing(ctx, g, ns, "web-1", node) }).
				WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
			Expect(memberPod(ctx, Default, tc, ns, 1).UID).To(Equal(old.UID))
			Expect(attachments.History(pv.Name)).To(HaveLen(1))

			fenced := time.Now()
			Expect(utils.Fence(ctx, tc.Clientset, node)).To(Succeed())
			now := backElsewhere(ctx, ns, old, zone, 60*time.Second)
			ready := readyAt(identities, now)
			sameClaim(ctx, ns, claim)
			was, attached := movedOnce(pv.Name, node, now.Spec.NodeName)

			Expect(identities.Strays()).To(BeEmpty())
			Expect(identities.Overlaps()).To(BeEmpty())
			Expect(identities.CreatedAfter(web(1), old.UID, fenced)).To(BeTrue(), "web-1 was replaced before its node was fenced")
			Expect(attachments.Violations()).To(BeEmpty())
			AddReportEntry("RWO member, node dead then out of service: taint -> replacement Ready", ms(fenced, ready))
			GinkgoWriter.Printf("web-1 %s -> %s (zone %s); NotReady -> taint %s; after the taint: old VolumeAttachment deleting %s, "+
				"gone %s, new created %s, attached %s, Pod Ready %s\n", node, now.Spec.NodeName, zone, ms(notReady, fenced),
				ms(fenced, was.Deleting), ms(fenced, was.Deleted), ms(fenced, attached.Created), ms(fenced, attached.Attached),
				ms(fenced, ready))
		})

	It("brings back a member spread over nodes whose volume's zone has one node left, which holds another member",
		func(ctx context.Context) {
			ns := newNamespace(ctx, "rwo-spread-")
			// Three members spread over the four nodes of two zones: one zone holds two members, one per node. The
			// replacement of one of them has one node left in its volume's zone, the other member's: the spread must
			// count that zone's nodes only, not the free node of the other zone it can never use.
			group := withFencing(pt.MakePodGroup("web", ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).
				Claim("data", "1Gi").Obj(), peapodv1alpha1.FencingRequired)
			group.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone,
						Operator: corev1.NodeSelectorOpIn, Values: []string{"zone-a", "zone-b"}}}}}}}}
			createGroup(ctx, group)
			byZone := map[string][]*corev1.Pod{}
			for _, pod := range memberPods(ctx, Default, tc, ns) {
				zone := zoneOf(ctx, pod.Spec.NodeName)
				byZone[zone] = append(byZone[zone], pod)
			}
			var old *corev1.Pod
			for _, pods := range byZone {
				if len(pods) == 2 {
					old = pods[0]
				}
			}
			Expect(old).NotTo(BeNil(), "no zone holds two members: %v", byZone)
			ordinal, _ := desired.OrdinalOf(old.Labels)
			zone := zoneOf(ctx, old.Spec.NodeName)
			claim := claimOf(ctx, ns, ordinal)

			failNode(ctx, old.Spec.NodeName)
			fenced := time.Now()
			Expect(utils.Fence(ctx, tc.Clientset, old.Spec.NodeName)).To(Succeed())
			now := backElsewhere(ctx, ns, old, zone, 30*time.Second)
			sameClaim(ctx, ns, claim)
			Expect(attachments.Violations()).To(BeEmpty())
			AddReportEntry("RWO member spread over nodes, one node left in its volume's zone: taint -> replacement Ready",
				ms(fenced, time.Now()))
			GinkgoWriter.Printf("%s back on %s beside another member, zone %s\n", old.Name, now.Spec.NodeName, zone)
		})

	It("leaves a member with a ReadWriteOnce claim on its silent node when fencing is None, until the node is out of service",
		func(ctx context.Context) {
			ns, identities, old, claim, pv, zone := rwoMember(ctx, "rwo-unfenced-", peapodv1alpha1.FencingNone)
			node := old.Spec.NodeName

			failed, notReady := failNode(ctx, node)
			// Long past nodeFailure.after (20 s), which would have replaced a member without claims.
			Eventually(func(g Gomega) { awaitingFencing(ctx, g, ns, "web-1", node, "fencing None does not apply") }).
				WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
			untouched := func(g Gomega) {
				pod, err := tc.Clientset.CoreV1().Pods(ns).Get(ctx, old.Name, metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(pod.UID).To(Equal(old.UID))
				g.Expect(pod.DeletionTimestamp).To(BeNil(), "the member's Pod on the silent node is being deleted")
				g.Expect(identities.Live(web(1))).To(HaveLen(1), "a second Pod of web-1")
				g.Expect(attachments.History(pv.Name)).To(HaveLen(1), "a second VolumeAttachment of web-1's volume")
				awaitingFencing(ctx, g, ns, "web-1", node, "fencing None does not apply")
			}
			Consistently(untouched).WithContext(ctx).WithTimeout(time.Until(notReady.Add(90 * time.Second))).
				WithPolling(500 * time.Millisecond).Should(Succeed())
			var seen []string
			for _, p := range identities.Seen() {
				if p.Identity == web(1) {
					seen = append(seen, p.String())
				}
			}
			Expect(seen).To(HaveLen(1), "web-1 had no other Pod, not even for a moment")

			fenced := time.Now()
			Expect(utils.Fence(ctx, tc.Clientset, node)).To(Succeed())
			now := backElsewhere(ctx, ns, old, zone, 60*time.Second)
			ready := readyAt(identities, now)
			sameClaim(ctx, ns, claim)
			movedOnce(pv.Name, node, now.Spec.NodeName)
			Expect(identities.Overlaps()).To(BeEmpty())
			Expect(identities.CreatedAfter(web(1), old.UID, fenced)).To(BeTrue(), "web-1 was replaced before its node was fenced")
			AddReportEntry("RWO member, fencing None, node silent: how long it waited unreplaced",
				fmt.Sprintf("silent -> taint %s (NotReady after %s); taint -> replacement Ready %s",
					ms(failed, fenced), ms(failed, notReady), ms(fenced, ready)))
		})

	// drainZoneNode runs a group pinned to zone-a and spread over its two nodes (two members on one, one on the
	// other), its claims of the access mode, and drains the node with two members with kubectl: they can only
	// move to the zone's other node.
	type drained struct {
		ns, node, target string
		old              map[int]*corev1.Pod
		claims           map[int]*corev1.PersistentVolumeClaim
		members          *utils.MemberWatch
		started, ended   time.Time
	}
	drainZoneNode := func(ctx context.Context, prefix string, mode corev1.PersistentVolumeAccessMode) drained {
		ns := newNamespace(ctx, prefix)
		group := pt.MakePodGroup("web", ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadNode).Claim("data", "1Gi", mode).Obj()
		group.Spec.Template.Spec.NodeSelector = map[string]string{corev1.LabelTopologyZone: "zone-a"}
		createGroup(ctx, group)
		d := drained{ns: ns, old: map[int]*corev1.Pod{}, claims: map[int]*corev1.PersistentVolumeClaim{}}
		byNode := map[string][]int{}
		for o := range replicas {
			pod := memberPod(ctx, Default, tc, ns, o)
			byNode[pod.Spec.NodeName] = append(byNode[pod.Spec.NodeName], o)
			d.claims[o] = claimOf(ctx, ns, o)
			Expect(mountedClaims(pod)).To(ConsistOf(claimName(o)))
			d.old[o] = pod
		}
		Expect(byNode).To(HaveLen(2), "the members share zone-a's two nodes")
		for node, ordinals := range byNode {
			if len(ordinals) == 2 {
				d.node = node
			} else {
				d.target = node
			}
		}
		Expect(d.node).NotTo(BeEmpty(), "two members on one node: %v", byNode)
		for o, pod := range d.old {
			if pod.Spec.NodeName != d.node {
				delete(d.old, o)
			}
		}
		d.members = watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{Liveness: utils.LiveUntilGone})
		DeferCleanup(func(ctx context.Context) {
			out, err := tc.Kubectl(ctx, "uncordon", d.node).CombinedOutput()
			Expect(err).NotTo(HaveOccurred(), string(out))
		})

		d.started = time.Now()
		out, err := tc.Kubectl(ctx, "drain", d.node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=150s").CombinedOutput()
		d.ended = time.Now()
		GinkgoWriter.Printf("kubectl drain %s took %s:\n%s\n", d.node, ms(d.started, d.ended), out)
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("drained"))
		return d
	}
	// drainMigrations are the PodMigrations peapod created for the drain, by member; each succeeded.
	drainMigrations := func(ctx context.Context, d drained) map[int]*peapodv1alpha1.PodMigration {
		var list peapodv1alpha1.PodMigrationList
		Eventually(func(g Gomega) {
			g.Expect(c.List(ctx, &list, client.InNamespace(d.ns),
				client.MatchingLabels{peapodv1alpha1.MigrationReasonLabel: string(peapodv1alpha1.MigrationDrain)})).To(Succeed())
			for _, m := range list.Items {
				g.Expect(m.Active()).To(BeFalse(), "%s: %s", m.Name, m.Status.Message)
			}
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		out := map[int]*peapodv1alpha1.PodMigration{}
		for i := range list.Items {
			m := &list.Items[i]
			Expect(m.Status.Member).NotTo(BeNil())
			Expect(out).NotTo(HaveKey(int(*m.Status.Member)), "two drain migrations of member %d", *m.Status.Member)
			Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded), m.Status.Message)
			Expect(m.Status.SourceNode).To(Equal(d.node))
			Expect(m.Status.TargetNode).To(Equal(d.target))
			out[int(*m.Status.Member)] = m
		}
		Expect(out).To(HaveLen(len(d.old)), "one drain migration per member on the node")
		return out
	}
	// movedWithClaims checks each drained member runs on the zone's other node with the claim it had.
	movedWithClaims := func(ctx context.Context, d drained) map[int]*corev1.Pod {
		moved := map[int]*corev1.Pod{}
		for o, old := range d.old {
			// kubectl drain returns once the old Pods are gone: a stop-then-start replacement may still be starting.
			var now *corev1.Pod
			Eventually(func(g Gomega) {
				now = memberPod(ctx, g, tc, d.ns, o)
				g.Expect(now.UID).NotTo(Equal(old.UID))
				g.Expect(plan.Ready(now)).To(BeTrue(), now.Name)
			}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
			Expect(now.Spec.NodeName).To(Equal(d.target))
			Expect(now.Spec.Hostname).To(Equal(old.Name), "the member keeps its DNS name")
			Expect(mountedClaims(now)).To(ConsistOf(claimName(o)))
			sameClaim(ctx, d.ns, d.claims[o])
			moved[o] = now
		}
		Expect(d.members.Strays()).To(BeEmpty())
		return moved
	}

	// move is one drained member's move as the watch saw it, on its clock.
	type move struct {
		ordinal                                  int
		oldDeleting, replacementSeen, readyAgain time.Time
	}
	movesOf := func(d drained, moved map[int]*corev1.Pod) []move {
		out := make([]move, 0, len(moved))
		for o, pod := range moved {
			old, ok := d.members.Pod(d.old[o].UID)
			Expect(ok).To(BeTrue())
			Expect(old.Gone).To(BeTrue())
			now, ok := d.members.Pod(pod.UID)
			Expect(ok).To(BeTrue())
			Expect(now.WasReady()).To(BeTrue())
			out = append(out, move{ordinal: o, oldDeleting: old.DeletingAt, replacementSeen: now.FirstSeen, readyAgain: now.ReadyAt})
		}
		slices.SortFunc(out, func(a, b move) int { return a.oldDeleting.Compare(b.oldDeleting) })
		return out
	}
	// timeline says when each move's steps were seen, from the drain's start.
	timeline := func(d drained, moves []move) string {
		out := make([]string, 0, len(moves))
		for _, m := range moves {
			out = append(out, fmt.Sprintf("web-%d old Pod deleting at %s, replacement created %s, Ready %s", m.ordinal,
				ms(d.started, m.oldDeleting), ms(d.started, m.replacementSeen), ms(d.started, m.readyAgain)))
		}
		return strings.Join(out, "; ")
	}

	It("moves the ReadWriteOnce members of a node drained with kubectl stop-then-start, one at a time, each with its claim",
		func(ctx context.Context) {
			d := drainZoneNode(ctx, "rwo-drain-", corev1.ReadWriteOnce)
			moved := movedWithClaims(ctx, d)
			migrations := drainMigrations(ctx, d)
			moves := movesOf(d, moved)
			downtimes := make([]string, 0, len(moves))
			for _, mv := range moves {
				m := migrations[mv.ordinal]
				Expect(m.Status.Mode).To(Equal(peapodv1alpha1.StopThenStart))
				Expect(m.Status.Downtime).NotTo(BeNil())
				Expect(m.Status.Downtime.Duration).To(BeNumerically(">", 0))
				Expect(m.Status.ReplacementPod).To(Equal(moved[mv.ordinal].Name))
				// The status's downtime, and the watch's: from the old Pod's deletion seen to the replacement seen Ready.
				downtimes = append(downtimes, fmt.Sprintf("web-%d %s (seen %s)", mv.ordinal, m.Status.Downtime.Duration,
					ms(mv.oldDeleting, mv.readyAgain)))
			}
			AddReportEntry("kubectl drain of a node with two RWO members (stop-then-start)",
				fmt.Sprintf("drain %s; downtime %s", ms(d.started, d.ended), strings.Join(downtimes, ", ")))
			GinkgoWriter.Printf("%s; Ready members %v\n", timeline(d, moves), d.members.ReadyPodsSince("web", d.started))

			Expect(d.members.LowestReadyMembers("web", replicas)).To(BeNumerically(">=", replicas-1),
				"more than one member was down at once (at most 1 by default): %s", timeline(d, moves))
			for i := 1; i < len(moves); i++ {
				Expect(moves[i].oldDeleting).To(BeTemporally(">=", moves[i-1].readyAgain),
					"a member stopped before the one before it was Ready again: %s", timeline(d, moves))
			}
			Expect(d.members.Overlaps()).To(BeEmpty(), "two Pods of one member at once")
			for o := range migrations {
				movedOnce(claimOf(ctx, d.ns, o).Spec.VolumeName, d.node, d.target)
			}
			Expect(attachments.Violations()).To(BeEmpty())
			Eventually(func(g Gomega) {
				last := groupOf(ctx, g, c, d.ns).Status.LastMigration
				g.Expect(last).NotTo(BeNil())
				g.Expect(last.Reason).To(Equal(peapodv1alpha1.MigrationDrain))
				g.Expect(last.Downtime).NotTo(BeNil())
			}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
		})

	It("moves the ReadWriteMany members of a node drained with kubectl make-before-break, each with its claim",
		func(ctx context.Context) {
			d := drainZoneNode(ctx, "rwx-drain-", corev1.ReadWriteMany)
			moved := movedWithClaims(ctx, d)
			for o, m := range drainMigrations(ctx, d) {
				Expect(m.Status.Mode).To(Equal(peapodv1alpha1.MakeBeforeBreak), "web-%d", o)
				Expect(m.Status.Downtime).To(BeNil(), "web-%d", o)
			}
			AddReportEntry("kubectl drain of a node with two RWX members (make-before-break)",
				fmt.Sprintf("drain %s; %s", ms(d.started, d.ended), timeline(d, movesOf(d, moved))))
			// No cap of the group's own (maxConcurrentMigrations unset): both may move at once, as no member is down.
			Expect(d.members.LowestReadyMembers("web", replicas)).To(Equal(replicas), "a member was down during the drain")
		})
})

// claimName is the claim of the data template of member ordinal of the group web.
func claimName(ordinal int) string { return fmt.Sprintf("data-web-%d", ordinal) }

// mountedClaims lists the claims the Pod mounts.
func mountedClaims(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return out
}

// ms is the time from one moment to another, to the 10 ms.
func ms(from, to time.Time) string { return to.Sub(from).Round(10 * time.Millisecond).String() }
