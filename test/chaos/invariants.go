package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/test/utils"
)

// The invariants, as the report names them.
const (
	invariantIdentity  = "a"
	invariantDeletion  = "b"
	invariantConverged = "c"
)

var invariantTitles = map[string]string{
	invariantIdentity:  "fenced group: two live Pods of one ordinal, one on a silent node not fenced",
	invariantDeletion:  "member Pod deleted on a node the round did not fault",
	invariantConverged: "round not converged (one live Pod per ordinal, all Ready) in time",
}

// violation is one breach of an invariant, as seen when it happened.
type violation struct {
	invariant string
	at        time.Time
	round     round
	member    utils.Identity
	pod, node string
	// ready says a deleted Pod (b) was Ready when its deletion began: a healthy member.
	ready  bool
	detail string
}

// record keeps a violation; the caller holds w.mu.
func (w *watcher) record(v violation) { w.violations = append(w.violations, v) }

// checkIdentity checks invariant (a) for one member; the caller holds w.mu. A live Pod on a silent node that is
// not fenced may still run, and so may one deleted from the API meanwhile (a ghost): in a fenced group, no other
// Pod of its ordinal may be live at the same time.
func (w *watcher) checkIdentity(m utils.Identity, now time.Time) {
	if !w.groups[m.Group].fenced {
		return
	}
	live := w.members.Live(m)
	for _, g := range w.ghosts {
		if g.Identity == m {
			live = append(live, g)
		}
	}
	if len(live) < 2 {
		return
	}
	for _, p := range live {
		if p.Node == "" || !w.silent[p.Node] || w.fenced[p.Node] {
			continue
		}
		key := fmt.Sprintf("%d/%s", w.round.number, m)
		if w.flagged[key] {
			return
		}
		w.flagged[key] = true
		var others []string
		for _, q := range live {
			if q.UID != p.UID {
				others = append(others, q.String()+w.ghostly(q))
			}
		}
		w.record(violation{invariant: invariantIdentity, at: now, round: w.round, member: m, pod: p.Name, node: p.Node,
			detail: fmt.Sprintf("%s (%s) is on silent, unfenced %s%s; also live: %s", p.Name, p.UID, p.Node, w.ghostly(p),
				strings.Join(sortedStrings(others), ", "))})
		return
	}
}

// ghostly says a Pod is a ghost: gone from the API, maybe running still.
func (w *watcher) ghostly(p utils.MemberPod) string {
	if _, ghost := w.ghosts[p.UID]; ghost {
		return ", deleted from the API while its node was silent"
	}
	return ""
}

// retirement is a member Pod deleted on a healthy node while a Ready replacement of its ordinal, started by a
// migration, was live: allowed if that migration's source is this Pod, which resolve reads.
type retirement struct {
	pod        utils.MemberPod
	ready      bool
	at         time.Time
	round      round
	migrations []string
}

// checkDeletion checks invariant (b) for a Pod whose deletion was just seen; the caller holds w.mu.
func (w *watcher) checkDeletion(p utils.MemberPod, readyBefore bool, now time.Time) {
	if p.Node == "" || w.faulted[p.Node] {
		return // on no node, or on one the round faulted: the fault's
	}
	if p.Migration != "" && !p.WasReady() {
		w.unserved++ // a replacement its migration gave up on: it never was the member
		return
	}
	var migrations []string
	for _, q := range w.members.Live(p.Identity) {
		if q.UID != p.UID && !q.Deleting() && q.Ready && q.Migration != "" {
			migrations = append(migrations, q.Migration)
		}
	}
	if len(migrations) > 0 {
		r := retirement{pod: p, ready: readyBefore, at: now, round: w.round, migrations: sortedStrings(migrations)}
		w.resolving.Go(func() { w.resolve(r) })
		return
	}
	w.record(violation{invariant: invariantDeletion, at: now, round: w.round, member: p.Identity, pod: p.Name, node: p.Node,
		ready: readyBefore, detail: fmt.Sprintf("%s deleted on %s (Ready: %t); no Ready replacement of %s", p.Name, p.Node,
			readyBefore, p.Identity)})
}

// resolve reads the PodMigrations of the Ready replacements: one of them must have the deleted Pod as its source.
// The watch's cache is read first; a migration it does not have yet (or whose source it has not seen) is read
// live, retried through a control-plane outage.
func (w *watcher) resolve(r retirement) {
	sources := map[string]string{}
	for _, name := range r.migrations {
		var m peapodv1alpha1.PodMigration
		key := client.ObjectKey{Namespace: chaosNamespace, Name: name}
		if err := w.cache.Get(w.ctx, key, &m); err == nil && m.Status.SourcePod != "" {
			sources[name] = m.Status.SourcePod
			continue
		}
		_ = wait.PollUntilContextTimeout(w.ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			err := w.reader.Get(ctx, key, &m)
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			if err == nil {
				sources[name] = m.Status.SourcePod
			}
			return err == nil, nil
		})
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range r.migrations {
		if sources[name] == r.pod.Name {
			w.retired++
			return
		}
	}
	var seen []string
	for _, name := range r.migrations {
		seen = append(seen, fmt.Sprintf("%s (source %q)", name, sources[name]))
	}
	w.record(violation{invariant: invariantDeletion, at: r.at, round: r.round, member: r.pod.Identity, pod: r.pod.Name,
		node: r.pod.Node, ready: r.ready, detail: fmt.Sprintf("%s deleted on %s (Ready: %t) while Ready replacements of "+
			"migrations %s ran: none of them moves it", r.pod.Name, r.pod.Node, r.ready, strings.Join(seen, ", "))})
}

// recordUnconverged records invariant (c) for a round whose members did not converge.
func (w *watcher) recordUnconverged(r round, missing []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, m := range missing {
		w.record(violation{invariant: invariantConverged, at: time.Now(), round: r, detail: m})
	}
}

// snapshot returns the violations so far, in the order they happened, and the notes.
func (w *watcher) snapshot() (violations []violation, notes []string, retired, unserved int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := slices.Clone(w.violations)
	slices.SortStableFunc(out, func(a, b violation) int { return a.at.Compare(b.at) })
	return out, slices.Clone(w.notes), w.retired, w.unserved
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}
