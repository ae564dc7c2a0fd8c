// Command manager runs peapod's controllers.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"net/http"
	"os"

	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/peapod-io/peapod/controllers"
	"github.com/peapod-io/peapod/internal/scheme"
)

func main() {
	var (
		metricsAddr          string
		probeAddr            string
		secureMetrics        bool
		enableLeaderElection bool
		leaderElectionNS     string
		leaderElectionID     string
		namespaceSelector    string
		qps                  float64
		burst                int
		concurrency          int
		maxMigrations        int
		unhealthyThreshold   float64
		evictionResponder    bool
		hook                 webhookFlags
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to "+
		"(:8443 for HTTPS, :8080 for HTTP); 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the /healthz and /readyz probes bind to.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS behind Kubernetes authn/authz.")
	flag.BoolVar(&enableLeaderElection, "leader-elect", false, "Elect a leader so only one manager acts at a time.")
	flag.StringVar(&leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease; "+
		"default: the manager's own namespace when it runs in a Pod.")
	flag.StringVar(&leaderElectionID, "leader-election-id", "manager.peapod.io", "Name of the leader election Lease: "+
		"each shard's managers need one of their own.")
	flag.StringVar(&namespaceSelector, "namespace-selector", "", "Label selector (as kubectl -l takes one) of the "+
		"namespaces whose PodGroups this manager reconciles, making it one shard of several: no other manager's "+
		"selector may match the same namespaces. Empty: every namespace.")
	flag.Float64Var(&qps, "kube-api-qps", 50, "Queries per second to the API server.")
	flag.IntVar(&burst, "kube-api-burst", 100, "Burst of queries to the API server.")
	flag.IntVar(&concurrency, "podgroup-concurrency", 4, "PodGroups reconciled at once.")
	flag.IntVar(&maxMigrations, "max-concurrent-migrations", 50, "Members moved off failed nodes at once across "+
		"all PodGroups, so a zone outage does not become a storm; 0 means no cap.")
	flag.Float64Var(&unhealthyThreshold, "unhealthy-node-threshold", 0.55, "Share of nodes, cluster-wide or in a zone, "+
		"that may look unhealthy at once before failovers pause (as kube-controller-manager's --unhealthy-zone-threshold): "+
		"so many silent nodes at once are likelier a control-plane or network fault than node deaths.")
	flag.BoolVar(&evictionResponder, "eviction-responder", true, "Where the cluster serves the EvictionRequest API "+
		"(lifecycle.k8s.io/v1alpha1, Kubernetes 1.37's EvictionRequestAPI feature gate; discovered at start), name peapod "+
		"the members' first eviction responder and move a member make-before-break when an Eviction hands its Pod to peapod.")
	hook.bind(flag.CommandLine)
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	metricsOpts := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		// HTTP/2 is off: it is exposed to the HTTP/2 Rapid Reset and Stream Cancellation CVEs.
		TLSOpts: []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }},
	}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	var shard labels.Selector
	if namespaceSelector != "" {
		var err error
		if shard, err = labels.Parse(namespaceSelector); err != nil {
			log.Error(err, "--namespace-selector is not a label selector", "value", namespaceSelector)
			os.Exit(1)
		}
	}
	log.Info("shard", "namespaceSelector", namespaceSelector, "leaderElectionID", leaderElectionID)

	ctx := ctrl.SetupSignalHandler()
	restConfig := ctrl.GetConfigOrDie()
	restConfig.QPS = float32(qps)
	restConfig.Burst = burst
	var err error
	evictionAPI := false
	if evictionResponder {
		if evictionAPI, err = controllers.EvictionAPIServed(restConfig); err != nil {
			log.Error(err, "unable to discover the EvictionRequest API")
			os.Exit(1)
		}
	}
	log.Info("eviction responder", "enabled", evictionAPI, "flag", evictionResponder)
	cacheOpts := controllers.CacheOptions()
	if evictionAPI {
		cacheOpts = controllers.WithEvictions(cacheOpts)
	}
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                        scheme.New(),
		Cache:                         cacheOpts,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        probeAddr,
		LeaderElection:                enableLeaderElection,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       leaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
		WebhookServer:                 hook.server(),
	})
	if err != nil {
		log.Error(err, "unable to create manager")
		os.Exit(1)
	}

	reconciler := &controllers.PodGroupReconciler{
		EvictionAPI:             evictionAPI,
		Client:                  mgr.GetClient(),
		MaxConcurrentReconciles: concurrency,
		MaxConcurrentMigrations: maxMigrations,
		UnhealthyThreshold:      unhealthyThreshold,
		NamespaceSelector:       shard,
	}
	if err := reconciler.SetupWithManager(mgr); err != nil {
		log.Error(err, "unable to create controller", "controller", "PodGroup")
		os.Exit(1)
	}
	if err := hook.setup(ctx, mgr, restConfig); err != nil {
		log.Error(err, "unable to set up the admission webhook")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "unable to set up health check")
		os.Exit(1)
	}
	// Ready once the informers have synced: before that the manager would act on an empty view of the cluster.
	cachesSynced := func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return errors.New("informer caches not synced yet")
		}
		return nil
	}
	if err := mgr.AddReadyzCheck("informers", cachesSynced); err != nil {
		log.Error(err, "unable to set up ready check")
		os.Exit(1)
	}

	log.Info("starting manager")
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "problem running manager")
		os.Exit(1)
	}
}
