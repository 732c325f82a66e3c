package cliutil

import (
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
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

// WerfCommand is a set of werf 1.2 commands: those whose flags and WERF_* variables a
// command of ours stands for (MarkWerfCommand).
type WerfCommand uint16

// werf's deploy commands.
const (
	WerfConverge WerfCommand = 1 << iota
	WerfPlan
	WerfRender
	WerfDismiss
	WerfBundlePublish
	WerfBundleApply
	WerfBundleRender
	WerfBundleCopy
)

// Groups of werf commands that share options (werf's common.Setup* calls).
const (
	werfBuild       = WerfConverge | WerfPlan | WerfRender | WerfBundlePublish
	werfProject     = werfBuild | WerfDismiss
	werfHostCleanup = WerfConverge | WerfPlan | WerfDismiss | WerfBundlePublish
	werfRelease     = WerfConverge | WerfPlan | WerfRender | WerfDismiss | WerfBundleApply
	werfKube        = werfProject | WerfBundleApply
	werfRepo        = werfKube | WerfBundleRender
	werfValues      = werfBuild | WerfBundleApply | WerfBundleRender
	werfBundle      = WerfBundlePublish | WerfBundleApply | WerfBundleRender | WerfBundleCopy
	werfAll         = werfRepo | WerfBundleCopy
)

var werfCommandNames = []struct {
	cmd  WerfCommand
	name string
}{
	{WerfConverge, "converge"}, {WerfPlan, "plan"}, {WerfRender, "render"}, {WerfDismiss, "dismiss"},
	{WerfBundlePublish, "bundle publish"}, {WerfBundleApply, "bundle apply"}, {WerfBundleRender, "bundle render"}, {WerfBundleCopy, "bundle copy"},
}

// String names the werf commands of c, as "werf converge, werf plan".
func (c WerfCommand) String() string {
	var names []string
	for _, n := range werfCommandNames {
		if c&n.cmd != 0 {
			names = append(names, "werf "+n.name)
		}
	}
	return strings.Join(names, ", ")
}

const werfCommandAnnotation = "kubectl-converge.io/werf-command"

// MarkWerfCommand records that cmd stands for werf's command c: werf's flags and WERF_*
// variables of c are honoured or refused there (werfOptions). Unmarked commands take the
// variables only for the flags they have.
func MarkWerfCommand(cmd *cobra.Command, c WerfCommand) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[werfCommandAnnotation] = strconv.Itoa(int(c))
}

func werfCommandOf(cmd *cobra.Command) WerfCommand {
	n, _ := strconv.Atoi(cmd.Annotations[werfCommandAnnotation])
	return WerfCommand(n)
}

type werfKind int

const (
	werfStringKind werfKind = iota
	werfBoolKind
	werfIntKind
	werfListKind
)

// werfOption is one of werf's flags with its variables, and what becomes of it here:
// honoured (as: the flag of ours that takes the value, when the command has it), else
// refused (refuse: one line naming what to use instead; exit 64), else noted (note: why it
// changes nothing here; one line on stderr).
type werfOption struct {
	// flag is werf's flag name, "" for a variable alone; short its one-letter form.
	flag, short string
	kind        werfKind
	// defTrue: werf's default for the boolean is true. A boolean set to werf's default is
	// what happens anyway here: never refused nor noted.
	defTrue bool
	// env are werf's variables, the first set one wins; a name ending in "_" is a prefix
	// whose variables each add one item, in name order.
	env  []string
	cmds WerfCommand
	as   string
	// convert turns werf's value into ours; nil keeps it.
	convert func(string) (string, error)
	// elsewhere: the variable is read where it is used (not through the flag).
	elsewhere bool
	// custom: ApplyWerfEnvironment handles the option on its own (deploy report, base64
	// kubeconfig).
	custom bool
	// refuse and note: see werfOption; where both are given, noteIn are the werf commands
	// the option changes nothing in, which note it instead of refusing it.
	refuse, note string
	noteIn       WerfCommand
	// source is werf's file (under cmd/werf/ of the 1.2 branch unless it says werf 2).
	source string
}

