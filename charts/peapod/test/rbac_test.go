package test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The chart grants what config/rbac grants: the manager's rules are generated from the controllers' markers, and
// hack/sync-chart.sh copies them into the chart on `make manifests`.
func TestRolesGrantWhatConfigGrants(t *testing.T) {
	r := mustRender(t, "replicaCount: 2")
	for config, rendered := range map[string]struct{ kind, name string }{
		"config/rbac/role.yaml":                 {"ClusterRole", fullname + "-manager"},
		"config/rbac/leader_election_role.yaml": {"Role", fullname + "-leader-election"},
		"config/rbac/metrics_auth_role.yaml":    {"ClusterRole", fullname + "-metrics-auth"},
		"config/rbac/metrics_reader_role.yaml":  {"ClusterRole", fullname + "-metrics-reader"},
		"config/rbac/aggregate_view_role.yaml":  {"ClusterRole", fullname + "-aggregate-to-view"},
		"config/rbac/aggregate_edit_role.yaml":  {"ClusterRole", fullname + "-aggregate-to-edit"},
	} {
		t.Run(config, func(t *testing.T) {
			want := readConfig[rbacv1.ClusterRole](t, config).Rules
			var got []rbacv1.PolicyRule
			if rendered.kind == "Role" {
				got = get[rbacv1.Role](t, r, rendered.kind, rendered.name).Rules
			} else {
				got = get[rbacv1.ClusterRole](t, r, rendered.kind, rendered.name).Rules
			}
			if len(want) == 0 {
				t.Fatalf("%s has no rules", config)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s/%s rules differ from %s (run `make manifests`) (-want +got):\n%s", rendered.kind, rendered.name, config, diff)
			}
		})
	}
}

// The aggregated roles carry config/rbac's aggregation labels, so the built-in view, edit and admin roles take
// them in; a cluster whose administrators grant peapod's kinds their own way turns them off.
func TestAggregatedRoles(t *testing.T) {
	r := mustRender(t, "replicaCount: 2")
	for _, level := range []string{"view", "edit"} {
		want := readConfig[rbacv1.ClusterRole](t, "config/rbac/aggregate_"+level+"_role.yaml").Labels
		got := get[rbacv1.ClusterRole](t, r, "ClusterRole", fullname+"-aggregate-to-"+level).Labels
		for k, v := range want {
			if got[k] != v {
				t.Errorf("ClusterRole %s-aggregate-to-%s: label %s=%q, want %q", fullname, level, k, got[k], v)
			}
		}
	}
	off := mustRender(t, "aggregateToDefaultRoles: false")
	for _, level := range []string{"view", "edit"} {
		if off.has("ClusterRole", fullname+"-aggregate-to-"+level) {
			t.Errorf("aggregateToDefaultRoles: false still renders %s-aggregate-to-%s", fullname, level)
		}
	}
}

// Every binding gives its role to the manager's ServiceAccount, in the release's namespace.
func TestBindingsBindTheManager(t *testing.T) {
	r := mustRender(t, "replicaCount: 2")
	wantSubjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: fullname, Namespace: namespace}}
	if !r.has("ServiceAccount", fullname) {
		t.Fatalf("no ServiceAccount %s rendered", fullname)
	}
	for _, name := range []string{"-manager", "-metrics-auth"} {
		b := get[rbacv1.ClusterRoleBinding](t, r, "ClusterRoleBinding", fullname+name)
		checkBinding(t, r, "ClusterRole", b.Name, b.RoleRef, b.Subjects, wantSubjects)
	}
	b := get[rbacv1.RoleBinding](t, r, "RoleBinding", fullname+"-leader-election")
	if b.Namespace != namespace {
		t.Errorf("RoleBinding %s is in namespace %q, want %q", b.Name, b.Namespace, namespace)
	}
	checkBinding(t, r, "Role", b.Name, b.RoleRef, b.Subjects, wantSubjects)
}

func checkBinding(t *testing.T, r *release, roleKind, name string, ref rbacv1.RoleRef, got, want []rbacv1.Subject) {
	t.Helper()
	if ref.Kind != roleKind || !r.has(ref.Kind, ref.Name) {
		t.Errorf("binding %s refers to %s %s, want a %s the release renders", name, ref.Kind, ref.Name, roleKind)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("binding %s subjects (-want +got):\n%s", name, diff)
	}
}

func TestExistingServiceAccount(t *testing.T) {
	r := mustRender(t, "serviceAccount: {create: false, name: ops}")
	if r.has("ServiceAccount", "ops") || r.has("ServiceAccount", fullname) {
		t.Error("a ServiceAccount is rendered with serviceAccount.create false")
	}
	b := get[rbacv1.ClusterRoleBinding](t, r, "ClusterRoleBinding", fullname+"-manager")
	if len(b.Subjects) != 1 || b.Subjects[0].Name != "ops" {
		t.Errorf("subjects = %v, want the ServiceAccount ops", b.Subjects)
	}
	if _, err := render("serviceAccount: {create: false}"); err == nil {
		t.Error("serviceAccount.create false without a name renders")
	}
}
