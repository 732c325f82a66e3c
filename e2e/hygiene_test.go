package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// secretMarker is in every secret the hygiene test deploys; it must never be printed.
const secretMarker = "SECRETMARKER"

// TestSecretsNeverPrinted deploys a chart that is careless with secrets: a decrypted secret
// value and a --set value go into a Secret, its NOTES print both, and a later revision fails
// a template with the secret in the message. Converge (plain and JSON, with a report), plan
// (diff, JSON, saved plan), helm giterm upgrade and the failures must show the marker
// nowhere, while the Secret in the cluster holds the real values. Registry credentials are
// checked the same way by TestBundleRegistryCredentialsAndCA.
func TestSecretsNeverPrinted(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	dir := t.TempDir()
	chart := filepath.Join(dir, ".helm")
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: careless\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(chart, "values.yaml"), "token: none\nleak: false\n")
	writeFile(t, filepath.Join(chart, "templates", "secret.yaml"), `apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: {{ .Values.db.password | quote }}
data:
  token: {{ .Values.token | b64enc }}
`)
	writeFile(t, filepath.Join(chart, "templates", "leak.yaml"), `{{- if .Values.leak }}{{ fail (printf "cannot use password %s" .Values.db.password) }}{{ end }}`)
	writeFile(t, filepath.Join(chart, "templates", "NOTES.txt"), "password {{ .Values.db.password }}, token {{ .Values.token }}\n")
	encrypted := env.Command(t, "kubectl-converge", "secret", "encrypt").Env("WERF_SECRET_KEY", key).
		Stdin("db:\n  password: pw-" + secretMarker + "-1\n").Succeed().Stdout
	writeFile(t, filepath.Join(chart, "secret-values.yaml"), encrypted)
	git(t, dir, "init", "-q")
	git(t, dir, "add", "-A")
	git(t, dir, "commit", "-qm", "chart")

	var printed []string
	run := func(name string, args ...string) harness.Result {
		t.Helper()
		res := env.Command(t, name, args...).Dir(dir).Env("WERF_SECRET_KEY", key).Env("HELM_NAMESPACE", ns).Run()
		// The arguments hold markers themselves: only what the run printed counts.
		printed = append(printed, args[0]+" "+args[1]+":\n"+res.Combined())
		return res
	}
	files := t.TempDir()
	report, plan := filepath.Join(files, "report.json"), filepath.Join(files, "plan.json")

	first := run("kubectl", "converge", ".helm", "-n", ns, "--set", "token=tok-"+secretMarker+"-1", "-o", "json", "--save-report", report)
	if first.ExitCode != 0 {
		t.Fatalf("converge: exit %d\n%s", first.ExitCode, first.Stderr)
	}
	if got := secretValue(t, env, ns, "creds", "password") + " " + secretValue(t, env, ns, "creds", "token"); got != "pw-"+secretMarker+"-1 tok-"+secretMarker+"-1" {
		t.Fatalf("the live Secret holds %q, want the real values", got)
	}
	second := run("kubectl", "converge", ".helm", "-n", ns, "--set", "token=tok-"+secretMarker+"-1")
	if !strings.Contains(second.Stdout, "password ***, token ***") {
		t.Fatalf("the NOTES are not printed with the secrets masked:\n%s", second.Combined())
	}
	changed := run("kubectl", "converge", "plan", ".helm", "-n", ns, "--set", "token=tok-"+secretMarker+"-2", "--exit-code", "--save-plan", plan)
	if changed.ExitCode != 2 || !strings.Contains(changed.Stdout, "Secret") {
		t.Fatalf("plan of a changed Secret: exit %d\n%s", changed.ExitCode, changed.Combined())
	}
	run("kubectl", "converge", "plan", ".helm", "-n", ns, "--set", "token=tok-"+secretMarker+"-2", "-o", "json")
	if res := run("kubectl", "converge", ".helm", "-n", ns, "--use-plan", plan, "--set", "token=tok-"+secretMarker+"-2"); res.ExitCode != 0 {
		t.Fatalf("converge --use-plan: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if res := run("helm-giterm", "upgrade", "careless", ".helm", "--set", "token=tok-"+secretMarker+"-3"); res.ExitCode != 0 {
		t.Fatalf("helm giterm upgrade: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	leak := run("kubectl", "converge", ".helm", "-n", ns, "--set", "leak=true")
	if leak.ExitCode == 0 || !strings.Contains(leak.Stderr, "cannot use password ***") {
		t.Fatalf("the failing template: exit %d\n%s", leak.ExitCode, leak.Stderr)
	}
	run("kubectl", "converge", "history", "careless", "-n", ns)
	// CI formats: GitHub's annotations and step summary, GitLab's sections, for a success
	// and for the failing template.
	summary := filepath.Join(files, "summary.md")
	for _, ci := range []string{"GITHUB_ACTIONS", "GITLAB_CI"} {
		for _, leak := range []string{"false", "true"} {
			res := env.Command(t, "kubectl", "converge", ".helm", "-n", ns, "--set", "leak="+leak, "--set", "token=tok-"+secretMarker+"-4", "--ci-summary", summary).
				Dir(dir).Env("WERF_SECRET_KEY", key).Env(ci, "true").Env("GITHUB_STEP_SUMMARY", summary).Run()
			printed = append(printed, ci+" leak="+leak+":\n"+res.Combined())
		}
	}
	if data, err := os.ReadFile(summary); err != nil || !strings.Contains(string(data), "| `secret/creds` |") {
		t.Fatalf("the CI summary lacks the Secret's row (%v):\n%s", err, data)
	}
	for _, f := range []string{report, plan, summary} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		printed = append(printed, f+"\n"+string(data))
	}
	for _, out := range printed {
		if strings.Contains(out, secretMarker) {
			t.Errorf("a secret was printed or saved:\n%s", out)
		}
	}
}

// decodedReleases returns every stored revision of the release, decoded from the storage
// driver's objects (Secrets or ConfigMaps) as Helm encodes them (base64 of gzipped JSON).
func decodedReleases(t *testing.T, env *harness.Env, ns, release, kind string) []string {
	t.Helper()
	raw := env.Kubectl(t, "-n", ns, "get", kind, "-l", "owner=helm,name="+release, "-o", "jsonpath={range .items[*]}{.data.release}{\"\\n\"}{end}")
	var out []string
	for _, line := range strings.Fields(raw) {
		data, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			t.Fatalf("%s of release %s: %v", kind, release, err)
		}
		if kind == "secrets" {
			if data, err = base64.StdEncoding.DecodeString(string(data)); err != nil {
				t.Fatalf("release secret: %v", err)
			}
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("release %s: %v", release, err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(plain))
	}
	return out
}

// TestSecretsNotStoredInReleases: revisions store neither decrypted secret values nor
// decrypted secret files (used or not), for a chart with secret files only, secret values
// only and both, with the Secret and the ConfigMap drivers: every stored revision, its values,
// templates and files decoded, holds no secret and no base64 of one outside the rendered
// manifests. No revision's stored values change when later upgrades supersede it. What the
// templates rendered from the secrets reaches the cluster, and helm rollback and converge
// rollback deploy it again from the stored manifest.
func TestSecretsNotStoredInReleases(t *testing.T) {
	env := harness.Get(t)
	tests := []struct {
		name, driver, kind        string
		secretValues, secretFiles bool
	}{
		{name: "values and files, secret driver", driver: "secret", kind: "secrets", secretValues: true, secretFiles: true},
		{name: "values and files, configmap driver", driver: "configmap", kind: "configmaps", secretValues: true, secretFiles: true},
		{name: "files only", driver: "secret", kind: "secrets", secretFiles: true},
		{name: "values only", driver: "secret", kind: "secrets", secretValues: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
			chart := filepath.Join(t.TempDir(), "stored")
			writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: stored\nversion: 0.1.0\n")
			writeFile(t, filepath.Join(chart, "values.yaml"), "greeting: hello\n")
			encrypt := func(mode, plain, target string) {
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					t.Fatal(err)
				}
				env.Command(t, "kubectl-converge", "secret", "encrypt", "--mode", mode, "-o", target).Env("WERF_SECRET_KEY", key).Stdin(plain).Succeed()
			}
			const cert = "-----BEGIN CERT-----\ncert-" + secretMarker + "\n-----END CERT-----\n"
			template := "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData:\n  greeting: {{ .Values.greeting | quote }}\n"
			if tt.secretValues {
				template += "  password: {{ .Values.db.password | quote }}\n"
				encrypt("values", "db:\n  password: pw-"+secretMarker+"\n", filepath.Join(chart, "secret-values.yaml"))
			}
			if tt.secretFiles {
				template += "  cert: {{ werf_secret_file \"cert.pem\" | quote }}\n"
				encrypt("file", cert, filepath.Join(chart, "secret", "cert.pem"))
				encrypt("file", "unused-"+secretMarker+"\n", filepath.Join(chart, "secret", "unused.txt"))
			}
			writeFile(t, filepath.Join(chart, "templates", "secret.yaml"), template)
			converge := func(args ...string) {
				t.Helper()
				res := env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns, "--release", "stored"}, args...)...).Env("WERF_SECRET_KEY", key).Env("HELM_DRIVER", tt.driver).Run()
				if res.ExitCode != 0 {
					t.Fatalf("converge %v: exit %d\n%s", args, res.ExitCode, res.Stderr)
				}
			}
			storedValues := func(revision string) string {
				t.Helper()
				return env.Command(t, "helm3", "get", "values", "stored", "-n", ns, "--revision", revision, "-o", "json").Env("HELM_DRIVER", tt.driver).Succeed().Stdout
			}
			checkStored := func(after string, want int) {
				t.Helper()
				revisions := decodedReleases(t, env, ns, "stored", tt.kind)
				if len(revisions) != want {
					t.Fatalf("after %s: %d stored revisions, want %d", after, len(revisions), want)
				}
				for i, r := range revisions {
					if stored := storedOutsideManifests(t, r); containsSecret(stored, secretMarker) {
						t.Errorf("after %s: stored revision %d holds a secret (or its base64) outside its rendered manifests:\n%s", after, i+1, stored)
					}
				}
			}
			converge("--set", "greeting=one")
			first := storedValues("1")
			if !strings.Contains(first, `"greeting":"one"`) {
				t.Fatalf("revision 1 stores values %s, want greeting one", first)
			}
			converge("--set", "greeting=two")
			second := storedValues("2")
			converge("--set", "greeting=three")
			checkStored("two upgrades", 3)
			if got := storedValues("1"); got != first {
				t.Errorf("revision 1 stores values %s after two upgrades, want %s as deployed", got, first)
			}
			if got := storedValues("2"); got != second {
				t.Errorf("revision 2 stores values %s after an upgrade, want %s as deployed", got, second)
			}
			if tt.secretValues && secretValue(t, env, ns, "creds", "password") != "pw-"+secretMarker {
				t.Fatalf("the live Secret lacks the decrypted value")
			}
			if tt.secretFiles && secretValue(t, env, ns, "creds", "cert") != cert {
				t.Fatalf("the live Secret lacks the decrypted file")
			}

			env.Command(t, "helm3", "rollback", "stored", "1", "-n", ns).Env("HELM_DRIVER", tt.driver).Succeed()
			if got := secretValue(t, env, ns, "creds", "greeting"); got != "one" {
				t.Fatalf("after helm rollback the Secret holds greeting %q", got)
			}
			if tt.secretFiles && secretValue(t, env, ns, "creds", "cert") != cert {
				t.Fatalf("after helm rollback the Secret lacks the decrypted file")
			}
			res := env.Command(t, "kubectl", "converge", "rollback", "stored", "2", "-n", ns).Env("HELM_DRIVER", tt.driver).Run()
			if res.ExitCode != 0 || secretValue(t, env, ns, "creds", "greeting") != "two" {
				t.Fatalf("converge rollback to revision 2: exit %d\n%s", res.ExitCode, res.Stderr)
			}
			if tt.secretValues && secretValue(t, env, ns, "creds", "password") != "pw-"+secretMarker {
				t.Fatalf("after converge rollback the Secret lacks the decrypted value")
			}
			checkStored("two rollbacks", 5)
			if got := storedValues("1"); got != first {
				t.Errorf("revision 1 stores values %s after rollbacks, want %s as deployed", got, first)
			}
		})
	}
}

