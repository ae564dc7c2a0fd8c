package main

import (
	"context"
	"fmt"
	"time"
)

// restartManager stops the manager, as a crash or an eviction of its Pod would, and starts a fresh one (new
// informers, reconciler, expectations and node observer) 0-5 s later.
func (f *campaign) restartManager(ctx context.Context) (string, error) {
	down := f.between(0, 5*time.Second)
	if err := f.mgr.Stop(); err != nil {
		return "", fmt.Errorf("stopping the manager: %w", err)
	}
	if err := sleep(ctx, down); err != nil {
		return "", err
	}
	return fmt.Sprintf("manager down for %s, then manager #%d", down, f.mgr.Starts()+1), f.mgr.Start(ctx)
}

// restartAPIServer kills kube-apiserver with SIGKILL and starts it again 5-20 s later: every watch ends, and
// no Lease is renewed meanwhile.
func (f *campaign) restartAPIServer(ctx context.Context) (string, error) {
	down := f.between(5*time.Second, 20*time.Second)
	return fmt.Sprintf("kube-apiserver down for %s", down), f.c.RestartAPIServer(ctx, down)
}

// restartEtcd kills etcd with SIGKILL and starts it again, on the same data, 2-10 s later.
func (f *campaign) restartEtcd(ctx context.Context) (string, error) {
	down := f.between(2*time.Second, 10*time.Second)
	return fmt.Sprintf("etcd down for %s", down), f.c.RestartEtcd(ctx, down)
}
