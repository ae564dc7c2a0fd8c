package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/peapod-io/peapod/internal/admission"
	"github.com/peapod-io/peapod/internal/webhookcert"
)

// webhookFlags say whether and how the manager serves the admission webhook, and who keeps its certificate.
type webhookFlags struct {
	port          int
	host          string
	certDir       string
	namespace     string
	secret        string
	configuration string
	service       string
	extraDNSNames string
}

func (f *webhookFlags) bind(fs *flag.FlagSet) {
	fs.IntVar(&f.port, "webhook-port", 0, "Port the admission webhook listens on; 0 serves no webhook.")
	fs.StringVar(&f.host, "webhook-host", "", "Address the admission webhook listens on; empty: every address.")
	fs.StringVar(&f.certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs",
		"Directory of the webhook's tls.crt and tls.key.")
	fs.StringVar(&f.namespace, "webhook-namespace", "", "Namespace of the webhook's Service and certificate Secret; "+
		"default: the manager's own namespace when it runs in a Pod.")
	fs.StringVar(&f.secret, "webhook-cert-secret", "", "Secret the manager keeps the webhook's CA and certificate in, "+
		"renewing them and the webhook configuration's caBundle itself; empty: they are managed elsewhere (cert-manager) "+
		"and mounted in --webhook-cert-dir.")
	fs.StringVar(&f.configuration, "webhook-configuration", "", "ValidatingWebhookConfiguration whose caBundle the "+
		"manager keeps, with --webhook-cert-secret.")
	fs.StringVar(&f.service, "webhook-service", "", "Service in front of the webhook: the certificate is for its DNS names.")
	fs.StringVar(&f.extraDNSNames, "webhook-extra-dns-names", "", "More names for the certificate, comma-separated.")
}

func (f *webhookFlags) enabled() bool { return f.port != 0 }

func (f *webhookFlags) server() webhook.Server {
	if !f.enabled() {
		return nil
	}
	return webhook.NewServer(webhook.Options{Host: f.host, Port: f.port, CertDir: f.certDir})
}

// setup registers the validators and, when the manager keeps the certificate, writes it before the webhook
// server starts (it needs the files) and keeps it renewed.
func (f *webhookFlags) setup(ctx context.Context, mgr ctrl.Manager, cfg *rest.Config) error {
	if !f.enabled() {
		return nil
	}
	if err := admission.SetupWithManager(mgr); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if f.secret == "" {
		return nil
	}
	rotator, err := f.rotator(mgr, cfg)
	if err != nil {
		return err
	}
	// The API server may still be coming up with the manager (a control-plane restart): try for a minute.
	var last error
	err = wait.PollUntilContextTimeout(ctx, 2*time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = rotator.Ensure(ctx)
		return last == nil, nil
	})
	if err != nil {
		return errors.Join(err, last)
	}
	return mgr.Add(rotator)
}

func (f *webhookFlags) rotator(mgr ctrl.Manager, cfg *rest.Config) (*webhookcert.Rotator, error) {
	namespace := f.namespace
	if namespace == "" {
		data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
		if err != nil {
			return nil, fmt.Errorf("--webhook-namespace is not set and the manager runs in no Pod: %w", err)
		}
		namespace = strings.TrimSpace(string(data))
	}
	if f.configuration == "" || f.service == "" {
		return nil, errors.New("--webhook-cert-secret needs --webhook-configuration and --webhook-service")
	}
	direct, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	names := []string{f.service + "." + namespace + ".svc", f.service + "." + namespace + ".svc.cluster.local"}
	if f.extraDNSNames != "" {
		names = append(names, strings.Split(f.extraDNSNames, ",")...)
	}
	return &webhookcert.Rotator{
		Client:   direct,
		Secret:   types.NamespacedName{Namespace: namespace, Name: f.secret},
		Webhook:  f.configuration,
		DNSNames: names,
		CertDir:  f.certDir,
		Clock:    clock.RealClock{},
	}, nil
}
