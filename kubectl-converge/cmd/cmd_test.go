package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/kuberetry"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// unreachableKubeconfig names a cluster on a port nothing listens on (port 1 of 127.0.0.1),
// so a command that needs the API fails the same way on every machine.
const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: shop}}]
users: [{name: none, user: {token: x}}]
current-context: none
`

// refusingAPI answers like an API server that knows the caller but allows nothing: /version
// (what reaching it asks) and 403 Forbidden for everything else, at once, so commands that
// need the API end quickly and the same way on every machine.
func refusingAPI() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/version" {
			fmt.Fprint(w, `{"major":"1","minor":"37","gitVersion":"v1.37.2"}`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Forbidden","code":403,"message":"%s %s is forbidden: User \"deployer\" cannot do it"}`, r.Method, r.URL.Path)
	}))
}

// Kubeconfigs written for the whole test run: unreachable (nothing listens) and refusing
// (refusingAPI).
var unreachablePath, refusingPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "converge-cmd-test")
	if err != nil {
		panic(err)
	}
	api := refusingAPI()
	unreachablePath, refusingPath = filepath.Join(dir, "unreachable"), filepath.Join(dir, "refusing")
	refusing := strings.Replace(unreachableKubeconfig, "https://127.0.0.1:1", api.URL, 1)
	for path, content := range map[string]string{unreachablePath: unreachableKubeconfig, refusingPath: refusing} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			panic(err)
		}
	}
	// Releases live in Helm's memory driver, which starts with those of testdata/releases.yaml.
	os.Setenv("HELM_DRIVER", "memory")
	os.Setenv("HELM_MEMORY_DRIVER_DATA", filepath.Join("testdata", "releases.yaml"))
	code := m.Run()
	api.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runWith runs kubectl converge in-process as the binary would, with the kubeconfig at path.
func runWith(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	// Retries of an API server that is not there take no time: the clock moves by what they wait.
	newRoot := func(streams genericiooptions.IOStreams) *cobra.Command {
		return newCmdConverge(streams, &kuberetry.Policy{Clock: testutil.NewInstantClock()})
	}
	code := cliutil.Execute(context.Background(), newRoot, append(args, "--kubeconfig", kubeconfig), streams, nil, false)
	result := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
	// Every build stamps its own version; the refusing API listens on a port of its own;
	// kubectl's --cache-dir defaults under the home directory.
	if home, err := os.UserHomeDir(); err == nil {
		result = strings.ReplaceAll(result, home+string(filepath.Separator), "$HOME/")
	}
	result = regexp.MustCompile(`((?:kubectl-converge|werf)\.io/version: ).*`).ReplaceAllString(result, "${1}<version>")
	return regexp.MustCompile(`127\.0\.0\.1:\d{2,}`).ReplaceAllString(result, "127.0.0.1:<port>")
}

