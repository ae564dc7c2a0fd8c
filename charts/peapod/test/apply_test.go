package test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const crdKind = "CustomResourceDefinition"

// The rendered chart applies on a real kube-apiserver: every object is accepted by server-side apply (as
// `helm template | kubectl apply --server-side`, Flux, Argo CD and Helm 4 send them), the CRDs become Established,
// the manager's pod template passes Pod Security "restricted" admission, changes to one replica and back apply
// too, and the installed admission policy is in force. helm_install_test.go has Helm 3 install it.
func TestServerSideApply(t *testing.T) {
	seen := &warnings{}
	c := newClient(t, startAPIServer(t).Config, seen)
	ctx := t.Context()
	install := mustRender(t, "")

	t.Run("the CRDs become Established", func(t *testing.T) {
		crds := install.objectsOf(func(kind string) bool { return kind == crdKind })
		if len(crds) == 0 {
			t.Fatal("no CRDs rendered")
		}
		applyAll(ctx, t, c, crds)
		for _, crd := range crds {
			waitEstablished(ctx, t, c, crd.GetName())
		}
	})

	createReleaseNamespace(ctx, t, c)
	seen.take()

	notCRD := func(kind string) bool { return kind != crdKind }
	t.Run("install", func(t *testing.T) {
		objects := install.objectsOf(notCRD)
		wantKinds := []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
			"Deployment", "PodDisruptionBudget", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
		checkKinds(t, objects, wantKinds)
		applyAll(ctx, t, c, objects)
		if w := seen.take(); len(w) > 0 {
			t.Errorf("the API server warned: %q", w)
		}
	})

	// One manager, whose Recreate strategy must shed the rollingUpdate settings of the last revision.
	t.Run("down to one replica", func(t *testing.T) {
		applyAll(ctx, t, c, mustRender(t, "replicaCount: 1").objectsOf(notCRD))
		if w := seen.take(); len(w) > 0 {
			t.Errorf("the API server warned: %q", w)
		}
	})

	t.Run("back to two replicas", func(t *testing.T) {
		applyAll(ctx, t, c, install.objectsOf(notCRD))
	})

	// Without this the "no warnings" above would prove nothing.
	t.Run("Pod Security admission would see a privileged manager", func(t *testing.T) {
		r := mustRender(t, "securityContext: {allowPrivilegeEscalation: true}")
		applyAll(ctx, t, c, r.objectsOf(func(kind string) bool { return kind == "Deployment" }), client.DryRunAll)
		w := seen.take()
		if !slices.ContainsFunc(w, func(s string) bool { return strings.Contains(s, "allowPrivilegeEscalation") }) {
			t.Errorf("warnings %q do not mention allowPrivilegeEscalation", w)
		}
	})

	t.Run("the admission policy is in force", func(t *testing.T) {
		checkPolicyDenies(ctx, t, c)
	})
}

// objectsOf returns the rendered objects whose kind is chosen, in Helm's install order.
func (r *release) objectsOf(choose func(kind string) bool) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, key := range r.order {
		if obj := r.objects[key]; choose(obj.GetKind()) {
			out = append(out, obj)
		}
	}
	return out
}

func checkKinds(t *testing.T, objects []*unstructured.Unstructured, want []string) {
	t.Helper()
	kinds := make([]string, 0, len(objects))
	for _, obj := range objects {
		kinds = append(kinds, obj.GetKind())
	}
	for _, kind := range want {
		if !slices.Contains(kinds, kind) {
			t.Errorf("no %s among the rendered objects %q", kind, kinds)
		}
	}
}

// applyAll server-side applies the objects in order, as the field manager "helm".
func applyAll(ctx context.Context, t *testing.T, c client.Client, objects []*unstructured.Unstructured, opts ...client.ApplyOption) {
	t.Helper()
	opts = append([]client.ApplyOption{client.FieldOwner("helm"), client.ForceOwnership}, opts...)
	for _, obj := range objects {
		if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(obj.DeepCopy()), opts...); err != nil {
			t.Errorf("applying %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// checkPolicyDenies creates, as a dry run, the sample PodGroup (accepted) and the sample with a label under
// peapod.io/ (denied by the policy, which the API server enforces once it has loaded it).
func checkPolicyDenies(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	samples := decodeAll(t, filepath.Join(repoRoot, "config", "samples", "peapod_v1alpha1_podgroup.yaml"))
	if len(samples) != 1 {
		t.Fatalf("want one sample PodGroup, got %d", len(samples))
	}
	sample := samples[0]
	sample.SetNamespace(metav1.NamespaceDefault)
	if err := c.Create(ctx, sample.DeepCopy(), client.DryRunAll); err != nil {
		t.Fatalf("the sample PodGroup is refused: %v", err)
	}
	labelled := sample.DeepCopy()
	if err := unstructured.SetNestedField(labelled.Object, "0", "spec", "template", "metadata", "labels", "peapod.io/member"); err != nil {
		t.Fatal(err)
	}
	const want = "labels under peapod.io/ are set by peapod"
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, labelled.DeepCopy(), client.DryRunAll)
		return last != nil && strings.Contains(last.Error(), want), nil
	})
	if err != nil {
		t.Errorf("a PodGroup labelled peapod.io/member is not denied with %q: %v; the last answer: %v", want, err, last)
	}
}
