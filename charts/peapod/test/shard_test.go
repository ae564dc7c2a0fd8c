package test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// A shard's release gives its managers the namespace selector, in the syntax the flag parses, and a leader Lease
// of their own; its webhook answers for the same namespaces.
func TestShardSelectsItsNamespaces(t *testing.T) {
	selectorYAML := `{matchLabels: {peapod.io/shard: a, team: storage}, matchExpressions: [
		{key: tier, operator: In, values: [gold, silver]}, {key: env, operator: NotIn, values: [dev]},
		{key: owner, operator: Exists}, {key: legacy, operator: DoesNotExist}]}`
	var selector metav1.LabelSelector
	if err := yaml.Unmarshal([]byte(selectorYAML), &selector); err != nil {
		t.Fatal(err)
	}
	r := mustRender(t, "shard: {namespaceSelector: "+selectorYAML+"}")
	_, c := manager(t, r)

	flag := ""
	for _, arg := range c.Args {
		if value, found := strings.CutPrefix(arg, "--namespace-selector="); found {
			flag = value
		}
	}
	parsed, err := labels.Parse(flag)
	if err != nil {
		t.Fatalf("--namespace-selector=%q does not parse: %v", flag, err)
	}
	want, err := metav1.LabelSelectorAsSelector(&selector)
	if err != nil {
		t.Fatal(err)
	}
	// Selectors print their terms sorted: equal strings select the same namespaces.
	if parsed.String() != want.String() {
		t.Errorf("--namespace-selector=%q selects %q, want %q", flag, parsed, want)
	}
	if !slices.Contains(c.Args, "--leader-election-id=peapod.manager.peapod.io") {
		t.Errorf("args %q lack the shard's own Lease, --leader-election-id=peapod.manager.peapod.io", c.Args)
	}

	config := get[admissionregistrationv1.ValidatingWebhookConfiguration](t, r, "ValidatingWebhookConfiguration", fullname+"-webhook")
	for _, hook := range config.Webhooks {
		if diff := cmp.Diff(&selector, hook.NamespaceSelector); diff != "" {
			t.Errorf("webhook %s namespaceSelector (-want +got):\n%s", hook.Name, diff)
		}
	}
}

// Without a shard selector the managers keep the Lease they always had, so an upgrade never elects two leaders
// under two names, and the webhook answers for every namespace.
func TestNoShardKeepsTheClusterWideDefaults(t *testing.T) {
	for _, values := range []string{"", "shard: {namespaceSelector: {matchLabels: {}}}"} {
		r := mustRender(t, values)
		_, c := manager(t, r)
		for _, arg := range c.Args {
			if strings.HasPrefix(arg, "--namespace-selector") || strings.HasPrefix(arg, "--leader-election-id") {
				t.Errorf("values %q: unexpected %s", values, arg)
			}
		}
		config := get[admissionregistrationv1.ValidatingWebhookConfiguration](t, r, "ValidatingWebhookConfiguration", fullname+"-webhook")
		for _, hook := range config.Webhooks {
			if hook.NamespaceSelector != nil {
				t.Errorf("values %q: webhook %s selects namespaces %v", values, hook.Name, hook.NamespaceSelector)
			}
		}
	}
}

func TestShardSelectorWithAnUnknownOperatorIsRefused(t *testing.T) {
	_, err := render("shard: {namespaceSelector: {matchExpressions: [{key: tier, operator: Gt, values: ['1']}]}}")
	want := `shard.namespaceSelector.matchExpressions: operator "Gt" of key "tier" is none of In, NotIn, Exists, DoesNotExist`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error = %v, want one saying %q", err, want)
	}
}
