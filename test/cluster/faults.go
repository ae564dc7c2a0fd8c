package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
)

// Faults a test injects into the running cluster. Each one is undone by the cluster's Stop if the test does not
// undo it itself, so a failed test leaves nothing running.

// restartReadyTimeout bounds how long a restarted component may take to serve again.
const restartReadyTimeout = 60 * time.Second

// RestartAPIServer kills kube-apiserver with SIGKILL, as the OOM killer or a crashed control-plane host would,
// leaves it down for `down`, then starts it again with the same flags (and so the same port, certificates and
// etcd) and returns once /readyz answers.
func (c *Cluster) RestartAPIServer(ctx context.Context, down time.Duration) error {
	return c.restart(ctx, componentAPIServer, down, c.apiServerReady)
}

// RestartEtcd does the same to etcd; its data directory stays. It returns once etcd is healthy and
// kube-apiserver, which reconnects by itself, is ready again.
func (c *Cluster) RestartEtcd(ctx context.Context, down time.Duration) error {
	return c.restart(ctx, componentEtcd, down, func(ctx context.Context, p *process) bool {
		url, err := etcdClientURL(p.args)
		return err == nil && httpOK(ctx, http.DefaultClient, url+"/health") && c.apiServerReady(ctx, nil)
	})
}

func (c *Cluster) restart(ctx context.Context, name string, down time.Duration, ready func(context.Context, *process) bool) error {
	i, old := c.component(name)
	if old == nil {
		return fmt.Errorf("%s is not part of this cluster", name)
	}
	old.kill()
	c.logf("%s killed with SIGKILL; down for %s", name, down)
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return fmt.Errorf("%s left down: %w", name, ctx.Err())
	}
	p, err := launch(name, old.binary, old.args, old.logPath, os.O_APPEND)
	if err != nil {
		return fmt.Errorf("restarting %s: %w", name, err)
	}
	// In the same place, so Stop still stops the components in reverse start order.
	c.mu.Lock()
	c.procs[i] = p
	c.mu.Unlock()
	c.supervise(p)
	started := time.Now()
	if err := p.waitUntil(ctx, restartReadyTimeout, func(ctx context.Context) bool { return ready(ctx, p) }); err != nil {
		return err
	}
	c.logf("%s restarted; serving after %s", name, since(started))
	return nil
}

// component finds a running component's process and its place in start order.
func (c *Cluster) component(name string) (int, *process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, p := range c.procs {
		if p.name == name {
			return i, p
		}
	}
	return -1, nil
}

func (c *Cluster) apiServerReady(ctx context.Context, _ *process) bool {
	httpClient, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		return false
	}
	return httpOK(ctx, httpClient, strings.TrimSuffix(c.Config.Host, "/")+"/readyz")
}

func etcdClientURL(args []string) (string, error) {
	for _, arg := range args {
		if url, ok := strings.CutPrefix(arg, "--listen-client-urls="); ok {
			return strings.Split(url, ",")[0], nil
		}
	}
	return "", errors.New("etcd has no --listen-client-urls")
}

// kill sends SIGKILL to the process group and waits until the process is gone.
func (p *process) kill() {
	p.deliberate.Store(true)
	if p.hasExited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// SkewNodeClock makes a node behave as one whose clock is `behind` the real clock: kwok stops managing it (as
// FailNode), and the cluster renews its Lease instead, as often as a kubelet does (every quarter of the Lease
// duration), stamping each renewal `behind` in the past. The controller-manager, which times a Lease by when it
// sees it change, keeps the node Ready; its Pods keep running. stop ends the renewals, and the node goes silent;
// RecoverNode hands it back to kwok. Stop (of the cluster) stops the renewals too.
func (c *Cluster) SkewNodeClock(ctx context.Context, name string, behind time.Duration) (stop func(), err error) {
	if err := c.FailNode(ctx, name); err != nil {
		return nil, err
	}
	// The first renewal before returning: the node never looks silent.
	if err := c.renewLease(ctx, name, behind); err != nil {
		return nil, err
	}
	lease, err := c.NodeLease(ctx, name)
	if err != nil {
		return nil, err
	}
	every := 10 * time.Second
	if d := lease.Spec.LeaseDurationSeconds; d != nil {
		every = time.Duration(*d) * time.Second / 4
	}
	renewCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		next := every
		for {
			select {
			case <-renewCtx.Done():
				return
			case <-time.After(next):
			}
			next = every
			if err := c.renewLease(renewCtx, name, behind); err != nil && renewCtx.Err() == nil {
				// A kubelet retries a failed renewal soon, not a whole interval later.
				c.logf("renewing the Lease of node %s (clock %s behind): %v", name, behind, err)
				next = time.Second
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			c.logf("node %s (clock %s behind) stopped renewing its Lease", name, behind)
		})
	}
	c.mu.Lock()
	c.faults = append(c.faults, stop)
	c.mu.Unlock()
	c.logf("node %s renews its Lease every %s with a clock %s behind", name, every, behind)
	return stop, nil
}

// renewLease writes the node Lease's renewTime as a kubelet whose clock is `behind` would.
func (c *Cluster) renewLease(ctx context.Context, name string, behind time.Duration) error {
	lease, err := c.NodeLease(ctx, name)
	if err != nil {
		return err
	}
	lease.Spec.RenewTime = &metav1.MicroTime{Time: time.Now().Add(-behind)}
	_, err = c.Clientset.CoordinationV1().Leases(corev1.NamespaceNodeLease).Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// stopFaults undoes the faults still injected (stop functions are idempotent).
func (c *Cluster) stopFaults() {
	c.mu.Lock()
	faults := c.faults
	c.faults = nil
	c.mu.Unlock()
	for _, stop := range faults {
		stop()
	}
}

// PauseKubelet stops a node's kubelet from acting for a moment, as a busy node or a slow image pull does: the
// Pods it runs stay as they are, new ones bound to it stay Pending. It waits for the node's next Lease renewal
// first, so that a pause shorter than the renewal interval (10 s by default) never makes the node look silent.
// resume hands the node back to kwok and waits until it is Ready (RecoverNode).
func (c *Cluster) PauseKubelet(ctx context.Context, name string) (resume func(context.Context) error, err error) {
	lease, err := c.NodeLease(ctx, name)
	if err != nil {
		return nil, err
	}
	renewed := func(ctx context.Context) (bool, error) {
		now, err := c.NodeLease(ctx, name)
		if err != nil {
			return false, nil // transient: retried until the timeout
		}
		return now.ResourceVersion != lease.ResourceVersion, nil
	}
	if err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, renewed); err != nil {
		return nil, fmt.Errorf("node %s did not renew its Lease: %w", name, err)
	}
	if err := c.FailNode(ctx, name); err != nil {
		return nil, err
	}
	c.logf("kubelet of node %s paused", name)
	return func(ctx context.Context) error { return c.RecoverNode(ctx, name) }, nil
}
