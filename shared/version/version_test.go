package version

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		check   func(t *testing.T, out string)
		wantErr string
	}{
		{name: "text", format: "text", check: func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "prog "+version+" (commit "+commit) {
				t.Fatalf("text output %q does not start with the program, version and commit", out)
			}
		}},
		{name: "json", format: "json", check: func(t *testing.T, out string) {
			var info Info
			if err := json.Unmarshal([]byte(out), &info); err != nil {
				t.Fatalf("json output %q: %v", out, err)
			}
			if info.Version != version || info.Commit != commit || info.BuildDate != date {
				t.Fatalf("json output %+v does not match the stamped build", info)
			}
		}},
		{name: "unknown format", format: "yaml", wantErr: `unknown --output "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, "prog", tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Write() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, buf.String())
		})
	}
}
