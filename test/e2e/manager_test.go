package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/peapod-io/peapod/test/inprocess"
	"github.com/peapod-io/peapod/test/utils"
)

// startManager runs peapod's manager in this process against the cluster until the spec or suite ends, and
// returns its client. A manager that returns before then fails the spec running at that moment.
func startManager(cfg *rest.Config) client.Client {
	m := inprocess.NewManager(cfg, inprocess.ManagerOptions{})
	Expect(m.Start(utils.CleanupContext())).To(Succeed())
	exited := m.Exited()
	utils.RunUntilCleanup(func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-exited:
		}
		Expect(m.Stop()).To(Succeed())
	})
	return m.Client()
}

// startManagerProcess runs the built manager as its own process against the cluster, its log in the cluster's
// directory under a name of its own: a spec may kill it and start another. Extra flags are added to the
// manager's own.
func startManagerProcess(tc *utils.TestCluster, binary string, extraArgs ...string) *utils.ManagerProcess {
	log := filepath.Join(tc.Simulated.Dir, fmt.Sprintf("manager-%d.log", time.Now().UnixNano()))
	m, err := utils.StartManagerProcess(binary, tc.KubeconfigPath, log, extraArgs...)
	Expect(err).NotTo(HaveOccurred())
	return m
}
