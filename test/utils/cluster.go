// Package utils holds helpers shared by the end-to-end suites.
package utils

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/peapod-io/peapod/internal/scheme"
	"github.com/peapod-io/peapod/test/cluster"
)

// ExistingClusterEnv points the e2e suites at a running cluster (e.g. kind in a user's CI) instead of the
// simulated one. Tests that must fail a kwok node skip there.
const ExistingClusterEnv = "PEAPOD_E2E_KUBECONFIG"

// TestCluster is the cluster an e2e suite runs against: the simulated one, or an existing one.
type TestCluster struct {
	Config         *rest.Config
	Clientset      kubernetes.Interface
	KubeconfigPath string
	// Simulated is nil on an existing cluster.
	Simulated *cluster.Cluster
}

// StartTestCluster starts the simulated cluster, or connects to the one named by PEAPOD_E2E_KUBECONFIG.
func StartTestCluster(ctx context.Context, opts cluster.Options) (*TestCluster, error) {
	if path := os.Getenv(ExistingClusterEnv); path != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("%s=%s: %w", ExistingClusterEnv, path, err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, err
		}
		return &TestCluster{Config: cfg, Clientset: cs, KubeconfigPath: path}, nil
	}
	c, err := cluster.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &TestCluster{Config: c.Config, Clientset: c.Clientset, KubeconfigPath: c.KubeconfigPath, Simulated: c}, nil
}

// Stop stops the simulated cluster; an existing cluster is left alone.
func (t *TestCluster) Stop() {
	if t != nil && t.Simulated != nil {
		t.Simulated.Stop()
	}
}

// CanFailNodes says whether nodes can be failed on purpose, and why not.
func (t *TestCluster) CanFailNodes() (bool, string) {
	if t.Simulated == nil {
		return false, "running against an existing cluster (" + ExistingClusterEnv + "): its nodes are not kwok nodes this suite controls"
	}
	return true, ""
}

// Kubectl runs the kubectl built with the control plane (or, on an existing cluster, the one on PATH).
func (t *TestCluster) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	if t.Simulated != nil {
		return t.Simulated.Kubectl(ctx, args...)
	}
	bin := "kubectl"
	if dir := os.Getenv(cluster.BinDirEnv); dir != "" {
		bin = filepath.Join(dir, "kubectl")
	}
	return exec.CommandContext(ctx, bin, append([]string{"--kubeconfig", t.KubeconfigPath}, args...)...)
}

// Install applies manifests with kubectl and waits for their CRDs (see cluster.Install).
func (t *TestCluster) Install(ctx context.Context, paths ...string) error {
	return cluster.Install(ctx, t.Kubectl, paths...)
}

// NewClient is a controller-runtime client for the cluster that knows peapod's kinds.
func NewClient(cfg *rest.Config) client.Client {
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	utilruntime.Must(err)
	return c
}
