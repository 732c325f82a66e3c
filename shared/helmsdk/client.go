// Package helmsdk is, with its subpackages charts and drivers, the only place that calls the
// Helm SDK. Everything else works with the types declared here and in charts, so moving from
// helm.sh/helm/v3 to helm.sh/helm/v4 changes these packages and nothing outside them.
package helmsdk

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	helmrelease "helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"sigs.k8s.io/yaml"

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
	// TransformKey identifies the settings of Transform: two transforms with one key edit
	// every object alike. CRDs carrying the digest of their document under this key are left
	// alone without being parsed; "" with a Transform: they are always applied.
	TransformKey string
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
	// transformKey is Config.TransformKey.
	transformKey string
	// hooksOneByOne runs every hook as Helm alone does, none created ahead of its turn
	// (hookBatch): what tests compare with.
	hooksOneByOne bool
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
	if c.Driver == "memory" {
		if err := loadMemoryReleases(cfg, c.Namespace, os.Getenv("HELM_MEMORY_DRIVER_DATA")); err != nil {
			return nil, err
		}
	}
	// Every revision any action writes goes through SecretFree (no path stores decrypted
	// files), and every revision read registers its Secrets, hooks included, with the
	// redactor (no command shows a release it has not read).
	cfg.Releases.Driver = drivers.SecretFree(drivers.SecretsRegistered(drivers.WerfHooks(drivers.CachedReads(cfg.Releases.Driver))))
	client := &Client{cfg: cfg, getter: c.Getter, namespace: c.Namespace, transform: c.Transform, transformKey: c.TransformKey}
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		// Objects without metadata.namespace must land in the release namespace, not in the
		// kubeconfig context's namespace.
		kc.Namespace = c.Namespace
		specs, serverVersion := openAPIV3(c.Getter)
		kc.Factory = newServerValidatingFactory(kc.Factory, specs, serverVersion)
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

// loadMemoryReleases fills the memory driver with the releases of the YAML files in paths
// (colon-separated), as helm does with HELM_MEMORY_DRIVER_DATA: each file is a list of
// releases, as Helm stores them.
func loadMemoryReleases(cfg *action.Configuration, namespace, paths string) error {
	if paths == "" {
		return nil
	}
	// Helm's memory driver moves to the namespace of each release it stores.
	if mem, ok := cfg.Releases.Driver.(*driver.Memory); ok {
		defer mem.SetNamespace(namespace)
	}
	for _, path := range strings.Split(paths, ":") {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("HELM_MEMORY_DRIVER_DATA: %w", err)
		}
		var releases []*helmrelease.Release
		if err := yaml.Unmarshal(data, &releases); err != nil {
			return fmt.Errorf("HELM_MEMORY_DRIVER_DATA %s: %w", path, err)
		}
		for _, rel := range releases {
			if err := cfg.Releases.Create(rel); err != nil {
				return fmt.Errorf("HELM_MEMORY_DRIVER_DATA %s: release %q revision %d: %w", path, rel.Name, rel.Version, err)
			}
		}
	}
	return nil
}
