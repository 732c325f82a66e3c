package lifecycle

import (
	"strings"
	"testing"
)

func TestCheckWerfAnnotations(t *testing.T) {
	tests := []struct {
		annotation string
		wantErr    string
	}{
		{"werf.io/weight", ""},
		{"werf.io/deploy-dependency-db", ""},
		{"werf.io/log-regex-skip-for-app", ""},
		{"werf.io/ignore-readiness-probe-fails-for-app", ""},
		{"werf.io/resource-policy", ""},
		{"werf.io/sensitive", ""},
		{"project.werf.io/name", ""},
		{"gitlab.ci.werf.io/job-url", ""},
		{"db.external-dependency.werf.io", ""},
		{"db.external-dependency.werf.io/resource", ""},
		{"helm.sh/hook", ""},
		{"example.com/werf.io", ""},
		{"werf.io/wieght", "werf.io/wieght: werf defines no such annotation"},
		{"werf.io/fail-mod", "werf defines no such annotation"},
		{"werf.io/deploy-dependency-", "werf defines no such annotation"},
		{"track.werf.io/mode", "werf defines no annotation in track.werf.io"},
		{"werf.io/deploy-on", ""},
		{"werf.io/ownership", ""},
		{"werf.io/delete-dependency-db", ""},
		{"db.dependency.werf.io", ""},
	}
	for _, tt := range tests {
		t.Run(tt.annotation, func(t *testing.T) {
			err := CheckWerfAnnotations(map[string]string{tt.annotation: "x"})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "annotation "+tt.annotation+":") {
				t.Fatalf("err = %v, want one naming %s and %q", err, tt.annotation, tt.wantErr)
			}
		})
	}
}
