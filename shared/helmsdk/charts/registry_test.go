package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOversizedChartLayerIsRefusedWhileStreaming: a registry whose chart layer is four times
// MaxPulledChartSize (declared so in its manifest, sent without a length) is refused with one
// line naming the chart and the cap, and the pull stops reading near the cap.
func TestOversizedChartLayerIsRefusedWhileStreaming(t *testing.T) {
	const layerSize = 4 * MaxPulledChartSize
	config := []byte(`{"apiVersion":"v2","name":"big","version":"0.1.0"}`)
	digest := func(data []byte) string {
		sum := sha256.Sum256(data)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	layerDigest := "sha256:" + strings.Repeat("ab", 32)
	manifest := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":%q,"size":%d},`+
		`"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":%q,"size":%d}]}`,
		digest(config), len(config), layerDigest, layerSize))
	var served atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/", "/v2":
			w.WriteHeader(http.StatusOK)
		case "/v2/big/manifests/0.1.0", "/v2/big/manifests/" + digest(manifest):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", digest(manifest))
			w.Header().Set("Content-Length", fmt.Sprint(len(manifest)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(manifest)
			}
		case "/v2/big/blobs/" + digest(config):
			_, _ = w.Write(config)
		case "/v2/big/blobs/" + layerDigest:
			chunk := make([]byte, 1<<20)
			for served.Load() < layerSize {
				n, err := w.Write(chunk)
				served.Add(int64(n))
				if err != nil {
					return
				}
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer server.Close()
	reg, err := NewRegistry(RegistryOptions{PlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(server.URL, "http://") + "/big:0.1.0"
	_, err = reg.Pull(ref)
	want := "pull " + ref + ": the registry sends more than the 50 MiB a chart may have: refused"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	// Socket buffers take what the machine allows beyond what was read (tcp_rmem allows
	// 32 MiB and more on some machines), so the proof is that the registry could not send
	// its whole layer: a pull that reads whole takes all four times the cap, a capped one the
	// cap and the buffers.
	if served.Load() >= layerSize {
		t.Fatalf("the registry could send all %d MiB of its layer: the layer was read whole, not capped while reading", served.Load()>>20)
	}
}

// TestRegistryErrorSaysWhatToDo: the digits 401 inside a digest or a port do not make a TLS
// failure an authentication one (a bundle-publish to an untrusted registry said "log in
// again" when its blob digest held "401").
func TestRegistryErrorSaysWhatToDo(t *testing.T) {
	tests := []struct {
		name, err, want string
	}{
		{"tls failure with 401 in a digest",
			`Head "https://127.0.0.1:34865/v2/shop/blobs/sha256:9a401f": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
			"the registry's TLS certificate is not trusted"},
		{"401 answer", `GET "https://r.example/v2/": response status code 401: unauthorized: authentication required`,
			"the registry refused the credentials (401 unauthorized)"},
		{"401 in a port is not an answer", `dial tcp 127.0.0.1:40123: connect: connection refused`, "dial tcp"},
		{"no credentials", "basic credential not found", "the registry asks for credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := registryError("push", "r.example/shop:1.0.0", errors.New(tt.err)).Error()
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want it to contain %q", got, tt.want)
			}
			if tt.name == "401 in a port is not an answer" && strings.Contains(got, "refused the credentials") {
				t.Fatalf("got %q: a port is not a 401", got)
			}
		})
	}
}
