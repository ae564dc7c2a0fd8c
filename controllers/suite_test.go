package controllers

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/admission"
	"github.com/peapod-io/peapod/test/utils"
)

// The envtest tier: a real kube-apiserver and etcd (built by `make controlplane`, never downloaded), with the
// CRDs installed from config/crd and the reconcilers running in a manager, so everything the API server decides
// (schema, defaulting, CEL, owner references, conflicts) is tested for real.
var (
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	// kubectlAsAdmin is the kubectl built with the control plane, as a cluster admin of the envtest API server.
	kubectlAsAdmin func(args ...string) (stdout, stderr io.Reader, err error)
)

func TestMain(m *testing.M) {
	utils.ExecIfDeathLinked()
	os.Exit(m.Run())
}

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "controllers envtest suite")
}

var _ = BeforeSuite(func(ctx context.Context) {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	Expect(checkAssets()).To(Succeed())

	// The API server and etcd die with this test process, also when it is killed before its cleanup runs.
	assets, err := utils.DeathLinkedAssets(os.Getenv("KUBEBUILDER_ASSETS"))
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, assets)
	// envtest prefers the environment variable to BinaryAssetsDirectory.
	Expect(os.Setenv("KUBEBUILDER_ASSETS", assets)).To(Succeed())
	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		DownloadBinaryAssets:  false,
		// The webhook configuration the chart and install.yaml ship, pointed at the manager's server below.
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join("..", "config", "webhook", "manifests.yaml")},
		},
	}
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(testEnv.Stop)

	admin, err := testEnv.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	Expect(err).NotTo(HaveOccurred())
	kc, err := admin.Kubectl()
	Expect(err).NotTo(HaveOccurred())
	kubectlAsAdmin = kc.Run

	Expect(peapodv1alpha1.AddToScheme(scheme.Scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	Expect(err).NotTo(HaveOccurred())
	// The admission policy for what CRD rules cannot afford, installed as a user installs it.
	Expect(utils.ApplyManifests(ctx, k8sClient, filepath.Join("..", "config", "policy", "podgroup_validation.yaml"))).To(Succeed())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.Scheme,
		Cache:                  CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    testEnv.WebhookInstallOptions.LocalServingHost,
			Port:    testEnv.WebhookInstallOptions.LocalServingPort,
			CertDir: testEnv.WebhookInstallOptions.LocalServingCertDir,
		}),
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&PodGroupReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr)).To(Succeed())
	Expect(admission.SetupWithManager(mgr)).To(Succeed())

	utils.RunUntilCleanup(func(ctx context.Context) { Expect(mgr.Start(ctx)).To(Succeed()) })
})

// checkAssets names what is missing before envtest fails with a less helpful message.
func checkAssets() error {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test` (it builds the control plane " +
			"with `make controlplane` and points KUBEBUILDER_ASSETS at it)")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return fmt.Errorf("KUBEBUILDER_ASSETS=%s has no %s: run `make controlplane`", dir, bin)
		}
	}
	return nil
}
