package test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The chart's crds/ is config/crd/bases, file for file (hack/sync-chart.sh copies it on `make manifests`).
func TestCRDsAreConfigs(t *testing.T) {
	want := readDir(t, filepath.Join(repoRoot, "config", "crd", "bases"))
	got := readDir(t, filepath.Join(chartDir, "crds"))
	if len(want) == 0 {
		t.Fatal("config/crd/bases has no CRDs")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("charts/peapod/crds differs from config/crd/bases: run `make manifests` (-want +got):\n%s", diff)
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(path)] = string(data)
	}
	return files
}

// The admission policy and its binding are config/policy's, with the release's labels.
func TestAdmissionPolicyIsConfigs(t *testing.T) {
	want := decodeAll(t, filepath.Join(repoRoot, "config", "policy", "podgroup_validation.yaml"))
	r := mustRender(t, "")
	if len(want) == 0 {
		t.Fatal("config/policy/podgroup_validation.yaml holds no objects")
	}
	for _, w := range want {
		got, ok := r.objects[objectKey(w.GetKind(), w.GetName())]
		if !ok {
			t.Errorf("%s %s is not rendered", w.GetKind(), w.GetName())
			continue
		}
		if got.GetLabels()["app.kubernetes.io/instance"] != releaseName {
			t.Errorf("%s %s lacks the release's labels: %v", w.GetKind(), w.GetName(), got.GetLabels())
		}
		if diff := cmp.Diff(w.Object["spec"], got.Object["spec"]); diff != "" {
			t.Errorf("%s %s spec differs from config/policy's (-want +got):\n%s", w.GetKind(), w.GetName(), diff)
		}
	}

	off := mustRender(t, "validatingAdmissionPolicy: {enabled: false}")
	for _, w := range want {
		if off.has(w.GetKind(), w.GetName()) {
			t.Errorf("%s %s is rendered with validatingAdmissionPolicy.enabled false", w.GetKind(), w.GetName())
		}
	}
}

func decodeAll(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objects, err := decodeObjects(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objects
}
