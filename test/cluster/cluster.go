// Package cluster runs a real, simulated Kubernetes cluster on loopback for end-to-end tests and the demo: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler built from source, kwok playing the kubelets of
// N nodes, and a CSI driver's storage (storage.go). Every process it starts is stopped by Stop, and killed by
// the kernel if the parent process dies.
package cluster

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// BinDirEnv names the directory with the control-plane binaries built by `make controlplane`.
const BinDirEnv = "PEAPOD_CONTROLPLANE_DIR"

// Options say what cluster to start.
type Options struct {
	// BinDir holds kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok and kwok-stages/.
	// Empty means $PEAPOD_CONTROLPLANE_DIR.
	BinDir string
	// Nodes is how many kwok nodes to create once the control plane is up.
	Nodes int
	// Timings are the node-lifecycle settings; the zero value means DefaultTimings.
	Timings Timings
	// ExtraArgs are appended to a component's command line, keyed by component name (e.g. "kube-apiserver").
	// PEAPOD_EXTRA_ARGS_KUBE_APISERVER (and likewise for each component) adds more, space-separated.
	ExtraArgs map[string][]string
	// EvictionRequestAPI serves the EvictionRequest API (lifecycle.k8s.io/v1alpha1 behind the EvictionRequestAPI
	// feature gate) and runs a stand-in of its evictionrequest controller, which Kubernetes 1.37 does not ship
	// (evictionrequests.go).
	EvictionRequestAPI bool
	// WithoutStorage leaves out the loops that play the CSI parts (storage.go): for a bench that measures its own
	// process's heap, whose Pod informer would otherwise count as the manager's.
	WithoutStorage bool
	// PodsPerNode is each kwok node's pod capacity; 0 means the kubelet's default, 110. A bench that packs a node
	// near that and then kills some needs room for the replacements on the others.
	PodsPerNode int
	// Logf receives progress lines; nil means silent.
	Logf func(format string, args ...any)
}

// Cluster is a running simulated cluster.
type Cluster struct {
	// Dir holds the data, certificates, logs and kubeconfig of this run.
	Dir string
	// KubeconfigPath is an admin kubeconfig for the cluster.
	KubeconfigPath string
	// Config is the admin REST config.
	Config *rest.Config
	// Clientset is an admin client.
	Clientset kubernetes.Interface

	binDir      string
	logf        func(string, ...any)
	nodes       []string
	podsPerNode int

	// mu guards procs, which a restart replaces in place, faults and what supervise.go keeps.
	mu    sync.Mutex
	procs []*process
	// stopping is set once Stop began: no component is restarted after it.
	stopping bool
	// restarts are the components' own exits; gaveUp the components left down (see supervise.go).
	restarts []Restart
	gaveUp   []error
	// faults stop the faults still injected (see faults.go); Stop runs them first.
	faults []func()
	// background stops the loops of the test process that play parts of the cluster (storage.go); Stop runs
	// them before the processes go.
	background []func()
	// storage is what those loops did.
	storage storageLog
	// certs sign the real nodes' kubelet identities; realNodes are those nodes (realnode.go).
	certs         *pki
	realNodes     []*RealNode
	imageArchives []string
}

// loopback is the only address any server of the cluster listens on.
const loopback = "127.0.0.1"

// Components in start order; Stop goes in reverse.
const (
	componentEtcd              = "etcd"
	componentAPIServer         = "kube-apiserver"
	componentControllerManager = "kube-controller-manager"
	componentScheduler         = "kube-scheduler"
	componentKwok              = "kwok"
)

