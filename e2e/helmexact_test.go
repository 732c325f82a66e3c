package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// ourAnnotations are the annotations README documents on every object converge renders or
// deploys (the tool's version, werf's automatic ones, the environment, the git commit).
var ourAnnotations = []string{
	"kubectl-converge.io/version", "kubectl-converge.io/env", "kubectl-converge.io/git-commit",
	"werf.io/version", "project.werf.io/env", "project.werf.io/name",
}

// normalizedObjects parses a multi-document manifest into its objects without the documented
// annotations, one canonical JSON line per object, sorted: what helm template renders and
// what converge renders or deploys compare equal on it.
func normalizedObjects(t *testing.T, manifest string) string {
	t.Helper()
	var lines []string
	dec := yaml.NewDecoder(strings.NewReader(manifest))
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse manifest: %v\n%s", err, manifest)
		}
		if obj == nil {
			continue
		}
		if md, ok := obj["metadata"].(map[string]any); ok {
			if ann, ok := md["annotations"].(map[string]any); ok {
				for _, k := range ourAnnotations {
					delete(ann, k)
				}
				if len(ann) == 0 {
					delete(md, "annotations")
				}
			}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(obj); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.TrimSpace(b.String()))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestHelmChartRendersAsHelm: Helm charts of the kinds that broke under werf's service values
// (a values.schema.json forbidding unknown keys at its root, in a nested object and in its
// subchart; its own global.env list concatenated in templates) install, upgrade, plan and render
// with kubectl converge and helm giterm (which also lints and packages them), with and without
// --env/--image, and every object is what helm template renders, but for the documented
// annotations. The schema still refuses a wrong user value in one line naming the field, unless
// --no-values-schema-validation.
func TestHelmChartRendersAsHelm(t *testing.T) {
	env := harness.Get(t)
	for _, name := range []string{"strict-schema", "global-env-list"} {
		t.Run(name, func(t *testing.T) {
			ns := env.Namespace(t)
			release := "exact"
			repo := t.TempDir()
			copyDir(t, filepath.Join(env.RepoRoot, "e2e", "testdata", "charts", "helm-exact", name), filepath.Join(repo, "chart"))
			git(t, repo, "init", "-q")
			git(t, repo, "add", "-A")
			git(t, repo, "commit", "-qm", "chart")
			chart := filepath.Join(repo, "chart")
			want := normalizedObjects(t, env.Command(t, "helm3", "template", release, chart, "-n", ns).Succeed().Stdout)
			same := func(t *testing.T, what, manifest string) {
				t.Helper()
				if got := normalizedObjects(t, manifest); got != want {
					t.Fatalf("%s differs from helm template:\n%s\nwant:\n%s", what, got, want)
				}
			}
			// helm giterm lint gets service values only as a deploy would (none here), so the
			// schema and the chart's global.env list lint as helm lint lints them.
			env.Command(t, "helm-giterm", "lint", "chart").Dir(repo).Env("HELM_NAMESPACE", ns).Succeed()
			env.Command(t, "helm-giterm", "package", "chart", "-d", t.TempDir()).Dir(repo).Succeed()
			for _, flags := range [][]string{nil, {"--env", "staging", "--image", "web=registry.example.com/web:2.0.0"}} {
				with := strings.Join(flags, " ")
				converge := func(args ...string) *harness.Cmd {
					return env.Command(t, "kubectl", append(append([]string{"converge"}, args...), flags...)...).Dir(repo)
				}
				same(t, "converge render "+with, converge("render", chart, "-n", ns, "--release", release).Succeed().Stdout)
				same(t, "helm giterm template "+with, env.Command(t, "helm-giterm", append([]string{"template", release, "chart"}, flags...)...).Dir(repo).Env("HELM_NAMESPACE", ns).Succeed().Stdout)
				res := converge(chart, "-n", ns, "--release", release, "--progress", "plain").Succeed()
				if name == "global-env-list" && len(flags) > 0 && !strings.Contains(res.Stderr, "service value global.env left out") {
					t.Fatalf("converge %s does not say it left the service value global.env out:\n%s", with, res.Stderr)
				}
				same(t, "the deployed manifest "+with, env.Command(t, "helm3", "get", "manifest", release, "-n", ns).Succeed().Stdout)
				if plan := converge("plan", chart, "-n", ns, "--release", release, "--exit-code").Run(); plan.ExitCode != 0 {
					t.Fatalf("plan %s right after the converge: exit %d, want 0 (nothing to change)\n%s", with, plan.ExitCode, plan.Combined())
				}
				env.Command(t, "helm-giterm", append([]string{"upgrade", release, "chart", "--install", "--progress", "plain"}, flags...)...).Dir(repo).Env("HELM_NAMESPACE", ns).Succeed()
				same(t, "the manifest helm giterm upgrade deployed "+with, env.Command(t, "helm3", "get", "manifest", release, "-n", ns).Succeed().Stdout)
			}
			if name != "strict-schema" {
				return
			}
			// A wrong user value still fails, in one line naming the field, before anything
			// changes; --no-values-schema-validation lets it through.
			revisions := env.Command(t, "helm3", "history", release, "-n", ns, "-o", "json").Succeed().Stdout
			for _, cmd := range [][]string{
				{"kubectl", "converge", chart, "-n", ns, "--release", release, "--env", "staging"},
				{"kubectl", "converge", "render", chart, "-n", ns, "--release", release},
				{"kubectl", "converge", "plan", chart, "-n", ns, "--release", release},
				{"helm-giterm", "template", release, "chart"},
			} {
				bad := env.Command(t, cmd[0], append(cmd[1:], "--set", "server.extra=1")...).Dir(repo).Env("HELM_NAMESPACE", ns).Run()
				wantErr := "Error: values do not match values.schema.json of chart strict-schema: at '/server': additional properties 'extra' not allowed"
				if bad.ExitCode != 64 || strings.TrimSpace(bad.Stderr) != wantErr {
					t.Fatalf("%s --set server.extra=1: exit %d, want 64 and %q:\n%s", strings.Join(cmd, " "), bad.ExitCode, wantErr, bad.Stderr)
				}
				sub := env.Command(t, cmd[0], append(cmd[1:], "--set", "cache.size=4096")...).Dir(repo).Env("HELM_NAMESPACE", ns).Run()
				if sub.ExitCode != 64 || !strings.Contains(sub.Stderr, "values.schema.json of chart cache: at '/size': ") || strings.Count(strings.TrimSpace(sub.Stderr), "\n") != 0 {
					t.Fatalf("%s --set cache.size=4096: exit %d, want 64 and one line naming the subchart's field:\n%s", strings.Join(cmd, " "), sub.ExitCode, sub.Stderr)
				}
			}
			if got := env.Command(t, "helm3", "history", release, "-n", ns, "-o", "json").Succeed().Stdout; got != revisions {
				t.Fatalf("a refused value changed the release history:\n%s\nwas:\n%s", got, revisions)
			}
			env.Command(t, "kubectl", "converge", chart, "-n", ns, "--release", release, "--set", "server.extra=1", "--no-values-schema-validation").Succeed()
			env.Command(t, "kubectl", "converge", "render", chart, "-n", ns, "--release", release, "--set", "server.extra=1").Env("WERF_NO_VALUES_SCHEMA_VALIDATION", "1").Succeed()
		})
	}
}

