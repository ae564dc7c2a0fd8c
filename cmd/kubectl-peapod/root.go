package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	peapodv1alpha1 "github.com/peapod-io/peapod/api/v1alpha1"
	"github.com/peapod-io/peapod/internal/scheme"
)

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	root := &cobra.Command{
		Use:   "kubectl-peapod",
		Short: "Inspect PodGroups and move their members between nodes",
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: "kubectl peapod",
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	flags.AddFlags(root.PersistentFlags())
	c := cluster{flags: flags}
	root.AddCommand(newStatusCommand(c, streams), newMigrateCommand(c, streams))
	return root
}

// cluster is the API server and namespace the kubeconfig flags (--kubeconfig, --context, -n, ...) name.
type cluster struct {
	flags *genericclioptions.ConfigFlags
}

// connect returns a client for the cluster and the namespace to work in.
func (c cluster) connect() (client.Client, string, error) {
	namespace, _, err := c.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	cfg, err := c.flags.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cl, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the cluster: %w", err)
	}
	return cl, namespace, nil
}

// getGroup reads a PodGroup, saying plainly when it, or peapod itself, is not there.
func getGroup(ctx context.Context, cl client.Client, namespace, name string) (*peapodv1alpha1.PodGroup, error) {
	g := &peapodv1alpha1.PodGroup{}
	err := cl.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, g)
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("podgroup %s not found in namespace %s", name, namespace)
	case meta.IsNoMatchError(err):
		return nil, fmt.Errorf("the cluster does not know the PodGroup kind (%s): is peapod installed?", peapodv1alpha1.GroupVersion)
	case err != nil:
		return nil, fmt.Errorf("reading podgroup %s: %w", name, err)
	}
	return g, nil
}

// argsNamed accepts exactly the named positional arguments, and names them when they are not all there.
func argsNamed(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		return fmt.Errorf("usage: %s %s; see '%s --help'", cmd.CommandPath(), strings.Join(names, " "), cmd.CommandPath())
	}
}
