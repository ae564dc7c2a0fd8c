// Package expectations remembers the member Pods a controller has just created or deleted until its cache's
// watch shows it, as Kubernetes' own ReplicaSet controller does: acting on a cache that lags its own writes would
// create a Pod twice or count a deleted one as present. Observations come from the watch events, not from
// listing the cache, so a Pod created and deleted again before the next reconcile is still observed.
package expectations

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Timeout bounds how long an unobserved write holds a group back: after it, the write is assumed lost (the
// watch may have missed it) and the group is planned from the cache as it is.
const Timeout = 30 * time.Second

// Store holds, per group key, the Pod names whose creation and the Pod UIDs whose deletion are not yet observed.
type Store struct {
	clock   clock.PassiveClock
	mu      sync.Mutex
	pending map[string]*pending
}

type pending struct {
	creations map[string]time.Time
	deletions map[types.UID]time.Time
}

// NewStore returns an empty store.
func NewStore(c clock.PassiveClock) *Store {
	return &Store{clock: c, pending: map[string]*pending{}}
}

// ExpectCreation records that a Pod of this name is being created.
func (s *Store) ExpectCreation(key, podName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entry(key).creations[podName] = s.clock.Now()
}

// ExpectDeletion records that the Pod with this UID is being deleted.
func (s *Store) ExpectDeletion(key string, uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entry(key).deletions[uid] = s.clock.Now()
}

// CreationFailed drops an expectation whose write did not happen.
func (s *Store) CreationFailed(key, podName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[key]; p != nil {
		delete(p.creations, podName)
	}
}

// DeletionFailed drops an expectation whose write did not happen.
func (s *Store) DeletionFailed(key string, uid types.UID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[key]; p != nil {
		delete(p.deletions, uid)
	}
}

// CreationObserved records that the cache has shown the created Pod (its watch delivered it).
func (s *Store) CreationObserved(key, podName string) {
	s.CreationFailed(key, podName)
}

// DeletionObserved records that the cache has shown the Pod terminating or gone.
func (s *Store) DeletionObserved(key string, uid types.UID) {
	s.DeletionFailed(key, uid)
}

// Satisfied reports whether the cache has shown every write made for the group. Entries older than Timeout are
// dropped: their watch event was missed, and the group is planned from the cache as it is.
func (s *Store) Satisfied(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[key]
	if p == nil {
		return true
	}
	now := s.clock.Now()
	for name, at := range p.creations {
		if now.Sub(at) > Timeout {
			delete(p.creations, name)
		}
	}
	for uid, at := range p.deletions {
		if now.Sub(at) > Timeout {
			delete(p.deletions, uid)
		}
	}
	if len(p.creations) == 0 && len(p.deletions) == 0 {
		delete(s.pending, key)
		return true
	}
	return false
}

// Forget drops everything about a group (it was deleted).
func (s *Store) Forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, key)
}

func (s *Store) entry(key string) *pending {
	p := s.pending[key]
	if p == nil {
		p = &pending{creations: map[string]time.Time{}, deletions: map[types.UID]time.Time{}}
		s.pending[key] = p
	}
	return p
}
