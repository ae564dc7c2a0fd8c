package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/util/yaml"
)

// kwokStages are the Stage files shipped in the kwok module that make nodes Ready, renew their Leases, and walk
// pods through Running, Succeeded/Failed and deletion; `make controlplane` copies them next to the kwok binary.
// pod-ready is loaded split in two (podReadyStages), so a Pod with claims waits for its volumes.
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

// claimVolumes selects a Pod's volumes backed by a claim: persistentVolumeClaim, and generic ephemeral volumes.
const claimVolumes = `.spec.volumes.[] | select( .persistentVolumeClaim != null or .ephemeral != null ) | .name`

// podReadyStages are kwok's pod-ready stage split in two, as a kubelet starts a Pod's containers only once its
// volumes are mounted: pod-ready for Pods without claims, as before, and pod-ready-volumes for Pods with claims
// that the node's volume manager marked mounted (volumemanager.go). The stage is read and written as JSON, which
// kwok reads as YAML, so its templates stay as shipped.
func podReadyStages(data []byte) ([][]byte, error) {
	noClaims := matchExpression{Key: claimVolumes, Operator: "DoesNotExist"}
	withClaims := matchExpression{Key: claimVolumes, Operator: "Exists"}
	mounted := matchExpression{Key: fmt.Sprintf(".metadata.annotations[%q]", VolumesMountedAnnotation),
		Operator: "In", Values: []string{trueValue}}
	plain, err := stageVariant(data, "pod-ready", noClaims)
	if err != nil {
		return nil, err
	}
	volumes, err := stageVariant(data, "pod-ready-volumes", withClaims, mounted)
	if err != nil {
		return nil, err
	}
	return [][]byte{plain, volumes}, nil
}

// matchExpression is one requirement of a kwok Stage's selector; its key is a jq query of the object.
type matchExpression struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// stageVariant is the stage under another name with more match expressions in its selector.
func stageVariant(data []byte, name string, expressions ...matchExpression) ([]byte, error) {
	js, err := yaml.ToJSON(data)
	if err != nil {
		return nil, err
	}
	var all map[string]any
	if err := json.Unmarshal(js, &all); err != nil {
		return nil, err
	}
	metadata, _ := all["metadata"].(map[string]any)
	spec, _ := all["spec"].(map[string]any)
	selector, _ := spec["selector"].(map[string]any)
	existing, _ := selector["matchExpressions"].([]any)
	if metadata == nil || selector == nil {
		return nil, fmt.Errorf("kwok stage %v has no metadata or selector", metadata["name"])
	}
	metadata["name"] = name
	for _, e := range expressions {
		existing = append(existing, e)
	}
	selector["matchExpressions"] = existing
	return json.Marshal(all)
}

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
		docs := [][]byte{data}
		if stage == "pod-ready" {
			if docs, err = podReadyStages(data); err != nil {
				return "", err
			}
		}
		for _, doc := range docs {
			b.WriteString("---\n")
			b.Write(doc)
			b.WriteString("\n")
		}
	}
	b.WriteString("---\n" + podReadyAgain)
	path := filepath.Join(dir, "kwok.yaml")
	return path, os.WriteFile(path, []byte(b.String()), 0o600)
}
