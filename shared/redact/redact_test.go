package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestSecretsAreMaskedEverywhere(t *testing.T) {
	Add("s3cr3t-marker", "ab")
	AddValues(map[string]any{"db": map[string]any{"password": "hunter2-long", "port": 5432}, "list": []any{"token-xyz"}})
	tests := []struct{ in, want string }{
		{"password is s3cr3t-marker!", "password is ***!"},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte("hunter2-long")), "b64 ***"},
		{"token-xyz and hunter2-long", "*** and ***"},
		{"short values stay: ab 5432", "short values stay: ab 5432"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if n, err := w.Write([]byte("log: s3cr3t-marker\n")); err != nil || n != 19 {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if buf.String() != "log: ***\n" || Unwrap(w) != &buf || NewWriter(w) != w {
		t.Fatalf("writer wrote %q", buf.String())
	}
}

// TestEncodedFormsAreMasked: a secret is masked in the forms output encodes it in.
func TestEncodedFormsAreMasked(t *testing.T) {
	special := `p&<a>"s\s-ENCMARK`
	pem := "-----BEGIN KEY-----\nline-one-PEMMARK\nline-two-PEMMARK\n-----END KEY-----\n"
	quote := "it's-QUOTEMARK"
	Add(special, pem, quote)
	jsonHTML, _ := json.Marshal(map[string]string{"v": special})
	var plainJSON bytes.Buffer
	enc := json.NewEncoder(&plainJSON)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"v": special, "pem": pem})
	tests := []struct{ name, in string }{
		{"JSON with HTML escaping", string(jsonHTML)},
		{"JSON without HTML escaping, multi-line", plainJSON.String()},
		{"a folded YAML diff line", "-    line-one-PEMMARK"},
		{"single-quoted YAML", "value: 'it''s-QUOTEMARK'"},
	}
	for _, tt := range tests {
		got := String(tt.in)
		for _, marker := range []string{"ENCMARK", "PEMMARK", "QUOTEMARK"} {
			if strings.Contains(got, marker) {
				t.Errorf("%s: %q still shows %s", tt.name, got, marker)
			}
		}
	}
}

// TestShortSecretsAsWholeValues: a secret too short to mask inside text is masked where it
// stands as a whole value, and left alone inside words.
func TestShortSecretsAsWholeValues(t *testing.T) {
	Add("q7Z")
	tests := []struct{ in, want string }{
		{`{"password":"q7Z"}`, `{"password":"***"}`},
		{"password: q7Z\nnext: 1", "password: ***\nnext: 1"},
		{"value: 'q7Z'", "value: '***'"},
		{"url?token=q7Z&x=1", "url?token=***&x=1"},
		{"aq7Zb stays", "aq7Zb stays"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
