package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// defaultTimingsCluster starts, for the container it is called in, a simulated cluster of n kwok nodes at
// Kubernetes' default node timings (Lease renewed every 10 s, NotReady after 50 s: where a silent node behaves as
// in users' clusters), with the CRDs and the admission policy installed as a user installs them, and stops it when
// the container ends. Against an existing cluster it skips, saying what the specs need.
func defaultTimingsCluster(ctx context.Context, nodes int, needs string) *utils.TestCluster {
	if fastCluster.Simulated == nil {
		Skip(needs + ": " + utils.ExistingClusterEnv + " is set")
	}
	tc, err := utils.StartTestCluster(ctx, cluster.Options{Nodes: nodes, Timings: cluster.DefaultTimings,
		Logf: func(format string, args ...any) { GinkgoWriter.Printf(format+"\n", args...) }})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(tc.Stop)
	Expect(tc.Install(ctx, "../../config/crd/bases", "../../config/policy/podgroup_validation.yaml")).To(Succeed())
	return tc
}