// werfFlagValue is the value of a hidden flag carrying werf's name for an option.
type werfFlagValue struct {
	option *werfOption
	values []string
}

func (v *werfFlagValue) Set(s string) error {
	if v.option.kind == werfBoolKind {
		// werf's boolean flags are pflag's: "True", "t", "0"... as strconv reads them.
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		s = strconv.FormatBool(b)
	}
	if v.option.kind == werfListKind {
		v.values = append(v.values, s)
	} else {
		v.values = []string{s}
	}
	return nil
}

func (v *werfFlagValue) String() string { return strings.Join(v.values, ",") }
func (v *werfFlagValue) Type() string {
	switch v.option.kind {
	case werfBoolKind:
		return "bool"
	case werfListKind:
		return "stringArray"
	}
	return "string"
}

// AddWerfFlags gives every command under root marked with MarkWerfCommand werf's names of
// its options, hidden: --kube-context for --context, werf's one-letter forms (-t, -R), and
// the names of refused and noted options, so that they reach ApplyWerfEnvironment instead
// of stopping as unknown flags.
func AddWerfFlags(root *cobra.Command) {
	wc := werfCommandOf(root)
	if wc != 0 {
		fs := root.Flags()
		root.InheritedFlags() // merges the parents' persistent flags into fs
		for i := range werfOptions {
			o := &werfOptions[i]
			if o.flag == "" || o.cmds&wc == 0 {
				continue
			}
			short := o.short
			if short != "" && fs.ShorthandLookup(short) != nil {
				short = ""
			}
			name := o.flag
			if own := fs.Lookup(o.flag); own != nil {
				if short == "" || own.Shorthand != "" || isWerfFlag(own) || fs.Lookup("werf-"+o.flag) != nil {
					continue
				}
				name = "werf-" + o.flag // werf's one-letter form of a flag we have
			}
			f := fs.VarPF(&werfFlagValue{option: o}, name, short, "werf's --"+o.flag)
			f.Hidden = true
			if o.kind == werfBoolKind {
				f.NoOptDefVal = "true"
			}
		}
	}
	for _, sub := range root.Commands() {
		AddWerfFlags(sub)
	}
}

