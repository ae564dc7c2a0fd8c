package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// roundResult is what one round did and how the groups came out of it.
type roundResult struct {
	round
	what string
	// started is just before the fault, ended once it was over, converged when every member was whole again
	// (zero if not within the timeout, and then lost members were not).
	started, ended, converged time.Time
	lost                      int
	// faultErr is a fault that did not go as planned (a drain that timed out, a migration that failed).
	faultErr error
}

// campaign runs the rounds.
type campaign struct {
	o      options
	c      *cluster.Cluster
	mgr    *manager
	w      *watcher
	groups []group
	client client.Client
	rand   *rand.Rand
	logf   func(string, ...any)
	// started is when the groups were up, before the first round.
	started time.Time

	deck       []faultKind
	round      int
	rounds     []roundResult
	migrations []userMigration
	notes      []string
}

func newCampaign(o options, c *cluster.Cluster, mgr *manager, w *watcher, groups []group, logf func(string, ...any)) *campaign {
	return &campaign{o: o, c: c, mgr: mgr, w: w, groups: groups, client: utils.NewClient(c.Config),
		rand: rand.New(rand.NewPCG(o.seed, 0)), logf: logf, started: time.Now()}
}

// run runs the rounds one after the other: a fault, then the wait for convergence. It stops early only when ctx
// ends or a component of the cluster died.
func (f *campaign) run(ctx context.Context) error {
	for f.round = 1; f.round <= f.o.rounds; f.round++ {
		if err := f.runRound(ctx, f.next()); err != nil {
			return err
		}
	}
	return nil
}

func (f *campaign) runRound(ctx context.Context, kind faultKind) error {
	r := roundResult{round: round{number: f.round, kind: kind}}
	f.logf("round %d/%d: %s", f.round, f.o.rounds, faults[kind].title)
	f.w.beginRound(f.round, kind)
	defer f.w.endRound()
	r.started = time.Now()
	r.what, r.faultErr = faults[kind].inject(f, ctx)
	r.ended = time.Now()
	f.logf("round %d: %s", f.round, r.what)
	if ctx.Err() != nil {
		f.rounds = append(f.rounds, r)
		return ctx.Err()
	}
	if err := f.c.Failed(); err != nil {
		return err
	}
	if r.faultErr != nil {
		f.note("round %d (%s): %v", f.round, kind, r.faultErr)
	}
	converged, missing, err := f.w.waitConverged(ctx, f.c, f.o.convergeTimeout)
	f.rounds = append(f.rounds, r)
	if err != nil {
		return err
	}
	last := &f.rounds[len(f.rounds)-1]
	if len(missing) > 0 {
		last.lost = len(missing)
		f.w.recordUnconverged(last.round, missing)
		f.logf("round %d: NOT converged %s after the fault: %s", f.round, f.o.convergeTimeout, strings.Join(missing, "; "))
		return nil
	}
	last.converged = converged
	f.logf("round %d: converged %.1fs after the fault began, %.1fs after it ended", f.round,
		converged.Sub(r.started).Seconds(), converged.Sub(r.ended).Seconds())
	return nil
}

// note keeps something the report says after the table, and logs it.
func (f *campaign) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	f.notes = append(f.notes, s)
	f.logf("note: %s", s)
}
