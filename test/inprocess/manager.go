// Package inprocess runs peapod's manager inside a test or benchmark process, as main.go sets it up. It is its own
// package, apart from test/utils, because it imports the controllers, whose own tests use test/utils.
package inprocess

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/peapod-io/peapod/controllers"
	"github.com/peapod-io/peapod/internal/scheme"
)

// defaultConcurrency is main.go's --podgroup-concurrency default.
const defaultConcurrency = 4

// ManagerOptions are what the users of an in-process manager set differently; the rest is as main.go sets it.
type ManagerOptions struct {
	// MaxConcurrentReconciles is how many groups are reconciled at once; 0 means main.go's default, 4.
	MaxConcurrentReconciles int
	// MaxConcurrentMigrations caps the members moved off failed nodes at once; 0 means no cap, as for the
	// reconciler.
	MaxConcurrentMigrations int
	// UserAgent names the manager's requests in kube-apiserver's audit log; empty keeps the config's.
	UserAgent string
	// Logger says when each manager starts and stops; the zero value says nothing.
	Logger logr.Logger
}

// Manager is peapod's manager running in this process. Start after Stop is a restart: a new manager, with new
// informers and a new reconciler (new expectations, a new node observer), as a Pod of the manager that crashed
// and came back would have.
type Manager struct {
	cfg    *rest.Config
	opts   ManagerOptions
	starts int
	client client.Client
	// running is the manager started last, nil once stopped.
	running *managerRun
}

// managerRun is one manager from its Start to its Stop.
type managerRun struct {
	cancel context.CancelFunc
	// exited is closed once the manager has returned, with err.
	exited chan struct{}
	err    error
}

// NewManager prepares a manager against cfg; nothing runs until Start.
func NewManager(cfg *rest.Config, opts ManagerOptions) *Manager {
	cfg = rest.CopyConfig(cfg)
	if opts.UserAgent != "" {
		cfg.UserAgent = opts.UserAgent
	}
	if opts.MaxConcurrentReconciles == 0 {
		opts.MaxConcurrentReconciles = defaultConcurrency
	}
	return &Manager{cfg: cfg, opts: opts}
}

// Start runs a fresh manager until Stop, or until ctx ends, and returns once its caches have synced.
func (m *Manager) Start(ctx context.Context) error {
	if m.running != nil {
		return fmt.Errorf("manager %d is still running", m.starts)
	}
	// As the manager's main does: the eviction responder is on where the cluster serves the API.
	evictionAPI, err := controllers.EvictionAPIServed(m.cfg)
	if err != nil {
		return err
	}
	cacheOpts := controllers.CacheOptions()
	if evictionAPI {
		cacheOpts = controllers.WithEvictions(cacheOpts)
	}
	mgr, err := ctrl.NewManager(m.cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  cacheOpts,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		// Several managers set up a controller of the same name in one process: the e2e suite's clusters each
		// have one, and every restart is a new one.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return err
	}
	r := &controllers.PodGroupReconciler{Client: mgr.GetClient(), MaxConcurrentReconciles: m.opts.MaxConcurrentReconciles,
		MaxConcurrentMigrations: m.opts.MaxConcurrentMigrations, EvictionAPI: evictionAPI}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	run := &managerRun{cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(run.exited)
		run.err = mgr.Start(runCtx)
	}()
	m.starts++
	m.client, m.running = mgr.GetClient(), run
	m.opts.Logger.Info("manager started", "start", m.starts)
	if !waitSynced(runCtx, mgr, run.exited) {
		return errors.Join(fmt.Errorf("manager %d: caches did not sync", m.starts), m.Stop())
	}
	return nil
}

// waitSynced waits for the manager's caches, unless it returns first (a controller that cannot start).
func waitSynced(ctx context.Context, mgr ctrl.Manager, exited <-chan struct{}) bool {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	return mgr.GetCache().WaitForCacheSync(ctx)
}

// Stop cancels the running manager and waits until it has returned, with what it returned; it may be called
// again.
func (m *Manager) Stop() error {
	run := m.running
	if run == nil {
		return nil
	}
	run.cancel()
	<-run.exited
	m.running = nil
	m.opts.Logger.Info("manager stopped", "start", m.starts)
	return run.err
}

// Exited is closed once the running manager has returned by itself or been stopped; nil when none runs.
func (m *Manager) Exited() <-chan struct{} {
	if m.running == nil {
		return nil
	}
	return m.running.exited
}

// Starts counts the managers started so far.
func (m *Manager) Starts() int { return m.starts }

// Client is the client of the manager started last: it reads from that manager's cache.
func (m *Manager) Client() client.Client { return m.client }
