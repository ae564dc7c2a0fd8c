package test

import (
	"strings"
	"testing"
)

// values.schema.json closes every object, so a typo fails the install with the key's path instead of being
// ignored.
func TestSchemaRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		values string
		want   []string
	}{
		"an unknown key": {
			values: "replicas: 2",
			want:   []string{"additional properties 'replicas' not allowed"},
		},
		"an unknown nested key": {
			values: "metrics: {prot: 9443}",
			want:   []string{"at '/metrics'", "additional properties 'prot' not allowed"},
		},
		"an unknown key in a Kubernetes type": {
			values: "securityContext: {runAsNonroot: true}",
			want:   []string{"at '/securityContext'", "additional properties 'runAsNonroot' not allowed"},
		},
		"a wrong type": {
			values: "replicaCount: two",
			want:   []string{"at '/replicaCount'", "got string, want integer"},
		},
		"a wrong nested type": {
			values: "manager: {kubeAPIBurst: '100'}",
			want:   []string{"at '/manager/kubeAPIBurst'", "got string, want integer"},
		},
		"a value outside its enum": {
			values: "manager: {logLevel: verbose}",
			want:   []string{"at '/manager/logLevel'", "value must be one of 'debug', 'info', 'error'"},
		},
		"leader election neither auto nor a boolean": {
			values: "leaderElection: {enabled: 'on'}",
			want:   []string{"at '/leaderElection/enabled'"},
		},
		"a priority class that is no object name": {
			values: "priorityClassName: System_Critical",
			want:   []string{"at '/priorityClassName'", "does not match pattern"},
		},
		"negative toleration seconds": {
			values: "nodeFailureTolerationSeconds: -1",
			want:   []string{"at '/nodeFailureTolerationSeconds'", "minimum"},
		},
		"toleration seconds as a duration": {
			values: "nodeFailureTolerationSeconds: 5s",
			want:   []string{"at '/nodeFailureTolerationSeconds'", "got string, want integer"},
		},
		"a spread without its topology key": {
			values: "topologySpreadConstraints: [{maxSkew: 1, whenUnsatisfiable: ScheduleAnyway}]",
			want:   []string{"at '/topologySpreadConstraints/0'", "missing property 'topologyKey'"},
		},
		"a spread with an unknown key": {
			values: "topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway, skew: 2}]",
			want:   []string{"at '/topologySpreadConstraints/0'", "additional properties 'skew' not allowed"},
		},
		"a spread neither hard nor soft": {
			values: "topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: Maybe}]",
			want:   []string{"at '/topologySpreadConstraints/0/whenUnsatisfiable'", "value must be one of"},
		},
		"a spread of skew zero": {
			values: "topologySpreadConstraints: [{maxSkew: 0, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway}]",
			want:   []string{"at '/topologySpreadConstraints/0/maxSkew'", "minimum"},
		},
		"a budget keeping no manager": {
			values: "podDisruptionBudget: {minAvailable: 0}",
			want:   []string{"at '/podDisruptionBudget/minAvailable'", "minimum"},
		},
		"a budget as a percentage": {
			values: "podDisruptionBudget: {minAvailable: 50%}",
			want:   []string{"at '/podDisruptionBudget/minAvailable'", "got string, want integer"},
		},
		"a budget with an unknown key": {
			values: "podDisruptionBudget: {maxUnavailable: 1}",
			want:   []string{"at '/podDisruptionBudget'", "additional properties 'maxUnavailable' not allowed"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := render(tc.values)
			if err == nil {
				t.Fatalf("values %q render", tc.values)
			}
			want := append([]string{"values don't meet the specifications of the schema"}, tc.want...)
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}
