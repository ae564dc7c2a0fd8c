package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/peapod-io/peapod/test/procfs"
)

// podsPerNode is how densely each size is packed: 1,000 pods on 12 nodes, 10,000 on 125.
const podsPerNode = 80

// matrix is every size at every throttle, in that order: the small size first, so its figures print early.
func matrix(base options, sizes, throttles string) ([]options, error) {
	var out []options
	for size := range strings.SplitSeq(sizes, ",") {
		groups, members, ok := strings.Cut(strings.TrimSpace(size), "x")
		g, gErr := strconv.Atoi(groups)
		m, mErr := strconv.Atoi(members)
		if !ok || gErr != nil || mErr != nil || g < 1 || m < 1 {
			return nil, fmt.Errorf("-sizes: %q is not GROUPSxMEMBERS", size)
		}
		for throttle := range strings.SplitSeq(throttles, ",") {
			qps, burst, ok := strings.Cut(strings.TrimSpace(throttle), "/")
			q, qErr := strconv.ParseFloat(qps, 64)
			b, bErr := strconv.Atoi(burst)
			if !ok || qErr != nil || bErr != nil || q <= 0 || b < 1 {
				return nil, fmt.Errorf("-throttles: %q is not QPS/BURST", throttle)
			}
			o := base
			o.groups, o.members, o.qps, o.burst = g, m, q, b
			o.nodes = max(12, (g*m+podsPerNode-1)/podsPerNode)
			out = append(out, o)
		}
	}
	return out, nil
}

// waitLimit bounds a wait for all of a size's pods: 10,000 at QPS 20 take a StatefulSet controller some 15 min.
func waitLimit(o options) time.Duration {
	return max(10*time.Minute, time.Duration(o.groups*o.members)*150*time.Millisecond)
}

// summary is one setting's two sides.
type summary struct {
	o           options
	sts, peapod *result
}

// printSummary prints every setting side by side, once all have run.
func printSummary(rows []summary) {
	fmt.Println()
	fmt.Println("Side by side (time to all Ready; requests and writes per pod, all clients; peapod's heap per cached pod):")
	fmt.Printf("%-22s %9s %9s %6s %7s %7s %6s %7s %7s %8s %8s\n", "pods (groups x members)", "STS", "peapod", "ratio",
		"req STS", "req pp", "ratio", "wr STS", "wr pp", "heap/pod", "RSS")
	for _, r := range rows {
		pods := float64(r.o.groups * r.o.members)
		setting := fmt.Sprintf("%d (%dx%d) QPS %g", r.o.groups*r.o.members, r.o.groups, r.o.members, r.o.qps)
		if r.o.peapodOnly {
			fmt.Printf("%-22s %9s %8.1fs %6s %7s %7.1f %6s %7s %7.1f %6.2fKB %5.0fMiB\n", setting, "-",
				r.peapod.allReady.Seconds(), "-", "-", r.peapod.requests/pods, "-", "-", r.peapod.writes/pods,
				r.peapod.heapPerPodKB, r.peapod.rssMiB)
			continue
		}
		fmt.Printf("%-22s %8.1fs %8.1fs %6.2f %7.1f %7.1f %6.2f %7.1f %7.1f %6.2fKB %5.0fMiB\n",
			setting, r.sts.allReady.Seconds(), r.peapod.allReady.Seconds(), r.peapod.allReady.Seconds()/r.sts.allReady.Seconds(),
			r.sts.requests/pods, r.peapod.requests/pods, r.peapod.requests/r.sts.requests,
			r.sts.writes/pods, r.peapod.writes/pods, r.peapod.heapPerPodKB, r.peapod.rssMiB)
	}
	fmt.Println("goals: time ratio <= 0.6 at QPS 20 and <= 0.8 unthrottled; requests ratio <= 1.0; heap <= 4 KB per pod")
}

// selfRSSMiB is this process's resident memory now; 0 if /proc cannot tell.
func selfRSSMiB() float64 {
	kb, _ := procfs.ResidentKB("self")
	return float64(kb) / 1024
}
