// Command cluster starts the simulated cluster (test/cluster) on its own and keeps it until SIGINT or SIGTERM, as
// a user's kind cluster would be kept: `make test-e2e-existing` points the e2e suites at it through its
// kubeconfig (PEAPOD_E2E_KUBECONFIG), so the suites' existing-cluster mode is known to work.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/peapod-io/peapod/test/cluster"
)

func main() {
	flags := flag.NewFlagSet("cluster", flag.ExitOnError)
	nodes := flags.Int("nodes", 3, "kwok nodes")
	kubeconfig := flags.String("kubeconfig", "", "where to copy the admin kubeconfig once the cluster is up (required)")
	_ = flags.Parse(os.Args[1:])
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "cluster: --kubeconfig is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *nodes, *kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, nodes int, kubeconfig string) error {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "[cluster] "+format+"\n", args...) }
	c, err := cluster.Start(ctx, cluster.Options{Nodes: nodes, Timings: cluster.FastTimings, Logf: logf})
	if err != nil {
		return err
	}
	defer c.Stop()
	data, err := os.ReadFile(c.KubeconfigPath)
	if err != nil {
		return err
	}
	// Written whole, then renamed: whoever waits for the file never reads half of it.
	if err := os.WriteFile(kubeconfig+".tmp", data, 0o600); err != nil {
		return err
	}
	if err := os.Rename(kubeconfig+".tmp", kubeconfig); err != nil {
		return err
	}
	logf("kubeconfig at %s; SIGTERM stops the cluster", kubeconfig)
	<-ctx.Done()
	_ = os.Remove(kubeconfig)
	return nil
}
