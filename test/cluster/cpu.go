package cluster

import (
	"strconv"
	"time"

	"github.com/peapod-io/peapod/test/procfs"
)

// CPUTimes is the CPU time each running component has used so far, by name. A component restarted since a
// previous call starts again from zero; one whose /proc entry cannot be read is left out.
func (c *Cluster) CPUTimes() map[string]time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	times := make(map[string]time.Duration, len(c.procs))
	for _, p := range c.procs {
		if p.cmd == nil || p.cmd.Process == nil {
			continue
		}
		if cpu, err := procfs.CPUTime(strconv.Itoa(p.cmd.Process.Pid)); err == nil {
			times[p.name] += cpu
		}
	}
	return times
}
