package webhookcert

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// checkEvery is how often a running manager looks again: two reads, and writes only when something is due (a
// certificate near its end, a caBundle someone reset).
const checkEvery = 5 * time.Minute

// Rotator keeps the serving certificate. Every replica runs one: they agree through the Secret (the first to
// write it wins a conflict, the others take what it wrote), so none needs to be the leader, as every replica
// serves the webhook.
type Rotator struct {
	// Client reads and writes the Secret and the webhook configuration directly, not through a cache.
	Client client.Client
	// Secret holds the CA and the serving certificate. It is created if missing.
	Secret types.NamespacedName
	// Webhook is the ValidatingWebhookConfiguration whose webhooks get the CA as caBundle.
	Webhook string
	// DNSNames are the names the certificate is for: the webhook Service's.
	DNSNames []string
	// CertDir is where the webhook server reads tls.crt and tls.key.
	CertDir string
	Clock   clock.WithTicker
}

// Ensure makes the Secret hold a current certificate, writes it to CertDir and puts its CA into the webhook
// configuration. The manager calls it once before it starts, as the webhook server needs the files to start.
func (r *Rotator) Ensure(ctx context.Context) error {
	data, err := r.currentSecret(ctx)
	if err != nil {
		return fmt.Errorf("webhook certificate Secret %s: %w", r.Secret, err)
	}
	if err := writeFiles(r.CertDir, data); err != nil {
		return fmt.Errorf("writing the webhook certificate to %s: %w", r.CertDir, err)
	}
	if err := r.injectCA(ctx, data[CACertKey]); err != nil {
		return fmt.Errorf("caBundle of ValidatingWebhookConfiguration %s: %w", r.Webhook, err)
	}
	return nil
}

// Start checks again every few minutes until the manager stops.
func (r *Rotator) Start(ctx context.Context) error {
	log := logf.FromContext(ctx).WithName("webhook-certificate")
	ticker := r.Clock.NewTicker(checkEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C():
			if err := r.Ensure(ctx); err != nil {
				log.Error(err, "keeping the webhook's certificate")
			}
		}
	}
}

// NeedLeaderElection is false: every replica serves the webhook, so every replica keeps its files.
func (r *Rotator) NeedLeaderElection() bool { return false }

// currentSecret returns the Secret's data once it holds a current certificate, renewing it if not.
func (r *Rotator) currentSecret(ctx context.Context) (map[string][]byte, error) {
	var data map[string][]byte
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var secret corev1.Secret
		err := r.Client.Get(ctx, r.Secret, &secret)
		if apierrors.IsNotFound(err) {
			secret = corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.Secret.Name, Namespace: r.Secret.Namespace}}
		} else if err != nil {
			return err
		}
		if current(secret.Data, r.DNSNames, r.Clock.Now()) {
			data = secret.Data
			return nil
		}
		if secret.Data, err = renewed(secret.Data, r.DNSNames, r.Clock.Now()); err != nil {
			return err
		}
		data = secret.Data
		if secret.ResourceVersion == "" {
			err = r.Client.Create(ctx, &secret)
			if apierrors.IsAlreadyExists(err) {
				// Another replica created it first: take its certificate.
				return apierrors.NewConflict(corev1.Resource("secrets"), r.Secret.Name, err)
			}
			return err
		}
		return r.Client.Update(ctx, &secret)
	})
	return data, err
}

func (r *Rotator) injectCA(ctx context.Context, bundle []byte) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var config admissionregistrationv1.ValidatingWebhookConfiguration
		if err := r.Client.Get(ctx, client.ObjectKey{Name: r.Webhook}, &config); err != nil {
			return err
		}
		changed := false
		for i := range config.Webhooks {
			if !bytes.Equal(config.Webhooks[i].ClientConfig.CABundle, bundle) {
				config.Webhooks[i].ClientConfig.CABundle = bundle
				changed = true
			}
		}
		if !changed {
			return nil
		}
		return r.Client.Update(ctx, &config)
	})
}

// writeFiles replaces tls.crt and tls.key in dir when they differ, each by a rename, so the webhook server's
// certificate watcher never reads half a file. The key goes first: the watcher reloads on the certificate.
func writeFiles(dir string, data map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{KeyKey, CertKey} {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data[name]) {
			continue
		}
		tmp := path + ".new"
		if err := os.WriteFile(tmp, data[name], 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}