// Start brings up a cluster and returns once the apiserver serves, the controller-manager and scheduler are
// healthy, kwok runs and the nodes are Ready. On any failure it stops what it started and returns an error that
// names the failing component with the end of its log.
func Start(ctx context.Context, opts Options) (_ *Cluster, err error) {
	if opts.BinDir == "" {
		opts.BinDir = os.Getenv(BinDirEnv)
	}
	if opts.BinDir == "" {
		return nil, fmt.Errorf("no control-plane binaries: set %s (`make controlplane` prints the directory)", BinDirEnv)
	}
	if opts.Timings == (Timings{}) {
		opts.Timings = DefaultTimings
	}
	logf := opts.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := checkBinaries(opts.BinDir); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "peapod-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, binDir: opts.BinDir, logf: logf, podsPerNode: cmp.Or(opts.PodsPerNode, defaultPodsPerNode)}
	defer func() {
		if err != nil {
			// The logs named in err stay on disk for reading; the processes do not.
			c.stopProcesses()
			err = fmt.Errorf("%w\n(cluster directory kept for its logs: %s)", err, dir)
		}
	}()

	started := time.Now()
	certs, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	c.certs = certs
	ports, err := FreePorts(5)
	if err != nil {
		return nil, err
	}
	etcdClient, etcdPeer, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]

	if err := c.startEtcd(ctx, opts, etcdClient, etcdPeer); err != nil {
		return nil, err
	}
	if err := c.startAPIServer(ctx, opts, certs, etcdClient, apiPort); err != nil {
		return nil, err
	}
	logf("kube-apiserver serving on https://127.0.0.1:%d after %s", apiPort, since(started))
	if err := c.startHealthChecked(ctx, opts, componentControllerManager, kcmPort, c.controllerManagerArgs(opts, certs, kcmPort)); err != nil {
		return nil, err
	}
	if err := c.startHealthChecked(ctx, opts, componentScheduler, schedPort, c.schedulerArgs(schedPort)); err != nil {
		return nil, err
	}
	if err := c.startKwok(opts); err != nil {
		return nil, err
	}
	if !opts.WithoutStorage {
		if err := c.startStorage(ctx); err != nil {
			return nil, err
		}
	}
	if opts.EvictionRequestAPI {
		if err := c.startEvictionRequests(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Nodes > 0 {
		if err := c.AddNodes(ctx, opts.Nodes); err != nil {
			return nil, err
		}
	}
	logf("cluster up with %d Ready kwok nodes after %s; kubeconfig %s", opts.Nodes, since(started), c.KubeconfigPath)
	return c, nil
}

// Stop stops every process in reverse start order and removes the run's directory, unless PEAPOD_KEEP_CLUSTER
// is set (to read the logs).
func (c *Cluster) Stop() {
	c.stopProcesses()
	if os.Getenv("PEAPOD_KEEP_CLUSTER") != "" {
		c.logf("kept %s", c.Dir)
		return
	}
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) stopProcesses() {
	c.mu.Lock()
	c.stopping = true
	c.mu.Unlock()
	c.stopFaults()
	c.stopBackground()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
	c.procs = nil
}

// Failed reports the first component that is down for good (crash-looping, or it could not be started again),
// so a test can tell a dead control plane from a bug. A component that exited once is restarted (supervise.go).
func (c *Cluster) Failed() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.gaveUp) > 0 {
		return c.gaveUp[0]
	}
	return nil
}

func checkBinaries(binDir string) error {
	var missing []string
	binaries := []string{componentEtcd, componentAPIServer, componentControllerManager, componentScheduler, componentKwok, "kubectl"}
	for _, name := range binaries {
		if _, err := os.Stat(filepath.Join(binDir, name)); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("control-plane binaries missing from %s: %s (run `make controlplane`)", binDir, strings.Join(missing, ", "))
	}
	return nil
}

func (c *Cluster) start(opts Options, name string, args []string) (*process, error) {
	args = append(args, opts.ExtraArgs[name]...)
	envKey := "PEAPOD_EXTRA_ARGS_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	args = append(args, strings.Fields(os.Getenv(envKey))...)
	p, err := startProcess(name, filepath.Join(c.binDir, name), c.Dir, args)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	c.supervise(p)
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context, opts Options, clientPort, peerPort int) error {
	clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	p, err := c.start(opts, componentEtcd, []string{
		"--name=peapod",
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + clientURL,
		"--advertise-client-urls=" + clientURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=peapod=" + peerURL,
		// A test cluster's data lives for one run: durability costs time and buys nothing.
		"--unsafe-no-fsync",
		"--log-level=warn",
	})
	if err != nil {
		return err
	}
	return p.waitUntil(ctx, 30*time.Second, func(ctx context.Context) bool { return httpOK(ctx, http.DefaultClient, clientURL+"/health") })
}

// apiServerGates are the feature gates and API groups an Options turns on.
func apiServerGates(opts Options) []string {
	if !opts.EvictionRequestAPI {
		return nil
	}
	return []string{"--feature-gates=EvictionRequestAPI=true", "--runtime-config=lifecycle.k8s.io/v1alpha1=true"}
}

