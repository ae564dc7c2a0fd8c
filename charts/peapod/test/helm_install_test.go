package test

import (
	"cmp"
	"context"
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Helm itself installs and upgrades the chart on a real kube-apiserver: it creates the CRDs from crds/, checks
// every object against the server's OpenAPI schema, and upgrades by three-way merge, which is how a user's
// `helm upgrade` changes the manager's strategy when leader election comes and goes with the replica count.
func TestHelmInstallAndUpgrade(t *testing.T) {
	env := startAPIServer(t)
	ctx := t.Context()
	c := newClient(t, env.Config, &warnings{})
	helm, chrt := helmInstall(ctx, t, env, c, nil)
	checkStrategy(ctx, t, c, appsv1.RollingUpdateDeploymentStrategyType)
	checkExists(ctx, t, c, "after the install", &policyv1.PodDisruptionBudget{}, true)

	for _, step := range []struct {
		values       string
		wantStrategy appsv1.DeploymentStrategyType
		// wantHA: the leader-election Role and the PodDisruptionBudget exist.
		wantHA bool
	}{
		{"replicaCount: 1", appsv1.RecreateDeploymentStrategyType, false},
		{"replicaCount: 2", appsv1.RollingUpdateDeploymentStrategyType, true},
	} {
		vals, err := chartutil.ReadValues([]byte(step.values))
		if err != nil {
			t.Fatal(err)
		}
		upgrade := action.NewUpgrade(helm)
		upgrade.Namespace = namespace
		if _, err := upgrade.RunWithContext(ctx, releaseName, chrt, vals); err != nil {
			t.Fatalf("helm upgrade with %q: %v", step.values, err)
		}
		checkStrategy(ctx, t, c, step.wantStrategy)
		after := "after the upgrade with " + step.values
		checkExists(ctx, t, c, after, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: fullname + "-leader-election"}}, step.wantHA)
		checkExists(ctx, t, c, after, &policyv1.PodDisruptionBudget{}, step.wantHA)
	}

	checkCRDUpgrade(ctx, t, c)
}

// checkCRDUpgrade upgrades a CRD that Helm installed as the README says, `kubectl apply --server-side
// --force-conflicts -f crds/`, with a changed CRD standing for a newer chart's: without --force-conflicts the
// API server refuses, as the fields belong to Helm, which created them.
func checkCRDUpgrade(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	crd := decodeAll(t, filepath.Join(chartDir, "crds", "peapod.io_podgroups.yaml"))[0]
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	if err := unstructured.SetNestedField(versions[0].(map[string]any), "A newer PodGroup.", "schema", "openAPIV3Schema", "description"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions"); err != nil {
		t.Fatal(err)
	}
	apply := func(opts ...client.ApplyOption) error {
		opts = append(opts, client.FieldOwner("kubectl"))
		return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(crd.DeepCopy()), opts...)
	}
	if err := apply(); !apierrors.IsConflict(err) {
		t.Errorf("upgrading the CRD without --force-conflicts: got %v, want a conflict with Helm's fields", err)
	}
	if err := apply(client.ForceOwnership); err != nil {
		t.Errorf("upgrading the CRD with --force-conflicts: %v", err)
	}
}

// helmInstall creates the release's namespace and installs the chart into it with Helm, with the values given,
// until its CRDs are established.
func helmInstall(ctx context.Context, t *testing.T, env *envtest.Environment, c client.Client,
	vals chartutil.Values) (*action.Configuration, *chart.Chart) {
	t.Helper()
	createReleaseNamespace(ctx, t, c)
	helm := helmConfiguration(t, env)
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	install := action.NewInstall(helm)
	install.ReleaseName, install.Namespace = releaseName, namespace
	if _, err := install.RunWithContext(ctx, chrt, vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	for _, crd := range []string{"podgroups.peapod.io", "podmigrations.peapod.io"} {
		waitEstablished(ctx, t, c, crd)
	}
	return helm, chrt
}

// helmConfiguration is Helm's configuration for the API server, as a cluster admin, with releases stored in
// Secrets as the helm command stores them.
func helmConfiguration(t *testing.T, env *envtest.Environment) *action.Configuration {
	t.Helper()
	admin, err := env.AddUser(envtest.User{Name: "helm", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &action.Configuration{}
	if err := cfg.Init(kube.GetConfig(path, "", namespace), namespace, "secret", t.Logf); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// checkExists checks whether obj, in the release's namespace and named after the release unless it has a name,
// exists.
func checkExists(ctx context.Context, t *testing.T, c client.Client, when string, obj client.Object, want bool) {
	t.Helper()
	name := cmp.Or(obj.GetName(), fullname)
	err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, obj)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("%s: getting %T %s: %v", when, obj, name, err)
	}
	if got := err == nil; got != want {
		t.Errorf("%s: %T %s exists = %t, want %t", when, obj, name, got, want)
	}
}

func checkStrategy(ctx context.Context, t *testing.T, c client.Client, want appsv1.DeploymentStrategyType) {
	t.Helper()
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Strategy.Type != want {
		t.Errorf("the Deployment's strategy is %s, want %s", d.Spec.Strategy.Type, want)
	}
}
