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
	return sharedTolerations.internEach(in, func(t corev1.Toleration) (corev1.Toleration, []string) {
		t.Key, t.Value = intern(t.Key), intern(t.Value)
		t.Operator, t.Effect = corev1.TolerationOperator(intern(string(t.Operator))), corev1.TaintEffect(intern(string(t.Effect)))
		seconds := "-"
		if t.TolerationSeconds != nil {
			seconds = strconv.FormatInt(*t.TolerationSeconds, 10)
		}
		return t, []string{t.Key, string(t.Operator), t.Value, string(t.Effect), seconds}
	})
}

func internOwners(in []metav1.OwnerReference) []metav1.OwnerReference {
	return sharedOwners.internEach(in, func(ref metav1.OwnerReference) (metav1.OwnerReference, []string) {
		ref.APIVersion, ref.Kind, ref.Name, ref.UID = intern(ref.APIVersion), intern(ref.Kind), intern(ref.Name), internUID(ref.UID)
		return ref, []string{ref.APIVersion, ref.Kind, ref.Name, string(ref.UID), flag(ref.Controller), flag(ref.BlockOwnerDeletion)}
	})
}

// internEach copies in with each element's strings interned, and returns the canonical slice equal to it: each
// gives an element's interned copy and the fields that make it what it is, from which the key is made.
func (t *sliceTable[T]) internEach(in []T, each func(T) (T, []string)) []T {
	if in == nil {
		return nil
	}
	var key strings.Builder
	out := make([]T, len(in))
	for i, elem := range in {
		var fields []string
		out[i], fields = each(elem)
		for _, field := range fields {
			key.WriteString(strconv.Quote(field))
		}
	}
	return t.canonical(key.String(), out)
}

func flag(b *bool) string {
	if b == nil {
		return "-"
	}
	return strconv.FormatBool(*b)
}