// TestCommands runs each command in-process with golden output: help, usage errors and their
// exit codes, an offline render, a release that does not exist.
func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		// The one command that waits for an API server that is not there (retries, then a
		// one-line error); every other command needing the API meets one that refuses.
		{"unreachable", []string{"testdata/chart", "--timeout", "30s"}},
		{"help", []string{"--help"}},
		{"help-render", []string{"render", "--help"}},
		{"help-plan", []string{"plan", "--help"}},
		{"help-dismiss", []string{"dismiss", "--help"}},
		{"help-history", []string{"history", "--help"}},
		{"help-rollback", []string{"rollback", "--help"}},
		{"help-track", []string{"track", "--help"}},
		{"help-secret", []string{"secret", "--help"}},
		{"unknown-flag", []string{"--bogus"}},
		{"unknown-command-args", []string{"render", "a", "b"}},
		{"timeout-invalid", []string{"testdata/chart", "--timeout", "soon"}},
		{"timeout-negative", []string{"testdata/chart", "--timeout", "-5"}},
		{"output-invalid", []string{"testdata/chart", "-o", "yaml"}},
		{"plan-output-invalid", []string{"plan", "testdata/chart", "-o", "html"}},
		{"ci-format-invalid", []string{"testdata/chart", "--ci-format", "azure"}},
		{"rollback-revision-invalid", []string{"rollback", "shop", "zero"}},
		{"set-invalid", []string{"render", "testdata/chart", "--set", "=x"}},
		{"chart-missing", []string{"render", "testdata/no-such-chart"}},
		{"render", []string{"render", "testdata/chart", "--release", "shop", "-n", "prod", "--set", "replicas=3", "--env", "production", "--image", "web=registry.example.com/web@sha256:" + strings.Repeat("a", 64)}},
		{"render-show-only", []string{"render", "testdata/chart", "--show-only", "templates/app.yaml", "--add-annotation", "team=shop"}},
		// werf render's form: the template's file, inside the chart directory.
		{"render-show-only-file", []string{"render", "testdata/chart", "--show-only", "testdata/chart/templates/app.yaml"}},
		{"history-no-release", []string{"history", "shop", "-n", "prod"}},
		// werf's unit for --timeout is seconds: 600 is ten minutes, as 10m is.
		{"timeout-seconds", []string{"testdata/chart", "--timeout", "600"}},
		{"timeout-duration", []string{"testdata/chart", "--timeout", "10m"}},
		// werf's flags: one this tool cannot honour stops with one line naming what to use.
		{"werf-flag-refused", []string{"testdata/chart", "--follow"}},
		{"render-werf-s", []string{"render", "testdata/chart", "-s", "templates/app.yaml"}},
		{"werf-flag-refused-render", []string{"render", "testdata/chart", "--output", "out.yaml"}},
		// werf's dismiss flags: --release as the RELEASE argument, the release and namespace
		// from a deploy report (werf's, here) and what cannot go with it.
		{"dismiss-release-differs", []string{"dismiss", "shop", "--release", "web"}},
		{"dismiss-deploy-report", []string{"dismiss", "--use-deploy-report", "--deploy-report-path", "testdata/deploy-report"}},
		{"dismiss-deploy-report-and-release", []string{"dismiss", "--use-deploy-report", "--release", "shop"}},
		{"dismiss-deploy-report-and-namespace", []string{"dismiss", "--use-deploy-report", "-n", "prod"}},
		{"dismiss-deploy-report-missing", []string{"dismiss", "--use-deploy-report", "--deploy-report-path", "testdata/no-such-report.json"}},
		{"dismiss-deploy-report-extension", []string{"dismiss", "--use-deploy-report", "--deploy-report-path", "testdata/deploy-report.yaml"}},
		{"history", []string{"history", "shop", "-n", "archive"}},
		{"history-json", []string{"history", "shop", "-n", "archive", "-o", "json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			kubeconfig := refusingPath
			if tt.name == "unreachable" {
				kubeconfig = unreachablePath
			}
			testutil.Golden(t, filepath.Join("testdata", "golden", tt.name+".golden"), runWith(t, kubeconfig, tt.args...))
		})
	}
}

// TestWerfOptions: every flag and WERF_* variable of werf's converge, plan, render and
// dismiss is honoured, refused or noted by the command standing for it (the table is
// cliutil's werfOptions, written down from werf's source).
func TestWerfOptions(t *testing.T) {
	root := NewCmdConverge(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	for _, problem := range cliutil.WerfCoverage(root) {
		t.Error(problem)
	}
}

// TestRenderingCommandsTakeNoValuesSchemaValidation: every command that renders the chart has
// werf's --no-values-schema-validation (werf/werf#7756 adds it to each of werf's).
func TestRenderingCommandsTakeNoValuesSchemaValidation(t *testing.T) {
	root := NewCmdConverge(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	for _, path := range [][]string{{}, {"render"}, {"plan"}} {
		cmd, _, err := root.Find(path)
		if err != nil || cmd.Flags().Lookup("no-values-schema-validation") == nil {
			t.Errorf("converge %s: no --no-values-schema-validation (%v)", strings.Join(path, " "), err)
		}
	}
}
