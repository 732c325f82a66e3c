package giterm

import (
	"testing"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// TestParseConfig: giterminismConfigVersion is 1 as a number or as the string "1" (both
// valid in werf); any other version, or none, is refused with one line.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		wantErr   string
		wantAllow []string
	}{
		{name: "number", raw: "giterminismConfigVersion: 1\nhelm:\n  allowUncommittedFiles: [\"values-*.yaml\"]\n", wantAllow: []string{"values-*.yaml"}},
		{name: "string", raw: "giterminismConfigVersion: \"1\"\nhelm:\n  allowUncommittedFiles: [\"values-*.yaml\"]\n", wantAllow: []string{"values-*.yaml"}},
		{name: "werf's other sections are read past", raw: "giterminismConfigVersion: '1'\ncli:\n  allowCustomTags: true\nconfig:\n  allowUncommittedTemplates: [\".werf/*.tmpl\"]\n"},
		{name: "number 2", raw: "giterminismConfigVersion: 2\n", wantErr: "giterminism: werf-giterminism.yaml: giterminismConfigVersion 2 is not supported: only 1 is"},
		{name: "string 2", raw: "giterminismConfigVersion: \"2\"\n", wantErr: `giterminismConfigVersion "2" is not supported: only 1 is`},
		{name: "string 1.0", raw: "giterminismConfigVersion: \"1.0\"\n", wantErr: `giterminismConfigVersion "1.0" is not supported`},
		{name: "missing", raw: "helm: {}\n", wantErr: "giterminismConfigVersion is missing: set giterminismConfigVersion: 1"},
		{name: "not yaml", raw: "giterminismConfigVersion: [\n", wantErr: "giterminism: werf-giterminism.yaml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseConfig(ConfigFile, []byte(tt.raw))
			if testutil.ExpectError(t, err, tt.wantErr) {
				return
			}
			if len(cfg.Helm.AllowUncommittedFiles) != len(tt.wantAllow) || (len(tt.wantAllow) > 0 && cfg.Helm.AllowUncommittedFiles[0] != tt.wantAllow[0]) {
				t.Fatalf("helm.allowUncommittedFiles %v, want %v", cfg.Helm.AllowUncommittedFiles, tt.wantAllow)
			}
		})
	}
}
