package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
)

// drainTimeout bounds a kubectl drain: peapod's budget makes it retry until every Ready member has moved.
const drainTimeout = 3 * time.Minute

// drainOne drains a node that runs members with kubectl, as an administrator does, and uncordons it.
func (f *campaign) drainOne(ctx context.Context) (string, error) {
	return f.drain(ctx, f.pickNodes(1))
}

// drainTwo drains two nodes at once.
func (f *campaign) drainTwo(ctx context.Context) (string, error) {
	return f.drain(ctx, f.pickNodes(2))
}

func (f *campaign) drain(ctx context.Context, nodes []string) (string, error) {
	parts := make([]string, 0, len(nodes))
	for _, node := range nodes {
		parts = append(parts, fmt.Sprintf("%s (%s)", node, strings.Join(f.w.podsOn(node), " ")))
	}
	f.w.faultNodes(nodes...)
	started := time.Now()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, node := range nodes {
		wg.Go(func() {
			out, err := f.c.Kubectl(ctx, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
				fmt.Sprintf("--timeout=%s", drainTimeout)).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("kubectl drain %s: %w: %s", node, err, lastLine(out))
			}
		})
	}
	wg.Wait()
	what := fmt.Sprintf("drained %s in %.1fs", strings.Join(parts, ", "), time.Since(started).Seconds())
	for _, node := range nodes {
		if out, err := f.c.Kubectl(ctx, "uncordon", node).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("kubectl uncordon %s: %w: %s", node, err, lastLine(out)))
		}
	}
	return what, errors.Join(errs...)
}

// userMigration is a PodMigration the campaign created, kept to re-create it under its name.
type userMigration struct {
	name, group string
	member      int32
}

// migrate requests a PodMigration of a random member, anywhere; every other time (once one exists) it deletes an
// earlier one and creates it again under the same name, as a user re-applying a manifest does. It returns once
// the migration has finished.
func (f *campaign) migrate(ctx context.Context) (string, error) {
	var m userMigration
	recreate := len(f.migrations) > 0 && f.rand.IntN(2) == 0
	if recreate {
		m = f.migrations[f.rand.IntN(len(f.migrations))]
	} else {
		g := f.groups[f.rand.IntN(len(f.groups))]
		m = userMigration{group: g.name, member: int32(f.rand.IntN(g.replicas))}
		m.name = fmt.Sprintf("move-%s-%d", m.group, m.member)
		for _, old := range f.migrations {
			recreate = recreate || old.name == m.name
		}
		if !recreate {
			f.migrations = append(f.migrations, m)
		}
	}
	what := fmt.Sprintf("PodMigration %s of member %s-%d", m.name, m.group, m.member)
	if recreate {
		what = "re-created " + what
		if err := f.deleteMigration(ctx, m.name); err != nil {
			return what, err
		}
	}
	obj := &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{Name: m.name, Namespace: chaosNamespace},
		Spec:       peapodv1alpha1.PodMigrationSpec{Group: m.group, Member: ptr.To(m.member)},
	}
	if err := f.client.Create(ctx, obj); err != nil {
		return what, fmt.Errorf("creating PodMigration %s: %w", m.name, err)
	}
	var status peapodv1alpha1.PodMigrationStatus
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, f.o.convergeTimeout, true, func(ctx context.Context) (bool, error) {
		if err := f.client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, nil // through an outage: retried until the timeout
		}
		status = obj.Status
		return status.Phase == peapodv1alpha1.MigrationSucceeded || status.Phase == peapodv1alpha1.MigrationFailed, nil
	})
	what += fmt.Sprintf(": %s %s -> %s %s", status.SourcePod, status.SourceNode, status.ReplacementPod, status.TargetNode)
	switch {
	case err != nil:
		return what, fmt.Errorf("PodMigration %s not finished after %s (phase %q: %s): %w", m.name, f.o.convergeTimeout,
			status.Phase, status.Message, err)
	case status.Phase == peapodv1alpha1.MigrationFailed:
		return what, fmt.Errorf("PodMigration %s Failed: %s", m.name, status.Message)
	}
	return what, nil
}

// deleteMigration deletes a PodMigration and waits until it is gone; one already gone is fine.
func (f *campaign) deleteMigration(ctx context.Context, name string) error {
	obj := &peapodv1alpha1.PodMigration{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: chaosNamespace}}
	if err := f.client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting PodMigration %s: %w", name, err)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		return apierrors.IsNotFound(f.client.Get(ctx, client.ObjectKeyFromObject(obj), obj)), nil
	})
}

// lastLine is the last line of a command's output: kubectl's error.
func lastLine(out []byte) string {
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	return string(lines[len(lines)-1])
}
