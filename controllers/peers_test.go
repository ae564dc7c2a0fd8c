package controllers

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// The peer list in chunks: every member mounts chunk 1 (<group>-peers-1) by name, optional, whatever the replicas,
// so a chunk past the members must not stay, and one someone else made must not be mounted.
var _ = Describe("PodGroup peer chunks", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx, "peers-")
		startFakeKubelet(ns)
	})

	members := func(ctx context.Context, g Gomega) []corev1.Pod {
		var pods corev1.PodList
		g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(desired.SelectorLabels("web")))).To(Succeed())
		return pods.Items
	}
	gone := func(ctx context.Context, name string) {
		Eventually(func(g Gomega) {
			err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &corev1.ConfigMap{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "ConfigMap %s: %v", name, err)
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	}
	chunk := func(name string, labels map[string]string, owners ...metav1.OwnerReference) *corev1.ConfigMap {
		return &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels, OwnerReferences: owners},
			Data:       map[string]string{peapodv1alpha1.PeersFile: "web-5000.web-members." + ns + ".svc\n"},
		}
	}

	It("deletes a chunk past its members, its own or an orphan, and mounts none of someone else's", func(ctx context.Context) {
		By("an orphan with the group's label, as an orphaning delete of a larger group of that name leaves it")
		Expect(k8sClient.Create(ctx, chunk("web-peers-1", desired.SelectorLabels("web")))).To(Succeed())
		group := pt.MakePodGroup("web", ns).Replicas(2).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		gone(ctx, "web-peers-1")
		Eventually(func(g Gomega) {
			g.Expect(groupIn(ctx, g, ns, "web").Status.ReadyReplicas).To(Equal(int32(2)))
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web-peers"}, &cm)).To(Succeed())
			g.Expect(cm.Data[peapodv1alpha1.PeersFile]).To(Equal(desired.PeerDNSNames("web", ns, 2)[0] + "\n" +
				desired.PeerDNSNames("web", ns, 2)[1] + "\n"))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		pod := members(ctx, Default)[0]
		Expect(pod.Spec.Volumes).To(ContainElement(HaveField("Projected.Sources", HaveLen(desired.MaxPeersChunks))))
		for _, c := range pod.Spec.Containers {
			Expect(c.Env).To(ContainElement(HaveField("Name", peapodv1alpha1.EnvPeers)))
		}

		By("a chunk the group controls, as a group of more than 5000 scaled down leaves it")
		ours := metav1.OwnerReference{APIVersion: peapodv1alpha1.GroupVersion.String(), Kind: "PodGroup", Name: "web",
			UID: groupIn(ctx, Default, ns, "web").UID, Controller: ptr.To(true)}
		Expect(k8sClient.Create(ctx, chunk("web-peers-1", desired.SelectorLabels("web"), ours))).To(Succeed())
		gone(ctx, "web-peers-1")

		By("someone else's: left alone, and no member is created while it holds the name")
		foreign := chunk("web-peers-1", nil)
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		Expect(k8sClient.Patch(ctx, groupIn(ctx, Default, ns, "web"), client.RawPatch("application/merge-patch+json",
			[]byte(`{"spec":{"replicas":3}}`)))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(groupIn(ctx, g, ns, "web").Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Reason", "NameConflict"),
				HaveField("Message", ContainSubstring("no member is created while the ConfigMap web-peers-1")))))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(members(ctx, g)).To(HaveLen(2))
			var cm corev1.ConfigMap
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(foreign), &cm)).To(Succeed())
			g.Expect(cm.ResourceVersion).To(Equal(foreign.ResourceVersion))
		}).WithContext(ctx).WithTimeout(2 * time.Second).Should(Succeed())

		Expect(k8sClient.Delete(ctx, foreign)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(groupIn(ctx, g, ns, "web").Status.ReadyReplicas).To(Equal(int32(3)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})
})
