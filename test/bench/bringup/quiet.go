package main

import (
	"context"
	"fmt"
	"time"

	"github.com/peapod-io/peapod/test/cluster"
)

// garbageCollectorSync is how often the controller-manager's garbage collector refreshes its monitors from
// discovery (its syncPeriod, 30 s): until then it has no informer for a resource installed since, and looks up
// every owner of that kind with a GET, which a cluster that has had the CRD for long does not.
const garbageCollectorSync = 30 * time.Second

// quietCPU is the share of a core below which the components and the bench together count as idle.
const quietCPU = 0.2

// waitGarbageCollectorSync waits until the garbage collector of a cluster that installed CRDs at installed
// watches them, as one that has had them for long does; measure then waits for the cluster to be quiet.
func waitGarbageCollectorSync(ctx context.Context, installed time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(installed.Add(garbageCollectorSync + 2*time.Second))):
		return nil
	}
}

// waitQuiet waits until the cluster's components and this process together use under quietCPU of a core over
// two seconds running, so what was started before (a fresh cluster's controllers syncing, the apiserver
// publishing a CRD's schema) is not counted in a bring-up. A minute at most: a cluster never quiet is measured
// as it is, and says so.
func waitQuiet(ctx context.Context, c *cluster.Cluster) error {
	const sample, limit = time.Second, time.Minute
	deadline := time.Now().Add(limit)
	quiet, used := 0, 0.0
	before := total(cpuTimes(c))
	for quiet < 2 {
		if time.Now().After(deadline) {
			fmt.Printf("  the cluster still used %.2f cores after %s (its nodes' heartbeats); measuring\n", used, limit)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(sample):
		}
		now := total(cpuTimes(c))
		if used = float64(now-before) / float64(sample); used < quietCPU {
			quiet++
		} else {
			quiet = 0
		}
		before = now
	}
	return nil
}
