// Package helmsdk is, with its subpackages charts and drivers, the only place that calls the
// Helm SDK. Everything else works with the types declared here and in charts, so moving from
// helm.sh/helm/v3 to helm.sh/helm/v4 changes these packages and nothing outside them.
package helmsdk

import (
	"bytes"
	"fmt"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/kubectl-converge/converge/shared/helmsdk/drivers"
)

// Transform rewrites a stream of YAML documents; it must be idempotent, because Helm passes
// some objects through it twice (as rendered, then when building them for the API server).
type Transform func([]byte) ([]byte, error)

// Config says which cluster, namespace and release storage a Client works with.
type Config struct {
	// Getter resolves the cluster connection, as kubectl's ConfigFlags or Helm's settings do.
	Getter genericclioptions.RESTClientGetter
	// Namespace holds the release records and every namespaced object without its own namespace.
	Namespace string
	// Driver is the release storage: "" or "secret" (the default), "configmap", "memory" or "sql".
	Driver string
	// Transform is applied to every object before it reaches the cluster: the rendered
	// templates, hooks and CRDs alike (Helm 3's post-renderer skips hooks and CRDs). Nil
	// leaves objects as rendered.
	Transform Transform
	// Debugf receives Helm's debug messages; nil discards them.
	Debugf func(format string, args ...any)
}

// Client runs release actions in one namespace.
type Client struct {
	cfg       *action.Configuration
	getter    genericclioptions.RESTClientGetter
	kube      *deployKubeClient
	namespace string
	transform Transform
}

// NewClient connects the Helm action configuration to the cluster described by c.
func NewClient(c Config) (*Client, error) {
	debugf := c.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(c.Getter, c.Namespace, c.Driver, debugf); err != nil {
		return nil, fmt.Errorf("initialize release storage %q in namespace %q: %w", c.Driver, c.Namespace, err)
	}
	cfg.Releases.Driver = drivers.WerfHooks(drivers.CachedReads(cfg.Releases.Driver))
	client := &Client{cfg: cfg, getter: c.Getter, namespace: c.Namespace, transform: c.Transform}
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		// Objects without metadata.namespace must land in the release namespace, not in the
		// kubeconfig context's namespace.
		kc.Namespace = c.Namespace
		client.kube = &deployKubeClient{Client: kc, transform: c.Transform}
		cfg.KubeClient = client.kube
	}
	return client, nil
}

// postRenderer adapts a Transform to Helm's PostRenderer, so that the manifest stored in the
// release record is the one applied.
type postRenderer struct{ transform Transform }

func (p postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := p.transform(in.Bytes())
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}
