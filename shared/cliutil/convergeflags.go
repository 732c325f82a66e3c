package cliutil

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/annotate"
	"github.com/kubectl-converge/converge/shared/deploy"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/kuberetry"
	"github.com/kubectl-converge/converge/shared/printer"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/releaselock"
	"github.com/kubectl-converge/converge/shared/track"
)

// ConvergeFlags are the flags of a deploy: kubectl converge and helm giterm upgrade.
type ConvergeFlags struct {
	Timeout           time.Duration
	HistoryMax        int
	NoCreateNamespace bool
	AutoRollback      bool
	// AutoRollbackTimeout bounds the auto-rollback that follows a failure or a timeout.
	AutoRollbackTimeout time.Duration
	ForceAdoption       bool
	LockTimeout         time.Duration
	SaveReport          string
	UsePlan             string
	// Output is "text" (progress on stderr, NOTES on stdout) or "json" (JSON lines of the
	// events and a final result on stdout).
	Output string
	// NoInstallCRDs leaves the chart's crds/ alone.
	NoInstallCRDs bool
	// ReleaseLabels are key=value labels of the release's storage object.
	ReleaseLabels []string
	// KeepManualChanges is --no-remove-manual-changes.
	KeepManualChanges bool
}

// KeepManualChangesVar registers --no-remove-manual-changes (werf's and nelm's flag) on fs.
func KeepManualChangesVar(fs *pflag.FlagSet, keep *bool) {
	fs.BoolVar(keep, "no-remove-manual-changes", false, "keep fields people set with kubectl (kubectl edit, patch, apply...) that the chart does not have; by default they are removed, as werf and nelm do")
}

// NewConvergeFlags returns the defaults.
func NewConvergeFlags() ConvergeFlags {
	return ConvergeFlags{Timeout: deploy.DefaultTimeout, AutoRollbackTimeout: deploy.DefaultAutoRollbackTimeout, HistoryMax: 10, Output: "text"}
}

// AddFlags registers the flags on fs.
func (f *ConvergeFlags) AddFlags(fs *pflag.FlagSet) {
	TimeoutVar(fs, &f.Timeout, "time the whole deploy may take, tracking included (0: no limit)")
	fs.IntVar(&f.HistoryMax, "history-max", f.HistoryMax, "revisions kept in the release history (0: no limit)")
	fs.BoolVar(&f.NoCreateNamespace, "no-create-namespace", false, "do not create the release namespace when it is missing")
	fs.BoolVar(&f.AutoRollback, "auto-rollback", false, "on failure, return to the last deployed revision and track it (a failed first install is uninstalled)")
	fs.BoolVar(&f.AutoRollback, "atomic", false, "alias of --auto-rollback")
	fs.DurationVar(&f.AutoRollbackTimeout, "auto-rollback-timeout", f.AutoRollbackTimeout, "time the auto-rollback after a failure or a timeout may take, on top of --timeout")
	fs.BoolVar(&f.ForceAdoption, "force-adoption", false, "take over existing objects that do not belong to the release")
	fs.DurationVar(&f.LockTimeout, "lock-timeout", 0, "time to wait for another deploy of the release to finish (0: as long as --timeout allows)")
	fs.StringVar(&f.SaveReport, "save-report", "", "write a JSON report of the deploy to this file: release, namespace, revision, status and every object's result")
	fs.StringVar(&f.UsePlan, "use-plan", "", "apply exactly what this plan (from plan --save-plan) reviewed; refused when the release, its live objects or the rendered chart moved since")
	fs.BoolVar(&f.NoInstallCRDs, "no-install-crds", false, "do not create or update the CRDs of the chart's crds/ directories (werf's flag)")
	fs.StringArrayVar(&f.ReleaseLabels, "release-label", nil, "label of the release's storage object: key=value (can be repeated; also WERF_RELEASE_LABEL_*)")
	fs.StringVarP(&f.Output, "output", "o", f.Output, "output format: text (progress on stderr, NOTES on stdout), or json (JSON lines of the events and a final result on stdout)")
	KeepManualChangesVar(fs, &f.KeepManualChanges)
}

// Validate checks the flag values.
func (f *ConvergeFlags) Validate() error {
	switch {
	case f.Timeout < 0:
		return exitcode.Usage("--timeout must be 0 (no limit) or positive, got %s", f.Timeout)
	case f.AutoRollbackTimeout <= 0:
		return exitcode.Usage("--auto-rollback-timeout must be positive, got %s", f.AutoRollbackTimeout)
	case f.HistoryMax < 0:
		return exitcode.Usage("--history-max must be 0 (no limit) or more, got %d", f.HistoryMax)
	case f.LockTimeout < 0:
		return exitcode.Usage("--lock-timeout must be 0 or positive, got %s", f.LockTimeout)
	case f.Output != "text" && f.Output != "json":
		return exitcode.Usage("--output %q: use text or json", f.Output)
	}
	return nil
}

// ConvergeRun is one deploy as a command runs it.
type ConvergeRun struct {
	genericiooptions.IOStreams
	Client   *helmsdk.Client
	Clients  track.Clients
	Prepared *inputs.Prepared
	Track    TrackFlags
	// Program prefixes the progress lines ("converge", "giterm").
	Program string
	// Origin says where the chart came from, for the first progress line; "" says nothing.
	Origin string
	// Retry is the clients' retry policy: requests retry until the deploy's deadline, and
	// outages become progress lines; nil: neither.
	Retry *kuberetry.Policy
}

