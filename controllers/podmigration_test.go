package controllers

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	pt "github.com/peapod-io/peapod/internal/testing"
)

var _ = Describe("PodMigration", func() {
	var ns string

	BeforeEach(func(ctx context.Context) {
		ns = newNamespace(ctx, "pm-")
	})

	migrationOf := func(group string, member *int32, pod string) *peapodv1alpha1.PodMigration {
		return &peapodv1alpha1.PodMigration{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "mv-", Namespace: ns},
			Spec:       peapodv1alpha1.PodMigrationSpec{Group: group, Member: member, Pod: pod},
		}
	}
	failedWith := func(ctx context.Context, m *peapodv1alpha1.PodMigration, reason string) {
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(m), m)).To(Succeed())
			g.Expect(m.Status.Phase).To(Equal(peapodv1alpha1.MigrationFailed))
			g.Expect(m.Status.Conditions).To(ContainElement(SatisfyAll(
				HaveField("Type", peapodv1alpha1.MigrationFailedCondition), HaveField("Reason", reason))))
			g.Expect(m.Status.Message).NotTo(BeEmpty())
			g.Expect(m.Status.CompletionTime).NotTo(BeNil())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	}

	It("keeps its spec immutable: a new target is a new migration", func(ctx context.Context) {
		m := migrationOf("nosuchgroup", ptr.To[int32](0), "")
		Expect(k8sClient.Create(ctx, m)).To(Succeed())
		// A merge patch carries no resourceVersion: the controller's status write meanwhile cannot turn the answer
		// into a conflict.
		patch := client.MergeFrom(m.DeepCopy())
		m.Spec.Target = &peapodv1alpha1.MigrationTarget{NodeName: "elsewhere"}
		err := k8sClient.Patch(ctx, m, patch)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("spec is immutable"))
	})

	It("fails, saying why, for a group that does not exist or a member it does not have", func(ctx context.Context) {
		orphan := migrationOf("nosuchgroup", ptr.To[int32](0), "")
		Expect(k8sClient.Create(ctx, orphan)).To(Succeed())
		failedWith(ctx, orphan, peapodv1alpha1.ReasonGroupNotFound)

		Expect(k8sClient.Create(ctx, pt.MakePodGroup("web", ns).Replicas(2).Obj())).To(Succeed())
		beyond := migrationOf("web", ptr.To[int32](5), "")
		Expect(k8sClient.Create(ctx, beyond)).To(Succeed())
		failedWith(ctx, beyond, peapodv1alpha1.ReasonMemberNotFound)
		Expect(beyond.Status.Message).To(ContainSubstring("no such member"))
	})

	It("keeps the newest 10 finished drain records of a group, and every migration a user created", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(1).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		// Finished one way or the other: the controller fails them itself (the member runs on no node here).
		finish := func(m *peapodv1alpha1.PodMigration) {
			Expect(k8sClient.Create(ctx, m)).To(Succeed())
			patch := client.MergeFrom(m.DeepCopy())
			m.Status.Phase = peapodv1alpha1.MigrationSucceeded
			Expect(k8sClient.Status().Patch(ctx, m, patch)).To(Succeed())
		}
		for i := range 12 {
			m := migrationOf("web", ptr.To[int32](0), "")
			m.GenerateName, m.Name = "", fmt.Sprintf("drain-%02d", i)
			m.Labels = map[string]string{peapodv1alpha1.MigrationReasonLabel: string(peapodv1alpha1.MigrationDrain)}
			m.OwnerReferences = []metav1.OwnerReference{*metav1.NewControllerRef(group, peapodv1alpha1.GroupVersion.WithKind("PodGroup"))}
			finish(m)
		}
		users := migrationOf("web", ptr.To[int32](0), "")
		finish(users)

		Eventually(func(g Gomega) {
			var list peapodv1alpha1.PodMigrationList
			g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			names := make([]string, 0, len(list.Items))
			for _, m := range list.Items {
				names = append(names, m.Name)
			}
			g.Expect(names).To(HaveLen(11))
			g.Expect(names).To(ContainElement(users.Name))
			g.Expect(names).NotTo(ContainElements("drain-00", "drain-01"))
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	})

	It("gives a group that migrates on drain a disruption budget that refuses evictions, and removes it for Evict", func(ctx context.Context) {
		group := pt.MakePodGroup("web", ns).Replicas(2).Obj()
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		var pdb policyv1.PodDisruptionBudget
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &pdb)).To(Succeed())
		}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
		Expect(pdb.Spec.MinAvailable).To(Equal(ptr.To(intstr.FromInt32(2))))
		Expect(pdb.Spec.UnhealthyPodEvictionPolicy).To(Equal(ptr.To(policyv1.AlwaysAllow)))
		Expect(pdb.Spec.Selector.MatchLabels).To(Equal(map[string]string{peapodv1alpha1.GroupLabel: "web"}))
		Expect(metav1.IsControlledBy(&pdb, group)).To(BeTrue())

		// A merge patch: the controller writes the status meanwhile, and an Update would race it for the version.
		patch := client.MergeFrom(group.DeepCopy())
		group.Spec.Migration = &peapodv1alpha1.MigrationPolicy{Drain: peapodv1alpha1.DrainEvict}
		Expect(k8sClient.Patch(ctx, group, patch)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &policyv1.PodDisruptionBudget{}))
		}).WithContext(ctx).WithTimeout(eventually).Should(BeTrue())
	})
})
