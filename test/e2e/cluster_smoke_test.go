package e2e

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/peapod-io/peapod/test/utils"
)

// The smoke test proves the simulated cluster is a real one: the scheduler places pods on kwok nodes, kwok runs
// them, and the controller-manager's node lifecycle evicts pods from a silent node so their Deployment replaces
// them elsewhere.
var _ = Describe("the simulated cluster", Ordered, func() {
	const app = "smoke"
	var ns string

	BeforeAll(func(ctx context.Context) {
		ns = utils.CreateNamespace(ctx, fastCluster.Clientset, "smoke-")
		_, err := fastCluster.Clientset.AppsV1().Deployments(ns).Create(ctx, deployment(app, 3), metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
	})

	It("schedules and runs a Deployment's pods on kwok nodes", func(ctx context.Context) {
		Eventually(func(g Gomega) {
			pods := utils.RunningPods(ctx, g, fastCluster.Clientset, ns, "app="+app)
			g.Expect(pods).To(HaveLen(3))
			for _, p := range pods {
				g.Expect(p.Spec.NodeName).NotTo(BeEmpty())
				g.Expect(p.Status.PodIP).NotTo(BeEmpty())
			}
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})

	It("evicts the pods of a failed node and replaces them on healthy nodes", func(ctx context.Context) {
		if ok, why := fastCluster.CanFailNodes(); !ok {
			Skip(why)
		}
		sim := fastCluster.Simulated
		pods := utils.RunningPods(ctx, Default, fastCluster.Clientset, ns, "app="+app)
		victim := pods[0].Spec.NodeName
		var onVictim []string
		for _, p := range pods {
			if p.Spec.NodeName == victim {
				onVictim = append(onVictim, p.Name)
			}
		}

		Expect(sim.FailNode(ctx, victim)).To(Succeed())
		DeferCleanup(func(ctx context.Context) { Expect(sim.RecoverNode(ctx, victim)).To(Succeed()) })
		Expect(sim.WaitNodeReady(ctx, victim, corev1.ConditionUnknown, 30*time.Second)).To(Succeed())

		Eventually(func(g Gomega) {
			running := utils.RunningPods(ctx, g, fastCluster.Clientset, ns, "app="+app)
			g.Expect(running).To(HaveLen(3))
			for _, p := range running {
				g.Expect(p.Spec.NodeName).NotTo(Equal(victim))
				g.Expect(onVictim).NotTo(ContainElement(p.Name))
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())
	})
})

func deployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
			},
		},
	}
}
