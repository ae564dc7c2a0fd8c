package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	lifecyclev1alpha1 "k8s.io/api/lifecycle/v1alpha1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/eviction"
	"github.com/peapod-io/peapod/internal/migration"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// The EvictionRequest API (lifecycle.k8s.io/v1alpha1, alpha in Kubernetes 1.37): a requester asks for a member's
// Pod to go, and peapod, the Pod's first eviction responder, moves the member make-before-break and reports in the
// Eviction. The cluster serves the API with its feature gate on; the evictionrequest controller, which 1.37's
// kube-controller-manager does not ship, is the test bed's stand-in (test/cluster/evictionrequests.go). The
// manager runs as its own process, so it discovers the API as it does in a cluster.
var _ = Describe("eviction requests", Ordered, func() {
	const (
		replicas  = 3
		requester = "descheduler.example.com/rebalance"
	)
	var (
		tc *utils.TestCluster
		c  client.Client
	)

	BeforeAll(func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("needs a cluster that serves the EvictionRequest API and runs the evictionrequest controller's stand-in: " +
				utils.ExistingClusterEnv + " is set")
		}
		var err error
		tc, err = utils.StartTestCluster(ctx, cluster.Options{Nodes: replicas + 1, Timings: cluster.FastTimings, EvictionRequestAPI: true,
			Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		Expect(tc.Install(ctx, "../../config/crd/bases", "../../config/policy/podgroup_validation.yaml")).To(Succeed())
		c = utils.NewClient(tc.Config)
		binary, err := utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		manager := startManagerProcess(tc, binary)
		DeferCleanup(manager.Kill)
	}, NodeTimeout(cluster.StartTimeout+3*time.Minute))

	// newGroup creates a group with one member per node, a node to spare, and waits until every member is Ready and
	// the budget refuses evictions.
	newGroup := func(ctx context.Context, prefix string) string {
		ns := utils.CreateNamespace(ctx, tc.Clientset, prefix)
		group := pt.MakePodGroup("web", ns).Replicas(replicas).Spread(peapodv1alpha1.SpreadOnePerNode).ServicePort("http", 80).Obj()
		Expect(c.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) {
			expectReadyMembers(ctx, g, tc, ns, replicas)
			pdb, err := tc.Clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pdb.Status.CurrentHealthy).To(BeNumerically("==", replicas))
			g.Expect(pdb.Status.DisruptionsAllowed).To(BeZero())
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		return ns
	}
	request := func(ctx context.Context, pod *corev1.Pod) *lifecyclev1alpha1.EvictionRequest {
		r := &lifecyclev1alpha1.EvictionRequest{
			ObjectMeta: metav1.ObjectMeta{Name: "rebalance-" + pod.Name, Namespace: pod.Namespace},
			Spec: lifecyclev1alpha1.EvictionRequestSpec{
				Target:    lifecyclev1alpha1.EvictionRequestTarget{Pod: &lifecyclev1alpha1.EvictionRequestPodReference{Name: pod.Name, UID: pod.UID}},
				Requester: requester,
				Intent:    lifecyclev1alpha1.EvictionRequestIntentEviction,
			},
		}
		r, err := tc.Clientset.LifecycleV1alpha1().EvictionRequests(pod.Namespace).Create(ctx, r, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		return r
	}
	// peapodsState is peapod's state in the Eviction's targetResponders; peapodsReport its entry in responders.
	peapodsState := func(ev *lifecyclev1alpha1.Eviction) lifecyclev1alpha1.ResponderStateType {
		for _, r := range ev.Status.TargetResponders {
			if r.Name == peapodv1alpha1.EvictionResponder {
				return r.State
			}
		}
		return ""
	}
	peapodsReport := func(ev *lifecyclev1alpha1.Eviction) lifecyclev1alpha1.ResponderStatus {
		for _, r := range ev.Status.Responders {
			if r.Name == peapodv1alpha1.EvictionResponder {
				return r
			}
		}
		return lifecyclev1alpha1.ResponderStatus{}
	}
	// watchReports watches the Eviction of a Pod until the spec ends, and keeps every message peapod reported in
	// it: a move on kwok nodes takes a fraction of a second, too short to sample.
	watchReports := func(ctx context.Context, pod *corev1.Pod) func() []string {
		var mu sync.Mutex
		var messages []string
		watchCtx, stop := context.WithCancel(ctx)
		DeferCleanup(stop)
		opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", string(pod.UID)).String()}
		go func() {
			for watchCtx.Err() == nil {
				w, err := tc.Clientset.LifecycleV1alpha1().Evictions(pod.Namespace).Watch(watchCtx, opts)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				for e := range w.ResultChan() {
					ev, ok := e.Object.(*lifecyclev1alpha1.Eviction)
					if !ok {
						continue
					}
					if report := peapodsReport(ev); report.Message != nil {
						mu.Lock()
						if !slices.Contains(messages, *report.Message) {
							messages = append(messages, *report.Message)
						}
						mu.Unlock()
					}
				}
				w.Stop()
			}
		}()
		return func() []string {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(messages)
		}
	}
	evictionOf := func(ctx context.Context, g Gomega, pod *corev1.Pod) *lifecyclev1alpha1.Eviction {
		ev, err := tc.Clientset.LifecycleV1alpha1().Evictions(pod.Namespace).Get(ctx, string(pod.UID), metav1.GetOptions{})
		g.Expect(err).NotTo(HaveOccurred())
		return ev
	}
	migrationFor := func(ctx context.Context, g Gomega, pod *corev1.Pod, ordinal int) *peapodv1alpha1.PodMigration {
		var m peapodv1alpha1.PodMigration
		key := client.ObjectKey{Namespace: pod.Namespace, Name: migration.EvictionName("web", ordinal, pod.UID)}
		g.Expect(c.Get(ctx, key, &m)).To(Succeed())
		return &m
	}

	It("moves a member make-before-break on an EvictionRequest, reports in the Eviction, and the Ready count never drops", func(ctx context.Context) {
		ns := newGroup(ctx, "evict-")
		old := memberPod(ctx, Default, tc, ns, 1)
		Expect(old.Spec.EvictionResponders).To(ContainElement(And(
			HaveField("Name", peapodv1alpha1.EvictionResponder), HaveField("Priority", HaveValue(BeNumerically("==", peapodv1alpha1.EvictionResponderPriority))))),
			"the member names peapod its eviction responder")
		members := watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{})
		reports := watchReports(ctx, old)

		started := time.Now()
		r := request(ctx, old)
		Eventually(func(g Gomega) {
			moved := memberPod(ctx, g, tc, ns, 1)
			g.Expect(moved.UID).NotTo(Equal(old.UID))
			g.Expect(moved.Spec.NodeName).NotTo(Equal(old.Spec.NodeName))
			g.Expect(plan.Ready(moved)).To(BeTrue())
			_, err := tc.Clientset.CoreV1().Pods(ns).Get(ctx, old.Name, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the old Pod is gone")
		}).WithContext(ctx).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		took := time.Since(started)
		AddReportEntry("EvictionRequest to the member moved and its old Pod gone", took.Round(100*time.Millisecond).String())

		Eventually(func(g Gomega) {
			ev := evictionOf(ctx, g, old)
			report := peapodsReport(ev)
			g.Expect(peapodsState(ev)).To(Equal(lifecyclev1alpha1.ResponderStateCompleted), "peapod's turn ends completed")
			g.Expect(report.CompletionTime).NotTo(BeNil())
			g.Expect(report.HeartbeatTime).NotTo(BeNil())
			g.Expect(*report.Message).To(ContainSubstring("moved from node " + old.Spec.NodeName))
			g.Expect(ev.Status.Conditions).To(ContainElement(And(
				HaveField("Type", string(lifecyclev1alpha1.EvictionConditionTargetEvicted)), HaveField("Status", metav1.ConditionTrue))))
			stored, err := tc.Clientset.LifecycleV1alpha1().EvictionRequests(ns).Get(ctx, r.Name, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(stored.Status.Conditions).To(ContainElement(HaveField("Type", string(lifecyclev1alpha1.EvictionConditionTargetEvicted))))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("peapod's reports in the Eviction: %q\n", reports())
		Expect(reports()).To(ContainElement(ContainSubstring("make-before-break")), "a report while the member moved")

		m := migrationFor(ctx, Default, old, 1)
		Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationSucceeded))
		Expect(m.Status.Reason).To(Equal(peapodv1alpha1.MigrationEviction))
		Expect(m.Annotations[peapodv1alpha1.EvictionAnnotation]).To(Equal(string(old.UID)))
		Expect(members.LowestReadyPods("web", replicas)).To(BeNumerically(">=", replicas), "the Ready count dropped during the move")
		Expect(members.Deleted()).To(ConsistOf(old.UID), "the move deleted only the old Pod")
	})

	It("cancels the move when the request is withdrawn mid-move: the member stays, its replacement is removed", func(ctx context.Context) {
		ns := newGroup(ctx, "withdraw-")
		old := memberPod(ctx, Default, tc, ns, 1)
		// The only node without a member accepts no Pods: the replacement waits for room, the move stays mid-way.
		var spare string
		used := make([]string, 0, replicas)
		for _, pod := range memberPods(ctx, Default, tc, ns) {
			used = append(used, pod.Spec.NodeName)
		}
		for _, node := range tc.Simulated.Nodes() {
			if !slices.Contains(used, node) {
				spare = node
			}
		}
		Expect(spare).NotTo(BeEmpty())
		out, err := tc.Kubectl(ctx, "cordon", spare).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "%s", out)
		DeferCleanup(func(ctx context.Context) { _ = tc.Kubectl(ctx, "uncordon", spare).Run() })
		members := watchMemberPods(ctx, tc, ns, utils.MemberWatchOptions{})
		reports := watchReports(ctx, old)

		r := request(ctx, old)
		var replacement string
		var replacementUID types.UID
		Eventually(func(g Gomega) {
			m := migrationFor(ctx, g, old, 1)
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationRunning))
			g.Expect(m.Status.Message).To(ContainSubstring("waiting for room"))
			replacement = m.Status.ReplacementPod
			pod, err := tc.Clientset.CoreV1().Pods(ns).Get(ctx, replacement, metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			replacementUID = pod.UID
			report := peapodsReport(evictionOf(ctx, g, old))
			g.Expect(report.Message).To(HaveValue(ContainSubstring("make-before-break")))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		// Nothing changes while the replacement waits: peapod still renews its heartbeat, on its own timer, so the
		// Eviction does not pass on to the next responder.
		first := peapodsReport(evictionOf(ctx, Default, old))
		Expect(first.HeartbeatTime).NotTo(BeNil())
		Eventually(func(g Gomega) {
			report := peapodsReport(evictionOf(ctx, g, old))
			g.Expect(report.HeartbeatTime.Time).To(BeTemporally(">", first.HeartbeatTime.Time))
			g.Expect(report.Message).To(HaveValue(ContainSubstring("waiting for room")))
		}).WithContext(ctx).WithTimeout(eviction.HeartbeatInterval + 30*time.Second).WithPolling(time.Second).Should(Succeed())
		renewed := peapodsReport(evictionOf(ctx, Default, old))
		AddReportEntry("peapod's heartbeat in the Eviction while the move waits for room, renewed after",
			renewed.HeartbeatTime.Sub(first.HeartbeatTime.Time).String())

		withdraw := []byte(`{"spec":{"intent":"` + string(lifecyclev1alpha1.EvictionRequestIntentWithdrawn) + `"}}`)
		_, err = tc.Clientset.LifecycleV1alpha1().EvictionRequests(ns).Patch(ctx, r.Name, types.MergePatchType, withdraw, metav1.PatchOptions{})
		Expect(err).NotTo(HaveOccurred())

		Eventually(func(g Gomega) {
			m := migrationFor(ctx, g, old, 1)
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationFailed))
			g.Expect(m.Status.Conditions).To(ContainElement(HaveField("Reason", migration.ReasonEvictionWithdrawn)))
			_, err := tc.Clientset.CoreV1().Pods(ns).Get(ctx, replacement, metav1.GetOptions{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the replacement %s is removed", replacement)
			g.Expect(peapodsState(evictionOf(ctx, g, old))).To(Equal(lifecyclev1alpha1.ResponderStateCanceled))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
		stays := memberPod(ctx, Default, tc, ns, 1)
		Expect(stays.UID).To(Equal(old.UID), "the member stays where it was")
		Expect(stays.DeletionTimestamp).To(BeNil())
		Consistently(func(g Gomega) {
			g.Expect(memberPod(ctx, g, tc, ns, 1).UID).To(Equal(old.UID))
		}).WithContext(ctx).WithTimeout(5 * time.Second).Should(Succeed())
		GinkgoWriter.Printf("peapod's reports in the Eviction: %q\n", reports())
		Expect(members.LowestReadyPods("web", replicas)).To(BeNumerically(">=", replicas), "the Ready count dropped")
		Expect(members.Deleted()).To(ConsistOf(replacementUID), "the cancel deleted only the replacement")
	})
})

// Where the cluster does not serve the EvictionRequest API (the suite's own cluster; every Kubernetes before 1.37,
// and 1.37 without the gate), nothing changes: the manager (in process, discovering the API as main does) starts,
// no member names a responder, and an eviction meets the budget.
var _ = Describe("eviction requests, the API not served", func() {
	It("leaves members without a responder, and the budget refuses an eviction as before", func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("the suite's own cluster is known not to serve the API: " + utils.ExistingClusterEnv + " is set")
		}
		tc := fastCluster
		_, err := tc.Clientset.Discovery().ServerResourcesForGroupVersion(lifecyclev1alpha1.SchemeGroupVersion.String())
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the suite's cluster serves %s: %v", lifecyclev1alpha1.SchemeGroupVersion, err)
		ns := utils.CreateNamespace(ctx, tc.Clientset, "no-evictionrequests-")
		Expect(fastClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			expectReadyMembers(ctx, g, tc, ns, 2)
			pdb, err := tc.Clientset.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "web", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pdb.Status.CurrentHealthy).To(BeNumerically("==", 2))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		pod := memberPod(ctx, Default, tc, ns, 0)
		Expect(pod.Spec.EvictionResponders).To(BeEmpty())
		err = tc.Clientset.CoreV1().Pods(ns).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: ns}})
		Expect(apierrors.IsTooManyRequests(err)).To(BeTrue(), "the budget refuses the eviction: %v", err)
	})
})
