package controllers

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

// Stateful members (issue 10): every member has claims of its own, named as a StatefulSet names them, that every
// Pod of the member's identity mounts, kept or deleted as the retention policy says.
var _ = Describe("PodGroup claims", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx, "claims-")
		startFakeKubelet(ns)
	})

	claim := func(ctx context.Context, g Gomega, name string) *corev1.PersistentVolumeClaim {
		var c corev1.PersistentVolumeClaim
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &c)).To(Succeed())
		return &c
	}
	pod := func(ctx context.Context, g Gomega, name string) *corev1.Pod {
		var p corev1.Pod
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p)).To(Succeed())
		return &p
	}
	claimOf := func(p *corev1.Pod, volume string) string {
		for _, v := range p.Spec.Volumes {
			if v.Name == volume && v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
		return ""
	}
	patchGroup := func(ctx context.Context, name, patch string) {
		g := &peapodv1alpha1.PodGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		Expect(k8sClient.Patch(ctx, g, client.RawPatch(types.MergePatchType, []byte(patch)))).To(Succeed())
	}
	// gone says a claim was deleted: the API server's pvc-protection finalizer keeps it Terminating until the
	// controller-manager, which envtest does not run, removes it.
	gone := func(ctx context.Context, g Gomega, name string) {
		var c corev1.PersistentVolumeClaim
		err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &c)
		if err == nil {
			g.Expect(c.DeletionTimestamp).NotTo(BeNil(), "claim %s is not being deleted", name)
		}
	}

	It("gives every member claims of its own, named as a StatefulSet's, and the same claim to the member recreated", func(ctx context.Context) {
		group := pt.MakePodGroup("db", ns).Replicas(2).Claim("data", "1Gi").Obj()
		group.Spec.VolumeClaimTemplates[0].Labels = map[string]string{"tier": "db"}
		createAvailable(ctx, group)

		var first types.UID
		for ordinal, name := range []string{"data-db-0", "data-db-1"} {
			c := claim(ctx, Default, name)
			Expect(c.Spec.AccessModes).To(Equal([]corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}))
			Expect(c.Spec.Resources.Requests[corev1.ResourceStorage]).To(Equal(resource.MustParse("1Gi")))
			Expect(c.Labels).To(Equal(map[string]string{"tier": "db", peapodv1alpha1.GroupLabel: "db",
				peapodv1alpha1.OrdinalLabel: []string{"0", "1"}[ordinal]}))
			Expect(c.OwnerReferences).To(BeEmpty(), "retained by default: the claim outlives the group")
			Expect(claimOf(pod(ctx, Default, []string{"db-0", "db-1"}[ordinal]), "data")).To(Equal(name))
			if ordinal == 0 {
				first = c.UID
			}
		}

		old := pod(ctx, Default, "db-0")
		Expect(k8sClient.Delete(ctx, old)).To(Succeed())
		Eventually(func(g Gomega) {
			now := pod(ctx, g, "db-0")
			g.Expect(now.UID).NotTo(Equal(old.UID))
			g.Expect(claimOf(now, "data")).To(Equal("data-db-0"))
			g.Expect(claim(ctx, g, "data-db-0").UID).To(Equal(first), "the same claim, not a new one")
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("gives the claims to the garbage collector with the group under whenDeleted: Delete, and takes them back under Retain", func(ctx context.Context) {
		group := pt.MakePodGroup("db", ns).Replicas(1).Claim("data", "1Gi").Obj()
		group.Spec.PersistentVolumeClaimRetentionPolicy = &peapodv1alpha1.ClaimRetentionPolicy{WhenDeleted: peapodv1alpha1.DeleteClaims}
		createAvailable(ctx, group)
		Eventually(func(g Gomega) {
			g.Expect(metav1.IsControlledBy(claim(ctx, g, "data-db-0"), groupIn(ctx, g, ns, "db"))).To(BeTrue())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		patchGroup(ctx, "db", `{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenDeleted":"Retain"}}}`)
		Eventually(func(g Gomega) {
			g.Expect(claim(ctx, g, "data-db-0").OwnerReferences).To(BeEmpty())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("keeps a removed member's claims for the scale up under whenScaled: Retain, and deletes them under Delete", func(ctx context.Context) {
		group := pt.MakePodGroup("db", ns).Replicas(3).Claim("data", "1Gi").Obj()
		createAvailable(ctx, group)
		kept := claim(ctx, Default, "data-db-2").UID

		patchGroup(ctx, "db", `{"spec":{"replicas":1}}`)
		Eventually(func(g Gomega) {
			g.Expect(groupIn(ctx, g, ns, "db").Status.Replicas).To(Equal(int32(1)))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Consistently(func(g Gomega) {
			g.Expect(claim(ctx, g, "data-db-2").UID).To(Equal(kept))
			g.Expect(claim(ctx, g, "data-db-2").DeletionTimestamp).To(BeNil())
		}).WithContext(ctx).WithTimeout(2 * eventually / 10).Should(Succeed())

		patchGroup(ctx, "db", `{"spec":{"replicas":3}}`)
		Eventually(func(g Gomega) {
			g.Expect(claimOf(pod(ctx, g, "db-2"), "data")).To(Equal("data-db-2"))
			g.Expect(claim(ctx, g, "data-db-2").UID).To(Equal(kept), "the member's data back")
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())

		patchGroup(ctx, "db", `{"spec":{"replicas":1,"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete"}}}`)
		Eventually(func(g Gomega) {
			gone(ctx, g, "data-db-1")
			gone(ctx, g, "data-db-2")
			g.Expect(claim(ctx, g, "data-db-0").DeletionTimestamp).To(BeNil(), "a member's claim stays")
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("never mounts a claim of a member's name that is not the group's, and says so", func(ctx context.Context) {
		foreign := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: "data-db-0", Namespace: ns},
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("5Gi")}}},
		}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		Expect(k8sClient.Create(ctx, pt.MakePodGroup("db", ns).Replicas(2).Claim("data", "1Gi").Obj())).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(pod(ctx, g, "db-1").Status.Phase).To(Equal(corev1.PodRunning))
			g.Expect(groupIn(ctx, g, ns, "db").Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", "Degraded"), HaveField("Reason", "NameConflict"),
				HaveField("Message", ContainSubstring(`PersistentVolumeClaim "data-db-0" exists and has no controller`)))))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels{peapodv1alpha1.OrdinalLabel: "0"})).To(Succeed())
		Expect(pods.Items).To(BeEmpty(), "member 0 would mount someone else's claim")
	})

	It("refuses a change of the claim templates", func(ctx context.Context) {
		group := pt.MakePodGroup("db", ns).Replicas(1).Claim("data", "1Gi").Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		group.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("2Gi")
		Expect(k8sClient.Update(ctx, group)).To(MatchError(ContainSubstring("spec.volumeClaimTemplates cannot be changed")))
	})
})
