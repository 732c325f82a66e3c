package track

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubectl-converge/converge/shared/redact"
)

// TestLogLinesRedactedBeforeCut: a secret crossing the cut of a long log line is masked,
// not shown in part; a cut never splits a character.
func TestLogLinesRedactedBeforeCut(t *testing.T) {
	const secret = "log-cut-SECRETMARKER-0123456789"
	redact.Add(secret)
	tests := []struct {
		name     string
		line     string
		want     string // a prefix of the result
		wantLen  int
		notShown string
	}{
		{name: "secret across byte 2048", line: strings.Repeat("a", maxLogLineBytes-8) + secret + strings.Repeat("z", 100),
			want: strings.Repeat("a", maxLogLineBytes-8) + redact.Mask + strings.Repeat("z", 5), notShown: secret[:8]},
		{name: "short line", line: "token " + secret, want: "token " + redact.Mask, wantLen: len("token " + redact.Mask)},
		{name: "multi-byte character at the cut", line: strings.Repeat("a", maxLogLineBytes-1) + "é" + "tail",
			want: strings.Repeat("a", maxLogLineBytes-1) + "...", wantLen: maxLogLineBytes - 1 + 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shownLogLine(tt.line)
			if !strings.HasPrefix(got, tt.want) {
				t.Fatalf("line shown as ...%q, want it to start with ...%q", tail(got), tail(tt.want))
			}
			if tt.wantLen > 0 && len(got) != tt.wantLen {
				t.Fatalf("%d bytes shown, want %d", len(got), tt.wantLen)
			}
			if tt.notShown != "" && strings.Contains(got, tt.notShown) {
				t.Fatalf("part of the secret is shown: ...%q", tail(got))
			}
			if !utf8.ValidString(got) || len(got) > maxLogLineBytes+3 {
				t.Fatalf("the cut line is not valid UTF-8 or too long (%d bytes)", len(got))
			}
		})
	}
}

func tail(s string) string {
	if len(s) > 40 {
		return s[len(s)-40:]
	}
	return s
}
