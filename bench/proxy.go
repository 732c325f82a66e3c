package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/yaml"
)

// countingProxy sits between one measured command and the API server: it counts the
// requests by verb and the peak of watches open at once, for that command alone (the
// cluster's own controllers talk to the API server directly).
type countingProxy struct {
	srv        *httptest.Server
	kubeconfig string

	mu       sync.Mutex
	requests map[string]int
	watches  atomic.Int64
	peak     atomic.Int64
}

type kubeconfigFile struct {
	Clusters []struct {
		Cluster struct {
			Server string `json:"server"`
			CA     string `json:"certificate-authority"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		User struct {
			Cert string `json:"client-certificate"`
			Key  string `json:"client-key"`
		} `json:"user"`
	} `json:"users"`
}

// newCountingProxy forwards to the cluster of kubeconfig with its credentials and writes a
// kubeconfig that points at the proxy.
func newCountingProxy(t *testing.T, kubeconfig string) *countingProxy {
	t.Helper()
	raw, err := os.ReadFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var kc kubeconfigFile
	if err := yaml.Unmarshal(raw, &kc); err != nil || len(kc.Clusters) == 0 || len(kc.Users) == 0 {
		t.Fatalf("kubeconfig %s: %v", kubeconfig, err)
	}
	target, err := url.Parse(kc.Clusters[0].Cluster.Server)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.LoadX509KeyPair(kc.Users[0].User.Cert, kc.Users[0].User.Key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(kc.Clusters[0].Cluster.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	p := &countingProxy{requests: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	rp.Transport = &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 100,
	}
	rp.ErrorLog = nil
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verb := verbOf(r)
		p.mu.Lock()
		p.requests[verb]++
		p.mu.Unlock()
		if verb == "watch" {
			if n := p.watches.Add(1); n > p.peak.Load() {
				p.peak.Store(n)
			}
			defer p.watches.Add(-1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	p.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: proxy, user: {}}]
contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]
current-context: proxy
`, p.srv.URL)
	if err := os.WriteFile(p.kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// verbOf names a request as the API server's metrics do.
func verbOf(r *http.Request) string {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet:
		if q.Get("watch") == "true" || q.Get("watch") == "1" {
			return "watch"
		}
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(r.Method)
}

// take returns the counts since the last take and resets them.
func (p *countingProxy) take() (map[string]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.requests
	p.requests = map[string]int{}
	peak := int(p.peak.Swap(p.watches.Load()))
	return out, peak
}