// storedOutsideManifests is a decoded release without what templates rendered (the manifest
// and the hooks' manifests: a template may put a secret there, as in Helm and nelm), followed
// by the decoded content of every template and file of the chart (Helm stores no subcharts):
// the values and the chart are what must never hold a secret.
func storedOutsideManifests(t *testing.T, release string) string {
	t.Helper()
	var rel map[string]any
	if err := json.Unmarshal([]byte(release), &rel); err != nil {
		t.Fatalf("decoded release: %v", err)
	}
	delete(rel, "manifest")
	if hooks, ok := rel["hooks"].([]any); ok {
		for _, h := range hooks {
			if m, ok := h.(map[string]any); ok {
				delete(m, "manifest")
			}
		}
	}
	out, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.Write(out)
	decodeChart := func(c map[string]any) {
		for _, field := range []string{"templates", "files"} {
			files, _ := c[field].([]any)
			for _, f := range files {
				file, _ := f.(map[string]any)
				data, _ := file["data"].(string)
				plain, err := base64.StdEncoding.DecodeString(data)
				if err != nil {
					t.Fatalf("stored chart %s %v: %v", field, file["name"], err)
				}
				fmt.Fprintf(&b, "\n--- %s %v\n%s", field, file["name"], plain)
			}
		}
	}
	if c, ok := rel["chart"].(map[string]any); ok {
		decodeChart(c)
	}
	return b.String()
}

