package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"

	"github.com/peapod-io/peapod/test/cluster"
	"github.com/peapod-io/peapod/test/utils"
)

// `make demo` is what a newcomer runs first, and CI runs it with its output piped: it must tell the whole story,
// stop by itself and leave nothing running.
var _ = Describe("make demo", func() {
	It("tells the story when piped: members behind the Service, a timed failover, a make-before-break drain, how to explore",
		func(ctx SpecContext) {
			if fastCluster.Simulated == nil {
				Skip("the demo starts a simulated cluster of its own: " + utils.ExistingClusterEnv + " is set")
			}
			out := runDemo(ctx)
			ip := `\d+\.\d+\.\d+\.\d+`
			Expect(out).To(MatchRegexp(`(?m)Service web endpoints: %s \(web-0\), %s \(web-1\), %s \(web-2\)$`, ip, ip, ip))
			failover := regexp.MustCompile(`failover: member web-1 is back as Pod web-1 on \S+: ` +
				`Ready (\d+\.\d)s after its node was killed, in the Service's endpoints (\d+\.\d)s after`).FindStringSubmatch(out)
			Expect(failover).NotTo(BeNil(), "the failover line")
			for _, took := range failover[1:] {
				// nodeFailure.after (20s) from the node's last heartbeat, which is at most 10s before the kill.
				Expect(strconv.ParseFloat(took, 64)).To(BeNumerically("<", 45))
			}
			Expect(out).To(MatchRegexp(`make-before-break: the replacement web-2-m[0-9a-f]{5} was Ready on \S+ [\d.]+m?s before ` +
				`the old Pod web-2 was retired; Ready members never fewer than 3 \(Ready Pods 3 -> 4 -> 3\); kubectl drain took \d+\.\ds`))
			kubectl := regexp.MustCompile(`explore: kubectl --kubeconfig (\S+) get pgroup,pmig,pods -o wide`).FindStringSubmatch(out)
			Expect(kubectl).NotTo(BeNil(), "the kubectl line")
			Expect(filepath.Dir(kubectl[1])).NotTo(BeADirectory(), "the demo removes its cluster's directory")
		}, NodeTimeout(10*time.Minute))

	It("tells it on real nodes: members serving HTTP, a caller answered through the failover, no call lost in the drain",
		Label("real-node"), func(ctx SpecContext) {
			if fastCluster.Simulated == nil {
				Skip("the demo starts a cluster of its own: " + utils.ExistingClusterEnv + " is set")
			}
			if err := cluster.RealNodesPossible(os.Getenv(cluster.RealNodeDirEnv)); err != nil {
				Skip("real nodes: " + err.Error())
			}
			out := runDemo(ctx, "--real-nodes")
			Expect(out).To(MatchRegexp(`failover: member web-1 is back as Pod web-1 on real-\d`))
			Expect(out).To(MatchRegexp(`make-before-break: the replacement web-2-m[0-9a-f]{5} was Ready on real-\d`))
			calls := regexp.MustCompile(`the caller, meanwhile: (\d+) calls in ([\d.]+)s, (\d+) failed; answered by (.*)`).FindAllStringSubmatch(out, -1)
			Expect(calls).To(HaveLen(2), "what the caller saw in the failover and in the drain")
			for _, step := range calls {
				// It calls every 100ms, each call on its own: at least half that pace through the whole step,
				// also while calls to a dead endpoint wait for their timeout.
				made, _ := strconv.Atoi(step[1])
				took, _ := strconv.ParseFloat(step[2], 64)
				Expect(made).To(BeNumerically(">=", 10), step[0])
				Expect(float64(made)).To(BeNumerically(">=", 5*took), step[0])
			}
			// In the failover, the calls that reached the dead member's endpoint before it left the Service failed;
			// the others answered. In the drain none failed, and the member answered from its old Pod and its new.
			Expect(calls[0][4]).To(SatisfyAll(ContainSubstring("web-0"), ContainSubstring("web-2")), calls[0][0])
			Expect(calls[1][3]).To(Equal("0"), "a call failed during the make-before-break drain: %s", calls[1][0])
			Expect(calls[1][4]).To(MatchRegexp(`web-0 \d+, web-1 \d+, web-2 \d+, web-2-m[0-9a-f]{5} \d+`), calls[1][0])
		}, NodeTimeout(10*time.Minute))
})

// runDemo builds hack/demo and runs it as `make demo | cat` does: from the repository root, stdout a pipe, so it
// stops by itself; it returns what the demo printed once it exited 0.
func runDemo(ctx context.Context, args ...string) string {
	repo := filepath.Join("..", "..")
	binary, err := utils.Build(ctx, repo, "./hack/demo", "demo") // once per suite; the suite removes it at the end
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(binary, args...)
	cmd.Dir = repo
	// A process group of its own, so everything it runs can be stopped; killed with this process if that dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	demo, err := gexec.Start(cmd, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(stopProcessGroup, demo)
	Eventually(demo).WithContext(ctx).WithTimeout(8 * time.Minute).Should(gexec.Exit(0))
	return string(demo.Out.Contents())
}

// stopProcessGroup asks a command still running to stop (the demo then stops its cluster and manager), and kills
// its whole process group if it has not stopped within 30 s.
func stopProcessGroup(s *gexec.Session) {
	if s.ExitCode() != -1 {
		return
	}
	group := -s.Command.Process.Pid
	_ = syscall.Kill(group, syscall.SIGTERM)
	select {
	case <-s.Exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(group, syscall.SIGKILL)
		<-s.Exited
	}
}
