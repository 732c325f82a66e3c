package cliutil

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func werfFlags() (*pflag.FlagSet, *DeployFlags, *time.Duration, *string, *string) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	deploy := &DeployFlags{}
	deploy.AddFlags(fs)
	timeout := new(time.Duration)
	TimeoutVar(fs, timeout, "timeout")
	ns, kubeconfig := new(string), new(string)
	fs.StringVarP(ns, "namespace", "n", "", "")
	fs.StringVar(kubeconfig, "kubeconfig", "", "")
	fs.String("kube-config-base64", "", "")
	return fs, deploy, timeout, ns, kubeconfig
}

func TestWerfEnvironmentFillsFlags(t *testing.T) {
	fs, deploy, timeout, ns, _ := werfFlags()
	if err := fs.Parse([]string{"--set", "b=flag", "--values", "cli.yaml"}); err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"WERF_ENV=production", "WERF_RELEASE=shop-prod", "WERF_NAMESPACE=shop", "WERF_TIMEOUT=600", "WERF_REPO=registry.example.com/shop",
		"WERF_SET_2=b=env", "WERF_SET_1=a=env", "WERF_SET_STRING_X=s=1", "WERF_SET_FILE_F=f=file.txt",
		"WERF_VALUES_PROD=values-prod.yaml", "WERF_SECRET_VALUES_PROD=secret-prod.yaml",
		"WERF_DISABLE_DEFAULT_VALUES=1", "WERF_IGNORE_SECRET_KEY=yes", "WERF_SET_DOCKER_CONFIG_JSON_VALUE=false",
	}
	cleanup, err := ApplyWerfEnvironment(fs, environ)
	defer cleanup()
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ what, got, want string }{
		{"env", deploy.Env, "production"},
		{"release", deploy.ReleaseName, "shop-prod"},
		{"namespace", *ns, "shop"},
		{"timeout (seconds)", timeout.String(), "10m0s"},
		{"repo", deploy.Repo, "registry.example.com/shop"},
		// Environment items first, in name order; the command line's last, so they win.
		{"set", strings.Join(deploy.Values.Set, " "), "a=env b=env b=flag"},
		{"set-string", strings.Join(deploy.Values.SetString, " "), "s=1"},
		{"set-file", strings.Join(deploy.Values.SetFile, " "), "f=file.txt"},
		{"values", strings.Join(deploy.Values.Files, " "), "values-prod.yaml cli.yaml"},
		{"secret-values", strings.Join(deploy.SecretValues, " "), "secret-prod.yaml"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !deploy.DisableDefaultValues || !deploy.IgnoreSecretKey || deploy.SetDockerConfigJSONValue {
		t.Errorf("booleans: disable-default-values %v, ignore-secret-key %v, set-docker-config-json-value %v", deploy.DisableDefaultValues, deploy.IgnoreSecretKey, deploy.SetDockerConfigJSONValue)
	}
}

func TestWerfEnvironmentLosesToTheCommandLine(t *testing.T) {
	fs, deploy, timeout, _, _ := werfFlags()
	if err := fs.Parse([]string{"--env", "staging", "--timeout", "5m"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyWerfEnvironment(fs, []string{"WERF_ENV=production", "WERF_TIMEOUT=600"}); err != nil {
		t.Fatal(err)
	}
	if deploy.Env != "staging" || *timeout != 5*time.Minute {
		t.Fatalf("env %q, timeout %s: the command line must win", deploy.Env, timeout)
	}
}

func TestWerfEnvironmentErrorsNameTheVariable(t *testing.T) {
	fs, _, _, _, _ := werfFlags()
	_, err := ApplyWerfEnvironment(fs, []string{"WERF_TIMEOUT=ten"})
	if err == nil || !strings.Contains(err.Error(), `WERF_TIMEOUT="ten"`) {
		t.Fatalf("err = %v, want one naming WERF_TIMEOUT", err)
	}
}

func TestKubeconfigFromBase64(t *testing.T) {
	fs, _, _, _, kubeconfig := werfFlags()
	content := "apiVersion: v1\nkind: Config\n"
	cleanup, err := ApplyWerfEnvironment(fs, []string{"WERF_KUBE_CONFIG_BASE64=" + base64.StdEncoding.EncodeToString([]byte(content))})
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
