package diff

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDiff(t *testing.T) {
	secret := func(data string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata: {" + data + "}\n"
	}
	tests := []struct {
		name      string
		live      string
		planned   string
		opts      Options
		want      []string
		wantNot   []string
		wantEmpty bool
	}{
		{
			name:      "server-set fields are not changes",
			live:      "kind: ConfigMap\nmetadata: {name: c, resourceVersion: '7', uid: x, generation: 2, managedFields: [{manager: helm}], annotations: {kubectl-converge.io/version: v1, werf.io/version: v1}}\ndata: {a: b}\nstatus: {x: 1}",
			planned:   "kind: ConfigMap\nmetadata: {name: c, resourceVersion: '8', annotations: {kubectl-converge.io/version: v2, werf.io/version: v2}}\ndata: {a: b}",
			wantEmpty: true,
		},
		{
			name:    "insignificant fields shown on request",
			live:    "kind: ConfigMap\nmetadata: {name: c, resourceVersion: '7'}\ndata: {a: b}",
			planned: "kind: ConfigMap\nmetadata: {name: c, resourceVersion: '8'}\ndata: {a: b}",
			opts:    Options{ShowInsignificant: true},
			want:    []string{"-  resourceVersion: \"7\"", "+  resourceVersion: \"8\""},
		},
		{
			name:    "one changed field with context",
			live:    "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: one, b: same}",
			planned: "kind: ConfigMap\nmetadata: {name: c}\ndata: {a: two, b: same}",
			want:    []string{"--- live", "+++ planned", "-  a: one", "+  a: two", "   b: same"},
		},
		{
			name:    "changed secret value hidden",
			live:    secret("password: c2VjcmV0MQ==, user: YWRtaW4="),
			planned: secret("password: c2VjcmV0Mg==, user: YWRtaW4="),
			want:    []string{"-  password: <hidden>", "+  password: <hidden, changed>"},
			wantNot: []string{"c2VjcmV0", "YWRtaW4="},
		},
		{
			name:      "unchanged secret has no diff",
			live:      secret("password: c2VjcmV0MQ=="),
			planned:   secret("password: c2VjcmV0MQ=="),
			wantEmpty: true,
		},
		{
			name:    "new secret shows keys, not values",
			planned: secret("password: c2VjcmV0MQ=="),
			want:    []string{"+  password: <hidden>"},
			wantNot: []string{"c2VjcmV0MQ=="},
		},
		{
			name:    "secret values shown on request",
			live:    secret("password: c2VjcmV0MQ=="),
			planned: secret("password: c2VjcmV0Mg=="),
			opts:    Options{ShowSensitive: true},
			want:    []string{"-  password: c2VjcmV0MQ==", "+  password: c2VjcmV0Mg=="},
		},
		{
			name:    "sensitive paths",
			live:    "kind: Deployment\nmetadata: {name: d, annotations: {werf.io/sensitive-paths: '$.spec.containers[*].env[*].value'}}\nspec: {containers: [{name: a, env: [{name: TOKEN, value: old-token}]}]}",
			planned: "kind: Deployment\nmetadata: {name: d, annotations: {werf.io/sensitive-paths: '$.spec.containers[*].env[*].value'}}\nspec: {containers: [{name: a, env: [{name: TOKEN, value: new-token}]}]}",
			want:    []string{"value: <hidden, changed>"},
			wantNot: []string{"old-token", "new-token"},
		},
		{
			name: "deleted object",
			live: "kind: ConfigMap\nmetadata: {name: gone}\ndata: {a: b}",
			want: []string{"-kind: ConfigMap", "-  name: gone"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live, planned := Normalize(obj(t, tt.live), tt.opts), Normalize(obj(t, tt.planned), tt.opts)
			if err := Mask(live, planned, tt.opts); err != nil {
				t.Fatal(err)
			}
			got, err := Unified(live, planned, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantEmpty != (got == "") {
				t.Fatalf("diff:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w+"\n") {
					t.Errorf("diff lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(got, w) {
					t.Errorf("diff shows %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{in: "$.spec.template.spec.containers[*].env[*].value", want: "spec/template/spec/containers/*/env/*/value"},
		{in: "$.data.*", want: "data/*"},
		{in: "data[0]", want: "data/0"},
		{in: "$", err: "selects nothing"},
		{in: "$.a..b", err: "empty segment"},
		{in: "$.a[x]", err: `index "x"`},
	}
	for _, tt := range tests {
		got, err := ParsePath(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(got, "/") != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.in, got, err, tt.want)
		}
	}
}
