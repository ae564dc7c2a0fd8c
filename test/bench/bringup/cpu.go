package main

import (
	"time"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/procfs"
)

// benchProcess names this process among the cluster's components: on peapod's side it runs the manager too.
const benchProcess = "bench (+ manager)"

// cpuOrder is the order the CPU rows are printed in.
var cpuOrder = []string{
	"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok", benchProcess,
}

// cpuTimes is the CPU time used so far by every component of the cluster and by this process.
func cpuTimes(c *cluster.Cluster) map[string]time.Duration {
	times := c.CPUTimes()
	if own, err := procfs.CPUTime("self"); err == nil {
		times[benchProcess] = own
	}
	return times
}

// cpuSince is what each process used between two readings.
func cpuSince(now, before map[string]time.Duration) map[string]time.Duration {
	used := make(map[string]time.Duration, len(now))
	for name, t := range now {
		used[name] = t - before[name]
	}
	return used
}

func total(times map[string]time.Duration) time.Duration {
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	return sum
}
