// Package clientlog keeps what the Kubernetes client libraries print (klog) and the API
// server's warnings off the user's terminal as raw lines. What a user should know (requests
// delayed by client-side throttling, admission warnings) becomes a Message for the command's
// printer, which renders and redacts it like every other progress line; the rest is shown
// only in debug output.
package clientlog

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
)

// Kind tells messages apart.
type Kind string

const (
	// KindThrottled is a request the client's own rate limiter delayed.
	KindThrottled Kind = "throttled"
	// KindWarning is a warning the API server sent with an answer (deprecations, admission).
	KindWarning Kind = "warning"
)

// Message is one thing worth a progress line.
type Message struct {
	Kind Kind
	// Text is the message in one line.
	Text string
	// Delay is how long a throttled request waited.
	Delay time.Duration
}

// debugLevel is the klog verbosity shown with debug output on.
const debugLevel = 4

var state = struct {
	mu       sync.Mutex
	debug    io.Writer
	fallback io.Writer
	target   func(Message)
	warned   map[string]bool
}{warned: map[string]bool{}}

// SetDebug sends every client log line to w (nil: none).
func SetDebug(w io.Writer) {
	state.mu.Lock()
	state.debug = w
	state.mu.Unlock()
}

// Install routes klog and the API server's warnings through this package for the life of
// the process. debug, when not nil, receives every client log line (redacted by the caller's
// writer); fallback receives the API server's warnings while no printer is connected.
func Install(debug, fallback io.Writer) {
	state.mu.Lock()
	state.debug, state.fallback = debug, fallback
	state.mu.Unlock()
	klog.SetLoggerWithOptions(logr.New(&sink{}), klog.ContextualLogger(true))
	rest.SetDefaultWarningHandlerWithContext(warningHandler{})
}

// Connect sends the messages to fn (the command's printer) until the returned function is
// called; a later Connect replaces an earlier one.
func Connect(fn func(Message)) (disconnect func()) {
	state.mu.Lock()
	state.target = fn
	state.mu.Unlock()
	return func() {
		state.mu.Lock()
		state.target = nil
		state.mu.Unlock()
	}
}

func deliver(m Message) {
	state.mu.Lock()
	target, fallback := state.target, state.fallback
	state.mu.Unlock()
	switch {
	case target != nil:
		target(m)
	case fallback != nil && m.Kind == KindWarning:
		fmt.Fprintf(fallback, "Warning: %s\n", m.Text)
	}
}

type warningHandler struct{}

// HandleWarningHeaderWithContext shows each distinct warning once per process, as kubectl
// does.
func (warningHandler) HandleWarningHeaderWithContext(_ context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	state.mu.Lock()
	seen := state.warned[text]
	state.warned[text] = true
	state.mu.Unlock()
	if !seen {
		deliver(Message{Kind: KindWarning, Text: oneLine(text)})
	}
}

// sink is klog's logger: throttling becomes a message; everything goes to debug output.
type sink struct {
	name   string
	values []any
}

var _ logr.LogSink = (*sink)(nil)

func (s *sink) Init(logr.RuntimeInfo) {}

func (s *sink) Enabled(level int) bool {
	if level <= 3 {
		return true // client-go reports throttling at level 3
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.debug != nil && level <= debugLevel
}

func (s *sink) Info(level int, msg string, kv ...any) {
	all := append(append([]any(nil), s.values...), kv...)
	if msg == "Waited before sending request" {
		if d, ok := value(all, "delay").(time.Duration); ok {
			deliver(Message{Kind: KindThrottled, Text: fmt.Sprintf("client-side throttling delayed a request by %s", d.Round(time.Millisecond)), Delay: d})
		}
	}
	s.debugLine("I", msg, nil, all)
}

func (s *sink) Error(err error, msg string, kv ...any) {
	s.debugLine("E", msg, err, append(append([]any(nil), s.values...), kv...))
}

func (s *sink) WithValues(kv ...any) logr.LogSink {
	return &sink{name: s.name, values: append(append([]any(nil), s.values...), kv...)}
}

func (s *sink) WithName(name string) logr.LogSink {
	if s.name != "" {
		name = s.name + "/" + name
	}
	return &sink{name: name, values: s.values}
}

func (s *sink) debugLine(severity, msg string, err error, kv []any) {
	state.mu.Lock()
	w := state.debug
	state.mu.Unlock()
	if w == nil {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "debug: client %s %s", severity, oneLine(msg))
	if err != nil {
		fmt.Fprintf(&b, " err=%q", oneLine(err.Error()))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], oneLine(fmt.Sprint(kv[i+1])))
	}
	fmt.Fprintln(w, b.String())
}

func value(kv []any, key string) any {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, _ := kv[i].(string); k == key {
			return kv[i+1]
		}
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Throttle sums the delays client-side throttling caused and says so when they add up to
// something a user notices: at most one line per Interval, none below Threshold.
type Throttle struct {
	// Threshold is the total delay below which nothing is said.
	Threshold time.Duration
	// Interval is the least time between two lines.
	Interval time.Duration

	mu       sync.Mutex
	total    time.Duration
	count    int
	reported time.Time
	said     time.Duration
}

// DefaultThrottle says so once requests lost a second in all, then at most every 10 s.
func DefaultThrottle() *Throttle {
	return &Throttle{Threshold: time.Second, Interval: 10 * time.Second}
}

// Add counts one delayed request; it returns the line to show, or "".
func (t *Throttle) Add(d time.Duration, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += d
	t.count++
	if t.total < t.Threshold || t.total == t.said || now.Sub(t.reported) < t.Interval {
		return ""
	}
	t.reported, t.said = now, t.total
	return fmt.Sprintf("client-side throttling delayed %d requests by %s in all", t.count, t.total.Round(100*time.Millisecond))
}
