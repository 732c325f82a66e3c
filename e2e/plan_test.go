package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// planChart has a ConfigMap with a value, a Secret with a marker password, an optional
// ConfigMap and a Deployment.
func planChart(t *testing.T) string {
	return writeChart(t, "planned", map[string]string{
		"values.yaml": "greeting: hello\npassword: first-PLANMARKER\nextra: true\n",
		"templates/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: "{{ .Values.greeting }}", other: same}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: "{{ .Values.password }}"}
---
{{- if .Values.extra }}
apiVersion: v1
kind: ConfigMap
metadata: {name: extra}
{{- end }}
---
` + appDeployment("web", "", "", ""),
	})
}

// changedLines returns the +/- lines of the diffs in a plan's text output.
func changedLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimPrefix(l, "    ")
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestPlanShowsExactlyWhatChanges converges, then plans: no changes and exit 0; one changed
// value: exit 2 and a diff of that field alone; a changed Secret value: shown as changed,
// never printed; an object removed from the chart: listed as delete.
func TestPlanShowsExactlyWhatChanges(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := planChart(t)
	plan := func(args ...string) harness.Result {
		t.Helper()
		res := env.Command(t, "kubectl", append([]string{"converge", "plan", chart, "-n", ns, "--exit-code"}, args...)...).Run()
		if strings.Contains(res.Combined(), "PLANMARKER") {
			t.Fatalf("plan printed a secret value:\n%s", res.Combined())
		}
		return res
	}
	first := plan()
	if first.ExitCode != 2 || !strings.Contains(first.Stdout, "Plan: 4 to create, 0 to update, 0 to recreate, 0 to delete, 0 unchanged.") {
		t.Fatalf("plan of an install: exit %d\n%s", first.ExitCode, first.Combined())
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()

	same := plan()
	if same.ExitCode != 0 || !strings.Contains(same.Stdout, "Plan: 0 to create, 0 to update, 0 to recreate, 0 to delete, 4 unchanged.") {
		t.Fatalf("plan right after converge: exit %d, want 0 and no changes\n%s", same.ExitCode, same.Combined())
	}

	value := plan("--set", "greeting=bye")
	if value.ExitCode != 2 {
		t.Fatalf("plan with a changed value: exit %d, want 2\n%s", value.ExitCode, value.Combined())
	}
	if got := strings.Join(changedLines(value.Stdout), "\n"); got != "-  greeting: hello\n+  greeting: bye" {
		t.Fatalf("diff lines:\n%s\nwant just the greeting; full output:\n%s", got, value.Stdout)
	}
	if !strings.Contains(value.Stdout, "~ update ConfigMap/cfg in "+ns) {
		t.Fatalf("the update is not named:\n%s", value.Stdout)
	}

	secret := plan("--set", "password=second-PLANMARKER")
	if secret.ExitCode != 2 || strings.Join(changedLines(secret.Stdout), "\n") != "-  password: <hidden>\n+  password: <hidden, changed>" {
		t.Fatalf("plan with a changed secret value: exit %d\n%s", secret.ExitCode, secret.Stdout)
	}
	revealed := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "password=second-PLANMARKER", "--show-sensitive").Succeed()
	if !strings.Contains(revealed.Stdout, "c2Vjb25kLVBMQU5NQVJLRVI=") {
		t.Fatalf("--show-sensitive does not show the new (base64) value:\n%s", revealed.Stdout)
	}

	removed := plan("--set", "extra=false", "-o", "json")
	if removed.ExitCode != 2 {
		t.Fatalf("plan without the extra ConfigMap: exit %d\n%s", removed.ExitCode, removed.Combined())
	}
	var doc struct {
		Revision int `json:"revision"`
		Changes  []struct {
			Action string `json:"action"`
			Object struct{ Kind, Name string }
			Diff   string `json:"diff"`
		} `json:"changes"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(removed.Stdout), &doc); err != nil {
		t.Fatalf("plan -o json: %v\n%s", err, removed.Stdout)
	}
	deleted := ""
	for _, c := range doc.Changes {
		if c.Action == "delete" {
			deleted += c.Object.Kind + "/" + c.Object.Name
		}
	}
	if deleted != "ConfigMap/extra" || doc.Summary["delete"] != 1 || doc.Summary["unchanged"] != 3 || doc.Revision != 1 {
		t.Fatalf("JSON plan: deleted %q, summary %v, revision %d\n%s", deleted, doc.Summary, doc.Revision, removed.Stdout)
	}
	env.Kubectl(t, "-n", ns, "get", "configmap/extra")
}

// TestUsePlanAppliesOnlyWhatWasReviewed saves a plan and applies it; a plan made before
// someone else upgraded the release, or before a live object changed, is refused.
func TestUsePlanAppliesOnlyWhatWasReviewed(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := planChart(t)
	dir := t.TempDir()
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()

	reviewed := filepath.Join(dir, "reviewed.json")
	env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "greeting=reviewed", "--save-plan", reviewed).Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=reviewed", "--use-plan", reviewed).Succeed()
	if got := jsonPath(t, env, ns, "configmap/cfg", "{.data.greeting}"); got != "reviewed" {
		t.Fatalf("greeting %q after applying the plan", got)
	}

	stale := filepath.Join(dir, "stale.json")
	env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "greeting=mine", "--save-plan", stale).Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=theirs").Succeed()
	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=mine", "--use-plan", stale).Run()
	want := `Error: converge release "planned" in namespace "` + ns + `": the plan is outdated: release "planned" is at revision 3, the plan was made at revision 2 (someone deployed it since): make a new plan`
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, want+"\n") {
		t.Fatalf("exit %d, want the refusal\n%s\ngot:\n%s", res.ExitCode, want, res.Stderr)
	}
	if got := jsonPath(t, env, ns, "configmap/cfg", "{.data.greeting}"); got != "theirs" {
		t.Fatalf("the refused plan changed the greeting to %q", got)
	}

	edited := filepath.Join(dir, "edited.json")
	env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "greeting=mine", "--save-plan", edited).Succeed()
	env.Kubectl(t, "-n", ns, "label", "configmap/cfg", "edited=by-hand")
	res = env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=mine", "--use-plan", edited).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "the plan is outdated: live objects changed since the plan was made: cm/cfg; make a new plan") {
		t.Fatalf("exit %d, want a refusal naming cm/cfg:\n%s", res.ExitCode, res.Stderr)
	}

	other := filepath.Join(dir, "other.json")
	env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "greeting=planned", "--save-plan", other).Succeed()
	res = env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "greeting=changed-after-review", "--use-plan", other).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "the plan is outdated: the chart renders other manifests than the plan reviewed") {
		t.Fatalf("exit %d, want a refusal of other values:\n%s", res.ExitCode, res.Stderr)
	}
	if h := historyStatuses(t, env, ns, "planned"); h != "1:superseded 2:superseded 3:deployed" {
		t.Fatalf("refused plans left history %q", h)
	}
	if saved, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(saved) != 4 {
		t.Fatalf("saved plans: %v", saved)
	}
	data := env.Command(t, "cat", reviewed).Succeed().Stdout
	if regexp.MustCompile(`PLANMARKER|greeting`).MatchString(data) {
		t.Fatalf("the saved plan holds values:\n%s", data)
	}
	if strings.Contains(strings.ToLower(data), "key") {
		t.Fatalf("the saved plan holds a key:\n%s", data)
	}
}

