package cliutil

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/testutil"
)

// werfCommand is a command standing for werf converge, with the flags kubectl converge
// gives it, after the command line args.
type werfTestCommand struct {
	fs         *pflag.FlagSet
	deploy     *DeployFlags
	converge   *ConvergeFlags
	track      *TrackFlags
	ns         *string
	kubeconfig *string
	kubeCtx    *string
}

func werfCommand(t *testing.T, args ...string) werfTestCommand {
	t.Helper()
	c := werfTestCommand{deploy: &DeployFlags{}, track: &TrackFlags{}, ns: new(string), kubeconfig: new(string), kubeCtx: new(string)}
	converge := NewConvergeFlags()
	c.converge = &converge
	cmd := &cobra.Command{Use: "converge", RunE: func(*cobra.Command, []string) error { return nil }}
	fs := cmd.Flags()
	c.deploy.AddFlags(fs)
	c.converge.AddFlags(fs)
	c.track.AddFlags(fs)
	fs.StringVarP(c.ns, "namespace", "n", "", "")
	fs.StringVar(c.kubeconfig, "kubeconfig", "", "")
	fs.StringVar(c.kubeCtx, "context", "", "")
	fs.String("kube-config-base64", "", "")
	fs.Bool("debug", false, "")
	MarkWerfCommand(cmd, WerfConverge)
	AddWerfFlags(cmd)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	c.fs = fs
	return c
}

func (c werfTestCommand) apply(t *testing.T, environ ...string) (notes string, err error) {
	t.Helper()
	var buf bytes.Buffer
	cleanup, err := ApplyWerfEnvironment(c.fs, WerfConverge, environ, &buf)
	t.Cleanup(cleanup)
	return buf.String(), err
}

