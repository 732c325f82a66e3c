package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// countingProxy sits between one measured command and the API server: it counts the
// requests by verb and the peak of watches open at once, for that command alone (the
// cluster's own controllers talk to the API server directly).
type countingProxy struct {
	*harness.APIProxy
	kubeconfig string

	mu       sync.Mutex
	requests map[string]int
	// writes are the creates, patches and updates in the order they arrived, with the
	// resource and name they write: the phases of a deploy are told apart by them.
	writes  []apiWrite
	trace   io.Writer
	watches atomic.Int64
	peak    atomic.Int64
}

// newCountingProxy forwards to the cluster of kubeconfig and counts what passes.
func newCountingProxy(t *testing.T, kubeconfig string) *countingProxy {
	t.Helper()
	p := &countingProxy{requests: map[string]int{}}
	// CONVERGE_BENCH_TRACE names a file that gets every request's verb and path, to see
	// where requests go.
	if path := os.Getenv("CONVERGE_BENCH_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		p.trace = f
	}
	p.APIProxy = harness.NewAPIProxy(t, kubeconfig, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		verb := verbOf(r)
		var written *apiWrite
		if verb == "create" || verb == "patch" || verb == "update" {
			written = writeOf(r)
		}
		p.mu.Lock()
		p.requests[verb]++
		if written != nil {
			p.writes = append(p.writes, *written)
		}
		if p.trace != nil {
			fmt.Fprintf(p.trace, "%s %s %s?%s\n", time.Now().Format("15:04:05.000"), verb, r.URL.Path, r.URL.RawQuery)
		}
		p.mu.Unlock()
		if verb == "watch" {
			if n := p.watches.Add(1); n > p.peak.Load() {
				p.peak.Store(n)
			}
			defer p.watches.Add(-1)
		}
		next.ServeHTTP(w, r)
	})
	p.kubeconfig = p.APIProxy.Kubeconfig
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

// apiWrite is one create, patch or update seen by the proxy.
type apiWrite struct {
	at       time.Time
	resource string // the plural resource: "jobs", "customresourcedefinitions"
	name     string
}

// writeOf reads which object a write is for: from the path, or for a create from the
// body's metadata.name (the body is put back for the API server).
func writeOf(r *http.Request) *apiWrite {
	w := &apiWrite{at: time.Now()}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if r.Method == http.MethodPost {
		w.resource = parts[len(parts)-1]
		if r.Body != nil {
			body, err := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var obj struct {
				Metadata struct{ Name, GenerateName string } `json:"metadata"`
			}
			if err == nil && json.Unmarshal(body, &obj) == nil {
				w.name = obj.Metadata.Name
			}
		}
		return w
	}
	if len(parts) >= 2 {
		// .../<resource>/<name>[/<subresource>]: a subresource write is not the object's.
		w.resource, w.name = parts[len(parts)-2], parts[len(parts)-1]
		if len(parts) >= 3 && (w.name == "status" || w.name == "scale") {
			return nil
		}
	}
	return w
}

// take returns the counts since the last take and resets them.
func (p *countingProxy) take() (map[string]int, int) {
	out, peak, _ := p.takeWrites()
	return out, peak
}

// takeWrites is take with the writes since the last take.
func (p *countingProxy) takeWrites() (map[string]int, int, []apiWrite) {
	p.mu.Lock()
	defer p.mu.Unlock()
	writes := p.writes
	p.writes = nil
	out := p.requests
	p.requests = map[string]int{}
	peak := int(p.peak.Swap(p.watches.Load()))
	return out, peak, writes
}
