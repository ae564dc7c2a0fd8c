package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Kubectl returns a command running the kubectl built with the control plane against this cluster.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "kubectl"), append([]string{"--kubeconfig", c.KubeconfigPath}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.KubeconfigPath)
	return cmd
}

// Install applies manifests the way a user does (`kubectl apply --server-side -f`) and waits until every CRD
// among them is Established.
func (c *Cluster) Install(ctx context.Context, paths ...string) error {
	return Install(ctx, c.Kubectl, paths...)
}

// Install is Cluster.Install for any cluster that kubectl reaches.
func Install(ctx context.Context, kubectl func(context.Context, ...string) *exec.Cmd, paths ...string) error {
	for _, path := range paths {
		if out, err := kubectl(ctx, "apply", "--server-side", "-f", path).CombinedOutput(); err != nil {
			return fmt.Errorf("kubectl apply -f %s: %w: %s", path, err, out)
		}
	}
	// `kubectl wait` fails outright while a new CRD has no conditions yet, so it is retried.
	var out []byte
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		out, err = kubectl(ctx, "wait", "--for=condition=Established", "crd", "--all", "--timeout=10s").CombinedOutput()
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("CRDs not Established: %w: %s", err, out)
	}
	return nil
}
