package e2e

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// golden compares got with testdata/render/NAME.golden, or rewrites it with -update. The tool
// version annotation is masked, since every build stamps its own.
func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenIn(t, "render", name, got)
}

// goldenIn compares got with testdata/DIR/NAME.golden, or rewrites it with -update.
func goldenIn(t *testing.T, dir, name, got string) {
	t.Helper()
	got = regexp.MustCompile(`((?:kubectl-converge|werf)\.io/version: ).*`).ReplaceAllString(got, "${1}<version>")
	testutil.Golden(t, filepath.Join("testdata", dir, name+".golden"), got)
}

func TestRenderGolden(t *testing.T) {
	env := harness.Get(t)
	chart := filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "shop")
	tmp := t.TempDir()
	valuesFile := filepath.Join(tmp, "values.yaml")
	writeFile(t, valuesFile, "greeting: from-values-file\nreplicas: 5\n")
	setFile := filepath.Join(tmp, "motd.txt")
	writeFile(t, setFile, "line one\nline two\n")
	tests := []struct {
		name string
		args []string
	}{
		{name: "defaults", args: []string{}},
		{name: "values", args: []string{
			"-f", valuesFile, "--set", "replicas=7", "--set-string", "extra.port=8080",
			"--set-file", "extra.motd=" + setFile, "--set-json", `extra.list=[1,2]`, "--set-literal", "extra.raw={not,a,list}",
		}},
		{name: "images-and-metadata", args: []string{
			"--env", "prod", "--image", "web=registry.example.com/shop/web:9.9.9", "--rewrite-image", "nginx=mirror.example.com/nginx:1.27",
			"--add-annotation", "team=shop", "--add-label", "tier=backend",
		}},
		{name: "capabilities", args: []string{"--kube-version", "v1.31.4", "--api-versions", "example.com/v1", "--show-only", "templates/configmap.yaml"}},
		{name: "hooks-only", args: []string{"--show-only", "templates/hook-job.yaml", "--release", "custom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.Command(t, "kubectl", append([]string{"converge", "render", chart, "-n", "shop"}, tt.args...)...).Succeed()
			golden(t, tt.name, res.Stdout)
		})
	}
	// helm's -f - reads the values from stdin: the same values render the same manifests.
	t.Run("values-from-stdin", func(t *testing.T) {
		args := append([]string{"converge", "render", chart, "-n", "shop"}, tests[1].args...)
		args[slices.Index(args, valuesFile)] = "-"
		res := env.Command(t, "kubectl", args...).Stdin("greeting: from-values-file\nreplicas: 5\n").Succeed()
		golden(t, "values", res.Stdout)
	})
}

func TestRenderErrorsNameTheInput(t *testing.T) {
	env := harness.Get(t)
	chart := filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "shop")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad --set", []string{"--set", "a.b"}, `--set "a.b"`},
		{"bad --set-json", []string{"--set-json", "a={"}, `--set-json "a=...": unexpected EOF`},
		{"missing values file", []string{"-f", "/nonexistent/values.yaml"}, "/nonexistent/values.yaml"},
		{"bad --image", []string{"--image", "web"}, `--image "web"`},
		{"bad --rewrite-image", []string{"--rewrite-image", "nginx"}, `--rewrite-image "nginx"`},
		{"bad --rewrite-image reference", []string{"--rewrite-image", "nginx=Mirror/Nginx"}, `--rewrite-image "nginx=Mirror/Nginx": invalid image reference "Mirror/Nginx"`},
		{"bad --image digest", []string{"--image", "web=web@sha256:abc"}, `--image "web=web@sha256:abc": invalid image reference "web@sha256:abc"`},
		{"bad --add-annotation", []string{"--add-annotation", "novalue"}, `--add-annotation "novalue"`},
		{"bad --add-label", []string{"--add-label", "a=has space"}, `--add-label "a=has space"`},
		{"bad --kube-version", []string{"--kube-version", "banana"}, `--kube-version "banana"`},
		{"unknown --show-only", []string{"--show-only", "templates/nope.yaml"}, `--show-only "templates/nope.yaml"`},
		{"missing --images-file", []string{"--images-file", "/nonexistent/images.yaml"}, "--images-file"},
		{"unknown flag", []string{"--no-such-flag"}, "unknown flag: --no-such-flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := env.Command(t, "kubectl", append([]string{"converge", "render", chart}, tt.args...)...).Run()
			if res.ExitCode != 64 {
				t.Fatalf("exit code %d, want 64\n%s", res.ExitCode, res.Combined())
			}
			msg := strings.TrimSpace(res.Stderr)
			if !strings.Contains(msg, tt.want) || strings.Count(msg, "\n") != 0 {
				t.Fatalf("want one line naming %q, got:\n%s", tt.want, res.Stderr)
			}
			if res.Stdout != "" {
				t.Fatalf("nothing should be rendered on error, got:\n%s", res.Stdout)
			}
		})
	}
}
