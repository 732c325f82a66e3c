// Package printer renders the tracking event stream: a live table on a terminal,
// append-only timestamped lines in a CI log, or JSON lines for programs.
package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-converge/converge/shared/track"
)

// Mode is how events are rendered.
type Mode string

const (
	// ModeAuto picks ModeTTY when the writer is a terminal, ModePlain otherwise.
	ModeAuto Mode = "auto"
	// ModeTTY redraws a table of the objects in place, with logs and events above it.
	ModeTTY Mode = "tty"
	// ModePlain appends one timestamped line per change.
	ModePlain Mode = "plain"
	// ModeJSON writes one JSON object per event.
	ModeJSON Mode = "json"
)

// New returns the sink that renders events in mode to w.
func New(w io.Writer, mode Mode, color bool) track.Sink {
	if mode == ModeAuto {
		mode = ModePlain
		if IsTerminal(w) && os.Getenv("TERM") != "dumb" {
			mode = ModeTTY
		}
	}
	switch mode {
	case ModeJSON:
		enc := json.NewEncoder(w)
		var mu sync.Mutex
		return func(e track.Event) {
			mu.Lock()
			defer mu.Unlock()
			_ = enc.Encode(e)
		}
	case ModeTTY:
		return (&tty{w: w, color: color, width: terminalWidth(w), rows: map[string]*ttyRow{}}).sink
	default:
		return (&plain{w: w, color: color}).sink
	}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	if wrapped, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = wrapped.Unwrap()
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// ColorWanted decides colors for --color auto|always|never, honouring NO_COLOR and TERM=dumb;
// CI systems that render ANSI get colors in auto mode too.
func ColorWanted(flag string, w io.Writer) bool {
	switch flag {
	case "always":
		return true
	case "never":
		return false
	}
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w) || os.Getenv("GITHUB_ACTIONS") == "true" || os.Getenv("GITLAB_CI") == "true"
}

const (
	red    = "\x1b[31m"
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

func paint(on bool, color, s string) string {
	if !on {
		return s
	}
	return color + s + reset
}

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func stateMark(s track.State) string {
	switch s {
	case track.StateReady:
		return "ready"
	case track.StateReadyWithWarnings:
		return "ready*"
	case track.StateFailed:
		return "FAILED"
	case track.StateSkipped:
		return "skipped"
	case track.StateDeleted:
		return "deleted"
	default:
		return "waiting"
	}
}

func stateColor(s track.State) string {
	switch s {
	case track.StateReady, track.StateDeleted:
		return green
	case track.StateFailed:
		return red
	case track.StateReadyWithWarnings, track.StateSkipped:
		return yellow
	}
	return dim
}

// plain writes one line per change, never redrawing: safe for CI logs.
type plain struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
}

func (p *plain) sink(e track.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := "[" + clock(e.Elapsed) + "] "
	switch e.Type {
	case track.EventTypeStatus:
		line := fmt.Sprintf("%s%s %s", ts, e.Object, paint(p.color, stateColor(e.Status.State), stateMark(e.Status.State)))
		if e.Status.Failure != nil {
			line += ": " + e.Status.Failure.Error()
		} else if e.Status.Detail != "" {
			line += ": " + e.Status.Detail
		}
		fmt.Fprintln(p.w, line)
	case track.EventTypeLog:
		fmt.Fprintf(p.w, "%s%s pod/%s %s | %s\n", ts, e.Object, e.Pod, e.Container, e.Line)
	case track.EventTypeKubeEvent:
		fmt.Fprintf(p.w, "%s%s %s%s\n", ts, e.Object, eventSubject(e), paintEvent(p.color, e))
	case track.EventTypeWaiting:
		var parts []string
		for _, w := range e.Waiting {
			parts = append(parts, fmt.Sprintf("%s (%s)", w.Object, w.Status.Detail))
		}
		fmt.Fprintf(p.w, "%s... waiting for %d: %s\n", ts, len(e.Waiting), strings.Join(parts, ", "))
	case track.EventTypeStage:
		fmt.Fprintf(p.w, "%s%s\n", ts, paint(p.color, dim, "── "+e.Line))
	case track.EventTypeSummary:
		WriteSummary(p.w, e.Results, p.color)
	}
}

