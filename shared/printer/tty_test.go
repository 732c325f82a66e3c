package printer

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kubectl-converge/converge/shared/track"
)

// TestTTYFitsTheTerminal: the live table never draws a line wider than the terminal (a
// wrapped line would break the in-place redraw), cuts names and details between runes, and
// keeps its columns aligned for non-ASCII and wide names.
func TestTTYFitsTheTerminal(t *testing.T) {
	names := []track.Ref{
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "café-ßüñ-frontend-with-a-long-name"},
		{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "服务-订单-处理器"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web"},
	}
	for _, width := range []int{30, 40, 80, 120} {
		t.Run(fmt.Sprintf("width-%d", width), func(t *testing.T) {
			var out bytes.Buffer
			sink := (&tty{w: &out, width: width, rows: map[string]*ttyRow{}}).sink
			for i, ref := range names {
				sink(track.Event{Type: track.EventTypeStatus, Time: time.Unix(0, 0), Elapsed: time.Duration(i) * time.Second, Object: &ref,
					Status: &track.Status{State: track.StateProgressing, Detail: "available 0/3, waiting for pod 服务-订单-处理器-7c9f-x2k: ContainerCreating, pulling image registry.example.com/shop/ünïcode:1"}})
			}
			table := lastTable(out.String())
			for _, line := range table {
				if !utf8.ValidString(line) {
					t.Errorf("line is not valid UTF-8 (a rune was cut): %q", line)
				}
				if w := displayWidth(line); w > width-1 {
					t.Errorf("line of %d columns on a terminal of %d: %q", w, width, line)
				}
			}
			golden(t, fmt.Sprintf("tty-width-%d", width), strings.Join(table, "\n")+"\n")
		})
	}
}

// lastTable is the table the last redraw left on the terminal.
func lastTable(out string) []string {
	frames := strings.Split(out, "\x1b[J")
	return strings.Split(strings.TrimRight(frames[len(frames)-1], "\n"), "\n")
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly-10", 10, "exactly-10"},
		{"café-crème", 6, "café-…"},
		{"服务订单", 5, "服务…"},
		{"服务订单", 8, "服务订单"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
