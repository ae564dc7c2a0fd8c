package utils

import (
	"context"
	"math"
	"time"
)

// SleepUntil waits until the moment, or until ctx ends.
func SleepUntil(ctx context.Context, at time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(at)):
		return nil
	}
}

// Percentile is the nearest-rank percentile of sorted durations: with fewer than 100 of them, p99 is the max.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}
