package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/peapod-io/peapod/test/cluster"
)

// explore says how to look at the cluster with kubectl and the plugin, and shows what they show now.
func explore(ctx context.Context, c *cluster.Cluster, plugin *binary, t *teller) {
	say := t.say
	kubectl := c.Kubectl(ctx).Path
	say("kubeconfig: %s (kubectl: %s)", c.KubeconfigPath, kubectl)
	say("explore: kubectl --kubeconfig %s get pgroup,pmig,pods -o wide", c.KubeconfigPath)
	out, err := c.Kubectl(ctx, "get", "pgroup,pmig,pods", "-o", "wide").CombinedOutput()
	t.show(out, err)

	path, err := plugin.wait(ctx, say)
	if err != nil {
		say("kubectl peapod status %s: not shown, the plugin did not build: %s", group, firstLine(err.Error()))
		return
	}
	dir := filepath.Dir(path)
	say("explore: KUBECONFIG=%s PATH=%s:$PATH kubectl peapod status %s", c.KubeconfigPath, dir, group)
	// kubectl finds the plugin on PATH and takes no flags before a plugin's name: the cluster comes from KUBECONFIG.
	cmd := c.Kubectl(ctx)
	cmd.Args = []string{cmd.Path, "peapod", "status", group}
	cmd.Env = append(cmd.Env, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err = cmd.CombinedOutput()
	t.show(out, err)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
