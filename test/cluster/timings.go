package cluster

import "time"

// Timings are the node-lifecycle settings of the simulated cluster: how often "kubelets" (kwok) renew their node
// Lease, when the controller-manager marks a silent node NotReady, and how long pods tolerate that.
type Timings struct {
	// NodeLeaseDuration is the node Lease duration kwok writes; it renews the Lease every quarter of it.
	NodeLeaseDuration time.Duration
	// NodeMonitorGracePeriod is how long a node may be silent before the controller-manager marks it NotReady.
	NodeMonitorGracePeriod time.Duration
	// NodeMonitorPeriod is how often the controller-manager checks node health.
	NodeMonitorPeriod time.Duration
	// DefaultTolerationSeconds is what the DefaultTolerationSeconds admission plugin gives every pod for the
	// not-ready and unreachable taints, i.e. how long a pod stays bound to a dead node before it is evicted.
	DefaultTolerationSeconds int
}

// DefaultTimings are Kubernetes' own defaults: what users' clusters have.
var DefaultTimings = Timings{
	NodeLeaseDuration:        40 * time.Second,
	NodeMonitorGracePeriod:   50 * time.Second,
	NodeMonitorPeriod:        5 * time.Second,
	DefaultTolerationSeconds: 300,
}

// FastTimings make node failure visible within seconds, for tests of the cluster itself.
var FastTimings = Timings{
	NodeLeaseDuration:        4 * time.Second,
	NodeMonitorGracePeriod:   3 * time.Second,
	NodeMonitorPeriod:        500 * time.Millisecond,
	DefaultTolerationSeconds: 0,
}

// StartTimeout bounds Start: each component gets its own shorter limit, this one covers them all.
const StartTimeout = 3 * time.Minute
