package test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/peapod-io/peapod/test/cluster"
)

// HelmEnv names the helm binary `make test-chart` builds, pinned, from the Go module proxy.
const HelmEnv = "PEAPOD_HELM"

// The helm command a user types, on the simulated cluster (test/cluster: a scheduler, a controller-manager and
// kwok nodes), so `--wait` waits for the manager's Pods to be scheduled and Ready. kwok runs no container: the
// chart's image is not run (no registry, no container engine here), and Ready is kwok's word. The manager's own
// code runs as the chart installs it in webhook_install_test.go: the binary, with the Deployment's flags and the
// chart's ServiceAccount.
func TestHelmCommand(t *testing.T) {
	helm := os.Getenv(HelmEnv)
	if _, err := os.Stat(helm); helm == "" || err != nil {
		t.Fatalf("%s=%q is no helm binary: run `make test-chart`, which builds it", HelmEnv, helm)
	}
	ctx := t.Context()
	c, err := cluster.Start(ctx, cluster.Options{Nodes: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, helm, append(args, "--kubeconfig", c.KubeconfigPath)...)
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	if out := run("lint", "--strict", chartDir); !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
		t.Errorf("helm lint --strict:\n%s", out)
	}
	bad := exec.CommandContext(ctx, helm, "lint", chartDir, "--set", "replicaCount=-1")
	if out, err := bad.CombinedOutput(); err == nil || !strings.Contains(string(out), "replicaCount") {
		t.Errorf("helm lint with replicaCount=-1 passed or did not name the value (%v):\n%s", err, out)
	}

	run("install", releaseName, chartDir, "--namespace", namespace, "--create-namespace", "--wait", "--timeout", "3m")
	deployment := func() *appsv1.Deployment {
		d, err := c.Clientset.AppsV1().Deployments(namespace).Get(ctx, fullname, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := deployment(); d.Status.ReadyReplicas != 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("after helm install --wait: %d Ready managers, strategy %s; want 2, RollingUpdate", d.Status.ReadyReplicas, d.Spec.Strategy.Type)
	}
	checkAPIObjects(ctx, t, c, true)

	run("upgrade", releaseName, chartDir, "--namespace", namespace, "--reuse-values", "--set", "replicaCount=1", "--wait", "--timeout", "3m")
	if d := deployment(); d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Status.ReadyReplicas != 1 {
		t.Errorf("after helm upgrade to one manager: %d Ready, strategy %s; want 1, Recreate", d.Status.ReadyReplicas, d.Spec.Strategy.Type)
	}
	if out := run("status", releaseName, "--namespace", namespace); !strings.Contains(out, "STATUS: deployed") || !strings.Contains(out, "REVISION: 2") {
		t.Errorf("helm status after the upgrade:\n%s", out)
	}

	run("uninstall", releaseName, "--namespace", namespace, "--wait", "--timeout", "3m")
	checkAPIObjects(ctx, t, c, false)
}

// checkAPIObjects checks what an install leaves cluster-wide: the aggregated roles while installed; the CRDs
// always, as Helm never deletes what crds/ created (the users' PodGroups would go with them).
func checkAPIObjects(ctx context.Context, t *testing.T, c *cluster.Cluster, installed bool) {
	t.Helper()
	for _, level := range []string{"view", "edit"} {
		_, err := c.Clientset.RbacV1().ClusterRoles().Get(ctx, fullname+"-aggregate-to-"+level, metav1.GetOptions{})
		if (err == nil) != installed {
			t.Errorf("ClusterRole %s-aggregate-to-%s: %v (installed: %t)", fullname, level, err, installed)
		}
	}
	crds, err := c.Clientset.Discovery().ServerResourcesForGroupVersion("peapod.io/v1alpha1")
	if err != nil || len(crds.APIResources) == 0 {
		t.Errorf("peapod.io/v1alpha1 not served (installed: %t): %v", installed, err)
	}
}
