// Command kubectl-peapod is the kubectl plugin for peapod: `kubectl peapod status GROUP` shows a PodGroup's
// members, where they run and what is moving; `kubectl peapod migrate GROUP MEMBER` moves one member to another
// node make-before-break, through a PodMigration.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	// controller-runtime's client logs nothing worth showing here, and complains if no logger is set.
	ctrllog.SetLogger(logr.Discard())
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(streams).ExecuteContext(ctx)
	stop()
	if err == nil {
		return
	}
	var exit exitCode
	if !errors.As(err, &exit) {
		say(streams.ErrOut, "error: %v", err)
		exit = 1
	}
	os.Exit(int(exit))
}

// exitCode ends the command with that code; whatever there was to say has been said.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit code %d", int(e)) }

// say writes a line for the person at the terminal. A failed write there has nowhere to be reported.
func say(w io.Writer, format string, args ...any) {
	_, _ = fmt.Fprintf(w, format+"\n", args...)
}
