package utils

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

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
