package e2e

import (
	"context"
	"encoding/json"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/utils"
)

// Ownership (issue 9), with the cluster's own garbage collector: peapod never takes an object the group does not
// control, and a group created again after an orphaning delete takes its members back.
var _ = Describe("ownership", func() {
	var ns string
	var c client.Client

	BeforeEach(func(ctx context.Context) {
		ns = utils.CreateNamespace(ctx, fastCluster.Clientset, "own-")
		c = utils.NewClient(fastCluster.Config)
	})
	kubectl := func(ctx context.Context, args ...string) string {
		out, err := fastCluster.Kubectl(ctx, append([]string{"-n", ns}, args...)...).CombinedOutput()
		ExpectWithOffset(1, err).NotTo(HaveOccurred(), string(out))
		return string(out)
	}
	getGroup := func(ctx context.Context, g Gomega, name string) *peapodv1alpha1.PodGroup {
		var group peapodv1alpha1.PodGroup
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &group)).To(Succeed())
		return &group
	}
	readyMembers := func(ctx context.Context, g Gomega, group string) map[string]types.UID {
		list, err := fastCluster.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: peapodv1alpha1.GroupLabel + "=" + group})
		g.Expect(err).NotTo(HaveOccurred())
		out := map[string]types.UID{}
		for _, p := range list.Items {
			if plan.Ready(&p) && p.DeletionTimestamp == nil {
				out[p.Name] = p.UID
			}
		}
		return out
	}

	It("leaves a Service named like the group's alone, says why, and does not take it down with the group", func(ctx context.Context) {
		// The namespace's own Service "api", and a user who may create PodGroups names one "api", with ports.
		svc, err := fastCluster.Clientset.CoreV1().Services(ns).Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "api"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"},
				Ports: []corev1.ServicePort{{Name: "web", Port: 8080}}},
		}, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		serialized := func(g Gomega) string {
			got, err := fastCluster.Clientset.CoreV1().Services(ns).Get(ctx, "api", metav1.GetOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			data, err := json.Marshal(got)
			g.Expect(err).NotTo(HaveOccurred())
			return string(data)
		}
		before := serialized(Default)

		Expect(c.Create(ctx, pt.MakePodGroup("api", ns).Replicas(2).ServicePort("http", 80).Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(readyMembers(ctx, g, "api")).To(HaveLen(2))
			g.Expect(getGroup(ctx, g, "api").Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Status", metav1.ConditionTrue), HaveField("Reason", "NameConflict"),
				HaveField("Message", ContainSubstring(`Service "api" exists and has no controller`)))))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		// What a user sees: the reason in kubectl's own words.
		Expect(kubectl(ctx, "get", "pgroup", "api", "-o", `jsonpath={.status.conditions[?(@.type=="Degraded")].message}`)).
			To(ContainSubstring(`Service "api" exists and has no controller`))
		Consistently(serialized).WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal(before))

		// Deleting the group lets the garbage collector take what the group owns, and only that.
		kubectl(ctx, "delete", "pgroup", "api", "--wait=true")
		Eventually(func() bool {
			_, err := fastCluster.Clientset.CoreV1().Services(ns).Get(ctx, "api-members", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}).WithContext(ctx).WithTimeout(60*time.Second).Should(BeTrue(), "the group's headless Service was not collected")
		got, err := fastCluster.Clientset.CoreV1().Services(ns).Get(ctx, "api", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(got.UID).To(Equal(svc.UID))
	}, SpecTimeout(4*time.Minute))

	It("takes its members back after kubectl delete --cascade=orphan and a new group of the same name", func(ctx context.Context) {
		Expect(c.Create(ctx, pt.MakePodGroup("web", ns).Replicas(3).ServicePort("http", 80).Obj())).To(Succeed())
		var before map[string]types.UID
		Eventually(func(g Gomega) {
			before = readyMembers(ctx, g, "web")
			g.Expect(before).To(HaveLen(3))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		kubectl(ctx, "delete", "pgroup", "web", "--cascade=orphan", "--wait=false")
		// The garbage collector orphans the members, then lets the group go: they run on, with no controller.
		Eventually(func(g Gomega) {
			err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &peapodv1alpha1.PodGroup{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the group is still there: %v", err)
			list, err := fastCluster.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(list.Items).To(HaveLen(3))
			for _, p := range list.Items {
				g.Expect(metav1.GetControllerOf(&p)).To(BeNil(), p.Name)
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		again := pt.MakePodGroup("web", ns).Replicas(3).ServicePort("http", 80).Obj()
		Expect(c.Create(ctx, again)).To(Succeed())
		Eventually(func(g Gomega) {
			list, err := fastCluster.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			for _, p := range list.Items {
				g.Expect(metav1.IsControlledBy(&p, again)).To(BeTrue(), "%s is not the new group's", p.Name)
			}
			g.Expect(getGroup(ctx, g, "web").Status.AvailableReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
		Expect(kubectl(ctx, "wait", "--for=condition=Available", "pgroup/web", "--timeout=10s")).To(ContainSubstring("condition met"))
		// Adopted, not replaced: the same Pods, and no other.
		Consistently(func(g Gomega) map[string]types.UID { return readyMembers(ctx, g, "web") }).
			WithContext(ctx).WithTimeout(3 * time.Second).Should(Equal(before))
	}, SpecTimeout(4*time.Minute))
})
