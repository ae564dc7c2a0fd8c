package controllers

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// Ownership (issue 9): peapod writes only what its group controls, puts back what it applied when someone edits
// it, and adopts what an orphaning delete left behind.
var _ = Describe("PodGroup ownership", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx, "own-")
		startFakeKubelet(ns)
	})

	getGroup := func(ctx context.Context, g Gomega, name string) *peapodv1alpha1.PodGroup {
		return groupIn(ctx, g, ns, name)
	}
	// serialized reads objects and returns them as the API server sends them, so two reads compare byte for byte.
	serialized := func(ctx context.Context, g Gomega, objs map[string]client.Object) map[string]string {
		out := map[string]string{}
		for name, obj := range objs {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
			data, err := json.Marshal(obj)
			g.Expect(err).NotTo(HaveOccurred())
			out[name] = string(data)
		}
		return out
	}
	degraded := func(reason string, message ...string) OmegaMatcher {
		matchers := make([]OmegaMatcher, 0, 3+len(message))
		matchers = append(matchers, HaveField("Type", "Degraded"), HaveField("Status", metav1.ConditionTrue), HaveField("Reason", reason))
		for _, m := range message {
			matchers = append(matchers, HaveField("Message", ContainSubstring(m)))
		}
		return ContainElement(SatisfyAll(matchers...))
	}
	controlledBy := func(ctx context.Context, g Gomega, obj client.Object, name string, group *peapodv1alpha1.PodGroup) {
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
		g.Expect(metav1.IsControlledBy(obj, group)).To(BeTrue(), "%T %s is not controlled by group %s", obj, name, group.Name)
	}

	It("leaves a Service, ConfigMap and PodDisruptionBudget it does not control untouched, and says so", func(ctx context.Context) {
		// What was in the namespace before the group: a Service, a ConfigMap controlled by it, and a budget.
		service := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"},
				Ports: []corev1.ServicePort{{Name: "web", Port: 8080}}},
		}
		Expect(k8sClient.Create(ctx, service)).To(Succeed())
		config := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "api-peers", Namespace: ns, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Service", Name: "api", UID: service.UID, Controller: ptr.To(true),
			}}},
			Data: map[string]string{"peers": "db.example.com\n"},
		}
		Expect(k8sClient.Create(ctx, config)).To(Succeed())
		budget := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: ns},
			Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}},
		}
		Expect(k8sClient.Create(ctx, budget)).To(Succeed())
		foreign := map[string]client.Object{"api": &corev1.Service{}, "api-peers": &corev1.ConfigMap{}}
		before := serialized(ctx, Default, foreign)
		beforeBudget := serialized(ctx, Default, map[string]client.Object{"api": &policyv1.PodDisruptionBudget{}})

		group := pt.MakePodGroup("api", ns).Replicas(2).ServicePort("http", 80).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "api")
			g.Expect(got.Status.Conditions).To(degraded("NameConflict",
				`Service "api"`, `ConfigMap "api-peers"`, `PodDisruptionBudget "api"`,
				"no member is created while the ConfigMap api-peers, which members mount, is not the group's"))
			// The children the group does control still reconcile.
			controlledBy(ctx, g, &corev1.Service{}, "api-members", got)
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Expect(getGroup(ctx, Default, "api").Status.Conditions).To(degraded("NameConflict",
			`ConfigMap "api-peers" exists and is controlled by Service "api"`, `Service "api" exists and has no controller`))

		Consistently(func(g Gomega) {
			g.Expect(serialized(ctx, g, foreign)).To(Equal(before))
			g.Expect(serialized(ctx, g, map[string]client.Object{"api": &policyv1.PodDisruptionBudget{}})).To(Equal(beforeBudget))
			// The kubelet mounts a ConfigMap by name: a member would read the foreign one.
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{peapodv1alpha1.GroupLabel: "api"})).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())

		// Once the name is free the group makes its own and its members come up.
		Expect(k8sClient.Delete(ctx, config)).To(Succeed())
		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "api")
			controlledBy(ctx, g, &corev1.ConfigMap{}, "api-peers", got)
			g.Expect(got.Status.ReadyReplicas).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("lets the first of two groups whose child names collide keep the object, and tells the second", func(ctx context.Context) {
		first := pt.MakePodGroup("a", ns).Replicas(1).Obj()
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		headless := map[string]client.Object{"a-members": &corev1.Service{}}
		Eventually(func(g Gomega) { controlledBy(ctx, g, &corev1.Service{}, "a-members", first) }).
			WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "a").Status.AvailableReplicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		time.Sleep(time.Second) // let the first group come to rest
		before := serialized(ctx, Default, headless)

		// The second group's ClusterIP Service is named a-members too.
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("a-members", ns).Replicas(1).ServicePort("http", 80).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "a-members").Status.Conditions).To(degraded("NameConflict",
				`Service "a-members" exists and is controlled by PodGroup "a"`))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(serialized(ctx, g, headless)).To(Equal(before))
			g.Expect(getGroup(ctx, g, "a").Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Status", metav1.ConditionFalse))))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("puts back a hand-edited headless Service selector, budget and peer list", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "web").Status.AvailableReplicas).To(Equal(int32(2)))
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-peers"}, &cm)).To(Succeed())
			var pdb policyv1.PodDisruptionBudget
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &pdb)).To(Succeed())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		mergePatch := func(obj client.Object, name, patch string) {
			obj.SetNamespace(ns)
			obj.SetName(name)
			Expect(k8sClient.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
		}
		mergePatch(&corev1.Service{}, "web-members", `{"spec":{"selector":{"peapod.io/group":null,"app":"other"}}}`)
		mergePatch(&policyv1.PodDisruptionBudget{}, "web", `{"spec":{"minAvailable":1}}`)
		mergePatch(&corev1.ConfigMap{}, "web-peers", `{"data":{"peers":"evil.example.com\n"}}`)

		Eventually(func(g Gomega) {
			var svc corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-members"}, &svc)).To(Succeed())
			g.Expect(svc.Spec.Selector).To(Equal(desired.SelectorLabels("web")))
			var pdb policyv1.PodDisruptionBudget
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &pdb)).To(Succeed())
			g.Expect(pdb.Spec.MinAvailable).To(Equal(ptr.To(intstr.FromInt32(2))))
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-peers"}, &cm)).To(Succeed())
			g.Expect(cm.Data[peapodv1alpha1.PeersFile]).To(Equal(desired.PeerDNSNames("web", ns, 2)[0] + "\n" +
				desired.PeerDNSNames("web", ns, 2)[1] + "\n"))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("writes nothing when only a child's status changes", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).ServicePort("http", 80).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "web").Status.AvailableReplicas).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		time.Sleep(time.Second) // let the last writes land
		// The disruption controller rewrites a budget's status often; envtest has none, so the test plays it.
		var pdb policyv1.PodDisruptionBudget
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &pdb)).To(Succeed())
		pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: pdb.Generation, CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 2}
		Expect(k8sClient.Status().Update(ctx, &pdb)).To(Succeed())
		children := map[string]client.Object{"web": &corev1.Service{}, "web-members": &corev1.Service{}, "web-peers": &corev1.ConfigMap{}}
		before := serialized(ctx, Default, children)
		beforeBudget := serialized(ctx, Default, map[string]client.Object{"web": &policyv1.PodDisruptionBudget{}})
		Consistently(func(g Gomega) {
			g.Expect(serialized(ctx, g, children)).To(Equal(before))
			g.Expect(serialized(ctx, g, map[string]client.Object{"web": &policyv1.PodDisruptionBudget{}})).To(Equal(beforeBudget))
		}).WithContext(ctx).WithTimeout(3 * time.Second).Should(Succeed())
	})

	It("adopts the members and children an orphaning delete left behind, creating no Pod", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(2).ServicePort("http", 80).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "web").Status.AvailableReplicas).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		// A Pod with the group's label that something else controls is never taken.
		keeper := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "keeper", Namespace: ns}}
		Expect(k8sClient.Create(ctx, keeper)).To(Succeed())
		kept := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "kept", Namespace: ns, Labels: desired.SelectorLabels("web"),
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "keeper", UID: keeper.UID, Controller: ptr.To(true)}}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: pt.PauseImage}}},
		}
		Expect(k8sClient.Create(ctx, kept)).To(Succeed())

		uids := func(g Gomega) map[string]types.UID {
			out := map[string]types.UID{}
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			for _, p := range pods.Items {
				out["Pod/"+p.Name] = p.UID
			}
			children := map[string]client.Object{"Service/web": &corev1.Service{}, "Service/web-members": &corev1.Service{},
				"ConfigMap/web-peers": &corev1.ConfigMap{}, "PodDisruptionBudget/web": &policyv1.PodDisruptionBudget{}}
			for key, obj := range children {
				name := key[strings.Index(key, "/")+1:]
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				out[key] = obj.GetUID()
			}
			return out
		}
		before := uids(Default)
		Expect(before).To(HaveKey("Pod/web-0"))
		revision := desired.ControllerRevisionName("web", getGroup(ctx, Default, "web").Status.UpdateRevision)
		// The fake kubelet makes it Running first; from then on nothing may write it.
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(kept), kept)).To(Succeed())
			g.Expect(kept.Status.Phase).To(Equal(corev1.PodRunning))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		keptBefore := serialized(ctx, Default, map[string]client.Object{"kept": &corev1.Pod{}})

		// kubectl delete --cascade=orphan, played without the garbage collector envtest lacks: the API server sets
		// the orphan finalizer, the collector removes the group's owner references from its dependents and then the
		// finalizer.
		Expect(k8sClient.Delete(ctx, group, client.PropagationPolicy(metav1.DeletePropagationOrphan))).To(Succeed())
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(group), group)).To(Succeed())
		Expect(group.Finalizers).To(ContainElement(metav1.FinalizerOrphanDependents))
		orphanDependents(ctx, ns, group.UID)
		Expect(k8sClient.Patch(ctx, group, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`)))).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKeyFromObject(group), &peapodv1alpha1.PodGroup{}))
		}).WithContext(ctx).WithTimeout(eventually).Should(BeTrue())

		again := pt.MakePodGroup("web", ns).Replicas(2).ServicePort("http", 80).Obj()
		Expect(k8sClient.Create(ctx, again)).To(Succeed())
		Eventually(func(g Gomega) {
			for _, name := range []string{"web-0", "web-1"} {
				controlledBy(ctx, g, &corev1.Pod{}, name, again)
			}
			controlledBy(ctx, g, &corev1.Service{}, "web", again)
			controlledBy(ctx, g, &corev1.Service{}, "web-members", again)
			controlledBy(ctx, g, &corev1.ConfigMap{}, "web-peers", again)
			controlledBy(ctx, g, &policyv1.PodDisruptionBudget{}, "web", again)
			controlledBy(ctx, g, &appsv1.ControllerRevision{}, revision, again)
			got := getGroup(ctx, g, "web")
			g.Expect(got.Status.AvailableReplicas).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Expect(uids(Default)).To(Equal(before), "an object was replaced rather than adopted")
		Expect(serialized(ctx, Default, map[string]client.Object{"kept": &corev1.Pod{}})).To(Equal(keptBefore))

		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		for _, e := range events.Items {
			if e.Regarding.UID == again.UID {
				Expect(e.Reason).NotTo(Equal("MembersCreated"), e.Note)
			}
		}
	})

	It("makes a member only from a revision the group stored itself, never from one written under its name", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(2).Obj()
		old := createAvailable(ctx, group)

		// Someone who may write ControllerRevisions swaps the stored revision for one of their own.
		name := desired.ControllerRevisionName("web", old)
		var stored appsv1.ControllerRevision
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &stored)).To(Succeed())
		Expect(k8sClient.Delete(ctx, &stored)).To(Succeed())
		forged := getGroup(ctx, Default, "web")
		forged.Spec.Template.Spec.Containers[0].Image = "registry.example.com/not-admitted:1"
		fake := desired.ControllerRevision(forged, desired.ShapeOf(&forged.Spec))
		fake.Name = name
		Expect(k8sClient.Create(ctx, fake)).To(Succeed())

		// A rollout held at web-0 by the partition, then web-0 deleted: it comes back at its revision.
		Expect(k8sClient.Patch(ctx, group, client.RawPatch(types.MergePatchType, []byte(
			`{"spec":{"updateStrategy":{"rollingUpdate":{"partition":1}},`+
				`"template":{"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.5"}]}}}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "web").Status.UpdatedReplicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		var web0 corev1.Pod
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-0"}, &web0)).To(Succeed())
		Expect(k8sClient.Delete(ctx, &web0)).To(Succeed())
		Eventually(func(g Gomega) {
			var pod corev1.Pod
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-0"}, &pod)).To(Succeed())
			g.Expect(pod.UID).NotTo(Equal(web0.UID))
			g.Expect(pod.Spec.Containers[0].Image).To(Equal("registry.k8s.io/pause:3.5"))
			var events eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(SatisfyAll(HaveField("Reason", "NameConflict"), HaveField("Type", "Warning"),
				HaveField("Note", ContainSubstring(`ControllerRevision "`+name+`" is not the group's revision `+old)))))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("keeps revisionHistoryLimit revisions besides the current, the update and those members run", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(2).Obj()
		group.Spec.RevisionHistoryLimit = ptr.To[int32](2)
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		revisions := func(g Gomega) []string {
			var list appsv1.ControllerRevisionList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			out := make([]string, 0, len(list.Items))
			for _, rev := range list.Items {
				out = append(out, rev.Labels[peapodv1alpha1.RevisionLabel])
			}
			return out
		}
		rolledOut := func() string {
			var revision string
			Eventually(func(g Gomega) {
				got := getGroup(ctx, g, "web")
				g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
				g.Expect(got.Status.UpdatedReplicas).To(Equal(int32(2)))
				g.Expect(got.Status.AvailableReplicas).To(Equal(int32(2)))
				g.Expect(got.Status.CurrentRevision).To(Equal(got.Status.UpdateRevision))
				revision = got.Status.UpdateRevision
			}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
			return revision
		}
		patch := func(p string) {
			Expect(k8sClient.Patch(ctx, group, client.RawPatch(types.MergePatchType, []byte(p)))).To(Succeed())
		}
		tags := []string{"3.1", "3.2", "3.3", "3.4"}
		history := make([]string, 0, 1+len(tags))
		history = append(history, rolledOut())
		for _, tag := range tags {
			patch(`{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:` + tag + `"}]}}}}`)
			history = append(history, rolledOut())
		}
		// Five revisions: the current one and the two before it stay.
		Eventually(revisions).WithContext(ctx).WithTimeout(eventually).Should(ConsistOf(history[2:]))

		// A partitioned rollout: web-0 stays at the current revision, web-1 moves to the update revision. With no
		// history kept, those two alone remain.
		patch(`{"spec":{"revisionHistoryLimit":0,"updateStrategy":{"rollingUpdate":{"partition":1}},` +
			`"template":{"spec":{"containers":[{"name":"app","image":"registry.k8s.io/pause:3.5"}]}}}}`)
		var update string
		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "web")
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			g.Expect(got.Status.UpdatedReplicas).To(Equal(int32(1)))
			g.Expect(got.Status.AvailableReplicas).To(Equal(int32(2)))
			update = got.Status.UpdateRevision
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Eventually(revisions).WithContext(ctx).WithTimeout(eventually).Should(ConsistOf(history[4], update))
	})
})

// orphanDependents does what the garbage collector does for an orphaning delete: it removes the owner's
// references from every object in the namespace that has one.
func orphanDependents(ctx context.Context, ns string, owner types.UID) {
	lists := []client.ObjectList{&corev1.PodList{}, &corev1.ServiceList{}, &corev1.ConfigMapList{}, &policyv1.PodDisruptionBudgetList{},
		&appsv1.ControllerRevisionList{}}
	for _, list := range lists {
		Expect(k8sClient.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		items, err := meta.ExtractList(list)
		Expect(err).NotTo(HaveOccurred())
		for _, item := range items {
			obj := item.(client.Object)
			var refs []metav1.OwnerReference
			for _, ref := range obj.GetOwnerReferences() {
				if ref.UID != owner {
					refs = append(refs, ref)
				}
			}
			if len(refs) == len(obj.GetOwnerReferences()) {
				continue
			}
			patch := client.MergeFromWithOptions(obj.DeepCopyObject().(client.Object), client.MergeFromWithOptimisticLock{})
			obj.SetOwnerReferences(refs)
			Expect(k8sClient.Patch(ctx, obj, patch)).To(Succeed())
		}
	}
}
