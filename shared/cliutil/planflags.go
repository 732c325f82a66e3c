package cliutil

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/deploy"
	"github.com/kubectl-converge/converge/shared/diff"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
)

// PlanFlags are the flags of the plan commands.
type PlanFlags struct {
	ExitCode          bool
	ShowInsignificant bool
	ShowSensitive     bool
	DiffContext       int
	SavePlan          string
	// Output is "text" (diffs and a summary), "json" (one document) or "markdown" (for a
	// merge request).
	Output string
	// KeepManualChanges plans as --no-remove-manual-changes converges.
	KeepManualChanges bool
	// ForceAdoption plans as --force-adoption converges.
	ForceAdoption bool
}

// AddFlags registers the flags on fs.
func (f *PlanFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&f.ExitCode, "exit-code", false, "exit 2 when the converge would change something, 0 when not (errors exit 1)")
	fs.BoolVar(&f.ShowInsignificant, "show-insignificant", false, "show fields the API server and controllers set (managedFields, resourceVersion, status...)")
	fs.BoolVar(&f.ShowSensitive, "show-sensitive", false, "show the values of Secrets and of werf.io/sensitive-paths")
	fs.IntVar(&f.DiffContext, "diff-context", 3, "unchanged lines shown around each change")
	fs.StringVar(&f.SavePlan, "save-plan", "", "write the plan to this file, for kubectl converge --use-plan (holds no values, only what was reviewed)")
	fs.StringVarP(&f.Output, "output", "o", "text", "output format: text, json, or markdown (a plan ready for a merge request note)")
	KeepManualChangesVar(fs, &f.KeepManualChanges)
	fs.BoolVar(&f.ForceAdoption, "force-adoption", false, "plan as kubectl converge --force-adoption converges: existing objects that do not belong to the release are shown taken over")
}

// Validate checks the flag values.
func (f *PlanFlags) Validate() error {
	switch {
	case f.DiffContext < 0:
		return exitcode.Usage("--diff-context must be 0 or more, got %d", f.DiffContext)
	case f.Output != "text" && f.Output != "json" && f.Output != "markdown":
		return exitcode.Usage("--output %q: use text, json or markdown", f.Output)
	}
	return nil
}

// Plan shows what a converge of prepared would change; with --exit-code the exit status
// says whether anything would.
func (f *PlanFlags) Plan(ctx context.Context, streams genericiooptions.IOStreams, client *helmsdk.Client, prepared *inputs.Prepared) error {
	context := f.DiffContext
	if context == 0 {
		context = -1
	}
	plan, err := deploy.MakePlan(ctx, client, prepared, deploy.PlanOptions{KeepManualChanges: f.KeepManualChanges, ForceAdoption: f.ForceAdoption, Diff: diff.Options{
		ShowInsignificant: f.ShowInsignificant, ShowSensitive: f.ShowSensitive, Context: context,
	}})
	if err != nil {
		return fmt.Errorf("plan release %q in namespace %q: %w", prepared.ReleaseName, prepared.Namespace, err)
	}
	out := streams.Out
	if f.ShowSensitive {
		// Asked for on purpose: the values are shown, as kubectl get secret -o yaml would.
		out = redact.Unwrap(out)
	}
	if f.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan); err != nil {
			return err
		}
	} else if f.Output == "markdown" {
		WritePlanMarkdown(out, plan)
	} else {
		WritePlan(out, plan)
	}
	if f.SavePlan != "" {
		if err := SavePlan(f.SavePlan, plan); err != nil {
			return err
		}
	}
	if f.ExitCode && plan.HasChanges() {
		return exitcode.Quiet(exitcode.CodeChangesPlanned)
	}
	return nil
}

var (
	planMarks = map[deploy.Action]string{
		deploy.ActionCreate: "+", deploy.ActionUpdate: "~", deploy.ActionRecreate: "±", deploy.ActionDelete: "-",
		deploy.ActionKeep: "=", deploy.ActionOrphan: "=", deploy.ActionHook: "*", deploy.ActionHookSkipped: " ",
		deploy.ActionAdopt: "~", deploy.ActionRefuse: "!",
	}
	// planNotes say why, around the change's Why.
	planNotes = map[deploy.Action]string{
		deploy.ActionRecreate: " (deleted and created again: %s)",
		deploy.ActionKeep:     " (left the chart; kept: %s)",
		deploy.ActionOrphan:   " (left the chart; not deleted: %s)",
		deploy.ActionDelete:   " (%s)",
		deploy.ActionAdopt:    " (taken over: %s)",
		deploy.ActionRefuse:   " (refused: it would be deleted and created again for %s, but another release owns it)",
	}
)

// planHeading names the plan's release and where it starts from.
func planHeading(plan *deploy.Plan) string {
	from := fmt.Sprintf("revision %d", plan.Revision)
	if plan.Revision == 0 {
		from = "not installed"
	}
	return fmt.Sprintf("release %q in namespace %q (%s)", plan.Release, plan.Namespace, from)
}

