package kuberetry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Backoff is the wait before each retry: Initial, doubled after every retry up to Max, each
// wait drawn at random from its upper half so that many clients do not retry in step.
type Backoff struct {
	Initial time.Duration
	Max     time.Duration
}

// DefaultBackoff notices within a few seconds that an API server is back, without flooding
// one that is starting.
var DefaultBackoff = Backoff{Initial: 250 * time.Millisecond, Max: 4 * time.Second}

// DefaultUnbound is how long a request retries when neither it nor the run has a deadline
// (commands that read, outside a deploy).
const DefaultUnbound = 30 * time.Second

// Clock tells the time and waits: tests pass one that advances at once.
type Clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (then it returns false).
	Sleep(ctx context.Context, d time.Duration) bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// Event is a change of the API server's reachability as the requests of one command saw it.
type Event struct {
	// Since is when the API server stopped answering.
	Since time.Time
	// Back is when it answered again; zero in the event that it stopped.
	Back time.Time
	// Cause is the first failure of the outage, in one line.
	Cause string
}

// Policy is how the clients of one command retry, shared by all of them: the backoff, the
// deadline of requests that carry none (Helm's own calls), and the API server's
// reachability, reported once when it is lost and once when it is back.
type Policy struct {
	// Backoff is the wait before each retry; zero fields: DefaultBackoff's.
	Backoff Backoff
	// Clock tells the time and waits; nil: the real clock.
	Clock Clock
	// Unbound is how long a request without a deadline retries outside a run (Bind); zero:
	// DefaultUnbound.
	Unbound time.Duration

	mu  sync.Mutex
	run context.Context
	// reached: the API server answered once; before, a failure is a wrong address or a
	// cluster that is not up (the command's own error says so), not an outage.
	reached bool
	// lastAnswer is when the newest request that got an answer was sent.
	lastAnswer time.Time
	down       time.Time
	back       time.Time
	cause      string
	observe    func(Event)
	notify     sync.Mutex
}

// NewPolicy is the policy of a command: the default backoff on the real clock.
func NewPolicy() *Policy { return &Policy{} }

// Wrap is the transport of every client of the policy (rest.Config.Wrap).
func (p *Policy) Wrap(next http.RoundTripper) http.RoundTripper {
	return &retryTransport{next: next, policy: p}
}

// Bind makes requests that carry no deadline of their own (the Helm SDK's, informers')
// retry until ctx ends: the run's deadline bounds every phase alike. unbind restores the
// binding before.
func (p *Policy) Bind(ctx context.Context) (unbind func()) {
	p.mu.Lock()
	before := p.run
	p.run = ctx
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.run = before
		p.mu.Unlock()
	}
}

// Observe sends every change of reachability to fn until the returned function is called;
// a later Observe replaces an earlier one. fn is called from the clients' goroutines, one
// call at a time.
func (p *Policy) Observe(fn func(Event)) (stop func()) {
	p.mu.Lock()
	p.observe = fn
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.observe = nil
		p.mu.Unlock()
	}
}

// Unreachable says since when the API server has not answered, and why, while it does not.
func (p *Policy) Unreachable() (since time.Time, cause string, down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.down, p.cause, !p.down.IsZero()
}

func (p *Policy) clock() Clock {
	if p.Clock == nil {
		return realClock{}
	}
	return p.Clock
}

func (p *Policy) now() time.Time { return p.clock().Now() }

// bound is how long a request with context ctx retries: until its own deadline or the run's,
// whichever comes first (zero: no deadline); stop ends when either context does, release
// frees it.
func (p *Policy) bound(ctx context.Context) (deadline time.Time, stop context.Context, release func()) {
	p.mu.Lock()
	run := p.run
	p.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if run == nil {
		if !ok {
			unbound := p.Unbound
			if unbound <= 0 {
				unbound = DefaultUnbound
			}
			deadline = p.now().Add(unbound)
		}
		return deadline, ctx, func() {}
	}
	if runDeadline, rok := run.Deadline(); rok && (!ok || runDeadline.Before(deadline)) {
		deadline, ok = runDeadline, true
	}
	if !ok {
		deadline = time.Time{}
	}
	stop, cancel := context.WithCancel(ctx)
	unregister := context.AfterFunc(run, cancel)
	return deadline, stop, func() { unregister(); cancel() }
}

// wait sleeps before retry n (from 0), as long as the backoff says, a Retry-After asks, or
// less when the deadline comes first; false when there is no time left.
func (p *Policy) wait(stop context.Context, deadline time.Time, n int, last *http.Response) bool {
	if stop.Err() != nil {
		return false
	}
	b := p.Backoff
	if b.Initial <= 0 {
		b.Initial = DefaultBackoff.Initial
	}
	if b.Max <= 0 {
		b.Max = DefaultBackoff.Max
	}
	d := b.Initial
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	d = d/2 + rand.N(d/2+1)
	if after := retryAfter(last); after > d {
		d = min(after, b.Max)
	}
	if !deadline.IsZero() {
		left := deadline.Sub(p.now())
		if left <= 0 {
			return false
		}
		d = min(d, left)
	}
	return p.clock().Sleep(stop, d)
}

// retryAfter is the wait an answer asks for (seconds), zero when it asks none.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	s, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || s <= 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}

// settleTime is how long an API server that is back may still fail requests (a restarted
// one answers 503 while it starts) without that being reported as another outage: such
// failures are retried all the same.
const settleTime = 10 * time.Second

// failed records a request sent at sent that the API server did not answer.
func (p *Policy) failed(sent time.Time, f failure) {
	if !f.outage {
		return
	}
	p.mu.Lock()
	if !p.reached || !p.down.IsZero() || !p.back.IsZero() && sent.Before(p.back.Add(settleTime)) {
		p.mu.Unlock()
		return
	}
	p.down, p.cause = sent, f.cause
	ev := Event{Since: sent, Cause: f.cause}
	p.emit(ev)
}

// answered records an answer to a request sent at sent: one sent after the outage began
// ends it (an answer to an earlier request says nothing about now).
func (p *Policy) answered(sent time.Time) {
	p.mu.Lock()
	p.reached = true
	if sent.After(p.lastAnswer) {
		p.lastAnswer = sent
	}
	if p.down.IsZero() || sent.Before(p.down) {
		p.mu.Unlock()
		return
	}
	ev := Event{Since: p.down, Back: p.now(), Cause: p.cause}
	p.down, p.cause, p.back = time.Time{}, "", ev.Back
	p.emit(ev)
}

// pathBudget is how long a request whose own path keeps failing (an aggregated API whose
// service is down answers 503) is retried while the API server answers other requests.
const pathBudget = 10 * time.Second

// answeredSince says whether a request sent after t got an answer: the API server answers,
// so what keeps failing is one path, not an outage.
func (p *Policy) answeredSince(t time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAnswer.After(t)
}

// emit hands ev to the observer in the order of the changes; p.mu is held on entry and
// released before the observer runs.
func (p *Policy) emit(ev Event) {
	observe := p.observe
	p.notify.Lock()
	p.mu.Unlock()
	defer p.notify.Unlock()
	if observe != nil {
		observe(ev)
	}
}