// Converge deploys r.Prepared with the flags: progress and the result as the output format
// asks, the report when --save-report names a file.
func (f *ConvergeFlags) Converge(ctx context.Context, r ConvergeRun) error {
	trackOpts, err := r.Track.Options()
	if err != nil {
		return err
	}
	p := r.Prepared
	releaseLabels, err := annotate.ParsePairs(annotate.KindLabel, "--release-label", f.ReleaseLabels)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	var plan *deploy.Plan
	if f.UsePlan != "" {
		if plan, err = LoadPlan(f.UsePlan); err != nil {
			return err
		}
	}
	sink := r.Track.SinkCI(r.ErrOut, r.Out, "")
	if f.Output == "json" {
		sink = r.Track.Sink(r.Out, "json")
	}
	limit := "no time limit"
	if f.Timeout > 0 {
		limit = "waiting up to " + f.Timeout.String()
	}
	origin := ""
	if r.Origin != "" {
		origin = " at " + r.Origin
	}
	fmt.Fprintf(r.ErrOut, "%s: release %q in namespace %q from chart %s %s%s, %s\n", r.Program, p.ReleaseName, p.Namespace, p.Chart.Name(), p.Chart.Version(), origin, limit)
	var actions deploy.ActionLog
	sink = actions.Sink(sink)
	var api deploy.APIServer
	if r.Retry != nil {
		api = r.Retry
		defer ConnectOutages(r.Retry, sink)()
	}
	res, err := deploy.Converge(ctx, r.Client, r.Clients, p, deploy.ConvergeOptions{
		API:                 api,
		Timeout:             f.Timeout,
		HistoryMax:          f.HistoryMax,
		CreateNamespace:     !f.NoCreateNamespace,
		ForceAdoption:       f.ForceAdoption,
		KeepManualChanges:   f.KeepManualChanges,
		AutoRollback:        f.AutoRollback,
		AutoRollbackTimeout: f.AutoRollbackTimeout,
		Lock:                releaselock.Options{Wait: f.LockTimeout},
		SkipCRDs:            f.NoInstallCRDs,
		ReleaseLabels:       releaseLabels,
		Plan:                plan,
		Track:               trackOpts,
		Sink:                sink,
	})
	if f.Output == "json" && res != nil {
		if jerr := json.NewEncoder(r.Out).Encode(map[string]any{"type": "result", "result": res}); jerr != nil && err == nil {
			err = jerr
		}
	}
	if serr := r.Track.WriteCISummary(CISummary(p.ReleaseName, p.Namespace, res, err)); serr != nil {
		fmt.Fprintf(r.ErrOut, "%s: %v\n", r.Program, serr)
	}
	if f.SaveReport != "" {
		report := deploy.NewReport(p.ReleaseName, p.Namespace, res, err)
		report.Actions = actions.Actions()
		if rerr := writeReport(f.SaveReport, report); rerr != nil {
			fmt.Fprintf(r.ErrOut, "%s: %v\n", r.Program, rerr)
			if err == nil {
				err = rerr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("converge release %q in namespace %q: %w", p.ReleaseName, p.Namespace, err)
	}
	fmt.Fprintf(r.ErrOut, "%s: release %q revision %d %s in %s\n", r.Program, res.Release.Name, res.Release.Revision, res.Release.Status, res.Duration.Round(100*time.Millisecond))
	if f.Output != "json" && res.Release.Notes != "" {
		fmt.Fprintln(r.Out, res.Release.Notes)
	}
	return nil
}

// ConnectOutages shows the API server's outages as progress lines of sink, once when it stops
// answering and once when it is back, until the returned function is called.
func ConnectOutages(policy *kuberetry.Policy, sink track.Sink) (stop func()) {
	start := time.Now()
	return policy.Observe(func(e kuberetry.Event) {
		ev := track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(start), Warning: true}
		if e.Back.IsZero() {
			ev.Stage, ev.Line = StageAPIUnreachable, fmt.Sprintf("the API server is unreachable since %s (%s): retrying until it answers or the time runs out", e.Since.Format("15:04:05"), e.Cause)
		} else {
			ev.Stage, ev.Warning, ev.Line = StageAPIBack, false, fmt.Sprintf("the API server is back at %s, unreachable since %s (%s)", e.Back.Format("15:04:05"), e.Since.Format("15:04:05"), e.Back.Sub(e.Since).Round(time.Second))
		}
		sink(ev)
	})
}

// The stages of the outage lines (track.Event.Stage).
const (
	StageAPIUnreachable = "api-unreachable"
	StageAPIBack        = "api-back"
)

func writeReport(path string, report deploy.Report) error {
	data, err := json.MarshalIndent(report, "", "  ")
	if err != nil {
		return err
	}
	// A report names every object and may quote what the cluster said: owner only.
	if err := os.WriteFile(path, append(redact.Bytes(data), '\n'), 0o600); err != nil {
		return fmt.Errorf("--save-report: %w", err)
	}
	return nil
}

// CISummary is what the Markdown job summary says about a deploy or a rollback.
func CISummary(release, namespace string, res *deploy.Result, err error) printer.SummaryInfo {
	info := printer.SummaryInfo{Release: release, Namespace: namespace, Result: "deployed"}
	if res != nil {
		info.Objects = res.Tracking
		if res.Release != nil {
			info.Revision, info.Result = res.Release.Revision, string(res.Release.Status)
		}
	}
	if err != nil {
		info.Error = err.Error()
		switch exitcode.Of(err) {
		case exitcode.CodeTimeout:
			info.Result = "timed out"
		default:
			info.Result = "failed"
		}
	}
	return info
}
