package test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/peapod-io/peapod/test/utils"
)

// startAPIServer starts a kube-apiserver and etcd on loopback and free ports (envtest), from the control plane
// `make controlplane` builds (KUBEBUILDER_ASSETS), and stops them when the test ends. They die with the test
// binary even if it is killed first (utils.DeathLinkedAssets).
func startAPIServer(t *testing.T) *envtest.Environment {
	t.Helper()
	realDir := os.Getenv("KUBEBUILDER_ASSETS")
	if _, err := os.Stat(filepath.Join(realDir, "kube-apiserver")); realDir == "" || err != nil {
		t.Fatalf("KUBEBUILDER_ASSETS=%q holds no kube-apiserver: run `make test-chart`, which builds the control plane "+
			"(`make controlplane`) and points KUBEBUILDER_ASSETS at it", realDir)
	}
	assets, err := utils.DeathLinkedAssets(realDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(assets) })
	// envtest prefers the environment variable to BinaryAssetsDirectory.
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	env := &envtest.Environment{BinaryAssetsDirectory: assets, DownloadBinaryAssets: false}
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting envtest: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest: %v", err)
		}
	})
	return env
}

// newClient is a client of the API server for the built-in kinds and CRDs, whose warnings go to seen.
func newClient(t *testing.T, cfg *rest.Config, seen *warnings) client.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandlerWithContext = seen
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createReleaseNamespace creates the release's namespace, which enforces Pod Security "restricted" and warns
// about workloads that break it, as the README tells users to.
func createReleaseNamespace(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/warn":    "restricted",
	}}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
}

func waitEstablished(ctx context.Context, t *testing.T, c client.Client, name string) {
	t.Helper()
	var crd apiextensionsv1.CustomResourceDefinition
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
			return false, err
		}
		for _, cond := range crd.Status.Conditions {
			if cond.Type == apiextensionsv1.Established {
				return cond.Status == apiextensionsv1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("CRD %s is not Established: %v; conditions: %v", name, err, crd.Status.Conditions)
	}
}

// warnings collects the warnings the API server returns (Pod Security admission's among them).
type warnings struct {
	mu    sync.Mutex
	texts []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.texts = append(w.texts, text)
}

// take returns the warnings collected since the last call.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	texts := w.texts
	w.texts = nil
	return texts
}
