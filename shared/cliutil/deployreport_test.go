package cliutil

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/kubectl-converge/converge/shared/exitcode"
)

func TestDeployReportPath(t *testing.T) {
	tests := []struct{ flag, want, err string }{
		{"", ".werf-deploy-report.json", ""},
		{"out/report.json", "out/report.json", ""},
		{"out/report", "out/report.json", ""},
		{"report.yaml", "", `the extension must be .json or none, as in werf`},
	}
	for _, tt := range tests {
		got, err := DeployReportPath(tt.flag)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && err.Error() != tt.err) {
			t.Errorf("DeployReportPath(%q) = %q, %v; want %q, %q", tt.flag, got, err, tt.want, tt.err)
		}
	}
}

func TestReadDeployReport(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content    string
		release, ns, err string
	}{
		// nelm's report (werf's --save-deploy-report), as werf's dismiss reads it.
		{"werf", `{"version":1,"release":"shop-prod","namespace":"shop-prod","revision":3,"status":"deployed","completedOperations":[]}`, "shop-prod", "shop-prod", ""},
		{"converge", `{"release":"shop","namespace":"prod","revision":1,"status":"deployed","durationSeconds":1.5,"objects":[]}`, "shop", "prod", ""},
		{"no namespace", `{"release":"shop"}`, "", "", "no namespace in it"},
		{"no release", `{"namespace":"prod"}`, "", "", "no release in it"},
		{"not json", `release: shop`, "", "", "not JSON"},
		{"missing", "", "", "", "write one with converge --save-report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			release, ns, err := ReadDeployReport(path)
			if release != tt.release || ns != tt.ns {
				t.Errorf("release %q namespace %q, want %q %q", release, ns, tt.release, tt.ns)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || exitcode.Of(err) != exitcode.CodeUsage):
				t.Errorf("err = %v (exit %d), want a usage error saying %q", err, exitcode.Of(err), tt.err)
			}
		})
	}
}

// TestWerfDeployReportVariablesOfDismiss: WERF_USE_DEPLOY_REPORT and WERF_DEPLOY_REPORT_PATH
// fill dismiss's flags of werf's names; the command line wins.
func TestWerfDeployReportVariablesOfDismiss(t *testing.T) {
	tests := []struct {
		name, args, wantPath string
		wantUse              bool
	}{
		{"variables", "", "out/report", true},
		{"the command line wins", "--deploy-report-path=cli.json", "cli.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("dismiss", pflag.ContinueOnError)
			use, path := fs.Bool("use-deploy-report", false, ""), fs.String("deploy-report-path", "", "")
			if tt.args != "" {
				if err := fs.Parse([]string{tt.args}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := ApplyWerfEnvironment(fs, WerfDismiss, []string{"WERF_USE_DEPLOY_REPORT=1", "WERF_DEPLOY_REPORT_PATH=out/report"}, io.Discard); err != nil {
				t.Fatal(err)
			}
			if *use != tt.wantUse || *path != tt.wantPath {
				t.Errorf("use-deploy-report %v deploy-report-path %q, want %v %q", *use, *path, tt.wantUse, tt.wantPath)
			}
		})
	}
}
