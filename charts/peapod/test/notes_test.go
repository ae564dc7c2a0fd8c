package test

import (
	"strings"
	"testing"
)

func TestNotesTellHowToCheckAndUpgrade(t *testing.T) {
	notes := mustRender(t, "").notes
	for _, want := range []string{
		"kubectl -n peapod-system rollout status deployment/peapod",
		"2 managers: one acts, the leader",
		"kubectl -n peapod-system get lease manager.peapod.io",
		"kubectl get pgroup",
		"kubectl peapod status",
		"kubectl apply --server-side --force-conflicts -f",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
}

func TestNotesSayOneManagerHasNoStandby(t *testing.T) {
	notes := mustRender(t, "replicaCount: 1").notes
	if want := "One manager, no standby"; !strings.Contains(notes, want) {
		t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
	}
	if strings.Contains(notes, "get lease") {
		t.Errorf("NOTES.txt shows a leader of one manager:\n%s", notes)
	}
}
