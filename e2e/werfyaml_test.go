package e2e

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// commitValuesTemplate records .Release.Name and .Values.werf.commit.hash ("none" without
// one) in a ConfigMap.
const commitValuesTemplate = `apiVersion: v1
kind: ConfigMap
metadata: {name: {{ .Chart.Name }}-facts}
data:
  release: {{ .Release.Name | quote }}
  {{- $commit := "none" }}{{ with .Values.werf }}{{ with .commit }}{{ $commit = .hash }}{{ end }}{{ end }}
  commit: {{ $commit | quote }}
`

// TestWerfYAMLFoundAndTemplatedAsWerf: a werf project in a subdirectory of a git repository
// (a monorepo) with its own werf-giterminism.yaml, whose werf.yaml takes the project name
// from a partial of .werf/ that reads a file with .Files.Get, the release from .Files.Get
// and the namespace from an allowed environment variable. Converged from another
// subdirectory with --dir and then with WERF_DIR, it deploys the release werf computes
// (werf 1.2 pkg/config/parser.go, deploy_params, slug): [[ project ]]-blue-[[ env ]] for the
// env Review/JIRA_12, slugged. Rendered from inside the project, werf.yaml is found above;
// dismiss with WERF_DIR and WERF_GITERMINISM_CONFIG removes the release.
func TestWerfYAMLFoundAndTemplatedAsWerf(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	repo := t.TempDir()
	project := filepath.Join(repo, "apps", "shop")
	writeFile(t, filepath.Join(repo, "docs", "README.md"), "the shop\n")
	writeFile(t, filepath.Join(project, "werf.yaml"), `configVersion: 1
project: {{ include "project-name" . }}
deploy:
  helmRelease: "[[ project ]]-{{ .Files.Get "deploy/track.txt" | trim }}-[[ env ]]"
  namespace: {{ env "E2E_NAMESPACE" | quote }}
---
image: backend
dockerfile: Dockerfile
`)
	writeFile(t, filepath.Join(project, ".werf", "partials", "names.tmpl"), `{{- define "project-name" }}{{ .Files.Get "deploy/name.txt" | trim }}{{ end -}}`)
	writeFile(t, filepath.Join(project, "deploy", "name.txt"), "shop\n")
	writeFile(t, filepath.Join(project, "deploy", "track.txt"), "blue\n")
	writeFile(t, filepath.Join(project, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [E2E_NAMESPACE]\n")
	writeFile(t, filepath.Join(project, ".helm", "templates", "facts.yaml"), commitValuesTemplate)
	git(t, repo, "init", "-q")
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "monorepo")
	head := headCommit(t, repo)
	// werf's slug of "shop-blue-Review/JIRA_12": lower-cased, "/" and "_" made "-", then "-"
	// and the MurmurHash3 of the original in hex (pkg/slug).
	const release = "shop-blue-review-jira-12-3260b66e"

	facts := func(revision string) {
		t.Helper()
		var listed []struct{ Name, Revision string }
		if err := json.Unmarshal([]byte(env.Command(t, "helm3", "list", "-n", ns, "-o", "json").Succeed().Stdout), &listed); err != nil || len(listed) != 1 {
			t.Fatalf("helm list: %v %v", listed, err)
		}
		if listed[0].Name != release || listed[0].Revision != revision {
			t.Fatalf("helm list: %+v, want release %s at revision %s", listed[0], release, revision)
		}
		if got := jsonPath(t, env, ns, "configmap/shop-facts", "{.data.commit}"); got != head {
			t.Fatalf(".Values.werf.commit.hash %q, want the project's HEAD %s", got, head)
		}
	}
	env.Command(t, "kubectl", "converge", "--dir", "../apps/shop", "--env", "Review/JIRA_12", "--progress", "plain").
		Dir(filepath.Join(repo, "docs")).Env("E2E_NAMESPACE", ns).Succeed()
	facts("1")
	env.Command(t, "kubectl", "converge", "--progress", "plain").
		Dir(filepath.Join(repo, "docs")).Env("WERF_DIR", project).Env("WERF_ENV", "Review/JIRA_12").Env("E2E_NAMESPACE", ns).Succeed()
	facts("2")

	// From inside the project, werf.yaml is found above; werf.yaml is read from the commit
	// (werf-giterminism.yaml of the project): an uncommitted edit is refused.
	out := env.Command(t, "kubectl", "converge", "render", "--env", "Review/JIRA_12").
		Dir(filepath.Join(project, ".helm", "templates")).Env("E2E_NAMESPACE", ns).Succeed().Stdout
	if !strings.Contains(out, `release: "`+release+`"`) {
		t.Fatalf("render from .helm/templates: want release %s:\n%s", release, out)
	}
	writeFile(t, filepath.Join(project, "deploy", "track.txt"), "green\n")
	res := env.Command(t, "kubectl", "converge", "render", "--env", "Review/JIRA_12").Dir(project).Env("E2E_NAMESPACE", ns).Run()
	if res.ExitCode != 64 || !strings.Contains(res.Stderr, `{{ .Files.Get "deploy/track.txt" }}`) || !strings.Contains(res.Stderr, "apps/shop/deploy/track.txt") {
		t.Fatalf("an uncommitted file read by werf.yaml: exit %d, want 64 naming it\n%s", res.ExitCode, res.Stderr)
	}
	// An environment variable werf-giterminism.yaml does not allow is refused.
	writeFile(t, filepath.Join(project, "deploy", "track.txt"), "blue\n")
	writeFile(t, filepath.Join(project, "werf-giterminism.yaml"), "giterminismConfigVersion: 1\n")
	git(t, repo, "commit", "-qam", "no env allowed")
	res = env.Command(t, "kubectl", "converge", "render", "--env", "Review/JIRA_12").Dir(project).Env("E2E_NAMESPACE", ns).Run()
	if res.ExitCode != 64 || !strings.Contains(res.Stderr, `env "E2E_NAMESPACE": werf-giterminism.yaml does not allow it`) {
		t.Fatalf("env not allowed by the project's werf-giterminism.yaml: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	// --giterminism-config names another config, relative to the project directory.
	writeFile(t, filepath.Join(project, "ci", "giterminism.yaml"), "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [/^E2E_/]\n")
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "ci giterminism")
	out = env.Command(t, "kubectl", "converge", "render", "--env", "Review/JIRA_12", "--dir", project).
		Dir(repo).Env("WERF_GITERMINISM_CONFIG", "ci/giterminism.yaml").Env("E2E_NAMESPACE", ns).Succeed().Stdout
	if !strings.Contains(out, `release: "`+release+`"`) {
		t.Fatalf("render with WERF_GITERMINISM_CONFIG: want release %s:\n%s", release, out)
	}

	// dismiss finds the same project and release through WERF_DIR, reading werf.yaml as
	// converge does: under the giterminism config WERF_GITERMINISM_CONFIG names (the
	// project's own allows no environment variable).
	env.Command(t, "kubectl", "converge", "dismiss", "--env", "Review/JIRA_12").
		Dir(filepath.Join(repo, "docs")).Env("WERF_DIR", project).Env("WERF_GITERMINISM_CONFIG", "ci/giterminism.yaml").Env("E2E_NAMESPACE", ns).Succeed()
	if got := strings.TrimSpace(env.Command(t, "helm3", "list", "-n", ns, "-q").Succeed().Stdout); got != "" {
		t.Fatalf("after dismiss with WERF_DIR: helm list shows %q", got)
	}
}

// TestWerfCommitFromTheChartsRepository: .Values.werf.commit comes from the git repository
// holding the chart, not from the one of the current directory: none for a chart in no
// repository, its own repository's HEAD for a chart in another one.
func TestWerfCommitFromTheChartsRepository(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	cwdRepo := t.TempDir()
	writeFile(t, filepath.Join(cwdRepo, "README.md"), "elsewhere\n")
	git(t, cwdRepo, "init", "-q")
	git(t, cwdRepo, "add", "-A")
	git(t, cwdRepo, "commit", "-qm", "current directory")

	outside := writeChart(t, "outside", map[string]string{"templates/facts.yaml": commitValuesTemplate})
	env.Command(t, "kubectl", "converge", outside, "-n", ns, "--env", "e2e", "--progress", "plain").Dir(cwdRepo).Succeed()
	if got := jsonPath(t, env, ns, "configmap/outside-facts", "{.data.commit}"); got != "none" {
		t.Fatalf("a chart in no git repository: .Values.werf.commit.hash %q, want none (the current directory's is %s)", got, headCommit(t, cwdRepo))
	}

	other := t.TempDir()
	writeFile(t, filepath.Join(other, "chart", "Chart.yaml"), "apiVersion: v2\nname: other\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(other, "chart", "templates", "facts.yaml"), commitValuesTemplate)
	git(t, other, "init", "-q")
	git(t, other, "add", "-A")
	git(t, other, "commit", "-qm", "the chart's own repository")
	env.Command(t, "kubectl", "converge", filepath.Join(other, "chart"), "-n", ns, "--env", "e2e", "--progress", "plain").Dir(cwdRepo).Succeed()
	if got, want := jsonPath(t, env, ns, "configmap/other-facts", "{.data.commit}"), headCommit(t, other); got != want {
		t.Fatalf("a chart in another git repository: .Values.werf.commit.hash %q, want its HEAD %s", got, want)
	}
}

// TestReleaseCommandsReadWerfYAMLFromTheCommit: history, rollback and dismiss read werf.yaml
// as converge does, from the commit (werf's dismiss reads it through its giterminism
// manager): after converge, an uncommitted edit of werf.yaml that would name another release
// stops each of them naming werf.yaml (they read the work tree, named the edited release and
// dismiss uninstalled nothing, successfully); --dev reads the edit, as converge --dev would;
// with werf.yaml as committed, dismiss uninstalls the release converge deployed.
func TestReleaseCommandsReadWerfYAMLFromTheCommit(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	project := t.TempDir()
	werfYAML := func(release string) string {
		return "configVersion: 1\nproject: wy\ndeploy:\n  helmRelease: " + release + "\n  namespace: " + ns + "\n"
	}
	writeFile(t, filepath.Join(project, "werf.yaml"), werfYAML("committed"))
	writeFile(t, filepath.Join(project, ".helm", "templates", "facts.yaml"), commitValuesTemplate)
	git(t, project, "init", "-q")
	git(t, project, "add", "-A")
	git(t, project, "commit", "-qm", "project")
	env.Command(t, "kubectl", "converge", "--progress", "plain").Dir(project).Succeed()

	writeFile(t, filepath.Join(project, "werf.yaml"), werfYAML("edited"))
	for _, args := range [][]string{{"history"}, {"rollback"}, {"dismiss"}} {
		res := env.Command(t, "kubectl", append([]string{"converge"}, args...)...).Dir(project).Run()
		if res.ExitCode != 64 || !strings.Contains(res.Stderr, `giterminism: commit these files first, or pass --dev to use the working tree: "werf.yaml" (modified)`) {
			t.Errorf("%s with werf.yaml edited and not committed: exit %d, want 64 naming werf.yaml\n%s", args[0], res.ExitCode, res.Stderr)
		}
	}
	res := env.Command(t, "kubectl", "converge", "dismiss", "--dev").Dir(project).Succeed()
	if !strings.Contains(res.Stderr, `release "edited" not found`) {
		t.Errorf("dismiss --dev: want the edited werf.yaml's release named:\n%s", res.Stderr)
	}
	if got := strings.TrimSpace(env.Command(t, "helm3", "list", "-n", ns, "-q").Succeed().Stdout); got != "committed" {
		t.Fatalf("after the refused dismiss and dismiss --dev: helm list shows %q, want the release converge deployed", got)
	}

	git(t, project, "checkout", "-q", "werf.yaml")
	if out := env.Command(t, "kubectl", "converge", "history").Dir(project).Succeed().Stdout; !strings.Contains(out, "deployed") {
		t.Errorf("history with werf.yaml as committed: want the deployed revision:\n%s", out)
	}
	env.Command(t, "kubectl", "converge", "dismiss").Dir(project).Succeed()
	if got := strings.TrimSpace(env.Command(t, "helm3", "list", "-n", ns, "-q").Succeed().Stdout); got != "" {
		t.Fatalf("after dismiss: helm list shows %q", got)
	}
}