// containsSecret says whether s holds secret or its base64, whatever the alignment of the
// secret in the encoded text (the characters that encode only the secret's bytes).
func containsSecret(s, secret string) bool {
	if strings.Contains(s, secret) {
		return true
	}
	for skip := 0; skip < 3; skip++ {
		n := (len(secret) - skip) / 3 * 3
		if n > 0 && strings.Contains(s, base64.StdEncoding.EncodeToString([]byte(secret[skip:skip+n]))) {
			return true
		}
	}
	return false
}

// TestSecretFormsNeverPrinted: secrets in the shapes output encodes differently (JSON- and
// YAML-escaped characters, a multi-line PEM, a value longer than a terminal row), printed by
// NOTES, shown in a ConfigMap's plan diff, and handled by rollback, track and dismiss: the
// marker appears in no output, report, plan or error.
func TestSecretFormsNeverPrinted(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	chart := filepath.Join(t.TempDir(), "forms")
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: forms\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(chart, "values.yaml"), "revision: one\n")
	writeFile(t, filepath.Join(chart, "templates", "objects.yaml"), `apiVersion: v1
kind: Secret
metadata: {name: forms}
stringData:
  special: {{ .Values.special | quote }}
  pem: {{ .Values.pem | quote }}
  long: {{ .Values.long | quote }}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: careless}
data:
  pem: {{ .Values.pem | quote }}
  special: {{ .Values.special | quote }}
  revision: {{ .Values.revision | quote }}
`)
	writeFile(t, filepath.Join(chart, "templates", "NOTES.txt"), "special {{ .Values.special }}\npem {{ .Values.pem }}\nlong {{ .Values.long }}\n")
	long := strings.Repeat("x", 90) + "-" + secretMarker + "-" + strings.Repeat("y", 90)
	plain := "special: '" + `p&<a>"s\s-` + secretMarker + "'\n" +
		"pem: |\n  -----BEGIN KEY-----\n  line-one-" + secretMarker + "\n  line-two-" + secretMarker + "\n  -----END KEY-----\n" +
		"long: " + long + "\n"
	encrypted := env.Command(t, "kubectl-converge", "secret", "encrypt").Env("WERF_SECRET_KEY", key).Stdin(plain).Succeed().Stdout
	writeFile(t, filepath.Join(chart, "secret-values.yaml"), encrypted)

	var printed []string
	run := func(args ...string) harness.Result {
		t.Helper()
		res := env.Command(t, "kubectl", args...).Env("WERF_SECRET_KEY", key).Run()
		printed = append(printed, strings.Join(args[:2], " ")+":\n"+res.Combined())
		return res
	}
	report := filepath.Join(t.TempDir(), "report.json")
	if res := run("converge", chart, "-n", ns, "-o", "json", "--save-report", report); res.ExitCode != 0 {
		t.Fatalf("converge: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if res := run("converge", chart, "-n", ns, "--progress", "tty", "--set", "revision=two"); res.ExitCode != 0 {
		t.Fatalf("converge: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	if got := secretValue(t, env, ns, "forms", "long"); got != long {
		t.Fatalf("the live Secret holds %q", got)
	}
	run("converge", "plan", chart, "-n", ns, "--set", "revision=three", "--set-string", "pem=replaced")
	run("converge", "plan", chart, "-n", ns, "--set", "revision=three", "--set-string", "pem=replaced", "-o", "json")
	if res := run("converge", "rollback", "forms", "1", "-n", ns); res.ExitCode != 0 {
		t.Fatalf("rollback: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	run("converge", "track", "secret/forms", "configmap/careless", "-n", ns)
	run("converge", "history", "forms", "-n", ns, "-o", "json")
	if res := run("converge", "dismiss", "forms", "-n", ns); res.ExitCode != 0 {
		t.Fatalf("dismiss: exit %d\n%s", res.ExitCode, res.Stderr)
	}
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(report); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the report is not private: %v %v", info.Mode(), err)
	}
	printed = append(printed, "report:\n"+string(data))
	for _, out := range printed {
		if strings.Contains(out, secretMarker) {
			t.Errorf("a secret was printed or saved:\n%s", out)
		}
	}
}

// TestSecretsInWarningsAndShortSecrets: an admission policy that quotes a secret in its
// warning, and a secret of three characters, are masked: the warning comes through the
// printer, the short secret wherever it stands as a whole value.
func TestSecretsInWarningsAndShortSecrets(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	policy := "warn-token-" + ns
	env.Apply(t, ns, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: `+policy+`}
spec:
  failurePolicy: Ignore
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE, UPDATE], resources: [configmaps]}]
  validations:
  - expression: "!has(object.data) || !('token' in object.data)"
    messageExpression: "'the ConfigMap carries the token ' + object.data.token"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: `+policy+`}
