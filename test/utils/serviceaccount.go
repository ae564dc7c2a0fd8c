package utils

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

// ServiceAccountKubeconfig writes a kubeconfig into dir that authenticates as a ServiceAccount, with a token from
// the TokenRequest API, as a Pod running under that ServiceAccount would: the way to run the manager with
// exactly the rights an installation grants it.
func (t *TestCluster) ServiceAccountKubeconfig(ctx context.Context, namespace, name, dir string) (string, *rest.Config, error) {
	token, err := t.Clientset.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	cfg := rest.AnonymousClientConfig(t.Config)
	cfg.BearerToken = token.Status.Token
	kubeconfig := clientcmdapi.NewConfig()
	kubeconfig.Clusters["cluster"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData,
		CertificateAuthority: cfg.CAFile}
	kubeconfig.AuthInfos["sa"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kubeconfig.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "sa", Namespace: namespace}
	kubeconfig.CurrentContext = "sa"
	path := filepath.Join(dir, fmt.Sprintf("kubeconfig-%s-%s", namespace, name))
	if err := clientcmd.WriteToFile(*kubeconfig, path); err != nil {
		return "", nil, err
	}
	return path, cfg, os.Chmod(path, 0o600)
}
