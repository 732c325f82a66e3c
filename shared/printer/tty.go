package printer

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	"golang.org/x/text/width"

	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track"
)

// tty keeps a table of the tracked objects at the bottom of the terminal and redraws it in
// place; logs and events scroll above it.
type tty struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	// width is the terminal's width in columns: table lines longer than that would wrap,
	// and the redraw would then erase too few lines.
	width  int
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

// defaultTTYWidth is the width when the terminal does not say.
const defaultTTYWidth = 80

// terminalWidth is w's terminal width in columns, else $COLUMNS, else defaultTTYWidth.
func terminalWidth(w io.Writer) int {
	if wrapped, ok := w.(interface{ Unwrap() io.Writer }); ok {
		w = wrapped.Unwrap()
	}
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		return cols
	}
	return defaultTTYWidth
}

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
		fmt.Fprintln(t.w, truncate(redact.String(l), t.width*4))
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
		nameWidth := min(24, max(8, t.width/3))
		line := padRight(stateMark(r.status.State), 8) + " " + padRight(truncate(k, nameWidth), nameWidth) + " " + redact.String(detail)
		lines = append(lines, paint(t.color, stateColor(r.status.State), truncate(line, t.width-1)))
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

// truncate cuts s to at most n terminal columns, ending it with "…" when cut; it cuts between
// runes, never inside one, and counts East Asian wide runes as two columns.
func truncate(s string, n int) string {
	if displayWidth(s) <= n {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		w := runeWidth(r)
		if used+w > n-1 {
			break
		}
		b.WriteRune(r)
		used += w
	}
	return b.String() + "…"
}

// padRight pads s with spaces to n terminal columns.
func padRight(s string, n int) string {
	if w := displayWidth(s); w < n {
		return s + strings.Repeat(" ", n-w)
	}
	return s
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}
