// Package test renders the peapod Helm chart with the Helm SDK and checks what comes out: the Deployment, the
// RBAC (against config/rbac, which the controllers' markers generate), the metrics objects, the values schema,
// `helm lint`, and an install of everything on a real kube-apiserver (envtest with our own control plane).
package test

import (
	"os"
	"testing"

	"github.com/peapod-io/peapod/test/utils"
)

func TestMain(m *testing.M) {
	// envtest starts kube-apiserver and etcd through links to this binary, which ties them to its life.
	utils.ExecIfDeathLinked()
	os.Exit(m.Run())
}