// changeTitle is one change's line: action, object, where and why.
func changeTitle(c deploy.Change) string {
	where := ""
	if c.Object.Namespace != "" {
		where = " in " + c.Object.Namespace
	}
	note := ""
	if format, ok := planNotes[c.Action]; ok && c.Why != "" {
		note = fmt.Sprintf(format, c.Why)
	}
	switch {
	case c.Hook != nil:
		note = hookNote(c.Hook)
	case c.CRD:
		note = " (CRD of the chart's crds/, applied before everything else)"
	}
	if len(c.DeleteOn) > 0 {
		var when []string
		for _, p := range c.DeleteOn {
			when = append(when, string(p))
		}
		note += fmt.Sprintf(" (then deleted once tracking finds it %s: %s)", strings.Join(when, " or "), lifecycle.AnnotationDeletePolicy)
	}
	return fmt.Sprintf("%s %s%s%s", c.Action, c.Object.KindName(), where, note)
}

// planCounts is the plan's closing line without its period.
func planCounts(plan *deploy.Plan) string {
	s := plan.Summary
	line := fmt.Sprintf("%d to create, %d to update, %d to recreate, %d to delete, %d unchanged", s[deploy.ActionCreate], s[deploy.ActionUpdate], s[deploy.ActionRecreate], s[deploy.ActionDelete], s[deploy.ActionUnchanged])
	if n := s[deploy.ActionKeep] + s[deploy.ActionOrphan]; n > 0 {
		line += fmt.Sprintf(", %d left in place", n)
	}
	return line
}

// WritePlan prints every change with its diff, then the counts.
func WritePlan(w io.Writer, plan *deploy.Plan) {
	fmt.Fprintf(w, "Plan for %s:\n", planHeading(plan))
	for _, c := range plan.Changes {
		if c.Action == deploy.ActionUnchanged {
			continue
		}
		fmt.Fprintf(w, "\n%s %s\n", planMarks[c.Action], changeTitle(c))
		for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
			if line != "" {
				fmt.Fprintln(w, "    "+line)
			}
		}
	}
	fmt.Fprintf(w, "\nPlan: %s.\n", planCounts(plan))
}

// markdownFoldLines is the length of a diff beyond which the Markdown plan folds it.
const markdownFoldLines = 20

// WritePlanMarkdown writes the plan for a merge request: the counts, then a section per
// change with its diff in a fenced block (folded in <details> when long). The diffs are the
// ones the text plan shows, sensitive values hidden the same way.
func WritePlanMarkdown(w io.Writer, plan *deploy.Plan) {
	fmt.Fprintf(w, "### Plan for %s\n\n**%s.**\n", strings.ReplaceAll(planHeading(plan), `"`, "`"), planCounts(plan))
	for _, c := range plan.Changes {
		if c.Action == deploy.ActionUnchanged {
			continue
		}
		fmt.Fprintf(w, "\n#### `%s` %s\n", planMarks[c.Action], markdownText(changeTitle(c)))
		diff := strings.TrimRight(c.Diff, "\n")
		if diff == "" {
			continue
		}
		fence := "```"
		for strings.Contains(diff, fence) {
			fence += "`"
		}
		block := fmt.Sprintf("%sdiff\n%s\n%s\n", fence, diff, fence)
		if n := strings.Count(diff, "\n") + 1; n > markdownFoldLines {
			fmt.Fprintf(w, "\n<details><summary>%d lines of diff</summary>\n\n%s\n</details>\n", n, block)
			continue
		}
		fmt.Fprintf(w, "\n%s", block)
	}
}

// markdownText keeps text from being read as Markdown markup.
func markdownText(s string) string {
	return strings.NewReplacer("*", "\\*", "_", "\\_", "<", "&lt;", ">", "&gt;", "|", "\\|").Replace(s)
}

// hookNote says when a hook runs, its weight and delete policy.
func hookNote(h *deploy.HookPlan) string {
	when := "runs in this " + h.Operation
	if !h.Runs {
		when = "does not run in an " + h.Operation
		for _, e := range h.Events {
			if e == "test" {
				when += "; test hooks run only with helm test"
				break
			}
		}
	}
	content := ""
	switch h.Content {
	case deploy.HookContentNew:
		content = "; new hook"
	case deploy.HookContentChanged:
		content = "; changed since the last revision"
	case deploy.HookContentUnchanged:
		content = "; unchanged"
	}
	return fmt.Sprintf(" (hook %s, weight %d, delete policy %s: %s%s)", strings.Join(h.Events, ","), h.Weight, strings.Join(h.DeletePolicies, ","), when, content)
}

// SavePlan writes the plan for --use-plan, without its diffs.
func SavePlan(path string, plan *deploy.Plan) error {
	saved := *plan
	saved.Changes = make([]deploy.Change, len(plan.Changes))
	for i, c := range plan.Changes {
		c.Diff = ""
		saved.Changes[i] = c
	}
	data, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(redact.Bytes(data), '\n'), 0o600); err != nil {
		return fmt.Errorf("--save-plan: %w", err)
	}
	return nil
}

// LoadPlan reads a plan written by --save-plan.
func LoadPlan(path string) (*deploy.Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Usage("--use-plan: %v", err)
	}
	var plan deploy.Plan
	if err := json.Unmarshal(data, &plan); err != nil || plan.Release == "" || plan.Digest == "" {
		return nil, exitcode.Usage("--use-plan %s: not a plan written by --save-plan", path)
	}
	return &plan, nil
}
