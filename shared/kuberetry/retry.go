// Package kuberetry makes Kubernetes clients ride out an API server that refuses requests
// for a while: restarts, overload, a load balancer between.
package kuberetry

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

// retryBackoff is how long a request waits before each retry: about 8 s in all, enough to
// ride out an API server restart or a load balancer's hiccup, short enough to fail clearly.
var retryBackoff = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second}

// RateLimit is the client-side rate limit of every client of a command. Zero fields keep
// what the configuration already says, else the defaults below.
type RateLimit struct {
	QPS   float32
	Burst int
}

// AddFlags adds helm's names for the limit (--qps, --burst-limit): kubectl has none.
func (l *RateLimit) AddFlags(fs *pflag.FlagSet) {
	fs.Float32Var(&l.QPS, "qps", DefaultQPS, "requests per second the clients may send to the API server (client-side limit; the server's own priority and fairness still applies)")
	fs.IntVar(&l.Burst, "burst-limit", DefaultBurst, "requests the clients may send at once above --qps")
}

// Resilient makes every client built from flags retry requests that the API server (or what
// stands before it) refused without processing them: connections refused, 502/503/504, and
// 429 without Retry-After. client-go retries only answers that carry Retry-After. limit
// (nil: the defaults) sets the client-side rate limit.
func Resilient(flags *genericclioptions.ConfigFlags, limit *RateLimit) *genericclioptions.ConfigFlags {
	wrap := flags.WrapConfigFn
	flags.WrapConfigFn = func(cfg *rest.Config) *rest.Config {
		if wrap != nil {
			cfg = wrap(cfg)
		}
		if limit != nil && limit.QPS > 0 {
			cfg.QPS = limit.QPS
		}
		if limit != nil && limit.Burst > 0 {
			cfg.Burst = limit.Burst
		}
		// client-go's defaults (5 requests per second, bursts of 10) are made for controllers
		// that run for days, not for a deploy that reads dozens of kinds once: nelm's are used.
		if cfg.QPS == 0 {
			cfg.QPS = DefaultQPS
		}
		if cfg.Burst == 0 {
			cfg.Burst = DefaultBurst
		}
		cfg.Wrap(func(next http.RoundTripper) http.RoundTripper {
			return &retryTransport{next: next, backoff: retryBackoff}
		})
		return cfg
	}
	return flags
}

// DefaultQPS and DefaultBurst are the client-side rate limit of every client (nelm's).
const (
	DefaultQPS   = 30
	DefaultBurst = 100
)

type retryTransport struct {
	next    http.RoundTripper
	backoff []time.Duration
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// A body that cannot be rewound is kept, so that a retry sends the same request
		// instead of an empty one (which would create or patch something else).
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if attempt >= len(t.backoff) || !retriable(req, resp, err) {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if req.Body != nil && req.Body != http.NoBody {
			body, berr := req.GetBody()
			if berr != nil {
				return nil, berr
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		select {
		case <-req.Context().Done():
			return nil, req.Context().Err()
		case <-time.After(t.backoff[attempt]):
		}
	}
}

// retriable says whether the request certainly was not processed, so that sending it again
// is safe even when it changes something.
func retriable(req *http.Request, resp *http.Response, err error) bool {
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return true
		}
		// A reset or an early EOF may come after the server acted: only reads are repeated.
		return req.Method == http.MethodGet && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF))
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusTooManyRequests:
		return resp.Header.Get("Retry-After") == ""
	}
	return false
}
