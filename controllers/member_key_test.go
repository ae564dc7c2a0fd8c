package controllers

import (
	"testing"

	pt "github.com/peapod-io/peapod/internal/testing"
)

// A failover is timed per member, not per Pod: a member migrated earlier runs under its own Pod name, and the
// replacement that ends its failover takes the plain name back.
func TestMemberKeyIsTheMembersNotThePods(t *testing.T) {
	migrated := pt.MakeMemberPod("web", 1, "r").Name("web-1-m3f9a2").Obj()
	plain := pt.MakeMemberPod("web", 1, "r").Obj()
	if got, want := memberKey(migrated), memberKey(plain); got != want || got != "default/web-1" {
		t.Errorf("memberKey = %q and %q, want both default/web-1", got, want)
	}
}