func TestWerfEnvironmentFillsFlags(t *testing.T) {
	c := werfCommand(t, "--set", "b=flag", "--values", "cli.yaml")
	environ := []string{
		"WERF_ENV=production", "WERF_RELEASE=shop-prod", "WERF_NAMESPACE=shop", "WERF_TIMEOUT=600", "WERF_REPO=registry.example.com/shop",
		"WERF_SET_2=b=env", "WERF_SET_1=a=env", "WERF_SET_STRING_X=s=1", "WERF_SET_FILE_F=f=file.txt",
		"WERF_VALUES_PROD=values-prod.yaml", "WERF_SECRET_VALUES_PROD=secret-prod.yaml",
		"WERF_DISABLE_DEFAULT_VALUES=1", "WERF_IGNORE_SECRET_KEY=yes", "WERF_SET_DOCKER_CONFIG_JSON_VALUE=false",
	}
	if _, err := c.apply(t, environ...); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ what, got, want string }{
		{"env", c.deploy.Env, "production"},
		{"release", c.deploy.ReleaseName, "shop-prod"},
		{"namespace", *c.ns, "shop"},
		{"timeout (seconds)", c.converge.Timeout.String(), "10m0s"},
		{"repo", c.deploy.Repo, "registry.example.com/shop"},
		// Environment items first, in name order; the command line's last, so they win.
		{"set", strings.Join(c.deploy.Values.Set, " "), "a=env b=env b=flag"},
		{"set-string", strings.Join(c.deploy.Values.SetString, " "), "s=1"},
		{"set-file", strings.Join(c.deploy.Values.SetFile, " "), "f=file.txt"},
		{"values", strings.Join(c.deploy.Values.Files, " "), "values-prod.yaml cli.yaml"},
		{"secret-values", strings.Join(c.deploy.SecretValues, " "), "secret-prod.yaml"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !c.deploy.DisableDefaultValues || !c.deploy.IgnoreSecretKey || c.deploy.SetDockerConfigJSONValue {
		t.Errorf("booleans: disable-default-values %v, ignore-secret-key %v, set-docker-config-json-value %v", c.deploy.DisableDefaultValues, c.deploy.IgnoreSecretKey, c.deploy.SetDockerConfigJSONValue)
	}
}

// TestWerfOptionsHonoured: werf's variables and flag names that this tool can honour fill
// the flag that means the same.
func TestWerfOptionsHonoured(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		check   func(c werfTestCommand) string
	}{
		{"WERF_AUTO_ROLLBACK", nil, []string{"WERF_AUTO_ROLLBACK=true"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.AutoRollback) }},
		{"WERF_ATOMIC", nil, []string{"WERF_ATOMIC=1"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.AutoRollback) }},
		{"WERF_ATOMIC after WERF_AUTO_ROLLBACK=false", nil, []string{"WERF_AUTO_ROLLBACK=false", "WERF_ATOMIC=true"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.AutoRollback) }},
		{"-R", []string{"-R"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.converge.AutoRollback) }},
		{"WERF_RELEASES_HISTORY_MAX", nil, []string{"WERF_RELEASES_HISTORY_MAX=3"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.HistoryMax == 3) }},
		{"--releases-history-max", []string{"--releases-history-max", "4"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.converge.HistoryMax == 4) }},
		{"WERF_NO_POD_LOGS", nil, []string{"WERF_NO_POD_LOGS=yes"}, func(c werfTestCommand) string { return fmt.Sprint(c.track.NoPodLogs) }},
		{"--kube-context", []string{"--kube-context", "prod"}, nil, func(c werfTestCommand) string { return fmt.Sprint(*c.kubeCtx == "prod") }},
		{"WERF_KUBE_CONTEXT", nil, []string{"WERF_KUBE_CONTEXT=prod"}, func(c werfTestCommand) string { return fmt.Sprint(*c.kubeCtx == "prod") }},
		{"--kube-config", []string{"--kube-config", "/k"}, nil, func(c werfTestCommand) string { return fmt.Sprint(*c.kubeconfig == "/k") }},
		// werf reads WERF_KUBE_CONFIG before WERF_KUBECONFIG.
		{"WERF_KUBE_CONFIG first", nil, []string{"WERF_KUBECONFIG=/b", "WERF_KUBE_CONFIG=/a"}, func(c werfTestCommand) string { return fmt.Sprint(*c.kubeconfig == "/a") }},
		{"-t seconds", []string{"-t", "90"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.converge.Timeout == 90*time.Second) }},
		{"WERF_LOG_COLOR_MODE", nil, []string{"WERF_LOG_COLOR_MODE=on"}, func(c werfTestCommand) string { return fmt.Sprint(c.track.Color == "always") }},
		{"WERF_STATUS_PROGRESS_PERIOD_SECONDS", nil, []string{"WERF_STATUS_PROGRESS_PERIOD_SECONDS=10"}, func(c werfTestCommand) string { return fmt.Sprint(c.track.ProgressInterval == 10*time.Second) }},
		// werf's older name, read when WERF_STATUS_PROGRESS_PERIOD_SECONDS is not set.
		{"WERF_STATUS_PROGRESS_PERIOD", nil, []string{"WERF_STATUS_PROGRESS_PERIOD=7"}, func(c werfTestCommand) string { return fmt.Sprint(c.track.ProgressInterval == 7*time.Second) }},
		{"WERF_STATUS_PROGRESS_PERIOD_SECONDS first", nil, []string{"WERF_STATUS_PROGRESS_PERIOD=7", "WERF_STATUS_PROGRESS_PERIOD_SECONDS=9"}, func(c werfTestCommand) string { return fmt.Sprint(c.track.ProgressInterval == 9*time.Second) }},
		{"--status-progress-period -1", []string{"--status-progress-period=-1"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.track.ProgressInterval == 0) }},
		{"WERF_SAVE_DEPLOY_REPORT", nil, []string{"WERF_SAVE_DEPLOY_REPORT=true"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.SaveReport == ".werf-deploy-report.json") }},
		{"--save-deploy-report with a path", []string{"--save-deploy-report", "--deploy-report-path", "out/report"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.converge.SaveReport == "out/report.json") }},
		// werf writes no report without --save-deploy-report, whatever the path.
		{"WERF_DEPLOY_REPORT_PATH alone", nil, []string{"WERF_DEPLOY_REPORT_PATH=r.json"}, func(c werfTestCommand) string { return fmt.Sprint(c.converge.SaveReport == "") }},
		{"WERF_INSECURE_HELM_DEPENDENCIES", nil, []string{"WERF_INSECURE_HELM_DEPENDENCIES=1"}, func(c werfTestCommand) string { return fmt.Sprint(c.deploy.PlainHTTP) }},
		// werf's image registry setting does not allow plain-HTTP chart dependencies.
		{"WERF_INSECURE_REGISTRY", nil, []string{"WERF_INSECURE_REGISTRY=1"}, func(c werfTestCommand) string { return fmt.Sprint(!c.deploy.PlainHTTP) }},
		{"WERF_LOG_DEBUG", nil, []string{"WERF_LOG_DEBUG=true"}, func(c werfTestCommand) string { on, _ := c.fs.GetBool("debug"); return fmt.Sprint(on) }},
		// A boolean refused option set to werf's default asks for nothing.
		{"WERF_FOLLOW=false", nil, []string{"WERF_FOLLOW=false"}, func(c werfTestCommand) string { return "true" }},
		// werf reads "FALSE" as no word at all: WERF_PARALLEL (default true) stays true, nothing to note.
		{"WERF_PARALLEL=FALSE", nil, []string{"WERF_PARALLEL=FALSE"}, func(c werfTestCommand) string { return "true" }},
		// werf's boolean flags are pflag's: "True" is true.
		{"--auto-rollback=True", []string{"--auto-rollback=True"}, nil, func(c werfTestCommand) string { return fmt.Sprint(c.converge.AutoRollback) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := werfCommand(t, tt.args...)
			if _, err := c.apply(t, tt.environ...); err != nil {
				t.Fatal(err)
			}
			if got := tt.check(c); got != "true" {
				t.Errorf("not honoured")
			}
		})
	}
}

