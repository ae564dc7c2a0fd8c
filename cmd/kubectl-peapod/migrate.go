package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/desired"
)

// migrateOptions are the flags of migrate.
type migrateOptions struct {
	to      string
	wait    bool
	timeout time.Duration
}

func newMigrateCommand(c cluster, streams genericiooptions.IOStreams) *cobra.Command {
	var o migrateOptions
	cmd := &cobra.Command{
		Use:   "migrate GROUP MEMBER",
		Short: "Move a member of a PodGroup to another node, make-before-break",
		Long: `Create a PodMigration that moves one member of a PodGroup to another node: a replacement with the member's
identity starts there, and the member's old Pod is retired only once the replacement is Ready.

MEMBER is an ordinal (1), a member name (web-1) or the name of the member's Pod (web-1-m3f9a2).
Without --to the scheduler picks any node but the member's current one.
With --wait the command follows the migration until it succeeds or fails. Interrupting the wait leaves the
migration running; delete the PodMigration to cancel it.`,
		Example: `  kubectl peapod migrate web 1
  kubectl peapod migrate web web-1 --to node-b --wait
  kubectl peapod migrate web web-1-m3f9a2 --wait --timeout 10m`,
		Args: argsNamed("GROUP", "MEMBER"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("timeout") && !o.wait {
				return errors.New("--timeout only applies with --wait")
			}
			if o.timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
			}
			return o.run(cmd.Context(), c, streams, args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&o.to, "to", "", "Node to move the member to (default: any node but its current one).")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "Wait until the migration has succeeded or failed.")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 5*time.Minute, "How long --wait waits.")
	return cmd
}

func (o migrateOptions) run(ctx context.Context, c cluster, streams genericiooptions.IOStreams, group, memberArg string) error {
	cl, namespace, err := c.connect()
	if err != nil {
		return err
	}
	g, err := getGroup(ctx, cl, namespace, group)
	if err != nil {
		return err
	}
	ordinal, err := resolveMember(ctx, cl, g, memberArg)
	if err != nil {
		return err
	}
	if o.to != "" {
		// A typo is caught here; anything else (no right to read Nodes) is left for the migration to report.
		if err := cl.Get(ctx, client.ObjectKey{Name: o.to}, &corev1.Node{}); apierrors.IsNotFound(err) {
			return fmt.Errorf("node %s not found", o.to)
		}
	}
	m := newMigration(g, ordinal, o.to)
	if err := cl.Create(ctx, m); err != nil {
		return fmt.Errorf("creating a podmigration for member %s: %w", desired.MemberName(group, ordinal), err)
	}
	say(streams.Out, "podmigration.%s/%s created", peapodv1alpha1.GroupVersion.Group, m.Name)
	if !o.wait {
		return nil
	}
	return waitForMigration(ctx, cl, m, o.timeout, streams)
}

// resolveMember turns migrate's MEMBER argument into an ordinal of the group, reading the Pod it names if it
// names one.
func resolveMember(ctx context.Context, cl client.Client, g *peapodv1alpha1.PodGroup, arg string) (int, error) {
	ordinal, ok := parseMember(g.Name, arg)
	if !ok {
		pod := &corev1.Pod{}
		err := cl.Get(ctx, client.ObjectKey{Namespace: g.Namespace, Name: arg}, pod)
		switch {
		case apierrors.IsNotFound(err):
			return 0, fmt.Errorf("podgroup %s has no member or pod %q: MEMBER is an ordinal (1), a member name (%s) "+
				"or a member's pod name", g.Name, arg, desired.MemberName(g.Name, 1))
		case err != nil:
			return 0, fmt.Errorf("reading pod %s: %w", arg, err)
		}
		if ordinal, err = memberOfPod(g.Name, pod); err != nil {
			return 0, err
		}
	}
	if err := checkMember(g, ordinal); err != nil {
		return 0, err
	}
	return ordinal, nil
}

// newMigration is the PodMigration that moves member ordinal of the group, to node `to` if it is set.
func newMigration(g *peapodv1alpha1.PodGroup, ordinal int, to string) *peapodv1alpha1.PodMigration {
	m := &peapodv1alpha1.PodMigration{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: desired.MemberName(g.Name, ordinal) + "-",
			Namespace:    g.Namespace,
			Labels:       map[string]string{peapodv1alpha1.GroupLabel: g.Name},
		},
		Spec: peapodv1alpha1.PodMigrationSpec{Group: g.Name, Member: ptr.To(int32(ordinal))},
	}
	if to != "" {
		m.Spec.Target = &peapodv1alpha1.MigrationTarget{NodeName: to}
	}
	return m
}
