package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/peapod-io/peapod/controllers"
	"github.com/peapod-io/peapod/internal/scheme"
)

// managerUserAgent names the manager's requests in the audit log.
const managerUserAgent = "peapod-manager"

// manager is peapod's manager running in this process, as the e2e suites run it, with main.go's defaults. A
// restart is a new manager: new informers, a new reconciler with new expectations and a new node observer, as
// a Pod of the manager that crashed and came back would have.
type manager struct {
	cfg    *rest.Config
	log    *os.File
	starts int
	cancel context.CancelFunc
	done   chan error
}

// startManager starts the first manager; its log (every manager's, one after the other, and the campaign's
// informers') goes to dir.
func startManager(ctx context.Context, cfg *rest.Config, dir string) (*manager, error) {
	log, err := os.Create(filepath.Join(dir, "manager.log"))
	if err != nil {
		return nil, err
	}
	// client-go's own lines (a watch that ends with kube-apiserver) go there too, not to the terminal.
	// Times to the nanosecond, to be read beside the audit log: set as the manager's --zap-time-encoding is.
	opts := zap.Options{Development: true, DestWriter: log}
	zapFlags := flag.NewFlagSet("zap", flag.ContinueOnError)
	opts.BindFlags(zapFlags)
	if err := zapFlags.Parse([]string{"--zap-time-encoding=rfc3339nano"}); err != nil {
		_ = log.Close()
		return nil, err
	}
	logger := zap.New(zap.UseFlagOptions(&opts))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger)
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = managerUserAgent
	m := &manager{cfg: cfg, log: log}
	if err := m.start(ctx); err != nil {
		_ = log.Close()
		return nil, err
	}
	return m, nil
}

// start runs a fresh manager until stop (or ctx's end), and returns once its caches have synced.
func (m *manager) start(ctx context.Context) error {
	mgr, err := ctrl.NewManager(m.cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  controllers.CacheOptions(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Every restart sets up a controller of the same name in this process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return err
	}
	r := &controllers.PodGroupReconciler{Client: mgr.GetClient(), MaxConcurrentReconciles: 4, MaxConcurrentMigrations: 50}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(runCtx) }()
	m.starts++
	m.cancel, m.done = cancel, done
	ctrl.Log.WithName("chaos").Info("manager started", "start", m.starts)
	if !mgr.GetCache().WaitForCacheSync(runCtx) {
		return errors.Join(fmt.Errorf("manager %d: caches did not sync", m.starts), m.stop())
	}
	return nil
}

// close stops the manager for good and closes its log.
func (m *manager) close() {
	_ = m.stop()
	_ = m.log.Close()
}

// stop cancels the running manager and waits until it has returned; it may be called again.
func (m *manager) stop() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	err := <-m.done
	m.cancel, m.done = nil, nil
	ctrl.Log.WithName("chaos").Info("manager stopped", "start", m.starts)
	return err
}