// TestHelmGitermPlan plans a committed chart through helm giterm under real helm.
func TestHelmGitermPlan(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	repo := t.TempDir()
	chart := planChart(t)
	copyDir(t, chart, filepath.Join(repo, ".helm"))
	git(t, repo, "init", "-q")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-qm", "chart")
	home := t.TempDir()
	helm := func(args ...string) *harness.Cmd {
		return env.Command(t, "helm3", args...).Dir(repo).
			Env("HELM_CONFIG_HOME", filepath.Join(home, "config")).
			Env("HELM_DATA_HOME", filepath.Join(home, "data")).
			Env("HELM_CACHE_HOME", filepath.Join(home, "cache"))
	}
	helm("plugin", "install", env.RepoRoot).Succeed()
	res := helm("giterm", "plan", "planned", "-n", ns, "--exit-code").Run()
	if res.ExitCode != 2 || !strings.Contains(res.Stdout, "+ create ConfigMap/cfg in "+ns) {
		t.Fatalf("helm giterm plan: exit %d\n%s", res.ExitCode, res.Combined())
	}
}

// hookChart has hooks of every kind a public chart carries: a test Pod, install-only Jobs,
// an upgrade Job, and a ConfigMap.
func hookChart(t *testing.T) string {
	job := func(name, events, weight, policy string) string {
		return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  annotations:
    helm.sh/hook: ` + events + `
    helm.sh/hook-weight: "` + weight + `"
` + policy + `spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: registry.example.com/job:1}]
---
`
	}
	return writeChart(t, "hooked", map[string]string{
		"values.yaml": "greeting: hello\n",
		"templates/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: "{{ .Values.greeting }}"}
---
` + job("create-schema", "pre-install", "-5", "    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n") +
			job("seed", "post-install", "0", "") +
			job("migrate", "pre-upgrade,pre-install", "1", "    helm.sh/hook-delete-policy: hook-succeeded\n") + `apiVersion: v1
kind: Pod
metadata:
  name: smoke-test
  annotations: {helm.sh/hook: test}
spec:
  restartPolicy: Never
  containers: [{name: test, image: registry.example.com/test:1}]
`,
	})
}

