// Package metrics holds peapod's Prometheus metrics, served by the manager's metrics endpoint.
package metrics

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/peapod-io/peapod/internal/nodehealth"
)

var (
	// FailoverDuration is the time from a node's failure (its last Lease renewal, or the first failure signal) to
	// the replacement member being Ready on another node.
	FailoverDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "peapod_failover_duration_seconds",
		Help:    "Seconds from a node's failure to its member's replacement being Ready, by fencing policy.",
		Buckets: []float64{1, 2, 5, 10, 15, 20, 25, 30, 45, 60, 120, 300},
	}, []string{"fencing"})

	// Replacements counts members moved off their node, by reason (NodeFailed, Drain, Requested) and result
	// (replaced for a failover; succeeded or failed for a migration).
	Replacements = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "peapod_migrations_total",
		Help: "Members moved off their node, by reason and result.",
	}, []string{"reason", "result"})

	// AwaitingFencing is how many members of a group wait for their failed node to be fenced.
	AwaitingFencing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "peapod_members_awaiting_fencing",
		Help: "Members on failed nodes that wait for the node to be fenced (fencing: Required).",
	}, []string{"namespace", "group"})

	// FailoverPaused is 1 while failovers stop because too much of the cluster looks unhealthy at once: for the
	// whole cluster (zone "") or for one zone.
	FailoverPaused = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "peapod_failover_paused",
		Help: "1 while failovers are paused because too many nodes look unhealthy at once, cluster-wide (zone \"\") or in a zone.",
	}, []string{"zone"})
)

var registerOnce sync.Once

// Register adds the metrics to controller-runtime's registry (once per process).
func Register() {
	registerOnce.Do(func() {
		ctrlmetrics.Registry.MustRegister(FailoverDuration, Replacements, AwaitingFencing, FailoverPaused)
	})
}

// Failovers remembers, per member, when the node failure that is replacing it began, until the replacement is
// Ready and the duration is observed.
type Failovers struct {
	mu      sync.Mutex
	pending map[string]failover
}

type failover struct {
	since time.Time
	// admitted is when the failover took its slot: the slot's age is counted from it, not from the failure (a
	// late fence or a long manager outage would otherwise purge fresh entries and stop the cap capping).
	admitted time.Time
	fencing  string
	oldUID   types.UID
}

// NewFailovers returns an empty tracker.
func NewFailovers() *Failovers { return &Failovers{pending: map[string]failover{}} }

// pendingLimit drops a replacement that never became Ready (its group was deleted, or it cannot be placed), so
// it neither holds the cluster-wide cap nor the memory forever.
const pendingLimit = 10 * time.Minute

// TryStart records that member (namespace/name), whose Pod has oldUID, is to be replaced because its node failed
// at since, unless limit (> 0) replacements are already in flight across all groups. It reports whether the
// replacement may go ahead. now is the current time.
func (f *Failovers) TryStart(member string, oldUID types.UID, since time.Time, fencing string, limit int, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for m, fo := range f.pending {
		if now.Sub(fo.admitted) > pendingLimit {
			delete(f.pending, m)
			Replacements.WithLabelValues("NodeFailed", "abandoned").Inc()
		}
	}
	if _, ok := f.pending[member]; ok {
		return true
	}
	if limit > 0 && len(f.pending) >= limit {
		return false
	}
	f.pending[member] = failover{since: since, admitted: now, fencing: fencing, oldUID: oldUID}
	return true
}

// HasRoom says whether TryStart could admit member now: it is in flight already, or fewer than limit (> 0) are.
// A group checks it before the live re-read a failover needs, so that members waiting for a slot cost no request:
// in a zone outage hundreds wait, and their re-reads would take the client's QPS from the failovers in flight.
func (f *Failovers) HasRoom(member string, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, pending := f.pending[member]
	return pending || limit <= 0 || len(f.pending) < limit
}

// Ready observes the failover of member, if one is pending and uid is the replacement, as finished at now.
func (f *Failovers) Ready(member string, uid types.UID, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fo, ok := f.pending[member]; ok && fo.oldUID != uid {
		FailoverDuration.WithLabelValues(fo.fencing).Observe(now.Sub(fo.since).Seconds())
		delete(f.pending, member)
	}
}

// SetFailoverPaused publishes a disruption state: the cluster-wide gauge, and one per zone paused now; zones
// paused before and not now are removed. Called on a change only, so a second manager in the same process (tests)
// does not overwrite it every second.
func SetFailoverPaused(d nodehealth.Disruption, before []string) {
	FailoverPaused.WithLabelValues("").Set(boolGauge(d.Cluster || d.Stalled))
	for _, zone := range before {
		if !slices.Contains(d.Zones, zone) {
			FailoverPaused.DeleteLabelValues(zone)
		}
	}
	for _, zone := range d.Zones {
		FailoverPaused.WithLabelValues(zone).Set(1)
	}
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
