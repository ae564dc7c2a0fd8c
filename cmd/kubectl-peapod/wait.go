package main

import (
	"cmp"
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
	"github.com/peapod-io/peapod/internal/migration"
)

// pollInterval is how often --wait reads the migration.
const pollInterval = 500 * time.Millisecond

// interrupted is the exit code of a wait stopped by Ctrl-C, as a shell reports SIGINT.
const interrupted exitCode = 130

// waitForMigration follows a migration, printing where it is as that changes, until it succeeds (nil), fails (an
// error with its message), the timeout passes (an error) or ctx ends (Ctrl-C: the migration goes on).
func waitForMigration(ctx context.Context, cl client.Client, m *peapodv1alpha1.PodMigration, timeout time.Duration,
	streams genericiooptions.IOStreams) error {
	cancelHint := fmt.Sprintf("kubectl delete podmigration %s -n %s", m.Name, m.Namespace)
	say(streams.Out, "waiting up to %s; Ctrl-C stops waiting, not the migration", timeout)
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	said := ""
	// The API's times are whole seconds; the move is timed here, from the request to seeing it done.
	requested := time.Now()
	var readErr error // the last read's error, if it failed
	err := wait.PollUntilContextCancel(waitCtx, pollInterval, true, func(ctx context.Context) (bool, error) {
		if err := cl.Get(ctx, client.ObjectKeyFromObject(m), m); err != nil {
			if apierrors.IsNotFound(err) {
				return false, fmt.Errorf("podmigration %s was deleted before it finished: the migration is cancelled", m.Name)
			}
			if ctx.Err() == nil {
				readErr = err
			}
			return false, nil // read again at the next tick; the timeout error says what went wrong
		}
		readErr = nil
		if p := progress(m); m.Active() && p != said {
			say(streams.Out, "%s", p)
			said = p
		}
		done, line, err := outcome(m, time.Since(requested))
		if done && err == nil {
			say(streams.Out, "%s", line)
		}
		return done, err
	})
	switch {
	case err == nil || !wait.Interrupted(err):
		return err
	case ctx.Err() != nil:
		say(streams.ErrOut, "stopped waiting; podmigration %s goes on (%s). To cancel it: %s", m.Name, progress(m), cancelHint)
		return interrupted
	case readErr != nil:
		return fmt.Errorf("timed out after %s waiting for podmigration %s, the last read failed: %w. To cancel it: %s",
			timeout, m.Name, readErr, cancelHint)
	default:
		return fmt.Errorf("timed out after %s waiting for podmigration %s (%s); it goes on. To cancel it: %s",
			timeout, m.Name, progress(m), cancelHint)
	}
}

// progress is a migration's phase and message, e.g. "Running: waiting for web-1-m3f9a2 to be Ready on node b".
func progress(m *peapodv1alpha1.PodMigration) string {
	phase := string(cmp.Or(m.Status.Phase, peapodv1alpha1.MigrationPending))
	if m.Status.Message == "" {
		return phase
	}
	return phase + ": " + m.Status.Message
}

// outcome says whether a migration has ended and how: the line to print when it succeeded (with how long it took
// as seen by the caller), the error when it failed.
func outcome(m *peapodv1alpha1.PodMigration, took time.Duration) (done bool, line string, err error) {
	st := m.Status
	switch st.Phase {
	case peapodv1alpha1.MigrationFailed:
		return true, "", fmt.Errorf("podmigration %s failed: %s", m.Name, cmp.Or(st.Message, "no reason given"))
	case peapodv1alpha1.MigrationSucceeded:
		ordinal, ok := migration.OrdinalOf(m, nil)
		if !ok || st.SourceNode == st.TargetNode {
			return true, st.Message, nil
		}
		return true, fmt.Sprintf("member %s moved from node %s to node %s in %s", desired.MemberName(m.Spec.Group, ordinal),
			st.SourceNode, st.TargetNode, elapsed(took)), nil
	}
	return false, "", nil
}
