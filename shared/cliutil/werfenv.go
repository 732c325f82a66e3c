package cliutil

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-converge/converge/shared/annotate"
	"github.com/kubectl-converge/converge/shared/exitcode"
)

// TimeoutVar defines a --timeout flag that takes werf's unit, seconds ("600"), as well as a
// Go duration ("10m").
func TimeoutVar(fs *pflag.FlagSet, p *time.Duration, usage string) {
	fs.Var(&timeoutValue{p}, "timeout", usage+`; a number is seconds, as in werf ("600" is "10m")`)
}

type timeoutValue struct{ d *time.Duration }

func (v *timeoutValue) Set(s string) error {
	d, err := ParseTimeout(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v *timeoutValue) String() string { return v.d.String() }
func (v *timeoutValue) Type() string   { return "duration" }

// ParseTimeout reads seconds ("600", werf's --timeout and WERF_TIMEOUT) or a Go duration.
func ParseTimeout(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q: must be 0 (no limit) or positive", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q: use seconds (600) or a duration (10m)", s)
	}
	return d, nil
}

// werfScalars are werf's environment variables for single-valued flags: a flag not given on
// the command line takes the variable's value (werf cmd/werf/common).
var werfScalars = []struct{ env, flag string }{
	{"WERF_ENV", "env"},
	{"WERF_RELEASE", "release"},
	{"WERF_NAMESPACE", "namespace"},
	{"WERF_KUBE_CONTEXT", "context"},
	{"WERF_KUBE_CONFIG", "kubeconfig"},
	{"WERF_KUBECONFIG", "kubeconfig"},
	{"WERF_TIMEOUT", "timeout"},
	{"WERF_REPO", "repo"},
	{"WERF_DEV", "dev"},
	{"WERF_LOOSE_GITERMINISM", "loose-giterminism"},
	{"WERF_SET_DOCKER_CONFIG_JSON_VALUE", "set-docker-config-json-value"},
	{"WERF_DISABLE_DEFAULT_VALUES", "disable-default-values"},
	{"WERF_DISABLE_DEFAULT_SECRET_VALUES", "disable-default-secret-values"},
	{"WERF_IGNORE_SECRET_KEY", "ignore-secret-key"},
	{"WERF_NO_INSTALL_CRDS", "no-install-crds"},
	{"WERF_NO_REMOVE_MANUAL_CHANGES", "no-remove-manual-changes"},
}

// werfLists are werf's environment variables for repeatable flags: every variable with the
// prefix (in name order) adds an item, before those of the command line, as werf merges them
// (env first, so the command line wins). A prefix excludes the longer prefixes listed after
// it in the same group.
var werfLists = []struct {
	prefix  string
	exclude []string
	flag    string
}{
	{"WERF_SET_", []string{"WERF_SET_STRING_", "WERF_SET_FILE_", "WERF_SET_JSON_", "WERF_SET_LITERAL_", "WERF_SET_ROOT_JSON_", "WERF_SET_RUNTIME_JSON_", "WERF_SET_DOCKER_CONFIG_JSON_VALUE"}, "set"},
	{"WERF_SET_STRING_", nil, "set-string"},
	{"WERF_SET_FILE_", nil, "set-file"},
	{"WERF_SET_JSON_", nil, "set-json"},
	{"WERF_SET_LITERAL_", nil, "set-literal"},
	{"WERF_VALUES_", nil, "values"},
	{"WERF_SECRET_VALUES_", nil, "secret-values"},
	{"WERF_RELEASE_LABEL_", nil, "release-label"},
}

// ApplyWerfEnvironment lets a werf CI job run the command unchanged: the WERF_* variables
// of environ fill the flags of fs the command line did not give (only flags the command
// has). A kubeconfig given in base64 (--kube-config-base64, WERF_KUBE_CONFIG_BASE64) is
// written to a private file that becomes --kubeconfig; cleanup removes it.
func ApplyWerfEnvironment(fs *pflag.FlagSet, environ []string) (cleanup func(), err error) {
	cleanup = func() {}
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, m := range werfScalars {
		f := fs.Lookup(m.flag)
		value, set := env[m.env]
		if f == nil || f.Changed || !set || value == "" {
			continue
		}
		if f.Value.Type() == "bool" {
			value = strconv.FormatBool(werfBool(value))
		}
		if err := fs.Set(m.flag, value); err != nil {
			return cleanup, exitcode.Usage("%s=%q: %v", m.env, value, err)
		}
	}
	for _, m := range werfLists {
		f := fs.Lookup(m.flag)
		if f == nil {
			continue
		}
		slice, ok := f.Value.(pflag.SliceValue)
		if !ok {
			continue
		}
		items := annotate.FromEnv(excluding(environ, m.exclude), m.prefix)
		if len(items) == 0 {
			continue
		}
		if err := slice.Replace(append(items, slice.GetSlice()...)); err != nil {
			return cleanup, exitcode.Usage("%s*: %v", m.prefix, err)
		}
	}
	f := fs.Lookup("kube-config-base64")
	if f == nil || fs.Lookup("kubeconfig") == nil {
		return cleanup, nil
	}
	encoded := f.Value.String()
	if !f.Changed {
		encoded = env["WERF_KUBE_CONFIG_BASE64"]
	}
	if encoded == "" {
		return cleanup, nil
	}
	if fs.Changed("kubeconfig") {
		return cleanup, exitcode.Usage("--kube-config-base64 and --kubeconfig cannot be combined")
	}
	path, cleanup, err := KubeconfigFromBase64(encoded)
	if err != nil {
		return cleanup, err
	}
	if err := fs.Set("kubeconfig", path); err != nil {
		cleanup()
		return func() {}, err
	}
	return cleanup, nil
}

func excluding(environ, prefixes []string) []string {
	var out []string
	for _, kv := range environ {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(kv, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}

// werfBool reads a werf boolean variable: "1", "true" and "yes" are true.
func werfBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes":
		return true
	}
	return false
}

// KubeconfigFromBase64 writes a base64 kubeconfig (werf's --kube-config-base64) to a file
// only the user can read, and returns its path and a cleanup that removes it.
func KubeconfigFromBase64(encoded string) (string, func(), error) {
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", func() {}, exitcode.Usage("--kube-config-base64: not base64: %v", err)
	}
	dir, err := os.MkdirTemp("", "kubectl-converge-kubeconfig-")
	if err != nil {
		return "", func() {}, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "config")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		cleanup()
		return "", func() {}, err
	}
	return path, cleanup, nil
}
