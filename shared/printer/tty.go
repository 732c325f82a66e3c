package printer

import (
	"fmt"
	"io"
	"sort"

	"sync"
	"time"

	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track"
)

// tty keeps a table of the tracked objects at the bottom of the terminal and redraws it in
// place; logs and events scroll above it.
type tty struct {
	mu     sync.Mutex
	w      io.Writer
	color  bool
	rows   map[string]*ttyRow
	order  []string
	drawn  int
	start  time.Time
	latest time.Duration
}

type ttyRow struct {
	ref    track.Ref
	status track.Status
}

const ttyWidth = 80

func (t *tty) sink(e track.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.latest = e.Elapsed
	switch e.Type {
	case track.EventTypeStatus:
		key := e.Object.String()
		if _, ok := t.rows[key]; !ok {
			t.order = append(t.order, key)
		}
		t.rows[key] = &ttyRow{ref: *e.Object, status: *e.Status}
		t.redraw(nil)
	case track.EventTypeLog:
		t.redraw([]string{fmt.Sprintf("%s %s | %s", e.Object, paint(t.color, dim, "pod/"+e.Pod+" "+e.Container), e.Line)})
	case track.EventTypeKubeEvent:
		t.redraw([]string{fmt.Sprintf("%s %s%s", e.Object, eventSubject(e), paintEvent(t.color, e))})
	case track.EventTypeStage:
		t.redraw([]string{paint(t.color, dim, "── "+e.Line)})
	case track.EventTypeSummary:
		t.clear()
		WriteSummary(t.w, e.Results, t.color)
	}
}

// clear moves the cursor to the top of the drawn table and erases it.
func (t *tty) clear() {
	if t.drawn > 0 {
		fmt.Fprintf(t.w, "\x1b[%dA\x1b[J", t.drawn)
	}
	t.drawn = 0
}

func (t *tty) redraw(above []string) {
	t.clear()
	for _, l := range above {
		// Masked before truncation: a secret cut in half would no longer match.
		fmt.Fprintln(t.w, truncate(redact.String(l), ttyWidth*4))
	}
	keys := append([]string(nil), t.order...)
	sort.SliceStable(keys, func(i, j int) bool { return rank(t.rows[keys[i]].status.State) < rank(t.rows[keys[j]].status.State) })
	ready := 0
	var lines []string
	for _, k := range keys {
		r := t.rows[k]
		if r.status.State == track.StateReady || r.status.State == track.StateDeleted {
			ready++
			continue
		}
		detail := r.status.Detail
		if r.status.Failure != nil {
			detail = r.status.Failure.Error()
		}
		line := fmt.Sprintf("%-8s %-24s %s", stateMark(r.status.State), truncate(k, 24), redact.String(detail))
		lines = append(lines, paint(t.color, stateColor(r.status.State), truncate(line, ttyWidth-1)))
	}
	lines = append(lines, fmt.Sprintf("%d ready, %d more  %s", ready, len(keys)-ready, clock(t.latest)))
	for _, l := range lines {
		fmt.Fprintln(t.w, l)
	}
	t.drawn = len(lines)
}

func rank(s track.State) int {
	switch s {
	case track.StateFailed:
		return 0
	case track.StateProgressing:
		return 1
	default:
		return 2
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
