package helmsdk

import (
	"os"

	"github.com/kubectl-converge/converge/shared/kuberetry"
	"helm.sh/helm/v3/pkg/cli"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// HelmEnv is the cluster connection a Helm plugin gets from Helm: Helm strips its global
// flags (-n, --kube-context, --kubeconfig, ...) and passes them as HELM_* variables.
type HelmEnv struct {
	Getter    genericclioptions.RESTClientGetter
	Namespace string
	// Driver is the release storage from HELM_DRIVER.
	Driver string
	// RegistryConfig is Helm's registry credentials file (HELM_REGISTRY_CONFIG).
	RegistryConfig string
	// Retry is the retry policy of every client of Getter.
	Retry *kuberetry.Policy
}

// FromHelmEnv reads the HELM_* environment as Helm's own commands do.
func FromHelmEnv() HelmEnv {
	settings := cli.New()
	getter := settings.RESTClientGetter()
	retry := kuberetry.NewPolicy()
	if flags, ok := getter.(*genericclioptions.ConfigFlags); ok {
		// Helm's own settings (HELM_QPS, HELM_BURST_LIMIT) already set the rate limit.
		getter = kuberetry.Resilient(flags, nil, retry)
	}
	return HelmEnv{Getter: getter, Namespace: settings.Namespace(), Driver: os.Getenv("HELM_DRIVER"), RegistryConfig: settings.RegistryConfig, Retry: retry}
}
