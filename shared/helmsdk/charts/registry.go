package charts

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
	"sigs.k8s.io/yaml"
)

// Values returns the chart's default values (values.yaml).
func (c *Chart) Values() map[string]any {
	if c.chart.Values == nil {
		return map[string]any{}
	}
	return c.chart.Values
}

// SetValues replaces the chart's default values, values.yaml included.
func (c *Chart) SetValues(values map[string]any) error {
	data, err := yaml.Marshal(values)
	if err != nil {
		return err
	}
	c.chart.Values = values
	for _, f := range c.chart.Raw {
		if f.Name == chartutil.ValuesfileName {
			f.Data = data
			return nil
		}
	}
	c.chart.Raw = append(c.chart.Raw, &chartFile{Name: chartutil.ValuesfileName, Data: data})
	return nil
}

// SetFile adds or replaces a plain (non-template) file of the chart.
func (c *Chart) SetFile(name string, data []byte) {
	for _, f := range c.chart.Files {
		if f.Name == name {
			f.Data = data
			return
		}
	}
	c.chart.Files = append(c.chart.Files, &chartFile{Name: name, Data: data})
}

// SetVersion sets the chart version of Chart.yaml.
func (c *Chart) SetVersion(version string) { c.chart.Metadata.Version = version }

// Archive packages the chart as Helm does (NAME-VERSION.tgz) and returns the archive.
func (c *Chart) Archive() ([]byte, error) {
	dir, err := os.MkdirTemp("", "converge-chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path, err := chartutil.Save(c.chart, dir)
	if err != nil {
		return nil, fmt.Errorf("package chart %s: %w", c.Name(), err)
	}
	return os.ReadFile(filepath.Clean(path))
}

// LoadChartArchive loads a packaged chart from memory, within Helm's size limits for the
// decompressed chart and each of its files.
func LoadChartArchive(data []byte) (*Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &Chart{chart: ch}, nil
}

// RegistryOptions say how to reach OCI registries.
type RegistryOptions struct {
	// PlainHTTP talks HTTP, not HTTPS.
	PlainHTTP bool
	// CAFile verifies the registry's certificate with this CA bundle; "" uses the system's.
	CAFile string
	// InsecureSkipTLSVerify accepts any certificate.
	InsecureSkipTLSVerify bool
	// ConfigFile is Helm's registry credentials file (helm registry login); docker's config
	// and its credential helpers are used as well.
	ConfigFile string
}

// Registry pushes and pulls charts as OCI artifacts, the way helm push and helm pull do.
type Registry struct {
	client *registry.Client
	capped *cappedTransport
}

// MaxPulledChartSize caps each response a registry sends while a chart is pulled (its
// manifest, config and chart layer): Helm's client holds a pulled artifact in memory, so a
// larger response is refused while it streams.
const MaxPulledChartSize = 50 << 20

// NewRegistry connects with Helm's registry client.
func NewRegistry(o RegistryOptions) (*Registry, error) {
	opts := []registry.ClientOption{registry.ClientOptWriter(io.Discard), registry.ClientOptEnableCache(true)}
	if o.ConfigFile != "" {
		opts = append(opts, registry.ClientOptCredentialsFile(o.ConfigFile))
	}
	if o.PlainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if o.CAFile != "" || o.InsecureSkipTLSVerify {
		tlsConfig := &tls.Config{InsecureSkipVerify: o.InsecureSkipTLSVerify} //nolint:gosec // the user asked for it
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", o.CAFile)
			}
			tlsConfig.RootCAs = pool
		}
		transport.TLSClientConfig = tlsConfig
	}
	capped := &cappedTransport{base: transport, limit: MaxPulledChartSize}
	opts = append(opts, registry.ClientOptHTTPClient(&http.Client{Transport: capped}))
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return &Registry{client: client, capped: capped}, nil
}

// cappedTransport refuses a response body longer than limit while it is read, and
// remembers that it did (the registry client's error does not say why a read failed).
type cappedTransport struct {
	base     http.RoundTripper
	limit    int64
	exceeded atomic.Bool
}

