// Package procfs reads what /proc says of a process: its CPU time and resident memory.
package procfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux architecture Go runs on.
const clockTicks = 100

// CPUTime is the CPU time (user and system) a process has used so far, read from /proc; proc is a PID or "self".
func CPUTime(proc string) (time.Duration, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%s/stat", proc))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: the fields that follow it are counted from its end.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%s/stat has %d fields after the command name", proc, len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64) // field 14 of the whole line
	if err != nil {
		return 0, err
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks, err
}

// ResidentKB is a process's resident memory (VmRSS) in KiB, read from /proc; proc is a PID or "self".
func ResidentKB(proc string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%s/status", proc))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if rest, found := strings.CutPrefix(scanner.Text(), "VmRSS:"); found {
			return strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	if err := scanner.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%s/status has no VmRSS", proc)
}
