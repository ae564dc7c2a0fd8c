package expectations

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	pt "github.com/peapod-io/peapod/internal/testing"
)

func TestStore(t *testing.T) {
	member := pt.MakeMemberPod("g", 0, "a").Obj()
	cases := map[string]struct {
		record  func(s *Store)
		elapsed time.Duration
		cache   []*corev1.Pod
		want    bool
	}{
		"nothing expected":                  {record: func(*Store) {}, want: true},
		"a creation the cache has not seen": {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, want: false},
		"a creation the cache shows":        {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, cache: []*corev1.Pod{member}, want: true},
		"a creation that failed":            {record: func(s *Store) { s.ExpectCreation("k", "g-0"); s.CreationFailed("k", "g-0") }, want: true},
		"a creation never seen expires":     {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, elapsed: Timeout + time.Second, want: true},
		"a deletion the cache still shows live": {
			record: func(s *Store) { s.ExpectDeletion("k", member.UID) }, cache: []*corev1.Pod{member}, want: false,
		},
		"a deletion the cache shows terminating": {
			record: func(s *Store) { s.ExpectDeletion("k", member.UID) },
			cache:  []*corev1.Pod{pt.MakeMemberPod("g", 0, "a").Terminating().Obj()}, want: true,
		},
		"a deletion the cache shows gone":            {record: func(s *Store) { s.ExpectDeletion("k", member.UID) }, want: true},
		"another group's expectations do not matter": {record: func(s *Store) { s.ExpectCreation("other", "x-0") }, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clock := clocktesting.NewFakePassiveClock(time.Now())
			s := NewStore(clock)
			tc.record(s)
			clock.SetTime(clock.Now().Add(tc.elapsed))
			if got := s.Satisfied("k", tc.cache); got != tc.want {
				t.Errorf("Satisfied() = %v, want %v", got, tc.want)
			}
		})
	}
}
