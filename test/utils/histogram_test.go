package utils

import (
	"math"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/utils/ptr"
)

func TestHistogramQuantile(t *testing.T) {
	// 10 observations <= 0.1 s, 89 more <= 1 s, 1 above the last bound.
	h := Histogram{Bounds: []float64{0.1, 1}, Counts: []float64{10, 99}, Count: 100}
	for _, tc := range []struct {
		q    float64
		want float64
	}{
		{0.05, 0.1},
		{0.1, 0.1},
		{0.5, 1},
		{0.99, 1},
		{1, math.Inf(1)},
	} {
		if got := h.Quantile(tc.q); got != tc.want {
			t.Errorf("Quantile(%g) = %g, want %g", tc.q, got, tc.want)
		}
	}
}

func TestHistogramSince(t *testing.T) {
	before := Histogram{Bounds: []float64{0.1, 1}, Counts: []float64{5, 8}, Count: 8}
	after := Histogram{Bounds: []float64{0.1, 1}, Counts: []float64{5, 18}, Count: 20}
	during := after.Since(before)
	if during.Count != 12 || during.Counts[0] != 0 || during.Counts[1] != 10 {
		t.Fatalf("Since = %+v, want 12 observations, none <= 0.1 s, 10 <= 1 s", during)
	}
	if got := during.Quantile(0.5); got != 1 {
		t.Errorf("the median of what came after is %g, want 1", got)
	}
}

func TestHistogramOfSumsTheSeriesOfOneLabelValue(t *testing.T) {
	series := func(controller string, counts ...uint64) *dto.Metric {
		h := &dto.Histogram{SampleCount: ptr.To(counts[len(counts)-1])}
		for i, c := range counts {
			h.Bucket = append(h.Bucket, &dto.Bucket{UpperBound: ptr.To([]float64{0.1, 1}[i]), CumulativeCount: ptr.To(c)})
		}
		return &dto.Metric{Label: []*dto.LabelPair{{Name: ptr.To("controller"), Value: ptr.To(controller)}}, Histogram: h}
	}
	family := &dto.MetricFamily{Metric: []*dto.Metric{series("podgroup", 1, 3), series("podmigration", 7, 7), series("podgroup", 2, 2)}}
	h := HistogramOf(family, "controller", "podgroup")
	if h.Count != 5 || len(h.Counts) != 2 || h.Counts[0] != 3 || h.Counts[1] != 5 {
		t.Fatalf("HistogramOf = %+v, want the two podgroup series summed: 3 <= 0.1 s, 5 <= 1 s, 5 in all", h)
	}
}