// TestWerfOptionsRefused: what cannot be honoured stops the command with a usage error (exit
// 64) of one line naming werf's name and what to use instead.
func TestWerfOptionsRefused(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		environ []string
		want    string
	}{
		{"WERF_FOLLOW", nil, []string{"WERF_FOLLOW=1"}, "WERF_FOLLOW (werf's --follow): converge deploys once: run it again on each new commit"},
		{"--follow", []string{"--follow"}, nil, "werf's --follow: converge deploys once"},
		{"--use-custom-tag", []string{"--use-custom-tag", "main"}, nil, "werf's --use-custom-tag: converge builds no images: pass each as --image NAME=REF"},
		{"WERF_DIR", nil, []string{"WERF_DIR=deploy"}, "WERF_DIR (werf's --dir): helm giterm reads the chart named on its command line"},
		{"--deploy-report-path with an extension", []string{"--save-deploy-report", "--deploy-report-path", "r.yaml"}, nil, `--deploy-report-path="r.yaml": the extension must be .json or none`},
		{"--save-deploy-report with --save-report", []string{"--save-deploy-report", "--save-report", "x.json"}, nil, "--save-report and --save-deploy-report cannot be combined"},
		{"--kube-context with --context", []string{"--kube-context", "a", "--context", "b"}, nil, "--context and werf's --kube-context cannot be combined"},
		{"WERF_KUBECONFIG list", nil, []string{"WERF_KUBECONFIG=/a:/b"}, `WERF_KUBECONFIG="/a:/b": a list of kubeconfig files: set KUBECONFIG to it instead`},
		// Not a --set item, although it starts with WERF_SET_.
		{"WERF_SET_RUNTIME_JSON_1", nil, []string{"WERF_SET_RUNTIME_JSON_1=a=1"}, "WERF_SET_RUNTIME_JSON_* (werf's --set-runtime-json): values outside .Values cannot be set: use --set-json"},
		{"WERF_RELEASE_STORAGE", nil, []string{"WERF_RELEASE_STORAGE=sql"}, "WERF_RELEASE_STORAGE (werf's --release-storage): set HELM_DRIVER"},
		{"--no-notes", []string{"--no-notes"}, nil, "werf's --no-notes: NOTES go to stdout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := werfCommand(t, tt.args...)
			_, err := c.apply(t, tt.environ...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line with %q", err, tt.want)
			}
			if code := exitcode.Of(err); code != exitcode.CodeUsage {
				t.Errorf("exit code %d, want %d", code, exitcode.CodeUsage)
			}
		})
	}
}

