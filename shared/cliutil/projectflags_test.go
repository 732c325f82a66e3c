package cliutil

import (
	"io"
	"testing"

	"github.com/spf13/pflag"
)

// TestWerfEnvironmentLocatesTheProject: WERF_DIR, WERF_CONFIG, WERF_CONFIG_TEMPLATES_DIR and
// WERF_GITERMINISM_CONFIG fill the flags of the same meaning (werf 1.2 cmd/werf/common
// SetupDir, SetupConfigPath, SetupConfigTemplatesDir, SetupGiterminismConfigPath); the
// command line wins.
func TestWerfEnvironmentLocatesTheProject(t *testing.T) {
	environ := []string{"WERF_DIR=apps/shop", "WERF_CONFIG=apps/shop/werf-prod.yaml", "WERF_CONFIG_TEMPLATES_DIR=apps/shop/tmpl", "WERF_GITERMINISM_CONFIG=ci/giterminism.yaml"}
	tests := []struct {
		name string
		args []string
		want ProjectFlags
		git  string
	}{
		{name: "from the environment", want: ProjectFlags{Dir: "apps/shop", Config: "apps/shop/werf-prod.yaml", TemplatesDir: "apps/shop/tmpl"}, git: "ci/giterminism.yaml"},
		{
			name: "the command line wins",
			args: []string{"--dir", "other", "--config", "other/werf.yaml", "--config-templates-dir", "other/.werf", "--giterminism-config", "g.yaml"},
			want: ProjectFlags{Dir: "other", Config: "other/werf.yaml", TemplatesDir: "other/.werf"}, git: "g.yaml",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			var project ProjectFlags
			var git GitFlags
			project.AddFlags(fs)
			git.AddFlags(fs)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			if _, err := ApplyWerfEnvironment(fs, WerfConverge, environ, io.Discard); err != nil {
				t.Fatal(err)
			}
			if project != tt.want || git.Config != tt.git {
				t.Fatalf("project flags %+v, giterminism config %q; want %+v, %q", project, git.Config, tt.want, tt.git)
			}
		})
	}
}
