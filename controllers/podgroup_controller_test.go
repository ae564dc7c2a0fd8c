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
)

var _ = Describe("PodGroup", func() {
	newGroup := func(name string) *peapodv1alpha1.PodGroup {
		return &peapodv1alpha1.PodGroup{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: peapodv1alpha1.PodGroupSpec{
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
				}},
			},
		}
	}

	It("is defaulted by the API server", func(ctx context.Context) {
		group := newGroup("defaulted")
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		DeferCleanup(k8sClient.Delete, group)
		Expect(group.Spec.Replicas).To(Equal(ptr.To[int32](1)))
	})

	It("rejects negative replicas at admission, naming the field", func(ctx context.Context) {
		group := newGroup("negative")
		group.Spec.Replicas = ptr.To[int32](-1)
		err := k8sClient.Create(ctx, group)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.replicas"))
	})

	It("is observed by the reconciler", func(ctx context.Context) {
		group := newGroup("observed")
		Expect(k8sClient.Create(ctx, group)).To(Succeed())
		DeferCleanup(k8sClient.Delete, group)
		Eventually(func(g Gomega) {
			var got peapodv1alpha1.PodGroup
			g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(group), &got)).To(Succeed())
			g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		}).WithContext(ctx).WithTimeout(10 * time.Second).Should(Succeed())
	})
})
