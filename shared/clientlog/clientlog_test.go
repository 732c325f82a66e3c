package clientlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/klog/v2"
)

// TestKlogNeverReachesTheTerminal: client-go's lines (a failing watch, throttling) go to the
// connected printer or debug output, never to stderr as raw klog lines.
func TestKlogNeverReachesTheTerminal(t *testing.T) {
	var fallback, debug bytes.Buffer
	Install(nil, &fallback)
	var got []Message
	disconnect := Connect(func(m Message) { got = append(got, m) })
	defer disconnect()

	klog.ErrorS(errors.New("events is forbidden"), "Failed to watch", "reflector", "k8s.io/client-go/informers/factory.go:160")
	klog.FromContext(context.Background()).V(3).Info("Waited before sending request", "delay", 1500*time.Millisecond, "verb", "POST")
	klog.Flush()
	if fallback.Len() != 0 {
		t.Fatalf("client log lines reached the fallback writer:\n%s", fallback.String())
	}
	if len(got) != 1 || got[0].Kind != KindThrottled || got[0].Delay != 1500*time.Millisecond {
		t.Fatalf("messages %+v, want one throttling message of 1.5s", got)
	}

	SetDebug(&debug)
	defer SetDebug(nil)
	klog.ErrorS(errors.New("events is forbidden"), "Failed to watch")
	klog.Flush()
	if !strings.Contains(debug.String(), `debug: client E Failed to watch err="events is forbidden"`) {
		t.Fatalf("debug output %q lacks the watch failure", debug.String())
	}
}

// warningRuns numbers the runs of TestWarningsOncePerText: a warning is shown once per
// process, so each run (go test -count=N) warns with a text of its own.
var warningRuns atomic.Int64

func TestWarningsOncePerText(t *testing.T) {
	var fallback bytes.Buffer
	Install(nil, &fallback)
	h := warningHandler{}
	text := fmt.Sprintf("policy/v1beta1 PodSecurityPolicy is deprecated (run %d)", warningRuns.Add(1))
	for range 3 {
		h.HandleWarningHeaderWithContext(context.Background(), 299, "-", text)
	}
	h.HandleWarningHeaderWithContext(context.Background(), 199, "-", "not a warning code")
	if got := fallback.String(); got != "Warning: "+text+"\n" {
		t.Fatalf("fallback got %q", got)
	}
}

func TestThrottle(t *testing.T) {
	now := time.Unix(0, 0)
	tests := []struct {
		name   string
		delays []time.Duration
		gap    time.Duration
		lines  int
	}{
		{"short delays say nothing", []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}, time.Second, 0},
		{"a second in all is said once", []time.Duration{600 * time.Millisecond, 600 * time.Millisecond, 600 * time.Millisecond}, time.Second, 1},
		{"then at most once per interval", []time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second}, 6 * time.Second, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th := DefaultThrottle()
			lines := 0
			at := now
			for _, d := range tt.delays {
				at = at.Add(tt.gap)
				if th.Add(d, at) != "" {
					lines++
				}
			}
			if lines != tt.lines {
				t.Fatalf("%d lines, want %d", lines, tt.lines)
			}
		})
	}
}
