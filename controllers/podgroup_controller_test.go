package controllers

import (
	"context"
	"io"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

const eventually = 20 * time.Second

var _ = Describe("PodGroup reconciler", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx, "pg-")
		startFakeKubelet(ns)
	})

	members := func(ctx context.Context, g Gomega) map[string]*corev1.Pod {
		var list corev1.PodList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		out := map[string]*corev1.Pod{}
		for i := range list.Items {
			if list.Items[i].DeletionTimestamp == nil {
				out[list.Items[i].Name] = &list.Items[i]
			}
		}
		return out
	}
	peers := func(ctx context.Context, g Gomega, group string) []string {
		var cm corev1.ConfigMap
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: group + "-peers"}, &cm)).To(Succeed())
		return strings.Fields(cm.Data["peers"])
	}
	getGroup := func(ctx context.Context, g Gomega, name string) *peapodv1alpha1.PodGroup {
		return groupIn(ctx, g, ns, name)
	}

	It("creates the members, both Services and the peer ConfigMap from the spec", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(3).SharedVolume("data").ServicePort("http", 80).
			Env("MODE", "prod").Container(corev1.Container{Name: "sidecar", Image: pt.PauseImage}).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())

		Eventually(func(g Gomega) {
			pods := members(ctx, g)
			g.Expect(pods).To(HaveLen(3))
			for ordinal, name := range []string{"web-0", "web-1", "web-2"} {
				pod := pods[name]
				g.Expect(pod).NotTo(BeNil(), name)
				g.Expect(metav1.IsControlledBy(pod, group)).To(BeTrue())
				g.Expect(pod.Spec.Hostname).To(Equal(name))
				g.Expect(pod.Spec.Subdomain).To(Equal("web-members"))
				g.Expect(pod.Labels).To(HaveKeyWithValue(peapodv1alpha1.OrdinalLabel, []string{"0", "1", "2"}[ordinal]))
				for _, c := range pod.Spec.Containers {
					g.Expect(c.Env).To(ContainElements(
						corev1.EnvVar{Name: "PEAPOD_GROUP", Value: "web"},
						corev1.EnvVar{Name: "PEAPOD_MEMBER_DNS", Value: desired.MemberDNS("web", ns, ordinal)},
						corev1.EnvVar{Name: "PEAPOD_SERVICE", Value: "web." + ns + ".svc"},
						corev1.EnvVar{Name: "MODE", Value: "prod"},
					))
					g.Expect(c.VolumeMounts).To(ContainElement(corev1.VolumeMount{Name: "data", MountPath: "/shared/data"}))
				}
			}
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		// The members come first in a reconcile; the Services and the peer list follow.
		Eventually(func(g Gomega) {
			var headless, front corev1.Service
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-members"}, &headless)).To(Succeed())
			g.Expect(headless.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
			g.Expect(headless.Spec.PublishNotReadyAddresses).To(BeTrue())
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &front)).To(Succeed())
			g.Expect(front.Spec.Ports).To(HaveLen(1))
			g.Expect(front.Spec.Ports[0].Port).To(Equal(int32(80)))
			g.Expect(front.Spec.Selector).To(Equal(map[string]string{peapodv1alpha1.GroupLabel: "web"}))
			g.Expect(peers(ctx, g, "web")).To(Equal(desired.PeerDNSNames("web", ns, 3)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		// What happened is told as events.k8s.io Events on the group, as kubectl describe shows them.
		Eventually(func(g Gomega) {
			var events eventsv1.EventList
			g.Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			g.Expect(events.Items).To(ContainElement(SatisfyAll(
				HaveField("Regarding.Name", "web"), HaveField("Reason", "MembersCreated"),
				HaveField("Note", ContainSubstring("web-0")))))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("drops from a child it created what the group no longer declares", func(ctx context.Context) {
		// Children are created with a plain create (one request, refused if the name is taken); their fields must
		// then be the apply's, or a port the group drops would stay, owned by the create.
		group := pt.MakePodGroup("web", ns).Replicas(1).ServicePort("http", 80).ServicePort("metrics", 9090).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		front := &corev1.Service{}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, front)).To(Succeed())
			g.Expect(front.Spec.Ports).To(HaveLen(2))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		Eventually(func(g Gomega) {
			live := getGroup(ctx, g, "web")
			live.Spec.Service.Ports = live.Spec.Service.Ports[:1]
			g.Expect(k8sClient.Update(ctx, live)).To(Succeed())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, front)).To(Succeed())
			g.Expect(front.Spec.Ports).To(ConsistOf(HaveField("Name", "http")))
			g.Expect(front.ManagedFields).To(ContainElement(SatisfyAll(HaveField("Manager", peapodv1alpha1.FieldOwner),
				HaveField("Operation", metav1.ManagedFieldsOperationApply))))
			g.Expect(front.ManagedFields).NotTo(ContainElement(SatisfyAll(HaveField("Manager", peapodv1alpha1.FieldOwner),
				HaveField("Operation", metav1.ManagedFieldsOperationUpdate), HaveField("Subresource", ""))))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("scales through the scale subresource, highest ordinals first, and keeps the peer list current", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(2).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		scaleTo := func(n int32) {
			Eventually(func(g Gomega) {
				scale := &autoscalingv1.Scale{}
				g.Expect(k8sClient.SubResource("scale").Get(ctx, group, scale)).To(Succeed())
				g.Expect(scale.Status.Selector).To(Equal("peapod.io/group=web"))
				scale.Spec.Replicas = n
				g.Expect(k8sClient.SubResource("scale").Update(ctx, group, client.WithSubResourceBody(scale))).To(Succeed())
			}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		}

		scaleTo(5)
		Eventually(func(g Gomega) {
			g.Expect(members(ctx, g)).To(HaveLen(5))
			g.Expect(peers(ctx, g, "web")).To(HaveLen(5))
			g.Expect(getGroup(ctx, g, "web").Status.ReadyReplicas).To(Equal(int32(5)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		scaleTo(2)
		Eventually(func(g Gomega) {
			g.Expect(members(ctx, g)).To(SatisfyAll(HaveLen(2), HaveKey("web-0"), HaveKey("web-1")))
			g.Expect(peers(ctx, g, "web")).To(Equal(desired.PeerDNSNames("web", ns, 2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("recreates a deleted member under the same name", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		var old *corev1.Pod
		Eventually(func(g Gomega) { old = members(ctx, g)["web-1"]; g.Expect(old).NotTo(BeNil()) }).
			WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		Eventually(func(g Gomega) {
			pod := members(ctx, g)["web-1"]
			g.Expect(pod).NotTo(BeNil())
			g.Expect(pod.UID).NotTo(Equal(old.UID))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("rolls a template change out within maxUnavailable, respecting the partition", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(4).RollingUpdate(intstr.FromInt32(2), 1).Obj()
		oldRevision := createAvailable(ctx, group)

		watcher := watchAvailability(ns, 4)
		Eventually(func() error {
			got := getGroup(ctx, Default, "web")
			got.Spec.Template.Spec.Containers[0].Image = "registry.k8s.io/pause:3.11"
			return k8sClient.Update(ctx, got)
		}).WithContext(ctx).Should(Succeed())

		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "web")
			g.Expect(got.Status.UpdatedReplicas).To(Equal(int32(3)))
			g.Expect(got.Status.AvailableReplicas).To(Equal(int32(4)))
			pods := members(ctx, g)
			g.Expect(pods["web-0"].Labels[peapodv1alpha1.RevisionLabel]).To(Equal(oldRevision))
			g.Expect(pods["web-0"].Spec.Containers[0].Image).To(Equal(pt.PauseImage))
			for _, name := range []string{"web-1", "web-2", "web-3"} {
				g.Expect(pods[name].Spec.Containers[0].Image).To(Equal("registry.k8s.io/pause:3.11"))
			}
			g.Expect(got.Status.CurrentRevision).To(Equal(oldRevision))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Expect(watcher.minAvailable()).To(BeNumerically(">=", 2), "more than maxUnavailable members were down at once")

		// A member below the partition that is deleted comes back at the revision it had.
		Expect(k8sClient.Delete(ctx, members(ctx, Default)["web-0"])).To(Succeed())
		Eventually(func(g Gomega) {
			pod := members(ctx, g)["web-0"]
			g.Expect(pod).NotTo(BeNil())
			g.Expect(pod.Spec.Containers[0].Image).To(Equal(pt.PauseImage))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		Eventually(func() error {
			got := getGroup(ctx, Default, "web")
			got.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0)
			return k8sClient.Update(ctx, got)
		}).WithContext(ctx).Should(Succeed())
		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "web")
			g.Expect(got.Status.UpdatedReplicas).To(Equal(int32(4)))
			g.Expect(got.Status.CurrentRevision).To(Equal(got.Status.UpdateRevision))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("reports a status that kstatus, kubectl wait and kubectl get understand", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "web")
			// Before the first status write kstatus cannot tell and says Current; wait for the controller's word.
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
			obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(got)
			g.Expect(err).NotTo(HaveOccurred())
			res, err := kstatus.Compute(&unstructured.Unstructured{Object: obj})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(res.Status).To(Equal(kstatus.CurrentStatus), res.Message)
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		out := kubectl("wait", "-n", ns, "--for=condition=Available", "podgroup/web", "--timeout=10s")
		Expect(out).To(ContainSubstring("condition met"))
		Expect(kubectl("get", "-n", ns, "pgroup")).To(MatchRegexp(`NAME\s+DESIRED\s+READY\s+AVAILABLE\s+UP-TO-DATE\s+AGE\nweb\s+2\s+2\s+2\s+2\s+`))
		// The peapod category lists PodGroups and PodMigrations, each kind under its own header.
		Expect(kubectl("get", "-n", ns, "peapod")).To(MatchRegexp(`(?m)^podgroup.peapod.io/web\s+2\s+2`))
		Expect(kubectl("get", "-n", ns, "all")).To(ContainSubstring("podgroup.peapod.io/web"))
	})

	It("documents its fields for kubectl explain", func() {
		out := kubectl("explain", "podgroup.spec.sharedVolumes")
		Expect(out).To(ContainSubstring("emptyDir volume named after it"))
		Expect(out).To(ContainSubstring("/shared/<name>"))
	})

	It("reports a group whose Pods the API server refuses, and keeps reconciling the others", func(ctx context.Context) {
		// The webhook judges a member Pod when the spec is written; a LimitRange added later (it gives the
		// container its max as the limit, below the request), and a scale-up through the scale subresource (as an
		// autoscaler does), reach the Pods only when peapod creates them.
		bad := pt.MakePodGroup("bad", ns).Replicas(0).Obj()
		bad.Spec.Template.Spec.Containers[0].Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}}
		Expect(k8sClient.Create(ctx, bad)).To(Succeed())
		capContainers(ctx, ns, corev1.ResourceCPU, "1")
		kubectl("scale", "-n", ns, "podgroup/bad", "--replicas=1")
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("good", ns).Replicas(1).Obj())).To(Succeed())

		Eventually(func(g Gomega) {
			got := getGroup(ctx, g, "bad")
			g.Expect(got.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Status", metav1.ConditionTrue),
				HaveField("Message", ContainSubstring("must be less than or equal to cpu limit of 1")))))
			g.Expect(got.Status.Conditions).To(ContainElement(SatisfyAll(HaveField("Type", "Stalled"), HaveField("Status", metav1.ConditionTrue))))
			g.Expect(getGroup(ctx, g, "good").Status.AvailableReplicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("makes no API writes for a group that does not change", func(ctx context.Context) {
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).ServicePort("http", 80).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(getGroup(ctx, g, "web").Status.AvailableReplicas).To(Equal(int32(2)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		children := func() map[string]string {
			out := map[string]string{}
			for name, obj := range map[string]client.Object{"web": &corev1.Service{}, "web-members": &corev1.Service{}, "web-peers": &corev1.ConfigMap{}} {
				Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(Succeed())
				out[name] = obj.GetResourceVersion()
			}
			for _, pod := range members(ctx, Default) {
				out[pod.Name] = pod.ResourceVersion
			}
			return out
		}
		time.Sleep(time.Second) // let the last status write land
		before := children()
		// An unrelated label change makes the group reconcile; it must write nothing.
		touched := getGroup(ctx, Default, "web")
		touched.Labels = map[string]string{"touched": "yes"}
		Expect(k8sClient.Update(ctx, touched)).To(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(children()).To(Equal(before))
			g.Expect(getGroup(ctx, g, "web").ResourceVersion).To(Equal(touched.ResourceVersion), "the status was rewritten")
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())
	})
})

// kubectl runs the kubectl built with the control plane against the envtest API server.
func kubectl(args ...string) string {
	stdout, stderr, err := kubectlAsAdmin(args...)
	out, _ := io.ReadAll(stdout)
	errOut, _ := io.ReadAll(stderr)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), string(errOut))
	return string(out)
}
