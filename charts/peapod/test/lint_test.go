package test

import (
	"testing"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
)

// `helm lint --strict`, through the SDK: warnings fail too.
func TestLint(t *testing.T) {
	for name, valuesYAML := range map[string]string{
		"defaults":        "",
		"every option on": "replicaCount: 3\nserviceMonitor: {enabled: true}\nmetrics: {secure: false}",
		"every option off": "metrics: {enabled: false}\nvalidatingAdmissionPolicy: {enabled: false}\n" +
			"serviceAccount: {create: false, name: default}\npodDisruptionBudget: {enabled: false}\n" +
			"priorityClassName: ''\ntopologySpreadConstraints: []\nnodeFailureTolerationSeconds: null",
		"one manager": "replicaCount: 1",
	} {
		t.Run(name, func(t *testing.T) {
			vals, err := chartutil.ReadValues([]byte(valuesYAML))
			if err != nil {
				t.Fatal(err)
			}
			lint := action.NewLint()
			lint.Strict, lint.Namespace, lint.KubeVersion = true, namespace, kubeVersion
			result := lint.Run([]string{chartDir}, vals)
			for _, msg := range result.Messages {
				t.Log(msg)
			}
			if result.TotalChartsLinted != 1 || len(result.Errors) > 0 {
				t.Errorf("lint: %d charts linted, errors: %v", result.TotalChartsLinted, result.Errors)
			}
		})
	}
}