func (c *Cluster) startAPIServer(ctx context.Context, opts Options, certs *pki, etcdPort, port int) error {
	tolerate := strconv.Itoa(opts.Timings.DefaultTolerationSeconds)
	p, err := c.start(opts, componentAPIServer, append([]string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", etcdPort),
		"--bind-address=" + loopback,
		fmt.Sprintf("--secure-port=%d", port),
		"--advertise-address=127.0.0.1",
		// 1.37 refuses a loopback advertise address while it reconciles the kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file=" + certs.servingCertFile,
		"--tls-private-key-file=" + certs.servingKey,
		"--client-ca-file=" + certs.caCertFile,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + certs.saPublicKey,
		"--service-account-signing-key-file=" + certs.saSigningKeyFile,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		"--default-not-ready-toleration-seconds=" + tolerate,
		"--default-unreachable-toleration-seconds=" + tolerate,
		"--profiling=false",
		// Real nodes' kubelets (realnode.go) serve exec and logs to this identity, on their node IPs.
		"--kubelet-client-certificate=" + certs.kubeletClientCert,
		"--kubelet-client-key=" + certs.kubeletClientKey,
		"--kubelet-preferred-address-types=InternalIP",
	}, apiServerGates(opts)...))
	if err != nil {
		return err
	}
	if err := c.writeAdminKubeconfig(certs, port); err != nil {
		return err
	}
	httpClient, err := rest.HTTPClientFor(c.Config)
	if err != nil {
		return err
	}
	readyz := fmt.Sprintf("https://127.0.0.1:%d/readyz", port)
	return p.waitUntil(ctx, 60*time.Second, func(ctx context.Context) bool { return httpOK(ctx, httpClient, readyz) })
}

func (c *Cluster) controllerManagerArgs(opts Options, certs *pki, port int) []string {
	return []string{
		"--kubeconfig=" + c.KubeconfigPath,
		"--bind-address=" + loopback,
		fmt.Sprintf("--secure-port=%d", port),
		"--leader-elect=false",
		"--root-ca-file=" + certs.caCertFile,
		"--service-account-private-key-file=" + certs.saSigningKeyFile,
		"--cluster-signing-cert-file=" + certs.caCertFile,
		"--cluster-signing-key-file=" + certs.caKeyFile,
		"--node-monitor-grace-period=" + opts.Timings.NodeMonitorGracePeriod.String(),
		"--node-monitor-period=" + opts.Timings.NodeMonitorPeriod.String(),
	}
}

func (c *Cluster) schedulerArgs(port int) []string {
	return []string{
		"--kubeconfig=" + c.KubeconfigPath,
		"--bind-address=" + loopback,
		fmt.Sprintf("--secure-port=%d", port),
		"--leader-elect=false",
	}
}

// startHealthChecked starts a component that serves /healthz over TLS on port and waits until it answers.
func (c *Cluster) startHealthChecked(ctx context.Context, opts Options, name string, port int, args []string) error {
	p, err := c.start(opts, name, args)
	if err != nil {
		return err
	}
	// Its serving certificate is self-signed at start; only liveness is read from it.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	healthz := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	return p.waitUntil(ctx, 60*time.Second, func(ctx context.Context) bool { return httpOK(ctx, insecure, healthz) })
}

func (c *Cluster) startKwok(opts Options) error {
	config, err := writeKwokConfig(c.binDir, c.Dir, opts.Timings)
	if err != nil {
		return err
	}
	// kwok is healthy when it makes nodes Ready: AddNodes waits for that and reports kwok's exit if it dies.
	_, err = c.start(opts, componentKwok, []string{
		"--kubeconfig=" + c.KubeconfigPath,
		"--config=" + config,
		"--server-address=127.0.0.1:0",
	})
	return err
}

// kubeconfigFor is a kubeconfig for the cluster's API server with a client certificate.
func kubeconfigFor(server string, caPEM, certPEM, keyPEM []byte) *clientcmdapi.Config {
	const name = "peapod"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	return cfg
}

func (c *Cluster) writeAdminKubeconfig(certs *pki, port int) error {
	cfg := kubeconfigFor(fmt.Sprintf("https://127.0.0.1:%d", port), certs.caCertPEM, certs.adminCertPEM, certs.adminKeyPEM)
	c.KubeconfigPath = filepath.Join(c.Dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, c.KubeconfigPath); err != nil {
		return err
	}
	restConfig, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		return err
	}
	// The tests and the demo create many objects quickly; client-side throttling would measure the client.
	restConfig.QPS, restConfig.Burst = 200, 400
	c.Config = restConfig
	c.Clientset, err = kubernetes.NewForConfig(restConfig)
	return err
}

// insecureTLS is for reading /healthz of a component whose self-signed serving certificate nobody else trusts.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true}
}

func httpOK(ctx context.Context, client *http.Client, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// FreePorts finds n distinct free TCP ports on 127.0.0.1.
func FreePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var ports []int
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, errors.Join(errors.New("finding a free port on 127.0.0.1"), err)
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func since(t time.Time) time.Duration { return time.Since(t).Round(10 * time.Millisecond) }
