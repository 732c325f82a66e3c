package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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

// TestAddSecretNode: the values of a rendered Secret are registered, data decoded from
// base64; other kinds are not.
func TestAddSecretNode(t *testing.T) {
	tests := []struct {
		name       string
		doc        string
		marker     string
		wantMasked bool
	}{
		{name: "Secret stringData", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {password: NODEMARK-string}\n", marker: "NODEMARK-string", wantMasked: true},
		{name: "Secret data decoded", doc: "kind: Secret\ndata: {token: " + base64.StdEncoding.EncodeToString([]byte("NODEMARK-data")) + "}\n", marker: "NODEMARK-data", wantMasked: true},
		{name: "ConfigMap data stays", doc: "kind: ConfigMap\ndata: {password: NODEMARK-configmap}\n", marker: "NODEMARK-configmap", wantMasked: false},
		{name: "kind only in a nested mapping", doc: "metadata: {kind: Secret}\nstringData: {x: NODEMARK-nested}\n", marker: "NODEMARK-nested", wantMasked: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.doc), &doc); err != nil {
				t.Fatal(err)
			}
			AddSecretNode(doc.Content[0])
			if masked := !strings.Contains(String("value "+tt.marker), tt.marker); masked != tt.wantMasked {
				t.Fatalf("%s masked: %v, want %v", tt.marker, masked, tt.wantMasked)
			}
		})
	}
	AddSecretNode(nil)
}

// TestAddSecretFile: a decrypted file is masked whole and line by line, short lines as whole
// values.
func TestAddSecretFile(t *testing.T) {
	AddSecretFile([]byte("FILEMARK-first-line\nq7\n"))
	for in, want := range map[string]string{
		"a FILEMARK-first-line b": "a *** b",
		`code: "q7"`:              `code: "***"`,
		"aq7b":                    "aq7b",
	} {
		if got := String(in); got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}
