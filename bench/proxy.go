package bench

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

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
	trace    io.Writer
	watches  atomic.Int64
	peak     atomic.Int64
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
		p.mu.Lock()
		p.requests[verb]++
		if p.trace != nil {
			fmt.Fprintf(p.trace, "%s %s?%s\n", verb, r.URL.Path, r.URL.RawQuery)
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

// take returns the counts since the last take and resets them.
func (p *countingProxy) take() (map[string]int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.requests
	p.requests = map[string]int{}
	peak := int(p.peak.Swap(p.watches.Load()))
	return out, peak
}
