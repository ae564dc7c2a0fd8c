package utils

import (
	"context"
	"strings"
	"sync"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"
)

// RunUntilCleanup runs fn in a goroutine until the current Ginkgo node's cleanup (the spec's, or the suite's when
// called from BeforeSuite): then its context is cancelled and cleanup waits for it to return. fn gets a context
// of its own, not that of the node that starts it, which ends with that node.
func RunUntilCleanup(fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	ginkgo.DeferCleanup(func() { cancel(); <-done })
	go func() {
		defer ginkgo.GinkgoRecover()
		defer close(done)
		fn(ctx)
	}()
}

// CleanupContext is a context that ends with the current Ginkgo node's cleanup, for what must outlive the node
// that starts it: that node's own context ends with it.
func CleanupContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	ginkgo.DeferCleanup(cancel)
	return ctx
}

// BackgroundCommand is a command running in the background, as in a user's second terminal: its output can be
// read as it comes, and it is stopped when the spec ends if it has not ended by then.
type BackgroundCommand struct {
	out    lockedBuilder
	cancel context.CancelFunc
	// done is closed once the command has exited, with err.
	done chan struct{}
	err  error
}

// StartKubectl runs kubectl in the background until it ends, Stop is called, ctx ends or the spec does.
func (t *TestCluster) StartKubectl(ctx context.Context, args ...string) *BackgroundCommand {
	ctx, cancel := context.WithCancel(ctx)
	cmd := t.Kubectl(ctx, args...)
	b := &BackgroundCommand{cancel: cancel, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &b.out, &b.out
	if err := cmd.Start(); err != nil {
		cancel()
		gomega.Expect(err).NotTo(gomega.HaveOccurred(), "kubectl %v", args)
	}
	go func() {
		defer close(b.done)
		b.err = cmd.Wait()
	}()
	ginkgo.DeferCleanup(b.Stop)
	return b
}

// Output is what the command has written so far, stdout and stderr as they came.
func (b *BackgroundCommand) Output() string { return b.out.String() }

// Wait waits for the command to exit by itself and returns its output and how it exited.
func (b *BackgroundCommand) Wait() (string, error) {
	<-b.done
	return b.Output(), b.err
}

// Stop ends the command if it still runs and returns its output; it may be called again.
func (b *BackgroundCommand) Stop() string {
	b.cancel()
	<-b.done
	return b.Output()
}

// lockedBuilder collects output written from the command's copying goroutines while a spec reads it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
