package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/plan"
	pt "github.com/peapod-io/peapod/internal/testing"
	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// The manager is a Pod too: it can be killed at the worst moment. Killed with SIGKILL in the middle of a
// failover (the old Pod force-deleted, the replacement not yet created) and started again, it converges: the
// member comes back once, on a healthy node, and nothing is left behind.
var _ = Describe("the manager killed in the middle of a failover", Ordered, func() {
	It("converges after a restart: one Pod per member, none orphaned", func(ctx context.Context) {
		if fastCluster.Simulated == nil {
			Skip("needs kwok nodes it can fail: " + utils.ExistingClusterEnv + " is set")
		}
		tc, err := utils.StartTestCluster(ctx, cluster.Options{Nodes: 4, Timings: cluster.DefaultTimings})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(tc.Stop)
		Expect(tc.Install(ctx, "../../config/crd/bases")).To(Succeed())
		binary, err := utils.BuildManager(ctx, filepath.Join("..", ".."))
		Expect(err).NotTo(HaveOccurred())
		start := func() *utils.ManagerProcess {
			m := startManagerProcess(tc, binary)
			DeferCleanup(m.Kill)
			return m
		}
		manager := start()

		ns := utils.CreateNamespace(ctx, tc.Clientset, "crash-")
		group := pt.MakePodGroup("web", ns).Replicas(3).Spread(peapodv1alpha1.SpreadNode).Obj()
		Expect(utils.NewClient(tc.Config).Create(ctx, group)).To(Succeed())
		pods := tc.Clientset.CoreV1().Pods(ns)
		Eventually(func(g Gomega) {
			for i := range 3 {
				pod, err := pods.Get(ctx, fmt.Sprintf("web-%d", i), metav1.GetOptions{})
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(plan.Ready(pod)).To(BeTrue())
			}
		}).WithContext(ctx).WithTimeout(60 * time.Second).Should(Succeed())

		old, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(tc.Simulated.FailNode(ctx, old.Spec.NodeName)).To(Succeed())
		// The moment the old Pod object is gone, the manager dies.
		Eventually(func() bool {
			pod, err := pods.Get(ctx, "web-1", metav1.GetOptions{})
			return apierrors.IsNotFound(err) || (err == nil && pod.UID != old.UID)
		}).WithContext(ctx).WithTimeout(45 * time.Second).WithPolling(20 * time.Millisecond).Should(BeTrue())
		manager.Kill()

		start()
		Eventually(func(g Gomega) {
			list, err := pods.List(ctx, metav1.ListOptions{})
			g.Expect(err).NotTo(HaveOccurred())
			names := map[string]bool{}
			for _, pod := range list.Items {
				g.Expect(names[pod.Name]).To(BeFalse(), "two Pods named %s", pod.Name)
				names[pod.Name] = true
				g.Expect(metav1.GetControllerOf(&pod)).NotTo(BeNil(), "orphan Pod %s", pod.Name)
				g.Expect(plan.Ready(&pod)).To(BeTrue(), "%s not Ready", pod.Name)
				g.Expect(pod.Spec.NodeName).NotTo(Equal(old.Spec.NodeName), "%s on the failed node", pod.Name)
			}
			g.Expect(names).To(Equal(map[string]bool{"web-0": true, "web-1": true, "web-2": true}))
		}).WithContext(ctx).WithTimeout(30 * time.Second).Should(Succeed())
	})
})
