package cluster

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// A control-plane component that exits on its own is started again, as the kubelet restarts a static Pod
// (restartPolicy Always, with a back-off): kube-scheduler, for one, exits by design when it finds its cache
// corrupted, and a real cluster carries on. Every such restart is kept, so a test or the chaos report can say so;
// a component that keeps exiting is given up on, and Failed names it.

// Restart is one exit of a component that nobody asked for, and what the cluster did about it.
type Restart struct {
	Component string
	At        time.Time
	// Reason is the last line the component logged before it exited, with how it exited.
	Reason string
}

const (
	// crashLoopLimit exits of one component within crashLoopWindow make it crash-looping: it is left down.
	crashLoopLimit  = 5
	crashLoopWindow = 5 * time.Minute
	firstBackoff    = time.Second
	maxBackoff      = 10 * time.Second
)

// Restarts are the unrequested exits seen so far, oldest first.
func (c *Cluster) Restarts() []Restart {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Restart(nil), c.restarts...)
}

// supervise waits for p to exit and, unless the exit was asked for, starts it again in its place.
func (c *Cluster) supervise(p *process) {
	go func() {
		<-p.exited
		if p.deliberate.Load() {
			return
		}
		c.mu.Lock()
		if c.stopping {
			c.mu.Unlock()
			return
		}
		r := Restart{Component: p.name, At: time.Now(), Reason: fmt.Sprintf("%v: %s", p.waitErr, strings.TrimSpace(p.logTail(1)))}
		c.restarts = append(c.restarts, r)
		recent := c.recentRestarts(p.name, r.At)
		if recent > crashLoopLimit {
			c.gaveUp = append(c.gaveUp, fmt.Errorf("%s is crash-looping (%d exits in %s), left down: %w", p.name, recent,
				crashLoopWindow, p.exitError()))
			c.mu.Unlock()
			c.logf("%s exited (%s); crash-looping, left down", p.name, r.Reason)
			return
		}
		c.mu.Unlock()
		backoff := min(firstBackoff<<(recent-1), maxBackoff)
		c.logf("%s exited by itself (%s); restarting it in %s", p.name, r.Reason, backoff)
		time.Sleep(backoff)
		c.relaunch(p)
	}()
}

// recentRestarts counts the component's unrequested exits within crashLoopWindow of now. c.mu is held.
func (c *Cluster) recentRestarts(name string, now time.Time) int {
	n := 0
	for _, r := range c.restarts {
		if r.Component == name && now.Sub(r.At) <= crashLoopWindow {
			n++
		}
	}
	return n
}

// relaunch starts old's binary with old's flags in old's place, unless the cluster is stopping or someone else
// (a fault's restart) already replaced it.
func (c *Cluster) relaunch(old *process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.indexOf(old)
	if c.stopping || i < 0 {
		return
	}
	p, err := launch(old.name, old.binary, old.args, old.logPath, os.O_APPEND)
	if err != nil {
		c.gaveUp = append(c.gaveUp, fmt.Errorf("restarting %s after it exited: %w", old.name, err))
		return
	}
	c.procs[i] = p
	c.supervise(p)
}

// indexOf is p's place in start order, or -1 when it is no longer there. c.mu is held.
func (c *Cluster) indexOf(p *process) int {
	for i, q := range c.procs {
		if q == p {
			return i
		}
	}
	return -1
}
