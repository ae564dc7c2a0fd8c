package e2e

import (
	"context"

	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/peapod-io/peapod/controllers"
	"github.com/peapod-io/peapod/internal/scheme"
	"github.com/peapod-io/peapod/test/utils"
)

// startManager runs peapod's manager in this process against the cluster until the spec or suite ends.
func startManager(cfg *rest.Config) client.Client {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Two clusters, two managers in one process: their controllers share a name.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.PodGroupReconciler{Client: mgr.GetClient(), MaxConcurrentReconciles: 4}).SetupWithManager(mgr)).To(Succeed())
	utils.RunUntilCleanup(func(ctx context.Context) { Expect(mgr.Start(ctx)).To(Succeed()) })
	return mgr.GetClient()
}
