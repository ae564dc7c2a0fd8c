package controllers

import (
	"strconv"
	"strings"
	"sync"
	"unsafe"
	"weak"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A group's member Pods and children carry equal slices: the same owner reference, the same tolerations (the
// template's and the two the API server adds). A cached object keeps a canonical copy, one backing array for all
// that are equal, as intern does for strings. Sharing is safe because nothing writes to a cached object: readers
// get deep copies, and the event handlers and the unsafe lists only read.

// sliceTable holds one canonical slice per key weakly: an entry lives while a cached object holds its array.
type sliceTable[T any] struct {
	mu      sync.Mutex
	entries map[string]sliceEntry[T]
	// sweepAt is the size past which the entries whose arrays are gone are dropped.
	sweepAt int
}

type sliceEntry[T any] struct {
	first weak.Pointer[T]
	n     int
}

const minSweep = 1024

// canonical returns the canonical slice for key, in itself when there is none yet.
func (t *sliceTable[T]) canonical(key string, in []T) []T {
	if len(in) == 0 {
		return in
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, found := t.entries[key]; found && e.n == len(in) {
		if first := e.first.Value(); first != nil {
			// The array the weak pointer names still holds the n elements it was made from.
			return unsafe.Slice(first, e.n)
		}
	}
	if t.entries == nil {
		t.entries, t.sweepAt = map[string]sliceEntry[T]{}, minSweep
	}
	t.entries[key] = sliceEntry[T]{first: weak.Make(&in[0]), n: len(in)}
	if len(t.entries) > t.sweepAt {
		for k, e := range t.entries {
			if e.first.Value() == nil {
				delete(t.entries, k)
			}
		}
		t.sweepAt = max(minSweep, 2*len(t.entries))
	}
	return in
}

var (
	sharedTolerations sliceTable[corev1.Toleration]
	sharedOwners      sliceTable[metav1.OwnerReference]
)

func internTolerations(in []corev1.Toleration) []corev1.Toleration {
	if in == nil {
		return nil
	}
	var key strings.Builder
	out := make([]corev1.Toleration, len(in))
	for i, t := range in {
		t.Key, t.Value = intern(t.Key), intern(t.Value)
		t.Operator, t.Effect = corev1.TolerationOperator(intern(string(t.Operator))), corev1.TaintEffect(intern(string(t.Effect)))
		out[i] = t
		seconds := "-"
		if t.TolerationSeconds != nil {
			seconds = strconv.FormatInt(*t.TolerationSeconds, 10)
		}
		for _, part := range []string{t.Key, string(t.Operator), t.Value, string(t.Effect), seconds} {
			key.WriteString(strconv.Quote(part))
		}
	}
	return sharedTolerations.canonical(key.String(), out)
}

func internOwners(in []metav1.OwnerReference) []metav1.OwnerReference {
	if in == nil {
		return nil
	}
	var key strings.Builder
	out := make([]metav1.OwnerReference, len(in))
	for i, ref := range in {
		ref.APIVersion, ref.Kind, ref.Name, ref.UID = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name), internUID(ref.UID)
		out[i] = ref
		for _, part := range []string{ref.APIVersion, ref.Kind, ref.Name, string(ref.UID), flag(ref.Controller), flag(ref.BlockOwnerDeletion)} {
			key.WriteString(strconv.Quote(part))
		}
	}
	return sharedOwners.canonical(key.String(), out)
}

func flag(b *bool) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatBool(*b)
}