// TestRetryAfterAFailedInstallRendersTheStoredRevision: a first install that fails (the API
// server refuses a Service) and its retry, by helm3 upgrade --install, by converge and by
// helm giterm, each in a namespace of its own: the retry stores revision 2 and
// its templates, a subchart's too, render .Release.Revision 2 with every tool (Helm's install
// renders 1, which converge rendered in a retry it deploys as an install).
func TestRetryAfterAFailedInstallRendersTheStoredRevision(t *testing.T) {
	env := harness.Get(t)
	chart := t.TempDir()
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: retried\nversion: 1.0.0\n")
	writeFile(t, filepath.Join(chart, "templates", "facts.yaml"), `apiVersion: v1
kind: ConfigMap
metadata: {name: retried-facts}
data:
  revision: "{{ .Release.Revision }}"
{{- if .Values.refused }}
---
apiVersion: v1
kind: Service
metadata: {name: refused}
spec:
  ports: [{port: 99999}]
{{- end }}
`)
	writeFile(t, filepath.Join(chart, "charts", "sub", "Chart.yaml"), "apiVersion: v2\nname: sub\nversion: 1.0.0\n")
	writeFile(t, filepath.Join(chart, "charts", "sub", "templates", "facts.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sub-facts}\ndata:\n  revision: \"{{ .Release.Revision }}\"\n")

	for _, tool := range []struct {
		name    string
		install func(ns string, refused bool) harness.Result
	}{
		{"helm3", func(ns string, refused bool) harness.Result {
			return env.Command(t, "helm3", "upgrade", "--install", "retried", chart, "-n", ns, "--set", "refused="+strconv.FormatBool(refused)).Run()
		}},
		{"converge", func(ns string, refused bool) harness.Result {
			return env.Command(t, "kubectl", "converge", chart, "--release", "retried", "-n", ns, "--set", "refused="+strconv.FormatBool(refused), "--progress", "plain").Run()
		}},
		{"helm giterm", func(ns string, refused bool) harness.Result {
			return env.Command(t, "helm-giterm", "upgrade", "retried", chart, "--install", "--loose-giterminism", "--set", "refused="+strconv.FormatBool(refused), "--progress", "plain").Env("HELM_NAMESPACE", ns).Run()
		}},
	} {
		t.Run(tool.name, func(t *testing.T) {
			ns := env.Namespace(t)
			if res := tool.install(ns, true); res.ExitCode == 0 {
				t.Fatalf("the first install with a refused Service succeeded:\n%s", res.Combined())
			}
			if res := tool.install(ns, false); res.ExitCode != 0 {
				t.Fatalf("the retry: exit %d\n%s", res.ExitCode, res.Combined())
			}
			revs := helmHistory(t, env, "helm3", ns, "retried")
			if len(revs) != 2 || revs[1].Status != "deployed" {
				t.Fatalf("history %s, want revision 2 deployed", statuses(revs))
			}
			for _, cm := range []string{"configmap/retried-facts", "configmap/sub-facts"} {
				if got := jsonPath(t, env, ns, cm, "{.data.revision}"); got != "2" {
					t.Errorf("%s renders .Release.Revision %q, want the stored revision 2", cm, got)
				}
			}
		})
	}
}
