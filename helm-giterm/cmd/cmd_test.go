package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// runGiterm runs helm giterm in-process in dir as Helm would start the plugin, with no
// cluster.
func runGiterm(t *testing.T, dir string, args ...string) string {
	t.Helper()
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "no-kubeconfig"))
	t.Setenv("HELM_DRIVER", "memory")
	t.Chdir(dir)
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := cliutil.Execute(context.Background(), NewCmdGiterm, args, streams, nil, false)
	result := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out.String(), errOut.String())
	result = strings.ReplaceAll(result, dir, "REPO")
	return regexp.MustCompile(`((?:kubectl-converge|werf)\.io/version: ).*`).ReplaceAllString(result, "${1}<version>")
}

// chartRepo is a git repository with the chart of ../../kubectl-converge/cmd/testdata/chart
// committed at a fixed time under chart/.
func chartRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("..", "..", "kubectl-converge", "cmd", "testdata", "chart")
	for _, name := range []string{"Chart.yaml", "values.yaml", "templates/app.yaml"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "chart", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("chart"); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if _, err := wt.Commit("chart", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: when}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCommands runs each helm giterm command in-process with golden output: help, usage
// errors and exit codes, a template from the commit, the refusal of an uncommitted change.
func TestCommands(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		dirty bool
	}{
		{name: "help", args: []string{"--help"}},
		{name: "help-template", args: []string{"template", "--help"}},
		{name: "help-upgrade", args: []string{"upgrade", "--help"}},
		{name: "help-bundle-publish", args: []string{"bundle-publish", "--help"}},
		{name: "help-bundle-apply", args: []string{"bundle-apply", "--help"}},
		{name: "help-bundle-copy", args: []string{"bundle-copy", "--help"}},
		{name: "unknown-flag", args: []string{"template", "--bogus"}},
		{name: "upgrade-without-release", args: []string{"upgrade"}},
		{name: "bundle-copy-without-to", args: []string{"bundle-copy", "--from", "bundle.tgz"}},
		{name: "template", args: []string{"template", "shop", "chart", "--set", "replicas=4"}},
		// werf render's form of -s: the template's file, inside the chart directory.
		{name: "template-show-only-file", args: []string{"template", "shop", "chart", "-s", "chart/templates/app.yaml"}},
		{name: "template-uncommitted", args: []string{"template", "shop", "chart"}, dirty: true},
		{name: "template-dev", args: []string{"template", "shop", "chart", "--dev"}, dirty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := chartRepo(t)
			if tt.dirty {
				if err := os.WriteFile(filepath.Join(dir, "chart", "values.yaml"), []byte("replicas: 9\ngreeting: uncommitted\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			testutil.Golden(t, filepath.Join(mustGetwd(t), "testdata", "golden", tt.name+".golden"), runGiterm(t, dir, tt.args...))
		})
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

// TestWerfOptions: every flag and WERF_* variable of werf's converge, plan, render and
// bundle commands is honoured, refused or noted by the command standing for it (the table
// is cliutil's werfOptions, written down from werf's source).
func TestWerfOptions(t *testing.T) {
	root := NewCmdGiterm(genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard})
	for _, problem := range cliutil.WerfCoverage(root) {
		t.Error(problem)
	}
}

// TestRenderingCommandsTakeNoValuesSchemaValidation: every command that renders the chart has
// werf's --no-values-schema-validation (werf/werf#7756 adds it to each of werf's).
func TestRenderingCommandsTakeNoValuesSchemaValidation(t *testing.T) {
	root := NewCmdGiterm(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	for _, name := range []string{"template", "upgrade", "plan", "bundle-publish", "bundle-apply", "bundle-render", "bundle-plan"} {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name || cmd.Flags().Lookup("no-values-schema-validation") == nil {
			t.Errorf("giterm %s: no --no-values-schema-validation (%v)", name, err)
		}
	}
}

// TestBundleRegistryPlainHTTP: --insecure-registry, as werf's flag and WERF_INSECURE_REGISTRY,
// reaches the bundle registry over plain HTTP and nothing else; --plain-http (and werf's
// WERF_INSECURE_HELM_DEPENDENCIES) reaches the chart's dependencies so too.
func TestBundleRegistryPlainHTTP(t *testing.T) {
	tests := []struct {
		name             string
		args, environ    []string
		wantRegistry     bool
		wantDependencies bool
	}{
		{name: "neither"},
		{name: "--insecure-registry", args: []string{"--insecure-registry"}, wantRegistry: true},
		{name: "WERF_INSECURE_REGISTRY", environ: []string{"WERF_INSECURE_REGISTRY=1"}, wantRegistry: true},
		{name: "--plain-http", args: []string{"--plain-http"}, wantRegistry: true, wantDependencies: true},
		{name: "WERF_INSECURE_HELM_DEPENDENCIES", environ: []string{"WERF_INSECURE_HELM_DEPENDENCIES=1"}, wantRegistry: true, wantDependencies: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reg registryFlags
			var dependencies bool
			fs := pflag.NewFlagSet("bundle-publish", pflag.ContinueOnError)
			reg.addFlags(fs, &dependencies)
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			cleanup, err := cliutil.ApplyWerfEnvironment(fs, cliutil.WerfBundlePublish, tt.environ, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			if got := reg.options().PlainHTTP; got != tt.wantRegistry {
				t.Errorf("registry over plain HTTP: %v, want %v", got, tt.wantRegistry)
			}
			if dependencies != tt.wantDependencies {
				t.Errorf("dependencies over plain HTTP: %v, want %v", dependencies, tt.wantDependencies)
			}
		})
	}
}
