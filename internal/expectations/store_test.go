package expectations

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestStore(t *testing.T) {
	cases := map[string]struct {
		record  func(s *Store)
		elapsed time.Duration
		want    bool
	}{
		"nothing expected":                  {record: func(*Store) {}, want: true},
		"a creation not observed yet":       {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, want: false},
		"a creation observed":               {record: func(s *Store) { s.ExpectCreation("k", "g-0"); s.CreationObserved("k", "g-0") }, want: true},
		"a creation that failed":            {record: func(s *Store) { s.ExpectCreation("k", "g-0"); s.CreationFailed("k", "g-0") }, want: true},
		"a creation never observed expires": {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, elapsed: Timeout + time.Second, want: true},
		"a creation within the timeout":     {record: func(s *Store) { s.ExpectCreation("k", "g-0") }, elapsed: Timeout / 2, want: false},
		"a deletion not observed yet":       {record: func(s *Store) { s.ExpectDeletion("k", "uid-1") }, want: false},
		"a deletion observed":               {record: func(s *Store) { s.ExpectDeletion("k", "uid-1"); s.DeletionObserved("k", "uid-1") }, want: true},
		"another Pod's deletion observed":   {record: func(s *Store) { s.ExpectDeletion("k", "uid-1"); s.DeletionObserved("k", "uid-2") }, want: false},
		"another group's expectations":      {record: func(s *Store) { s.ExpectCreation("other", "x-0") }, want: true},
		"a forgotten group has no pending":  {record: func(s *Store) { s.ExpectCreation("k", "g-0"); s.Forget("k") }, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			clock := clocktesting.NewFakePassiveClock(time.Now())
			s := NewStore(clock)
			tc.record(s)
			clock.SetTime(clock.Now().Add(tc.elapsed))
			if got := s.Satisfied("k"); got != tc.want {
				t.Errorf("Satisfied() = %v, want %v", got, tc.want)
			}
		})
	}
}