// TestWerfOptionsNoted: what changes nothing here (werf's own log, image builds) is accepted
// with one line saying so.
func TestWerfOptionsNoted(t *testing.T) {
	c := werfCommand(t, "--log-pretty=false", "--parallel")
	notes, err := c.apply(t, "WERF_LOG_TERMINAL_WIDTH=95", "WERF_LOG_PROJECT_DIR=1", "WERF_REPO_GITHUB_TOKEN=secret", "WERF_INSECURE_REGISTRY=1")
	if err != nil {
		t.Fatal(err)
	}
	want := "note: werf's --log-pretty, WERF_LOG_TERMINAL_WIDTH, WERF_LOG_PROJECT_DIR: no effect here, changes only werf's own log\n" +
		"note: werf's WERF_REPO_GITHUB_TOKEN: no effect here, converge reads no images from the registry: they are given with --image\n" +
		"note: werf's WERF_INSECURE_REGISTRY: no effect here, werf's image registry setting; chart dependencies are reached over plain HTTP only with --plain-http (or WERF_INSECURE_HELM_DEPENDENCIES)\n"
	// --parallel is werf's default: nothing to say.
	if notes != want {
		t.Errorf("notes:\n%s\nwant:\n%s", notes, want)
	}
}

// TestWerfShowOnlyVariables: werf render takes --show-only items from every variable whose
// name starts with WERF_SHOW_ONLY, in name order, before the command line's (werf 1.2
// cmd/werf/render/render.go getShowOnly).
func TestWerfShowOnlyVariables(t *testing.T) {
	fs := pflag.NewFlagSet("render", pflag.ContinueOnError)
	showOnly := fs.StringArray("show-only", nil, "")
	if err := fs.Parse([]string{"--show-only", "templates/cli.yaml"}); err != nil {
		t.Fatal(err)
	}
	environ := []string{"WERF_SHOW_ONLY_2=templates/b.yaml", "WERF_SHOW_ONLY=templates/bare.yaml", "WERF_SHOW_ONLY_1=templates/a.yaml"}
	if _, err := ApplyWerfEnvironment(fs, WerfRender, environ, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(*showOnly, " "), "templates/bare.yaml templates/a.yaml templates/b.yaml templates/cli.yaml"; got != want {
		t.Errorf("show-only %q, want %q", got, want)
	}
}

// TestWerfDeployPathVariablesNoted: variables werf 1.2 reads on the deploy path outside its
// flags (engine choice, Helm 2 migration, telemetry) are noted, not silently ignored.
func TestWerfDeployPathVariablesNoted(t *testing.T) {
	notes, err := werfCommand(t).apply(t, "WERF_NELM=1", "WERF_HELM_RELEASE_STORAGE_NAMESPACE=kube-system", "WERF_TELEMETRY=0", "WERF_TELEMETRY_EXTRA_ATTRIBUTE_A=b")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"WERF_NELM", "WERF_HELM_RELEASE_STORAGE_NAMESPACE", "WERF_TELEMETRY,", "WERF_TELEMETRY_EXTRA_ATTRIBUTE_*"} {
		if !strings.Contains(notes, name) {
			t.Errorf("%s not noted:\n%s", name, notes)
		}
	}
}

