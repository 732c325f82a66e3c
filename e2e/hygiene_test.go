package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	for _, f := range []string{report, plan} {
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
