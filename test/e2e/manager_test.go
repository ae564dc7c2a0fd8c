package e2e

import (
	"context"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/controllers"
	"github.com/peapod-io/peapod/test/utils"
)

// e2eScheme knows the built-in kinds and peapod's.
var e2eScheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(peapodv1alpha1.AddToScheme(s))
	return s
}()

// startManager runs peapod's manager in this process against the cluster until the spec or suite ends.
func startManager(cfg *rest.Config) client.Client {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 e2eScheme,
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
