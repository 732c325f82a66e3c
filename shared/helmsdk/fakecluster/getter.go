package fakecluster

import (
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// getter is the kubeconfig of the fake API: one discovery cache and one REST mapper for
// every client made from it, as kubectl's ConfigFlags keep them.
type getter struct {
	host, namespace string
	once            sync.Once
	discovery       discovery.CachedDiscoveryInterface
	mapper          meta.RESTMapper
}

var _ genericclioptions.RESTClientGetter = (*getter)(nil)

func newGetter(host, namespace string) *getter { return &getter{host: host, namespace: namespace} }

func (g *getter) ToRESTConfig() (*rest.Config, error) {
	// JSON only: typed clients would otherwise send protobuf, which the fake does not read.
	return &rest.Config{Host: g.host, QPS: 1000, Burst: 1000, ContentConfig: rest.ContentConfig{ContentType: "application/json", AcceptContentTypes: "application/json"}}, nil
}

func (g *getter) init() {
	g.once.Do(func() {
		cfg, _ := g.ToRESTConfig()
		g.discovery = memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg))
		g.mapper = restmapper.NewDeferredDiscoveryRESTMapper(g.discovery)
	})
}

func (g *getter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.init()
	return g.discovery, nil
}

func (g *getter) ToRESTMapper() (meta.RESTMapper, error) {
	g.init()
	return g.mapper, nil
}

func (g *getter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["fake"] = &clientcmdapi.Cluster{Server: g.host}
	cfg.AuthInfos["fake"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["fake"] = &clientcmdapi.Context{Cluster: "fake", AuthInfo: "fake", Namespace: g.namespace}
	cfg.CurrentContext = "fake"
	return clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{})
}

// Getter is the cluster connection for helmsdk.Config, kubectl-style.
func (c *Cluster) Getter() genericclioptions.RESTClientGetter { return c.getter }

// Kube is a typed clientset of the fake API.
func (c *Cluster) Kube() kubernetes.Interface {
	cfg, _ := c.getter.ToRESTConfig()
	return kubernetes.NewForConfigOrDie(cfg)
}

// Dynamic is a dynamic client of the fake API.
func (c *Cluster) Dynamic() dynamic.Interface {
	cfg, _ := c.getter.ToRESTConfig()
	return dynamic.NewForConfigOrDie(cfg)
}

// Mapper is the REST mapper of the fake API's discovery (reset when a kind is missing).
func (c *Cluster) Mapper() meta.RESTMapper {
	m, _ := c.getter.ToRESTMapper()
	return m
}