// TestWerfOptionsOfOtherCommands: a command standing for no werf command takes the variables
// of the flags it has and refuses nothing.
func TestWerfOptionsOfOtherCommands(t *testing.T) {
	fs := pflag.NewFlagSet("history", pflag.ContinueOnError)
	env := fs.String("env", "", "")
	if _, err := ApplyWerfEnvironment(fs, 0, []string{"WERF_ENV=prod", "WERF_FOLLOW=1", "WERF_DIR=x"}, io.Discard); err != nil || *env != "prod" {
		t.Fatalf("env %q, err %v", *env, err)
	}
}

// TestWerfOptionsTable: each option says where werf defines it, for which commands, and
// what becomes of it in one line; no variable or flag is listed twice.
func TestWerfOptionsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, o := range werfOptions {
		name := o.flag + strings.Join(o.env, ",")
		if o.source == "" || o.cmds == 0 || (o.flag == "" && len(o.env) == 0) {
			t.Errorf("%s: source %q, commands %v", name, o.source, o.cmds)
		}
		if o.as == "" && o.refuse == "" && o.note == "" {
			t.Errorf("%s: neither honoured nor refused nor noted", name)
		}
		for _, text := range []string{o.refuse, o.note} {
			if strings.Contains(text, "\n") || strings.HasSuffix(text, ".") {
				t.Errorf("%s: %q is not one line", name, text)
			}
		}
		keys := append([]string{"--" + o.flag}, o.env...)
		if o.flag == "" {
			keys = o.env
		}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("%s listed twice", k)
			}
			seen[k] = true
			if k[0] != '-' && !strings.HasPrefix(k, "WERF_") {
				t.Errorf("%s is not a werf variable", k)
			}
		}
	}
}

func TestWerfEnvironmentLosesToTheCommandLine(t *testing.T) {
	c := werfCommand(t, "--env", "staging", "--timeout", "5m")
	if _, err := c.apply(t, "WERF_ENV=production", "WERF_TIMEOUT=600"); err != nil {
		t.Fatal(err)
	}
	if c.deploy.Env != "staging" || c.converge.Timeout != 5*time.Minute {
		t.Fatalf("env %q, timeout %s: the command line must win", c.deploy.Env, c.converge.Timeout)
	}
}

func TestWerfEnvironmentErrorsNameTheVariable(t *testing.T) {
	_, err := werfCommand(t).apply(t, "WERF_TIMEOUT=ten")
	if err == nil || !strings.Contains(err.Error(), `WERF_TIMEOUT="ten"`) {
		t.Fatalf("err = %v, want one naming WERF_TIMEOUT", err)
	}
}

