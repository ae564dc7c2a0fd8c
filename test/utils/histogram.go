package utils

import (
	"math"

	dto "github.com/prometheus/client_model/go"
)

// Histogram is a Prometheus histogram's cumulative buckets, by upper bound, and its count.
type Histogram struct {
	Bounds []float64
	Counts []float64
	Count  float64
	// Sum is the sum of what was observed.
	Sum float64
}

// HistogramOf sums the histograms of a gathered metric family whose series carry the label name=value.
func HistogramOf(family *dto.MetricFamily, name, value string) Histogram {
	var h Histogram
	for _, m := range family.GetMetric() {
		if !hasLabel(m, name, value) || m.GetHistogram() == nil {
			continue
		}
		for i, b := range m.GetHistogram().GetBucket() {
			if i == len(h.Bounds) {
				h.Bounds, h.Counts = append(h.Bounds, b.GetUpperBound()), append(h.Counts, 0)
			}
			h.Counts[i] += float64(b.GetCumulativeCount())
		}
		h.Count += float64(m.GetHistogram().GetSampleCount())
		h.Sum += m.GetHistogram().GetSampleSum()
	}
	return h
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

// Since is the histogram of what was observed after earlier.
func (h Histogram) Since(earlier Histogram) Histogram {
	out := Histogram{Bounds: h.Bounds, Counts: make([]float64, len(h.Counts)), Count: h.Count - earlier.Count, Sum: h.Sum - earlier.Sum}
	for i := range h.Counts {
		out.Counts[i] = h.Counts[i]
		if i < len(earlier.Counts) {
			out.Counts[i] -= earlier.Counts[i]
		}
	}
	return out
}

// Quantile is the upper bound of the bucket the q-quantile falls in: an upper estimate, as a histogram allows.
// Above the last finite bound it is +Inf.
func (h Histogram) Quantile(q float64) float64 {
	for i, c := range h.Counts {
		if c >= q*h.Count {
			return h.Bounds[i]
		}
	}
	return math.Inf(1)
}