// TestPlanSaysWhichHooksRun: the plan of an upgrade lists the install-only hooks and the test
// hook as not running, the upgrade hook as running, each with its weight and delete policy.
func TestPlanSaysWhichHooksRun(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := hookChart(t)
	install := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns).Succeed().Stdout
	if !strings.Contains(install, "* hook Job/create-schema") || !strings.Contains(install, "  hook-skipped Pod/smoke-test") {
		t.Fatalf("plan of the install:\n%s", install)
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--timeout", "3m").Succeed()
	out := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "greeting=bye").Succeed().Stdout
	goldenIn(t, "plan", "hooks-on-upgrade", strings.ReplaceAll(out, ns, "NAMESPACE"))
}

// TestPlanMarkdown: plan -o markdown gives the counts and a section per change with its diff
// in a fenced block, for a create, an update, a delete and a Secret change (its values
// hidden exactly as in the text plan).
func TestPlanMarkdown(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := planChart(t)
	markdown := func(name string, args ...string) {
		t.Helper()
		res := env.Command(t, "kubectl", append([]string{"converge", "plan", chart, "-n", ns, "-o", "markdown"}, args...)...).Succeed()
		if strings.Contains(res.Combined(), "PLANMARKER") {
			t.Fatalf("the Markdown plan printed a secret value:\n%s", res.Combined())
		}
		goldenIn(t, "plan", "markdown-"+name, strings.ReplaceAll(res.Stdout, ns, "NAMESPACE"))
	}
	markdown("create")
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	markdown("update", "--set", "greeting=bye")
	markdown("delete", "--set", "extra=false")
	markdown("secret", "--set", "password=second-PLANMARKER")
}

