package controllers

import (
	"context"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// groupIn reads a PodGroup as the API server has it now.
func groupIn(ctx context.Context, g Gomega, namespace, name string) *peapodv1alpha1.PodGroup {
	var group peapodv1alpha1.PodGroup
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &group)).To(Succeed())
	return &group
}

// createAvailable creates a group, waits until all its members are available and returns its revision.
func createAvailable(ctx context.Context, group *peapodv1alpha1.PodGroup) (revision string) {
	Expect(k8sClient.Create(ctx, group)).To(Succeed())
	Eventually(func(g Gomega) {
		got := groupIn(ctx, g, group.Namespace, group.Name)
		g.Expect(got.Status.AvailableReplicas).To(Equal(*group.Spec.Replicas))
		revision = got.Status.UpdateRevision
	}).WithContext(ctx).WithTimeout(eventually).Should(Succeed())
	return revision
}

// newNamespace creates a namespace of its own for a spec.
func newNamespace(ctx context.Context, prefix string) string {
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	Expect(k8sClient.Create(ctx, namespace)).To(Succeed())
	return namespace.Name
}
