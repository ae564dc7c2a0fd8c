// Package e2e runs peapod's end-to-end suites against the simulated cluster (real kube-apiserver,
// controller-manager and scheduler, kwok nodes), or against an existing cluster named by PEAPOD_E2E_KUBECONFIG.
package e2e

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

var (
	// fastCluster has short node timings, so failures show within seconds.
	fastCluster *utils.TestCluster
	// fastClient is the manager's client.
	fastClient client.Client
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "peapod e2e suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	ctrl.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	DeferCleanup(utils.RemoveBuilds)
	var err error
	fastCluster, err = utils.StartTestCluster(ctx, cluster.Options{
		Nodes:   3,
		Timings: cluster.FastTimings,
		Logf:    func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) },
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(fastCluster.Stop)

	// Installed the way a user installs them, with the kubectl built with the control plane.
	Expect(fastCluster.Install(ctx, "../../config/crd/bases", "../../config/policy/podgroup_validation.yaml")).To(Succeed())
	fastClient = startManager(fastCluster.Config)
}, NodeTimeout(cluster.StartTimeout))
