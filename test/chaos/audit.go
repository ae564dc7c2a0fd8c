package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// auditPolicy records who created, deleted and evicted a Pod of the campaign's namespace, with a delete's
// options (its grace period); nothing else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: Request
  namespaces: ["` + chaosNamespace + `"]
  verbs: ["delete"]
  resources: [{group: "", resources: ["pods"]}]
- level: Request
  namespaces: ["` + chaosNamespace + `"]
  verbs: ["create"]
  resources: [{group: "", resources: ["pods/eviction"]}]
- level: Metadata
  namespaces: ["` + chaosNamespace + `"]
  verbs: ["create"]
  resources: [{group: "", resources: ["pods"]}]
- level: None
`

// audit is kube-apiserver's audit log of the campaign's Pods: who did what to a Pod a violation names.
type audit struct{ policy, log string }

func newAudit(dir string) (*audit, error) {
	a := &audit{policy: filepath.Join(dir, "audit-policy.yaml"), log: filepath.Join(dir, "audit.log")}
	return a, os.WriteFile(a.policy, []byte(auditPolicy), 0o600)
}

// apiserverArgs are kube-apiserver's flags for the log; a restarted kube-apiserver appends to it.
func (a *audit) apiserverArgs() []string {
	return []string{"--audit-policy-file=" + a.policy, "--audit-log-path=" + a.log, "--audit-log-format=json"}
}

// auditEvent is the part of an audit.k8s.io/v1 Event read here.
type auditEvent struct {
	Stage     string `json:"stage"`
	Verb      string `json:"verb"`
	UserAgent string `json:"userAgent"`
	ObjectRef struct {
		Name        string `json:"name"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	RequestObject struct {
		GracePeriodSeconds *int64 `json:"gracePeriodSeconds"`
	} `json:"requestObject"`
	RequestReceivedTimestamp time.Time `json:"requestReceivedTimestamp"`
}

// writes lists what was done to the Pod named pod from `from` to `to`: "12:00:01.234 delete (grace 0) by
// kube-controller-manager pod-garbage-collector: 200".
func (a *audit) writes(pod string, from, to time.Time) ([]string, error) {
	var out []string
	err := a.each(pod, from, to, func(e auditEvent) {
		verb := e.Verb
		switch {
		case e.ObjectRef.Subresource == "eviction":
			verb = "evict"
		case e.Verb == "delete" && e.RequestObject.GracePeriodSeconds != nil:
			verb = fmt.Sprintf("delete (grace %ds)", *e.RequestObject.GracePeriodSeconds)
		}
		out = append(out, fmt.Sprintf("%s %s by %s: %d", e.RequestReceivedTimestamp.Local().Format(clockFormat), verb,
			actor(e.UserAgent), e.ResponseStatus.Code))
	})
	return out, err
}

// each calls fn with every completed request on the Pod named pod received from `from` to `to`, in log order.
func (a *audit) each(pod string, from, to time.Time, fn func(auditEvent)) error {
	f, err := os.Open(a.log)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for scanner.Scan() {
		var e auditEvent
		if json.Unmarshal(scanner.Bytes(), &e) != nil || e.Stage != "ResponseComplete" || e.ObjectRef.Name != pod {
			continue
		}
		if t := e.RequestReceivedTimestamp; t.Before(from) || t.After(to) {
			continue
		}
		fn(e)
	}
	return scanner.Err()
}

// actor shortens a user agent to the program, and the controller for kube-controller-manager's:
// "kube-controller-manager/v1.37.2 (linux/amd64) kubernetes/abc/taint-eviction-controller" is
// "kube-controller-manager taint-eviction-controller".
func actor(userAgent string) string {
	program, _, _ := strings.Cut(userAgent, "/")
	if _, rest, ok := strings.Cut(userAgent, " kubernetes/"); ok {
		if _, controller, ok := strings.Cut(rest, "/"); ok {
			return program + " " + controller
		}
	}
	return program
}

// deletion is who deleted a Pod, as the audit log tells it.
type deletion struct {
	// began is the actor of the last delete or eviction that began it ("" when the log has none).
	began string
	// byKubelet says the node's kubelet (kwok) finished it: it stopped the Pod's containers first, as a kubelet
	// does before it removes a terminating Pod.
	byKubelet bool
}

// kubeletActor is the program that plays the nodes' kubelets.
const kubeletActor = "kwok"

// deletionOf reads the log for the deletion of the Pod named pod from `from` to `to`: who began the last one that
// succeeded, and whether kwok finished it.
func (a *audit) deletionOf(pod string, from, to time.Time) (deletion, error) {
	var d deletion
	err := a.each(pod, from, to, func(e auditEvent) {
		if e.ResponseStatus.Code != 200 || (e.Verb != "delete" && e.ObjectRef.Subresource != "eviction") {
			return
		}
		who := actor(e.UserAgent)
		if who != kubeletActor {
			d = deletion{began: who}
			return
		}
		d.byKubelet = true
		if d.began == "" {
			d.began = who
		}
	})
	return d, err
}
