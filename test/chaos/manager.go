package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/peapod-io/peapod/test/inprocess"
)

// managerUserAgent names the manager's requests in the audit log.
const managerUserAgent = "peapod-manager"

// manager is peapod's manager running in this process, as the e2e suites run it, with main.go's cap on
// concurrent migrations; restartManager stops it and starts a fresh one. Its log is the campaign's.
type manager struct {
	*inprocess.Manager
	log *os.File
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
	m := &manager{log: log, Manager: inprocess.NewManager(cfg, inprocess.ManagerOptions{MaxConcurrentMigrations: 50,
		UserAgent: managerUserAgent, Logger: ctrl.Log.WithName("chaos")})}
	if err := m.Start(ctx); err != nil {
		_ = log.Close()
		return nil, err
	}
	return m, nil
}

// close stops the manager for good and closes its log.
func (m *manager) close() {
	_ = m.Stop()
	_ = m.log.Close()
}
