package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/peapod-io/peapod/test/utils"
)

// faultKind is one kind of fault a round injects.
type faultKind int

const (
	faultNodeSilent faultKind = iota + 1
	faultNodeFenced
	faultAllSilent
	faultZoneSilent
	faultDrain
	faultTwoDrains
	faultMigration
	faultManager
	faultAPIServer
	faultEtcd
	faultLeaseSkew
)

// allFaults are the kinds in the order the report lists them.
var allFaults = []faultKind{faultNodeSilent, faultNodeFenced, faultAllSilent, faultZoneSilent, faultDrain, faultTwoDrains,
	faultMigration, faultManager, faultAPIServer, faultEtcd, faultLeaseSkew}

// fault says how to name a kind (in -faults and in the report) and how to inject it: inject returns once the
// fault is over (nodes back, components serving, the drain or migration done), saying what it did.
type fault struct {
	name, title string
	inject      func(f *campaign, ctx context.Context) (string, error)
}

var faults = map[faultKind]fault{
	faultNodeSilent: {"node-silent", "node silent 5-40 s, recovered", (*campaign).nodeSilent},
	faultNodeFenced: {"node-fenced", "node silent, fenced, recovered, unfenced", (*campaign).nodeFenced},
	faultAllSilent:  {"all-silent", "every node silent 30 s", (*campaign).allSilent},
	faultZoneSilent: {"zone-silent", "one zone silent 5-40 s", (*campaign).zoneSilent},
	faultDrain:      {"drain", "kubectl drain, uncordon", (*campaign).drainOne},
	faultTwoDrains:  {"two-drains", "two kubectl drains at once", (*campaign).drainTwo},
	faultMigration:  {"migration", "PodMigration (or one re-created)", (*campaign).migrate},
	faultManager:    {"manager", "manager killed, restarted 0-5 s on", (*campaign).restartManager},
	faultAPIServer:  {"apiserver", "kube-apiserver kill -9, 5-20 s down", (*campaign).restartAPIServer},
	faultEtcd:       {"etcd", "etcd kill -9, 2-10 s down", (*campaign).restartEtcd},
	faultLeaseSkew:  {"lease-skew", "node Lease renewals 15 s behind", (*campaign).skewLease},
}

func (k faultKind) String() string { return faults[k].name }

func faultNames(kinds []faultKind) []string {
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		names = append(names, k.String())
	}
	return names
}

// parseFaults reads -faults: empty means every kind.
func parseFaults(list string) ([]faultKind, error) {
	if list == "" {
		return allFaults, nil
	}
	var kinds []faultKind
	for _, name := range strings.Split(list, ",") {
		i := slices.IndexFunc(allFaults, func(k faultKind) bool { return k.String() == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("-faults: no fault %q; the kinds are %s", name, strings.Join(faultNames(allFaults), ", "))
		}
		if !slices.Contains(kinds, allFaults[i]) {
			kinds = append(kinds, allFaults[i])
		}
	}
	return kinds, nil
}

// next draws the next round's fault: random, from a shuffled deck of every kind, so that a campaign of as many
// rounds as there are kinds injects each once.
func (f *campaign) next() faultKind {
	if len(f.deck) == 0 {
		f.deck = slices.Clone(f.o.faults)
		f.rand.Shuffle(len(f.deck), func(i, j int) { f.deck[i], f.deck[j] = f.deck[j], f.deck[i] })
	}
	k := f.deck[0]
	f.deck = f.deck[1:]
	return k
}

// between is a random duration from lo to hi, to a tenth of a second.
func (f *campaign) between(lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(f.rand.Int64N(int64(hi-lo)+1))).Round(100 * time.Millisecond)
}

// pickNodes picks n distinct nodes at random among those running members (all nodes, when fewer do).
func (f *campaign) pickNodes(n int) []string {
	busy := f.w.nodesWithMembers()
	candidates := slices.DeleteFunc(f.c.Nodes(), func(node string) bool { return busy[node] == 0 })
	if len(candidates) < n {
		candidates = f.c.Nodes()
	}
	f.rand.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	return sortedStrings(candidates[:n])
}

// sleep waits for d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	return utils.SleepUntil(ctx, time.Now().Add(d))
}