func eventSubject(e track.Event) string {
	if e.Pod != "" {
		return "pod/" + e.Pod + " "
	}
	return ""
}

func paintEvent(color bool, e track.Event) string {
	if e.Warning {
		return paint(color, yellow, "Warning "+e.Line)
	}
	return e.Line
}

// WriteSummary prints the result table, then why each failed object failed: the pod,
// container, reason, events and last log lines.
func WriteSummary(w io.Writer, results []track.ObjectResult, color bool) {
	writeSummary(w, results, color, nil)
}

// groupMarkers frame the explanation of one failed object (a CI log's foldable group): the
// lines to print before and after it.
type groupMarkers func(title string) (open, close string)

func writeSummary(w io.Writer, results []track.ObjectResult, color bool, group groupMarkers) {
	if len(results) == 0 {
		return
	}
	width := len("RESOURCE")
	for _, r := range results {
		width = max(width, len(r.Object.String()))
	}
	fmt.Fprintf(w, "\n%-*s  %-8s  %-6s  %s\n", width, "RESOURCE", "RESULT", "TIME", "DETAILS")
	for _, r := range results {
		mark, detail := resultRow(r)
		fmt.Fprintf(w, "%-*s  %s  %-6s  %s\n", width, r.Object, paint(color, stateColor(r.Status.State), fmt.Sprintf("%-8s", mark)), r.Took.Round(time.Second), detail)
	}
	for _, r := range results {
		f := r.Status.Failure
		if f == nil || (r.Status.State != track.StateFailed && r.Status.State != track.StateProgressing) {
			continue
		}
		title := fmt.Sprintf("%s failed: %s", r.Object, f.Reason)
		if r.Status.State == track.StateProgressing {
			title = fmt.Sprintf("%s not ready when the time ran out", r.Object)
		}
		fmt.Fprintf(w, "\n%s %s\n", paint(color, red, "x"), title)
		closing := ""
		if group != nil {
			var opening string
			opening, closing = group("Why " + title)
			fmt.Fprintln(w, opening)
		}
		if f.Pod != "" {
			fmt.Fprintf(w, "  pod %s", f.Pod)
			if f.Container != "" {
				fmt.Fprintf(w, "  container %s", f.Container)
			}
			fmt.Fprintln(w)
		}
		if f.Message != "" {
			fmt.Fprintf(w, "  %s\n", f.Message)
		}
		if len(f.Events) > 0 {
			fmt.Fprintln(w, "  events:")
			for _, e := range f.Events {
				fmt.Fprintf(w, "    %s\n", e)
			}
		}
		if len(f.Logs) > 0 {
			fmt.Fprintf(w, "  last log lines of %s:\n", f.Container)
			for _, l := range f.Logs {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
		if f.Pod != "" {
			fmt.Fprintf(w, "  next: kubectl -n %s describe pod %s\n", r.Object.Namespace, f.Pod)
		}
		if closing != "" {
			fmt.Fprintln(w, closing)
		}
	}
}

// resultRow is an object's result mark (TIMEOUT for one unfinished at a timeout) and its
// details (the failure, else the status detail).
func resultRow(r track.ObjectResult) (mark, detail string) {
	detail = r.Status.Detail
	if r.Status.Failure != nil && r.Status.State != track.StateProgressing {
		detail = r.Status.Failure.Error()
	}
	mark = stateMark(r.Status.State)
	if r.Status.State == track.StateProgressing && r.Status.Failure != nil {
		mark = "TIMEOUT"
	}
	return mark, detail
}