// TestSavedPlanLetsNobodyTestAGuess saves plans of a chart that renders a decrypted secret
// value into a ConfigMap (outside any Secret): no plan file holds a key, the value, its
// base64 or its hash, and two plans that differ only in the secret value are the same file,
// so nothing in it can confirm a guess offline. The plan still applies.
func TestSavedPlanLetsNobodyTestAGuess(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "guarded", map[string]string{
		"templates/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: dsn}
data: {dsn: "postgres://app:{{ .Values.db.password }}@db/app", greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: "{{ .Values.db.password }}"}
`,
	})
	dir := t.TempDir()
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	passwords := []string{"GUESS-deployed-4f1a", "GUESS-second-9c2e", "GUESS-third-07bd"}
	secretValues := make([]string, len(passwords))
	for i, pw := range passwords {
		secretValues[i] = filepath.Join(dir, fmt.Sprintf("secret-values-%d.yaml", i))
		env.Command(t, "kubectl-converge", "secret", "encrypt", "-o", secretValues[i]).Env("WERF_SECRET_KEY", key).Stdin("db:\n  password: " + pw + "\n").Succeed()
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--secret-values", secretValues[0]).Env("WERF_SECRET_KEY", key).Succeed()

	saved := make([]string, len(passwords))
	for i := range passwords {
		saved[i] = filepath.Join(dir, fmt.Sprintf("plan-%d.json", i))
		env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--secret-values", secretValues[i], "--save-plan", saved[i]).Env("WERF_SECRET_KEY", key).Succeed()
	}
	var files []string
	for _, path := range saved {
		data := env.Command(t, "cat", path).Succeed().Stdout
		files = append(files, data)
		if strings.Contains(strings.ToLower(data), "key") {
			t.Fatalf("the saved plan %s holds a key:\n%s", path, data)
		}
		for _, pw := range append(passwords, key) {
			sum := sha256.Sum256([]byte(pw))
			for _, form := range []string{pw, base64.StdEncoding.EncodeToString([]byte(pw)), hex.EncodeToString(sum[:])} {
				if strings.Contains(data, form) {
					t.Fatalf("the saved plan %s holds %q:\n%s", path, form, data)
				}
			}
		}
	}
	if files[1] != files[2] {
		t.Fatalf("plans that differ only in the secret value differ, so a guess can be tested against them:\n%s\n---\n%s", files[1], files[2])
	}
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--secret-values", secretValues[1], "--use-plan", saved[1]).Env("WERF_SECRET_KEY", key).Succeed()
	if got := jsonPath(t, env, ns, "configmap/dsn", "{.data.dsn}"); got != "postgres://app:"+passwords[1]+"@db/app" {
		t.Fatalf("dsn %q after applying the plan", got)
	}
}

// TestPlanPinsCRDsAndHooks: the plan of a chart whose CRD and hook changed shows both with
// their diffs; applying the saved plan after the hook changed again is refused before
// anything, the CRD included, changes; the reviewed chart then applies.
func TestPlanPinsCRDsAndHooks(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	group := ns + ".converge.test"
	crd := func(description string) string {
		return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: backups.` + group + `
spec:
  group: ` + group + `
  names: {kind: Backup, plural: backups}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, description: ` + description + `}
`
	}
	chart := writeChart(t, "pinned", map[string]string{
		"values.yaml":      "command: echo hello\n",
		"crds/backup.yaml": crd("first"),
		"templates/all.yaml": `apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {greeting: hello}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: migrate
  annotations: {helm.sh/hook: "pre-install,pre-upgrade"}
data: {command: "{{ .Values.command }}"}
`,
	})
	t.Cleanup(func() { env.Kubectl(t, "delete", "crd", "backups."+group, "--ignore-not-found") })
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	crdDescription := func() string {
		return jsonPath(t, env, ns, "crd/backups."+group, "{.spec.versions[0].schema.openAPIV3Schema.description}")
	}

	writeFile(t, filepath.Join(chart, "crds", "backup.yaml"), crd("second"))
	saved := filepath.Join(t.TempDir(), "plan.json")
	plan := env.Command(t, "kubectl", "converge", "plan", chart, "-n", ns, "--set", "command=echo reviewed", "--save-plan", saved).Succeed().Stdout
	for _, want := range []string{
		"~ update CustomResourceDefinition.apiextensions.k8s.io/backups." + group + " (CRD of the chart's crds/, applied before everything else)",
		"-        description: first", "+        description: second",
		"* hook ConfigMap/migrate in " + ns + " (hook pre-install,pre-upgrade, weight 0, delete policy before-hook-creation: runs in this upgrade; changed since the last revision)",
		"--- hook of revision 1", "-  command: echo hello", "+  command: echo reviewed",
	} {
		if !strings.Contains(plan, want+"\n") {
			t.Fatalf("the plan lacks %q:\n%s", want, plan)
		}
	}

	res := env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "command=rm -rf /data", "--use-plan", saved).Run()
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "the plan is outdated: the chart renders other hooks than the plan reviewed") {
		t.Fatalf("exit %d, want the changed hook refused:\n%s", res.ExitCode, res.Combined())
	}
	if got := crdDescription(); got != "first" {
		t.Fatalf("the refused plan changed the CRD: description %q", got)
	}
	if got := jsonPath(t, env, ns, "configmap/migrate", "{.data.command}"); got != "echo hello" {
		t.Fatalf("the refused plan changed the hook: command %q", got)
	}
	if h := historyStatuses(t, env, ns, "pinned"); h != "1:deployed" {
		t.Fatalf("the refused plan left history %q", h)
	}

	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "command=echo reviewed", "--use-plan", saved).Succeed()
	if got := crdDescription(); got != "second" {
		t.Fatalf("the reviewed plan left the CRD's description %q", got)
	}
	if got := jsonPath(t, env, ns, "configmap/migrate", "{.data.command}"); got != "echo reviewed" {
		t.Fatalf("the reviewed plan left the hook's command %q", got)
	}
}
