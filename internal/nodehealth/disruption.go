package nodehealth

import (
	"fmt"
	"slices"
	"strings"
)

// ZoneLabel is the well-known label that names a node's zone.
const ZoneLabel = "topology.kubernetes.io/zone"

// DefaultUnhealthyThreshold is the share of unhealthy nodes at which failover stops, Kubernetes' own
// --unhealthy-zone-threshold.
const DefaultUnhealthyThreshold = 0.55

// NodeState is one node as the disruption assessment sees it.
type NodeState struct {
	Name      string
	Zone      string
	Unhealthy bool
}

// Disruption says where failovers stop because too much of the cluster looks unhealthy at once, as the node
// lifecycle controller's zone states do (ComputeZoneState): a zone is fully disrupted when all its nodes look
// unhealthy and partially when more than two and at least the threshold's share do. When every zone is fully
// disrupted, or the whole cluster is partially, the fault is likelier the observer's (a control-plane outage, a
// network split around the manager) and no member is replaced anywhere; in a partially disrupted zone none is
// replaced there. A zone that is wholly down while others are healthy is a real zone outage: its members move.
type Disruption struct {
	Threshold float64
	// Cluster says failovers stop everywhere.
	Cluster bool
	// Zones are the zones, other than that, where failovers stop.
	Zones []string
	// Stalled says the manager's own view is broken (no Lease changed anywhere for a renew interval, or a live
	// read failed): failovers stop everywhere, whatever the counts.
	Stalled bool
	// Unhealthy and Total count the nodes cluster-wide.
	Unhealthy, Total int
	zones            map[string]zoneCount
}

type zoneCount struct{ unhealthy, total int }

// Assess computes the disruption state of the cluster.
func Assess(nodes []NodeState, threshold float64) Disruption {
	d := Disruption{Threshold: threshold, zones: map[string]zoneCount{}}
	for _, n := range nodes {
		z := d.zones[n.Zone]
		z.total++
		d.Total++
		if n.Unhealthy {
			z.unhealthy++
			d.Unhealthy++
		}
		d.zones[n.Zone] = z
	}
	allFull := len(d.zones) > 0
	for name, z := range d.zones {
		full, partial := z.state(threshold)
		allFull = allFull && full
		if partial {
			d.Zones = append(d.Zones, name)
		}
	}
	d.Cluster = allFull || partiallyDisrupted(d.Unhealthy, d.Total, threshold)
	slices.Sort(d.Zones)
	return d
}

func (z zoneCount) state(threshold float64) (full, partial bool) {
	if z.unhealthy > 0 && z.unhealthy == z.total {
		return true, false
	}
	return false, partiallyDisrupted(z.unhealthy, z.total, threshold)
}

func partiallyDisrupted(unhealthy, total int, threshold float64) bool {
	return unhealthy > 2 && float64(unhealthy) >= threshold*float64(total)
}

// PausedPrefix starts every message that says failovers are paused.
const PausedPrefix = "failover paused"

// Paused says whether failovers off a node in zone stop, and why, with the figures.
func (d Disruption) Paused(zone string) (bool, string) {
	if d.Stalled {
		return true, fmt.Sprintf(PausedPrefix+": the manager has seen no node renew its Lease lately (%d of %d nodes silent at "+
			"once): its view of the cluster may be stalled (an API server or etcd outage) or every node is down, so peapod "+
			"replaces no member until renewals are seen again (fenced nodes excepted)", d.Unhealthy, d.Total)
	}
	if d.Cluster {
		return true, fmt.Sprintf(PausedPrefix+": %d of %d nodes look unhealthy at once (threshold %.0f%%); the fault is likelier "+
			"the control plane's or the network's than the nodes', so peapod replaces no member until fewer do (fenced nodes excepted)",
			d.Unhealthy, d.Total, d.Threshold*100)
	}
	if slices.Contains(d.Zones, zone) {
		z := d.zones[zone]
		return true, fmt.Sprintf(PausedPrefix+" in zone %s: %d of its %d nodes look unhealthy at once (threshold %.0f%%); "+
			"peapod replaces no member there until fewer do (fenced nodes excepted)", zone, z.unhealthy, z.total, d.Threshold*100)
	}
	return false, ""
}

// Active says failovers stop anywhere.
func (d Disruption) Active() bool { return d.Stalled || d.Cluster || len(d.Zones) > 0 }

// String names the state for logs and events.
func (d Disruption) String() string {
	switch {
	case d.Stalled:
		return fmt.Sprintf("stalled: %d of %d nodes silent", d.Unhealthy, d.Total)
	case d.Cluster:
		return fmt.Sprintf("cluster: %d of %d nodes unhealthy", d.Unhealthy, d.Total)
	case len(d.Zones) > 0:
		return "zones " + strings.Join(d.Zones, ", ")
	}
	return "normal"
}

// Avoid lists the nodes new Pods keep off: those failed says are (judged unhealthy, or observed silent). It is
// never nil, and never all of the nodes: a list that would leave a Pod no node at all is no list, and the Pod
// waits for the scheduler rather than for a node to come back.
func Avoid(nodes []string, failed func(name string) bool) []string {
	out := []string{}
	for _, name := range nodes {
		if failed(name) {
			out = append(out, name)
		}
	}
	if len(out) >= len(nodes) {
		return []string{}
	}
	return out
}
