// Package e2e runs peapod's end-to-end suites against the simulated cluster (real kube-apiserver,
// controller-manager and scheduler, kwok nodes), or against an existing cluster named by PEAPOD_E2E_KUBECONFIG.
package e2e

import (
	"context"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// fastCluster has short node timings, so failures show within seconds.
var fastCluster *utils.TestCluster

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "peapod e2e suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	var err error
	fastCluster, err = utils.StartTestCluster(ctx, cluster.Options{
		Nodes:   3,
		Timings: cluster.FastTimings,
		Logf:    func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) },
	})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(fastCluster.Stop)
}, NodeTimeout(cluster.StartTimeout))
