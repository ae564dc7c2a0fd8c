package test

import (
	"strings"
	"testing"
)

func TestNotesTellHowToCheckAndUpgrade(t *testing.T) {
	notes := mustRender(t, "").notes
	for _, want := range []string{
		"kubectl -n peapod-system rollout status deployment/peapod",
		"kubectl get pgroup",
		"kubectl peapod status",
		"kubectl apply --server-side --force-conflicts -f",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
}