// WerfCoverage lists the options of werfOptions that a command under root marked with
// MarkWerfCommand neither honours (it has no flag taking them) nor refuses nor notes, and
// werf flag names it cannot take: what the table test of each plugin requires to be empty.
// root is as newRoot of Execute builds it.
func WerfCoverage(root *cobra.Command) []string {
	addRootFlags(root, false)
	var problems []string
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		if wc := werfCommandOf(cmd); wc != 0 {
			fs := cmd.Flags()
			cmd.InheritedFlags()
			for i := range werfOptions {
				o := &werfOptions[i]
				if o.cmds&wc == 0 {
					continue
				}
				name := strings.Join(o.env, ", ")
				if o.flag != "" && name != "" {
					name = "--" + o.flag + " (" + name + ")"
				} else if o.flag != "" {
					name = "--" + o.flag
				}
				target := o.target(fs) != nil
				if !target && o.refuse == "" && o.note == "" {
					problems = append(problems, fmt.Sprintf("%s (%s): werf's %s is neither honoured (no --%s) nor refused nor noted", cmd.CommandPath(), wc, name, o.as))
				}
				if o.flag != "" && fs.Lookup(o.flag) == nil {
					problems = append(problems, fmt.Sprintf("%s (%s): werf's --%s is not accepted", cmd.CommandPath(), wc, o.flag))
				}
				if own := fs.Lookup(o.flag); o.flag != "" && o.as == "" && own != nil && !isWerfFlag(own) {
					problems = append(problems, fmt.Sprintf("%s (%s): has --%s, but the table does not honour werf's %s with it (as: %q)", cmd.CommandPath(), wc, o.flag, name, o.flag))
				}
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return problems
}

// ApplyWerfEnvironment lets a werf CI job run the command unchanged. For the werf command
// wc stands for, every option of werfOptions given by werf's flag name or its WERF_*
// variables is honoured (the variables fill the flags the command line did not give; list
// variables come before the command line's items, as werf merges them), refused with a
// usage error naming what to use instead, or noted on notes as changing nothing here. A
// command standing for no werf command (wc 0) takes the variables of the flags it has. A
// kubeconfig given in base64 (--kube-config-base64, WERF_KUBE_CONFIG_BASE64) is written to
// a private file that becomes --kubeconfig; cleanup removes it.
func ApplyWerfEnvironment(fs *pflag.FlagSet, wc WerfCommand, environ []string, notes io.Writer) (cleanup func(), err error) {
	cleanup = func() {}
	env := map[string]string{}
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	noted := map[string][]string{}
	var order []string
	note := func(o *werfOption, what string) {
		if len(noted[o.note]) == 0 {
			order = append(order, o.note)
		}
		noted[o.note] = append(noted[o.note], what)
	}
	for i := range werfOptions {
		o := &werfOptions[i]
		if o.custom {
			continue
		}
		target := o.target(fs)
		if o.elsewhere && (target != nil || o.refuse == "" && o.note == "") {
			continue // read where it is used, or refused and noted only where the flag is missing
		}
		applies := o.cmds&wc != 0
		if f := werfFlagOf(fs, o); f != nil && f.Changed {
			values := f.Value.(*werfFlagValue).values
			what := "werf's --" + o.flag
			switch {
			case o.isDefault(values):
			case target != nil:
				if target.Changed && o.kind != werfListKind {
					return cleanup, exitcode.Usage("--%s and %s cannot be combined", target.Name, what)
				}
				if err := o.fill(fs, target, values, false); err != nil {
					return cleanup, exitcode.Usage("%s=%q: %v", what, strings.Join(values, ","), err)
				}
			case o.refuses(wc):
				return cleanup, exitcode.Usage("%s: %s", what, o.refuse)
			case o.note != "":
				note(o, "--"+o.flag)
			default:
				return cleanup, exitcode.Usage("%s: not supported by %s", what, fs.Name())
			}
		}
		for _, name := range o.env {
			var values []string
			if strings.HasSuffix(name, "_") {
				values = annotate.FromEnv(excluding(environ, longerWerfPrefixes(name)), name)
				name += "*"
			} else if v := env[name]; v != "" {
				values = []string{v}
			}
			if len(values) == 0 || o.isDefault(values) {
				continue
			}
			switch {
			case target != nil:
				if target.Changed && o.kind != werfListKind {
					continue
				}
				if err := o.fill(fs, target, values, true); err != nil {
					return cleanup, exitcode.Usage("%s=%q: %v", name, strings.Join(values, ","), err)
				}
			case !applies:
			case o.refuses(wc) && o.flag == "":
				return cleanup, exitcode.Usage("%s: %s", name, o.refuse)
			case o.refuses(wc):
				return cleanup, exitcode.Usage("%s (werf's --%s): %s", name, o.flag, o.refuse)
			case o.note != "":
				note(o, name)
			}
		}
	}
	for _, text := range order {
		fmt.Fprintf(notes, "note: werf's %s: no effect here, %s\n", strings.Join(noted[text], ", "), text)
	}
	if err := applyWerfDeployReport(fs, wc, env); err != nil {
		return cleanup, err
	}
	return applyWerfKubeconfigBase64(fs, wc, env, notes)
}

// target is the flag of fs that takes o: the first of o.as the command has.
func (o *werfOption) target(fs *pflag.FlagSet) *pflag.Flag {
	for _, name := range strings.Split(o.as, ",") {
		if f := fs.Lookup(name); name != "" && f != nil && !isWerfFlag(f) {
			return f
		}
	}
	return nil
}

// refuses: o is refused (not noted) in wc when the command lacks the flag it is honoured as.
func (o *werfOption) refuses(wc WerfCommand) bool {
	return o.refuse != "" && (o.note == "" || wc&o.noteIn == 0)
}

// isDefault: a boolean set to werf's default asks for nothing.
func (o *werfOption) isDefault(values []string) bool {
	return o.kind == werfBoolKind && o.as == "" && len(values) > 0 && o.boolOf(values[len(values)-1]) == o.defTrue
}

// boolOf reads a boolean of o as werf reads its variable, by o's default.
func (o *werfOption) boolOf(v string) bool {
	if o.defTrue {
		return werfBoolDefaultTrue(v)
	}
	return werfBool(v)
}

// fill gives target werf's values: list items before the command line's when they come
// from the environment, after them from werf's flag.
func (o *werfOption) fill(fs *pflag.FlagSet, target *pflag.Flag, values []string, fromEnv bool) error {
	if slice, ok := target.Value.(pflag.SliceValue); ok {
		if fromEnv {
			return slice.Replace(append(values, slice.GetSlice()...))
		}
		return slice.Replace(append(slice.GetSlice(), values...))
	}
	value := values[len(values)-1]
	if o.kind == werfBoolKind || target.Value.Type() == "bool" {
		b := o.boolOf(value)
		if !b && target.Value.String() == "false" {
			return nil // nothing asked; a second variable for the flag (WERF_ATOMIC) may still set it
		}
		value = strconv.FormatBool(b)
	}
	if o.convert != nil {
		var err error
		if value, err = o.convert(value); err != nil {
			return err
		}
	}
	return fs.Set(target.Name, value)
}

func isWerfFlag(f *pflag.Flag) bool {
	_, ok := f.Value.(*werfFlagValue)
	return ok
}

// werfFlagOf is the hidden flag AddWerfFlags registered for o, if any.
func werfFlagOf(fs *pflag.FlagSet, o *werfOption) *pflag.Flag {
	if o.flag == "" {
		return nil
	}
	for _, name := range []string{o.flag, "werf-" + o.flag} {
		if f := fs.Lookup(name); f != nil && isWerfFlag(f) && f.Value.(*werfFlagValue).option == o {
			return f
		}
	}
	return nil
}

// longerWerfPrefixes are the variables and prefixes of other options that start with
// prefix: WERF_SET_ must not take WERF_SET_STRING_* or WERF_SET_DOCKER_CONFIG_JSON_VALUE.
func longerWerfPrefixes(prefix string) []string {
	var out []string
	for _, o := range werfOptions {
		for _, name := range o.env {
			if name != prefix && strings.HasPrefix(name, prefix) {
				out = append(out, name)
			}
		}
	}
	return out
}

// werfFlagOrEnv is the value of o from werf's flag, else its first set variable.
func werfFlagOrEnv(fs *pflag.FlagSet, o *werfOption, env map[string]string) (value, from string, ok bool) {
	if f := werfFlagOf(fs, o); f != nil && f.Changed {
		return f.Value.String(), "--" + o.flag, true
	}
	for _, name := range o.env {
		if v := env[name]; v != "" {
			return v, name, true
		}
	}
	return "", "", false
}

func werfOptionNamed(flag string) *werfOption {
	for i := range werfOptions {
		if werfOptions[i].flag == flag {
			return &werfOptions[i]
		}
	}
	panic("no werf option " + flag)
}

// applyWerfDeployReport honours werf's --save-deploy-report with --deploy-report-path as
// --save-report: the same file, with this tool's report in it; and WERF_DEPLOY_REPORT_PATH
// as --deploy-report-path where a command has it (dismiss --use-deploy-report reads it).
func applyWerfDeployReport(fs *pflag.FlagSet, wc WerfCommand, env map[string]string) error {
	saveOpt, pathOpt := werfOptionNamed("save-deploy-report"), werfOptionNamed("deploy-report-path")
	save, saveFrom, saveSet := werfFlagOrEnv(fs, saveOpt, env)
	path, pathFrom, pathSet := werfFlagOrEnv(fs, pathOpt, env)
	target := fs.Lookup("save-report")
	if target == nil {
		if own := pathOpt.target(fs); own != nil && pathSet && !own.Changed && pathOpt.cmds&wc != 0 {
			return fs.Set(own.Name, path)
		}
		return nil
	}
	if !saveSet || !werfBool(save) {
		return nil
	}
	if target.Changed {
		return exitcode.Usage("--save-report and %s cannot be combined", saveFrom)
	}
	file, err := DeployReportPath(path)
	if err != nil {
		return exitcode.Usage("%s=%q: %v", pathFrom, path, err)
	}
	return fs.Set("save-report", file)
}

// applyWerfKubeconfigBase64 writes werf's base64 kubeconfig to a private file for
// --kubeconfig.
func applyWerfKubeconfigBase64(fs *pflag.FlagSet, wc WerfCommand, env map[string]string, notes io.Writer) (func(), error) {
	o := werfOptionNamed("kube-config-base64")
	encoded, from, set := werfFlagOrEnv(fs, o, env)
	if f := fs.Lookup(o.flag); f != nil && !isWerfFlag(f) && f.Changed {
		encoded, from, set = f.Value.String(), "--"+o.flag, true
	}
	if !set {
		return func() {}, nil
	}
	if fs.Lookup("kubeconfig") == nil {
		if o.cmds&wc == 0 {
			return func() {}, nil
		}
		if !o.refuses(wc) {
			fmt.Fprintf(notes, "note: werf's %s: no effect here, %s\n", from, o.note)
			return func() {}, nil
		}
		return func() {}, exitcode.Usage("%s: %s", from, o.refuse)
	}
	if fs.Changed("kubeconfig") {
		return func() {}, exitcode.Usage("%s and --kubeconfig cannot be combined", from)
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

// werfColor turns werf's --log-color-mode (on, off, auto) into --color.
func werfColor(v string) (string, error) {
	switch strings.ToLower(v) {
	case "on":
		return "always", nil
	case "off":
		return "never", nil
	case "auto":
		return "auto", nil
	}
	return "", fmt.Errorf("use on, off or auto")
}

// werfKubeconfigPath takes one kubeconfig file for --kubeconfig; werf also merges a list.
func werfKubeconfigPath(v string) (string, error) {
	if strings.ContainsRune(v, os.PathListSeparator) {
		return "", fmt.Errorf("a list of kubeconfig files: set KUBECONFIG to it instead")
	}
	return v, nil
}

// werfSeconds turns werf's --status-progress-period (seconds; -1 shows no progress) into
// --progress-interval (0: never).
func werfSeconds(v string) (string, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return "", fmt.Errorf("seconds expected")
	}
	if n < 0 {
		return "0s", nil
	}
	return (time.Duration(n) * time.Second).String(), nil
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

// werfBoolDefaultTrue reads a werf boolean variable whose default is true: only "0",
// "false" and "no", as spelt, are false (werf 1.2 pkg/util/env.go
// GetBoolEnvironmentDefaultTrue): "FALSE" is true.
func werfBoolDefaultTrue(v string) bool {
	switch v {
	case "0", "false", "no":
		return false
	}
	return true
}

// werfBool reads a werf boolean variable: "1", "true" and "yes", as spelt, are true (werf
// 1.2 pkg/util/env.go GetBoolEnvironmentDefaultFalse): "TRUE" is false.
func werfBool(v string) bool {
	switch v {
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

// ShowOnlyInChart turns werf render's form of a --show-only item, a file inside the chart
// directory named relative to the current directory or absolute (".helm/templates/a.yaml"),
// into the chart-relative template path Helm matches ("templates/a.yaml"); other items are
// kept (werf 1.2 cmd/werf/render/render.go).
func ShowOnlyInChart(chartDir string, items []string) []string {
	dir, err := filepath.Abs(chartDir)
	if err != nil || len(items) == 0 {
		return items
	}
	out := make([]string, len(items))
	for i, item := range items {
		out[i] = item
		abs, err := filepath.Abs(item)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(dir, abs); err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			out[i] = filepath.ToSlash(rel)
		}
	}
	return out
}