spec:
  policyName: `+policy+`
  validationActions: [Warn]
  matchResources: {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: `+ns+`}}}
`)
	t.Cleanup(func() {
		env.Kubectl(t, "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy, "--ignore-not-found")
	})
	// A new policy takes effect when the API server has loaded it.
	harness.Eventually(t, time.Minute, func() string {
		res := env.Command(t, "kubectl", "-n", ns, "create", "configmap", "probe", "--from-literal=token=probe", "--dry-run=server").Run()
		if strings.Contains(res.Stderr, "carries the token probe") {
			return ""
		}
		return "the admission policy does not warn yet: " + res.Stderr
	})
	key := strings.TrimSpace(env.Command(t, "kubectl-converge", "secret", "generate-key").Succeed().Stdout)
	chart := filepath.Join(t.TempDir(), "warned")
	writeFile(t, filepath.Join(chart, "Chart.yaml"), "apiVersion: v2\nname: warned\nversion: 0.1.0\n")
	writeFile(t, filepath.Join(chart, "templates", "cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: careless}\ndata:\n  token: {{ .Values.token | quote }}\n  pin: {{ .Values.pin | quote }}\n  run: {{ .Values.run | quote }}\n")
	writeFile(t, filepath.Join(chart, "templates", "NOTES.txt"), "pin: {{ .Values.pin }}\n")
	encrypted := env.Command(t, "kubectl-converge", "secret", "encrypt").Env("WERF_SECRET_KEY", key).Stdin("token: tok-" + secretMarker + "\npin: k9X\n").Succeed().Stdout
	writeFile(t, filepath.Join(chart, "secret-values.yaml"), encrypted)
	// Each run changes the ConfigMap, so that the API server admits (and warns about) it.
	for _, args := range [][]string{{"--progress", "plain", "--set", "run=1"}, {"-o", "json", "--set", "run=2"}} {
		res := env.Command(t, "kubectl", append([]string{"converge", chart, "-n", ns}, args...)...).Env("WERF_SECRET_KEY", key).Run()
		if res.ExitCode != 0 {
			t.Fatalf("converge %v: exit %d\n%s", args, res.ExitCode, res.Stderr)
		}
		out := res.Combined()
		if !strings.Contains(out, "the ConfigMap carries the token ***") {
			t.Errorf("converge %v: the admission warning is not shown masked:\n%s", args, out)
		}
		if strings.Contains(out, secretMarker) || strings.Contains(out, `"k9X"`) || strings.Contains(out, "pin: k9X") {
			t.Errorf("converge %v printed a secret:\n%s", args, out)
		}
	}
	if got := jsonPath(t, env, ns, "configmap/careless", "{.data.pin}"); got != "k9X" {
		t.Fatalf("the live ConfigMap holds pin %q", got)
	}
}
