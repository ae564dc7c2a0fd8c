package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	chartDir = ".."
	// repoRoot holds config/, the source of what the chart copies.
	repoRoot    = "../../.."
	releaseName = "peapod"
	namespace   = "peapod-system"
	// fullname is what the chart names its objects in a release named after it.
	fullname = "peapod"
)

// kubeVersion is the control plane the tests run against (hack/versions.env). Helm's SDK would otherwise assume
// Kubernetes 1.20, which the chart's kubeVersion refuses.
var kubeVersion = &chartutil.KubeVersion{Version: "v1.37.2", Major: "1", Minor: "37"}

// release is a rendered release: its objects by kind and name, and its NOTES.txt.
type release struct {
	objects map[string]*unstructured.Unstructured
	// order is the objects' keys in the order Helm rendered them (CRDs first).
	order []string
	notes string
}

// render renders the chart as `helm template peapod charts/peapod -n peapod-system --include-crds -f values`
// does, with the values given as YAML.
func render(valuesYAML string) (*release, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return nil, err
	}
	vals, err := chartutil.ReadValues([]byte(valuesYAML))
	if err != nil {
		return nil, fmt.Errorf("test values: %w", err)
	}
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.ClientOnly, install.DryRun, install.Replace, install.IncludeCRDs = true, true, true, true
	install.ReleaseName, install.Namespace, install.KubeVersion = releaseName, namespace, kubeVersion
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return nil, err
	}
	objects, err := decodeObjects([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("the rendered manifest: %w", err)
	}
	r := &release{objects: map[string]*unstructured.Unstructured{}, notes: rel.Info.Notes}
	for _, obj := range objects {
		key := objectKey(obj.GetKind(), obj.GetName())
		if _, dup := r.objects[key]; dup {
			return nil, fmt.Errorf("%s is rendered twice", key)
		}
		r.objects[key] = obj
		r.order = append(r.order, key)
	}
	return r, nil
}

// decodeObjects decodes a multi-document YAML stream, skipping empty documents.
func decodeObjects(data []byte) ([]*unstructured.Unstructured, error) {
	var objects []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objects, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj.Object) > 0 {
			objects = append(objects, obj)
		}
	}
}

// mustRender renders, failing the test on an error.
func mustRender(t *testing.T, valuesYAML string) *release {
	t.Helper()
	r, err := render(valuesYAML)
	if err != nil {
		t.Fatalf("rendering with values %q: %v", valuesYAML, err)
	}
	return r
}

func objectKey(kind, name string) string { return kind + "/" + name }

// has tells whether the release renders that object.
func (r *release) has(kind, name string) bool {
	_, ok := r.objects[objectKey(kind, name)]
	return ok
}

// get returns a rendered object as T (a Kubernetes API type), failing the test when it is missing.
func get[T any](t *testing.T, r *release, kind, name string) *T {
	t.Helper()
	u, ok := r.objects[objectKey(kind, name)]
	if !ok {
		t.Fatalf("%s/%s is not rendered; rendered: %v", kind, name, r.order)
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, out, true); err != nil {
		t.Fatalf("%s/%s: %v", kind, name, err)
	}
	return out
}

// readConfig decodes a file of config/ (one object) as T.
func readConfig[T any](t *testing.T, path string) *T {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := yaml.UnmarshalStrict(data, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}
