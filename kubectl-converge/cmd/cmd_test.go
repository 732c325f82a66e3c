package cmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
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

// kubeconfigPath is the unreachableKubeconfig written for the whole test run.
var kubeconfigPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "converge-cmd-test")
	if err != nil {
		panic(err)
	}
	kubeconfigPath = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, []byte(unreachableKubeconfig), 0o600); err != nil {
		panic(err)
	}
	// Releases live in Helm's memory driver.
	os.Setenv("HELM_DRIVER", "memory")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runCommand runs kubectl converge in-process as the binary would, against a cluster that
// cannot be reached.
func runCommand(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cliutil.Execute(context.Background(), NewCmdConverge, append(args, "--kubeconfig", kubeconfigPath), streams, nil, false)
	result := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
	// Every build stamps its own version.
	return regexp.MustCompile(`((?:kubectl-converge|werf)\.io/version: ).*`).ReplaceAllString(result, "${1}<version>")
}

// TestCommands runs each command in-process with golden output: help, usage errors and their
// exit codes, an offline render, a release that does not exist.
func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
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
		{"history-no-release", []string{"history", "shop", "-n", "prod"}},
		// werf's unit for --timeout is seconds: 600 is ten minutes, as 10m is.
		{"timeout-seconds", []string{"testdata/chart", "--timeout", "600"}},
		{"timeout-duration", []string{"testdata/chart", "--timeout", "10m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Golden(t, filepath.Join("testdata", "golden", tt.name+".golden"), runCommand(t, tt.args...))
		})
	}
}
