package main

import (
	"context"
	"time"

	"github.com/peapod-io/peapod/test/utils"
)

// binary is a command of this repository being built in the background.
type binary struct {
	what string
	done chan struct{}
	path string
	err  error
}

// buildInBackground builds the manager, then the kubectl plugin, each into a directory of its own, while the
// cluster starts. The manager comes first: the story needs it first.
func buildInBackground(ctx context.Context, say func(string, ...any)) (manager, plugin *binary) {
	manager = &binary{what: "the manager (go build .)", done: make(chan struct{})}
	plugin = &binary{what: "the kubectl plugin (go build ./cmd/kubectl-peapod)", done: make(chan struct{})}
	say("building %s and %s in the background", manager.what, plugin.what)
	go func() {
		manager.build(ctx, ".", "manager", say)
		plugin.build(ctx, "./cmd/kubectl-peapod", "kubectl-peapod", say)
	}()
	return manager, plugin
}

func (b *binary) build(ctx context.Context, pkg, name string, say func(string, ...any)) {
	defer close(b.done)
	started := time.Now()
	b.path, b.err = utils.Build(ctx, ".", pkg, name)
	if b.err == nil {
		say("built %s in %s", b.what, seconds(time.Since(started)))
	}
}

// wait returns the binary's path once it is built, saying so if it has to wait.
func (b *binary) wait(ctx context.Context, say func(string, ...any)) (string, error) {
	select {
	case <-b.done:
	default:
		say("waiting for the build of %s", b.what)
	}
	select {
	case <-b.done:
		return b.path, b.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
