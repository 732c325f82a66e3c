// Package kuberetry makes Kubernetes clients ride out an API server that does not answer for
// a while (a control-plane upgrade, a restart, overload, a load balancer between): every
// request is retried with capped exponential backoff until its own deadline or the run's,
// and a create or a delete whose answer was lost is checked against the live object before
// it is sent again.
package kuberetry

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
)

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

// Resilient makes every client built from flags retry what the API server (or what stands
// before it) did not answer, as policy says (nil: a policy of its own with the default
// backoff): connections refused or cut, TLS handshake timeouts, 429, 502/503/504 and etcd's
// transient 500s. limit (nil: the defaults) sets the client-side rate limit.
func Resilient(flags *genericclioptions.ConfigFlags, limit *RateLimit, policy *Policy) *genericclioptions.ConfigFlags {
	if policy == nil {
		policy = NewPolicy()
	}
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
		cfg.Wrap(policy.Wrap)
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
	next   http.RoundTripper
	policy *Policy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req, err := rewindable(req)
	if err != nil {
		return nil, err
	}
	p := t.policy
	deadline, stop, release := p.bound(req.Context())
	defer release()
	op := operationOf(req)
	var (
		lastResp *http.Response
		lastErr  error
		// unsure: an earlier attempt of this create or delete may have taken effect; the live
		// object says whether before anything is sent again.
		unsure   bool
		resent   bool
		firstTry time.Time
		// firstAnswer is when the API server's first transient answer came, since it was
		// last out of reach.
		firstAnswer time.Time
		// pathFailing is when an attempt first failed with the API server's transient answer
		// although it had answered another request sent after firstAnswer: from then on this
		// request's path fails, not the API server. An outage (nothing heard from the API
		// server) starts both afresh: a request that slept through a long outage is tried
		// again, not failed with the outage's stale answer because another got through first.
		pathFailing time.Time
	)
	noteFailure := func(sent time.Time, f failure) {
		switch {
		case f.unheard:
			firstAnswer, pathFailing = time.Time{}, time.Time{}
		case firstAnswer.IsZero():
			firstAnswer = sent
		case pathFailing.IsZero() && p.answeredSince(firstAnswer):
			pathFailing = sent
		}
	}
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if lastResp != nil && !pathFailing.IsZero() && p.now().Sub(pathFailing) >= pathBudget {
				// Other requests get answers: this path fails on its own (a down aggregated
				// API), which waiting for the run's deadline would not mend.
				return lastResp, lastErr
			}
			if !p.wait(stop, deadline, attempt-1, lastResp) {
				return lastResp, lastErr
			}
			if req, err = rewound(req); err != nil {
				return nil, err
			}
		}
		if unsure {
			sent := p.now()
			resp, verdict, f, _ := t.confirm(req, op, firstTry)
			switch verdict {
			case verdictUnreachable:
				p.failed(sent, f)
				noteFailure(sent, f)
				if resp != nil {
					// What the request met last (its body is in memory: classify).
					lastResp, lastErr = resp, nil
				}
				continue
			case verdictDone:
				p.answered(sent)
				return resp, nil
			case verdictUnknown:
				// The live object cannot tell: the original failure stands.
				return lastResp, lastErr
			}
			p.answered(sent)
			unsure, resent = false, true
		}
		sent := p.now()
		if firstTry.IsZero() {
			firstTry = sent
		}
		resp, err := t.next.RoundTrip(req)
		if err != nil && req.Context().Err() != nil {
			if lastResp != nil || lastErr != nil {
				// The request's own deadline passed while it was sent again: what the earlier
				// attempts met says more than "context deadline exceeded".
				return lastResp, lastErr
			}
			return resp, err
		}
		f := classify(resp, err)
		if f.kind == answered && err == nil && !streamed(req) {
			// Read here, where a cut can be retried: client-go reads the body later and
			// gives up on "unexpected error when reading response body".
			if rerr := readWhole(resp); rerr != nil {
				f = classify(nil, rerr)
				resp, err = nil, rerr
				if f.kind == answered {
					return nil, rerr
				}
			}
		}
		switch f.kind {
		case answered:
			p.answered(sent)
			if resent && op.raced(resp) {
				// An earlier attempt took effect after all: its answer was lost, and the check
				// ran before the server had finished it.
				if op.kind == opDelete {
					drain(resp)
					return deletedAnswer(req), nil
				}
				live, verdict, _, _ := t.confirm(req, op, firstTry)
				if verdict == verdictDone {
					drain(resp)
					return live, nil
				}
				if live != nil {
					drain(live)
				}
			}
			return resp, err
		case notProcessed:
			p.failed(sent, f)
		case maybeProcessed:
			p.failed(sent, f)
			if op.checkable() {
				unsure = true
			} else if op.kind != opIdempotent {
				// A create whose object has no name we can look up (generateName) is not sent
				// twice: it could create two objects.
				return resp, err
			}
		}
		// A transient answer's body was read into memory (classify): it can be returned
		// after later attempts.
		lastResp, lastErr = resp, err
		noteFailure(sent, f)
	}
}

// rewindable makes a request's body readable again for a retry: a body that cannot be
// rewound is kept, so that a retry sends the same request instead of an empty one (which
// would create or patch something else).
func rewindable(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		return req, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return req, nil
}

// rewound is req with its body from the start again.
func rewound(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	req = req.Clone(req.Context())
	req.Body = body
	return req, nil
}

// streamed reports whether the answer to req is read as it comes (a watch, followed logs, a
// connection upgraded for exec, attach or port-forward), not whole.
func streamed(req *http.Request) bool {
	q := req.URL.Query()
	return q.Get("watch") == "true" || q.Get("watch") == "1" || q.Get("follow") == "true" ||
		strings.Contains(req.URL.Path, "/watch/") || req.Header.Get("Upgrade") != "" || req.Header.Get("Connection") == "Upgrade"
}

// readWhole reads the answer's body into memory and leaves it readable.
func readWhole(resp *http.Response) error {
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return nil
}

// drain reads what is left of an answer that is dropped, so its connection can be reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

var _ http.RoundTripper = (*retryTransport)(nil)