var errResponseTooLarge = errors.New("response larger than allowed")

func (t *cappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.ContentLength > t.limit {
		resp.Body.Close()
		t.exceeded.Store(true)
		return nil, errResponseTooLarge
	}
	resp.Body = &cappedBody{ReadCloser: resp.Body, left: t.limit, exceeded: &t.exceeded}
	return resp, nil
}

// cappedBody reads at most left bytes; one more is an error.
type cappedBody struct {
	io.ReadCloser
	left     int64
	exceeded *atomic.Bool
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		b.exceeded.Store(true)
		return 0, errResponseTooLarge
	}
	return n, err
}

// Artifact is a chart in a registry.
type Artifact struct {
	// Ref is where it is, without the oci:// scheme.
	Ref string
	// Digest is the manifest digest: what "REPO@sha256:..." pins.
	Digest string
	// ChartDigest is the digest of the chart archive layer.
	ChartDigest string
	// Chart is the chart archive.
	Chart []byte
}

// Push stores the chart archive at ref (REGISTRY/REPO:TAG); the tag need not be the chart
// version.
func (r *Registry) Push(archive []byte, ref string) (*Artifact, error) {
	res, err := r.client.Push(archive, ref, registry.PushOptStrictMode(false))
	if err != nil {
		return nil, registryError("push", ref, err)
	}
	return &Artifact{Ref: res.Ref, Digest: res.Manifest.Digest, ChartDigest: res.Chart.Digest, Chart: archive}, nil
}

// Pull fetches the chart at ref (REGISTRY/REPO:TAG or REGISTRY/REPO@sha256:...); the
// registry client verifies the content against its digests.
func (r *Registry) Pull(ref string) (*Artifact, error) {
	r.capped.exceeded.Store(false)
	res, err := r.client.Pull(ref, registry.PullOptWithChart(true))
	if err != nil && r.capped.exceeded.Load() {
		return nil, fmt.Errorf("pull %s: the registry sends more than the %d MiB a chart may have: refused", ref, MaxPulledChartSize>>20)
	}
	if err != nil {
		return nil, registryError("pull", ref, err)
	}
	return &Artifact{Ref: res.Ref, Digest: res.Manifest.Digest, ChartDigest: res.Chart.Digest, Chart: res.Chart.Data}, nil
}

// Tags lists the semver tags of a repository (REGISTRY/REPO), highest first.
func (r *Registry) Tags(repo string) ([]string, error) {
	tags, err := r.client.Tags(repo)
	if err != nil {
		return nil, registryError("list tags of", repo, err)
	}
	return tags, nil
}

// chartFile is Helm's chart file type, named here so the rest of the package reads plainly.
type chartFile = chart.File

// unauthorized matches a 401 answer as the registry client reports it, not the digits 401
// inside a digest, a port or a path.
var unauthorized = regexp.MustCompile(`(?i)\b401\b|unauthorized`)

// registryError says what to do about the registry refusing us; credentials never reach
// the message (the client's errors hold none).
func registryError(op, ref string, err error) error {
	host := ref
	if i := strings.IndexByte(ref, '/'); i > 0 {
		host = ref[:i]
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "basic credential not found"):
		return fmt.Errorf("%s %s: the registry asks for credentials: log in with \"helm registry login %s\" or \"docker login %s\"", op, ref, host, host)
	// A TLS failure comes first: its message names URLs and digests, where "401" may appear
	// by chance.
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "certificate"):
		return fmt.Errorf("%s %s: the registry's TLS certificate is not trusted: pass its CA with --ca-file, or --insecure-skip-tls-verify: %w", op, ref, err)
	case unauthorized.MatchString(msg):
		return fmt.Errorf("%s %s: the registry refused the credentials (401 unauthorized): log in again with \"helm registry login %s\"", op, ref, host)
	}
	return fmt.Errorf("%s %s: %w", op, ref, err)
}
