package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// kwokStages are the Stage files shipped in the kwok module that make nodes Ready, renew their Leases, and walk
// pods through Running, Succeeded/Failed and deletion; `make controlplane` copies them next to the kwok binary.
var kwokStages = []string{"node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"}

// podReadyAgain is a stage of our own: a kubelet reports its Pods' real status again once it is back, so a
// Running Pod the controller-manager marked not Ready while its node was silent (MarkPodsNotReady) turns Ready
// again when the node is managed again, as the kubelet's status manager does within its 10 s sync. kwok's own
// stages only make Pending Pods Ready, and such a Pod would stay not Ready for good.
const podReadyAgain = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-ready-again
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'In'
      values:
      - 'False'
  delay:
    durationMilliseconds: 1000
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: ContainersReady
`

// writeKwokConfig writes one multi-document config: kwok's options followed by the stages.
func writeKwokConfig(binDir, dir string, t Timings) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  manageAllNodes: false
  manageNodesWithLabelSelector: %s=true
  nodeLeaseDurationSeconds: %d
  # A config file is not defaulted like flags are: without these kwok refuses to start.
  nodeLeaseParallelism: 4
  nodePlayStageParallelism: 4
  podPlayStageParallelism: 4
  podsOnNodeSyncParallelism: 2
  cidr: 10.244.0.0/16
  nodeIP: 127.0.0.1
`, ManagedNodeLabel, int(t.NodeLeaseDuration.Seconds()))
	for _, stage := range kwokStages {
		data, err := os.ReadFile(filepath.Join(binDir, "kwok-stages", stage+".yaml"))
		if err != nil {
			return "", fmt.Errorf("kwok stage %s is missing (run `make controlplane`): %w", stage, err)
		}
		b.WriteString("---\n")
		b.Write(data)
		b.WriteString("\n")
	}
	b.WriteString("---\n" + podReadyAgain)
	path := filepath.Join(dir, "kwok.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
