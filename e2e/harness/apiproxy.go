package harness

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// APIProxy is an HTTPS proxy on 127.0.0.1 in front of the local cluster's API server, with
// the cluster's admin credentials: a test points one command at it (Kubeconfig) to count,
// delay or fail that command's requests alone.
type APIProxy struct {
	// Kubeconfig points at the proxy.
	Kubeconfig string
	srv        *httptest.Server
}

// Middleware sees every request before it is forwarded; it forwards by calling next, or
// answers itself.
type Middleware func(w http.ResponseWriter, r *http.Request, next http.Handler)

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

// NewAPIProxy starts a proxy to the cluster of kubeconfig; it stops with the test.
func NewAPIProxy(t testing.TB, kubeconfig string, mw Middleware) *APIProxy {
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
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.FlushInterval = -1
	// A test that stops the control plane makes every forwarded request fail for a while:
	// converge's output says so, the proxy's own log would only drown the test's.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.Transport = &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 100,
	}
	p := &APIProxy{}
	// The proxy authenticates with the cluster's client certificate; the token its own
	// kubeconfig carries only keeps kubectl from prompting for a username, and is not
	// passed on.
	forward := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("Authorization")
		rp.ServeHTTP(w, r)
	})
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw(w, r, forward)
	}))
	t.Cleanup(p.srv.Close)
	p.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: proxy, user: {token: through-the-proxy}}]
contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]
current-context: proxy
`, p.srv.URL)
	if err := os.WriteFile(p.Kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
