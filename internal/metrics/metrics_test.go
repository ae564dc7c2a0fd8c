package metrics

import (
	"testing"
	"time"
)

func TestFailoversCap(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := NewFailovers()
	if !f.TryStart("ns/a-0", "old-a", now, "None", 2, now) || !f.TryStart("ns/b-0", "old-b", now, "None", 2, now) {
		t.Fatal("the first two replacements were refused under a cap of 2")
	}
	if f.HasRoom("ns/c-0", 2) || f.TryStart("ns/c-0", "old-c", now, "None", 2, now) {
		t.Error("a third replacement went ahead under a cap of 2")
	}
	if !f.HasRoom("ns/a-0", 2) || !f.HasRoom("ns/c-0", 0) {
		t.Error("no room for a replacement already admitted, or under no cap")
	}
	if !f.TryStart("ns/a-0", "old-a", now, "None", 2, now) {
		t.Error("a replacement already admitted was refused when asked again")
	}
	f.Ready("ns/a-0", "old-a", now) // the old Pod still Ready in a stale cache: not the replacement
	if f.TryStart("ns/c-0", "old-c", now, "None", 2, now) {
		t.Error("the cap was freed by the old Pod being Ready")
	}
	f.Ready("ns/a-0", "new-a", now.Add(17*time.Second))
	if !f.TryStart("ns/c-0", "old-c", now, "None", 2, now) {
		t.Error("the cap was not freed by a replacement becoming Ready")
	}
	if !f.TryStart("ns/d-0", "old-d", now, "None", 2, now.Add(pendingLimit+time.Minute)) {
		t.Error("replacements that never became Ready still hold the cap after the pending limit")
	}
}