func TestKubeconfigFromBase64(t *testing.T) {
	c := werfCommand(t)
	kubeconfig := c.kubeconfig
	content := "apiVersion: v1\nkind: Config\n"
	cleanup, err := ApplyWerfEnvironment(c.fs, WerfConverge, []string{"WERF_KUBECONFIG_BASE64=" + base64.StdEncoding.EncodeToString([]byte(content))}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(*kubeconfig)
	if err != nil || string(data) != content {
		t.Fatalf("kubeconfig %q: %q, %v", *kubeconfig, data, err)
	}
	if info, _ := os.Stat(*kubeconfig); info.Mode().Perm() != 0o600 {
		t.Fatalf("kubeconfig mode %v", info.Mode())
	}
	cleanup()
	if _, err := os.Stat(*kubeconfig); !os.IsNotExist(err) {
		t.Fatalf("kubeconfig left after cleanup: %v", err)
	}
}

func TestParseTimeout(t *testing.T) {
	for in, want := range map[string]time.Duration{"600": 10 * time.Minute, "0": 0, "10m": 10 * time.Minute, "90s": 90 * time.Second} {
		if got, err := ParseTimeout(in); err != nil || got != want {
			t.Errorf("ParseTimeout(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"-5", "ten", ""} {
		if _, err := ParseTimeout(bad); err == nil {
			t.Errorf("ParseTimeout(%q) accepted", bad)
		}
	}
}

// TestWerfOptionsDoc writes the table for people: docs/werf-options.md (-update rewrites it).
func TestWerfOptionsDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# werf's flags and variables\n\n" +
		"Generated from the table in `shared/cliutil/werfflags.go` by `go test ./shared/cliutil -run TestWerfOptionsDoc -update`.\n" +
		"werf sources are under `cmd/werf/` of werf's 1.2 branch (fdeed2f) unless marked werf 2 (main).\n\n" +
		"Every flag and `WERF_*` variable that werf 1.2's `converge`, `plan`, `render`, `dismiss` and `bundle publish|apply|render|copy`\n" +
		"read (and a few of werf 2's), with what becomes of it here. `kubectl converge` stands for werf's converge, `plan`,\n" +
		"`render` and `dismiss`; `helm giterm upgrade`, `plan` and `template` for converge, plan and render; `helm giterm bundle-*`\n" +
		"for the bundle commands. **Honoured**: the flag (werf's name is accepted too) or variable fills ours; a flag on the\n" +
		"command line wins over a variable. **Refused**: the command stops with exit code 64 and this line. **No effect**: accepted,\n" +
		"and one note on stderr says why. Where a command lacks the flag an option is honoured as, it is refused with the line given.\n\n" +
		"| werf flag | variables | werf commands | here | werf source |\n| --- | --- | --- | --- | --- |\n")
	for _, o := range werfOptions {
		flag := ""
		if o.flag != "" {
			flag = "`--" + o.flag + "`"
			if o.short != "" {
				flag = "`-" + o.short + "`, " + flag
			}
		}
		var env []string
		for _, e := range o.env {
			if strings.HasSuffix(e, "_") {
				e += "*"
			}
			env = append(env, "`"+e+"`")
		}
		var here []string
		switch {
		case o.as != "" && o.elsewhere && o.flag == "":
			here = append(here, "honoured where the command has `--"+o.as+"`")
		case o.as != "":
			here = append(here, "honoured as `--"+strings.ReplaceAll(o.as, ",", "` or `--")+"`")
		}
		if o.refuse != "" {
			prefix := "refused: "
			if o.as != "" {
				prefix = "else refused: "
			}
			here = append(here, prefix+o.refuse)
		}
		if o.note != "" {
			prefix := "no effect: "
			if o.as != "" {
				prefix = "else no effect: "
			}
			here = append(here, prefix+o.note)
		}
		if o.defTrue && o.as == "" {
			here = append(here, "(true, werf's default, asks for nothing)")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", flag, strings.Join(env, " "), strings.ReplaceAll(o.cmds.String(), "werf ", ""), strings.ReplaceAll(strings.Join(here, "; "), "|", "\\|"), o.source)
	}
	testutil.Golden(t, filepath.Join("..", "..", "docs", "werf-options.md"), b.String())
}

// TestWerfCoverageFindsGaps: the table test of a plugin fails on a command that lacks the
// flag an option is honoured as (with no refusal to fall back on), and on one that has the
// flag werf names while the table still refuses it.
func TestWerfCoverageFindsGaps(t *testing.T) {
	root := &cobra.Command{Use: "tool"}
	sub := &cobra.Command{Use: "deploy", RunE: func(*cobra.Command, []string) error { return nil }}
	sub.Flags().String("git-work-tree", "", "")
	MarkWerfCommand(sub, WerfConverge)
	root.AddCommand(sub)
	problems := strings.Join(WerfCoverage(root), "\n")
	for _, want := range []string{
		"tool deploy (werf converge): werf's --env (WERF_ENV) is neither honoured (no --env) nor refused nor noted",
		`tool deploy (werf converge): has --git-work-tree, but the table does not honour werf's --git-work-tree (WERF_GIT_WORK_TREE, WERF_WORK_TREE) with it (as: "git-work-tree")`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
}
