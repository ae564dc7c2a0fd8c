package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// kwok's pod-ready stage is split in two that select Pods without claims, and Pods with claims mounted.
func TestPodReadyStages(t *testing.T) {
	stage := []byte(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready
spec:
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
  next:
    statusTemplate: |
      phase: Running
`)
	docs, err := podReadyStages(stage)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(docs))
	for i, d := range docs {
		got[i] = string(d)
	}
	phase := `{"key":".status.phase","operator":"In","values":["Pending"]}`
	claims := `"key":".spec.volumes.[] | select( .persistentVolumeClaim != null or .ephemeral != null ) | .name"`
	want := []string{
		`{"apiVersion":"kwok.x-k8s.io/v1alpha1","kind":"Stage","metadata":{"name":"pod-ready"},` +
			`"spec":{"next":{"statusTemplate":"phase: Running\n"},"selector":{"matchExpressions":[` + phase +
			`,{` + claims + `,"operator":"DoesNotExist"}]}}}`,
		`{"apiVersion":"kwok.x-k8s.io/v1alpha1","kind":"Stage","metadata":{"name":"pod-ready-volumes"},` +
			`"spec":{"next":{"statusTemplate":"phase: Running\n"},"selector":{"matchExpressions":[` + phase +
			`,{` + claims + `,"operator":"Exists"}` +
			`,{"key":".metadata.annotations[\"storage.peapod.test/volumes-mounted\"]","operator":"In","values":["true"]}]}}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stages (-want +got):\n%s", diff)
	}
}
