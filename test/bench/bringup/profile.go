package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/peapod-io/peapod/test/cluster"
)

// profileBringUp starts CPU profiles of a side's bring-up, into dir (none when it is empty): the apiserver's,
// through its /debug/pprof for as long as the bring-up takes at most, and, on peapod's side, this process's,
// where peapod's manager runs. The returned func ends them and writes them out.
func profileBringUp(ctx context.Context, c *cluster.Cluster, dir, side string) (func() error, error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	apiserver := make(chan error, 1)
	profileCtx, stop := context.WithCancel(ctx)
	go func() {
		// The apiserver profiles for a fixed time; 60 s covers a bring-up of 1,000 Pods, and is cut short below.
		raw, err := c.Clientset.CoreV1().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "60").DoRaw(profileCtx)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, side+"-apiserver.pprof"), raw, 0o644)
		}
		apiserver <- err
	}()
	var own *os.File
	if side == "peapod" {
		f, err := os.Create(filepath.Join(dir, side+"-manager.pprof"))
		if err != nil {
			stop()
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			stop()
			return nil, err
		}
		own = f
	}
	return func() error {
		if own != nil {
			pprof.StopCPUProfile()
			if err := own.Close(); err != nil {
				return err
			}
		}
		fmt.Printf("  %s: CPU profiles in %s (the apiserver's arrives when its 60 s are up)\n", side, dir)
		err := <-apiserver
		stop()
		return err
	}, nil
}
