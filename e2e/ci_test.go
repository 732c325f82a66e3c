package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/e2e/harness"
)

// ciChart is a ConfigMap that deploys and a Deployment whose image cannot be pulled.
func ciChart(t *testing.T) string {
	return writeChart(t, "ci", map[string]string{
		"templates/cm.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n",
		"templates/web.yaml": appDeployment("web", "", "converge.test/behaviour: image-pull-failure", ""),
	})
}

// TestGitHubActionsOutput: a failing converge in GitHub Actions writes an error annotation
// for the failed object on stdout, in the workflow-command syntax, and appends a Markdown
// summary with the table of objects to $GITHUB_STEP_SUMMARY.
func TestGitHubActionsOutput(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	summary := filepath.Join(t.TempDir(), "step-summary.md")
	res := env.Command(t, "kubectl", "converge", ciChart(t), "-n", ns, "--progress", "plain").
		Env("GITHUB_ACTIONS", "true").Env("GITHUB_STEP_SUMMARY", summary).Run()
	if res.ExitCode != 3 {
		t.Fatalf("exit %d, want 3\n%s", res.ExitCode, res.Combined())
	}
	annotation := regexp.MustCompile(`(?m)^::error title=deploy/web failed::pod web-[a-z0-9-]+ container app: (ErrImagePull|ImagePullBackOff): .+$`)
	if !annotation.MatchString(res.Stdout) {
		t.Fatalf("no error annotation for deploy/web on stdout:\n--- stdout\n%s\n--- stderr\n%s", res.Stdout, res.Stderr)
	}
	if strings.Contains(res.Stderr, "deploy/web FAILED:") {
		t.Fatalf("the failure is said twice (plain line and annotation):\n%s", res.Stderr)
	}
	data, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	stable := regexp.MustCompile(`web-[a-z0-9]+-[a-z0-9]+`).ReplaceAllString(strings.ReplaceAll(string(data), ns, "NAMESPACE"), "web-POD")
	stable = regexp.MustCompile(`\| \d+s \|`).ReplaceAllString(stable, "| Ns |")
	stable = regexp.MustCompile(`(ErrImagePull|ImagePullBackOff)`).ReplaceAllString(stable, "PULL-FAILURE")
	// Whether the kubelet's events were seen before the failure is a matter of timing: the
	// folded block of events and log lines is left out of the comparison.
	// The block's blank-line separators go with it.
	stable = regexp.MustCompile("(?s)<details>.*</details>\n").ReplaceAllString(stable, "")
	stable = strings.TrimRight(stable, "\n") + "\n"
	goldenIn(t, "ci", "github-summary", stable)
}

// TestGitLabCIOutput: in GitLab CI the stages and the result are collapsible sections, each
// closed before the next opens.
func TestGitLabCIOutput(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	res := env.Command(t, "kubectl", "converge", ciChart(t), "-n", ns, "--progress", "plain").Env("GITLAB_CI", "true").Run()
	if res.ExitCode != 3 {
		t.Fatalf("exit %d, want 3\n%s", res.ExitCode, res.Combined())
	}
	starts, ends := strings.Count(res.Stderr, "section_start:"), strings.Count(res.Stderr, "section_end:")
	if starts == 0 || starts != ends {
		t.Fatalf("%d section starts, %d ends:\n%q", starts, ends, res.Stderr)
	}
	depth := 0
	for _, line := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(line, "section_start:") {
			depth++
		}
		if strings.Contains(line, "section_end:") {
			depth--
		}
		if depth < 0 || depth > 1 {
			t.Fatalf("unbalanced sections at %q", line)
		}
	}
}

// TestCISummaryOfEveryTrackingCommand: rollback, track and dismiss append their Markdown
// summary to $GITHUB_STEP_SUMMARY as converge does (the flag exists on all of them).
func TestCISummaryOfEveryTrackingCommand(t *testing.T) {
	env := harness.Get(t)
	ns := env.Namespace(t)
	chart := writeChart(t, "summaries", map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: \"{{ .Values.a }}\"}\n",
		"values.yaml":       "a: one\n",
	})
	env.Command(t, "kubectl", "converge", chart, "-n", ns).Succeed()
	env.Command(t, "kubectl", "converge", chart, "-n", ns, "--set", "a=two").Succeed()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"rollback", "summaries", "1"}, "### ✅ Release `summaries` in namespace `NAMESPACE`\n\nRevision 3: **deployed**"},
		{[]string{"track", "configmap/settings"}, "### ✅ Objects in namespace `NAMESPACE`\n\n**ready**"},
		{[]string{"dismiss", "summaries"}, "### ✅ Release `summaries` in namespace `NAMESPACE`\n\nRevision 3: **uninstalled**"},
	} {
		summary := filepath.Join(t.TempDir(), "step-summary.md")
		env.Command(t, "kubectl", append(append([]string{"converge"}, c.args...), "-n", ns)...).
			Env("GITHUB_ACTIONS", "true").Env("GITHUB_STEP_SUMMARY", summary).Succeed()
		data, err := os.ReadFile(summary)
		if err != nil {
			t.Fatalf("%s wrote no summary: %v", c.args[0], err)
		}
		if got := strings.ReplaceAll(string(data), ns, "NAMESPACE"); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s summary:\n%s\nwant it to begin with:\n%s", c.args[0], got, c.want)
		}
	}
}
