package nodehealth

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func states(zoneOf func(i int) string, total int, unhealthy ...int) []NodeState {
	out := make([]NodeState, total)
	for i := range out {
		out[i] = NodeState{Name: string(rune('a' + i)), Zone: zoneOf(i)}
	}
	for _, i := range unhealthy {
		out[i].Unhealthy = true
	}
	return out
}

func roundRobin(i int) string { return []string{"zone-a", "zone-b", "zone-c"}[i%3] }
func oneZone(int) string      { return "zone-a" }

func TestAssess(t *testing.T) {
	cases := map[string]struct {
		nodes       []NodeState
		wantCluster bool
		wantZones   []string
	}{
		"all healthy":                                         {nodes: states(roundRobin, 4)},
		"one node of four down: a node failure":               {nodes: states(roundRobin, 4, 1)},
		"every node looks down: the observer's fault, paused": {nodes: states(roundRobin, 4, 0, 1, 2, 3), wantCluster: true},
		"a single node cluster whose node looks down":         {nodes: states(oneZone, 1, 0), wantCluster: true},
		"one zone wholly down while the others live: a zone outage, its members move": {
			nodes: states(roundRobin, 4, 0, 3),
		},
		"two of three nodes down: not more than two, failover goes on": {nodes: states(roundRobin, 3, 0, 1)},
		"five of eight nodes down across zones: more than half of the cluster, paused": {
			nodes: states(roundRobin, 8, 0, 1, 2, 3, 4), wantCluster: true,
		},
		"three of four nodes of one zone down, other zones healthy: paused in that zone": {
			nodes:     append(states(oneZone, 4, 0, 1, 2), NodeState{Name: "x", Zone: "zone-b"}, NodeState{Name: "y", Zone: "zone-b"}, NodeState{Name: "z", Zone: "zone-c"}, NodeState{Name: "w", Zone: "zone-c"}, NodeState{Name: "v", Zone: "zone-c"}),
			wantZones: []string{"zone-a"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := Assess(tc.nodes, DefaultUnhealthyThreshold)
			if d.Cluster != tc.wantCluster {
				t.Errorf("Cluster = %v, want %v (%s)", d.Cluster, tc.wantCluster, d)
			}
			if diff := cmp.Diff(tc.wantZones, d.Zones); diff != "" {
				t.Errorf("Zones mismatch (-want +got):\n%s", diff)
			}
		})
	}
	paused, message := Assess(states(roundRobin, 4, 0, 1, 2, 3), DefaultUnhealthyThreshold).Paused("zone-a")
	if want := "failover paused: 4 of 4 nodes look unhealthy at once (threshold 55%)"; !paused || len(message) < len(want) || message[:len(want)] != want {
		t.Errorf("Paused() = %v, %q; want a message starting %q", paused, message, want)
	}
}

func TestPausedWhenStalled(t *testing.T) {
	d := Assess(states(roundRobin, 4, 0, 1, 2, 3), DefaultUnhealthyThreshold)
	d.Stalled = true
	paused, message := d.Paused("zone-b")
	if want := "4 of 4 nodes silent at once"; !paused || !strings.Contains(message, want) {
		t.Errorf("Paused() = %v, %q; want paused, saying %q", paused, message, want)
	}
	if !d.Active() {
		t.Errorf("a stalled view is not an active disruption")
	}
}
