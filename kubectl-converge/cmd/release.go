package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/deploy"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/kuberetry"
	"github.com/kubectl-converge/converge/shared/releaselock"
)

// releaseTarget resolves which release a command acts on: the RELEASE argument, else the
// name converge would give the release of the located chart with --env. The project (werf.yaml
// and the chart) is read as converge reads it: from the commit under giterminism, so that
// dismiss, history and rollback name the release converge deployed.
type releaseTarget struct {
	Env string
	cliutil.ProjectFlags
	cliutil.GitFlags
}

// addFlags registers --env, the project flags and the git flags.
func (r *releaseTarget) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.Env, "env", "", "environment, to derive the release name from the chart as converge does")
	r.ProjectFlags.AddFlags(cmd.Flags())
	addGitFlags(&r.GitFlags, cmd)
}

// resolve returns the release name, the namespace and a release client for them: in a werf
// project, the names werf gives them.
func (r *releaseTarget) resolve(kube *genericclioptions.ConfigFlags, args []string) (string, string, *helmsdk.Client, error) {
	p, err := openProject(&r.ProjectFlags, &r.GitFlags, r.Env)
	if err != nil {
		return "", "", nil, err
	}
	ns, err := p.namespace(kube, r.Env)
	if err != nil {
		return "", "", nil, err
	}
	name, err := r.name(p, args, ns)
	if err != nil {
		return "", "", nil, err
	}
	client, err := releaseClient(kube, ns, nil)
	return name, ns, client, err
}

// completeReleases offers the release names of the namespace for the RELEASE argument.
func completeReleases(kube *genericclioptions.ConfigFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns, err := namespaceOf(kube)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		client, err := releaseClient(kube, ns, nil)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		names, err := client.List()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

func (r *releaseTarget) name(p *project, args []string, ns string) (string, error) {
	if len(args) > 0 && args[0] != "" {
		if err := inputs.ValidateReleaseName(args[0]); err != nil {
			return "", exitcode.Usage("release %q: %v", args[0], err)
		}
		return args[0], nil
	}
	in := inputs.Inputs{Project: p.config, Git: p.repo, Env: r.Env, Namespace: ns}
	if p.config == nil {
		chartPath, err := p.chartPath(nil)
		if err != nil {
			return "", exitcode.Usage("no RELEASE given and %v", err)
		}
		in.ChartPath = chartPath
	}
	name, err := inputs.ReleaseNameOf(in)
	if err != nil {
		return "", exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return name, nil
}

// DismissOptions are the flags and arguments of "kubectl converge dismiss [RELEASE]".
type DismissOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	releaseTarget
	cliutil.TrackFlags
	// Release is werf's --release, the RELEASE argument as a flag.
	Release string
	// WithHooks deletes the release's hooks after its objects (werf's --with-hooks, on by
	// default); false leaves them as Helm does.
	WithHooks bool
	// UseDeployReport takes the release and namespace from the deploy report at
	// DeployReportPath (werf's --use-deploy-report, --deploy-report-path; "" is werf's default).
	UseDeployReport  bool
	DeployReportPath string
	// WithNamespace deletes the release namespace after the release, and waits until it is gone.
	WithNamespace bool
	// ForceNamespace deletes with --with-namespace a namespace the release did not create, or
	// one that holds another release.
	ForceNamespace bool
	Timeout        time.Duration
	// LockTimeout bounds the wait for another operation on the release; zero: Timeout.
	LockTimeout time.Duration
}

func newDismissCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &DismissOptions{kube: kube, IOStreams: streams, Timeout: deploy.DefaultTimeout, WithHooks: true}
	cmd := subcommand("dismiss [RELEASE]", "Uninstall a release, run its delete hooks, delete its hooks and wait until its objects are gone", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) error { return o.Run(cmd, args) })
	cmd.ValidArgsFunction = completeReleases(kube)
	o.releaseTarget.addFlags(cmd)
	cmd.Flags().StringVar(&o.Release, "release", "", "release name, as the RELEASE argument (werf's flag)")
	cmd.Flags().BoolVar(&o.WithHooks, "with-hooks", o.WithHooks, "delete the hooks of the release's revisions after its objects, as werf does (those annotated resource-policy: keep or werf.io/ownership: anyone stay); false leaves them, as helm uninstall does")
	cmd.Flags().BoolVar(&o.UseDeployReport, "use-deploy-report", false, "take the release and namespace from the deploy report of a converge (--save-report) or of werf (--save-deploy-report)")
	cmd.Flags().StringVar(&o.DeployReportPath, "deploy-report-path", "", "the deploy report --use-deploy-report reads (default "+cliutil.DefaultDeployReportPath+"; .json is added to a path without an extension)")
	cmd.Flags().BoolVar(&o.WithNamespace, "with-namespace", false, "delete the release namespace too, and wait until it is gone: only after uninstalling a release, and only a namespace converge created for it")
	cmd.Flags().BoolVar(&o.ForceNamespace, "force-namespace", false, "with --with-namespace, delete the namespace even when converge did not create it for this release or it holds another release")
	o.TrackFlags.AddFlags(cmd.Flags())
	cliutil.TimeoutVar(cmd.Flags(), &o.Timeout, "time to wait for the objects to be deleted")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 0, "time to wait for another operation on the release to finish (0: as long as --timeout allows)")
	cliutil.MarkWerfCommand(cmd, cliutil.WerfDismiss)
	return cmd
}

// Run uninstalls the release.
func (o *DismissOptions) Run(cmd *cobra.Command, args []string) error {
	if _, err := o.TrackFlags.Options(); err != nil {
		return err
	}
	name, ns, client, err := o.target(args)
	if err != nil {
		return err
	}
	clients, err := cliutil.TrackClients(o.kube)
	if err != nil {
		return err
	}
	rel, err := deploy.Dismiss(cmd.Context(), client, clients, deploy.DismissRequest{ReleaseName: name, Namespace: ns, Timeout: o.Timeout, Lock: releaselock.Options{Wait: o.LockTimeout}, KeepHooks: !o.WithHooks, WithNamespace: o.WithNamespace, ForceNamespace: o.ForceNamespace}, o.TrackFlags.Sink(o.ErrOut, ""))
	if !errors.Is(err, helmsdk.ErrReleaseNotFound) {
		summary := cliutil.CISummary(name, ns, nil, err)
		if err == nil {
			summary.Result, summary.Revision = "uninstalled", rel.Revision
		}
		if serr := o.TrackFlags.WriteCISummary(summary); serr != nil {
			fmt.Fprintf(o.ErrOut, "dismiss: %v\n", serr)
		}
	}
	switch {
	case errors.Is(err, helmsdk.ErrReleaseNotFound):
		left := ""
		if o.WithNamespace {
			left = "; namespace left in place"
		}
		fmt.Fprintf(o.ErrOut, "dismiss: release %q not found in namespace %q, nothing to uninstall%s\n", name, ns, left)
		return nil
	case err != nil && exitcode.Of(err) != exitcode.CodeError:
		return fmt.Errorf("dismiss release %q in namespace %q: %w", name, ns, err)
	case err != nil:
		return exitcode.DeployFailure(fmt.Errorf("dismiss release %q in namespace %q: %w", name, ns, err))
	default:
		fmt.Fprintf(o.ErrOut, "dismiss: release %q (revision %d) uninstalled from namespace %q\n", name, rel.Revision, ns)
	}
	return nil
}

// target resolves the release to dismiss: from the deploy report with --use-deploy-report,
// else RELEASE or --release, else as the other commands do.
func (o *DismissOptions) target(args []string) (string, string, *helmsdk.Client, error) {
	nsGiven := o.kube.Namespace != nil && *o.kube.Namespace != ""
	if o.UseDeployReport {
		if len(args) > 0 || o.Release != "" || nsGiven {
			return "", "", nil, exitcode.Usage("--use-deploy-report takes the release and namespace from the report: drop RELEASE, --release and --namespace, or --use-deploy-report")
		}
		path, err := cliutil.DeployReportPath(o.DeployReportPath)
		if err != nil {
			return "", "", nil, exitcode.Usage("--deploy-report-path=%q: %v", o.DeployReportPath, err)
		}
		name, ns, err := cliutil.ReadDeployReport(path)
		if err != nil {
			return "", "", nil, err
		}
		client, err := releaseClient(o.kube, ns, nil)
		return name, ns, client, err
	}
	if o.Release != "" {
		if len(args) > 0 && args[0] != o.Release {
			return "", "", nil, exitcode.Usage("RELEASE %q and --release %q differ: give one of them", args[0], o.Release)
		}
		args = []string{o.Release}
	}
	return o.resolve(o.kube, args)
}

// HistoryOptions are the flags and arguments of "kubectl converge history [RELEASE]".
type HistoryOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	releaseTarget
	Output string
}

func newHistoryCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &HistoryOptions{kube: kube, IOStreams: streams, Output: "table"}
	cmd := subcommand("history [RELEASE]", "List the revisions of a release", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) error { return o.Run(args) })
	cmd.ValidArgsFunction = completeReleases(kube)
	o.releaseTarget.addFlags(cmd)
	cmd.Flags().StringVarP(&o.Output, "output", "o", o.Output, "output format: table or json")
	return cmd
}

// Run prints the history.
func (o *HistoryOptions) Run(args []string) error {
	if o.Output != "table" && o.Output != "json" {
		return exitcode.Usage("--output %q: use table or json", o.Output)
	}
	name, _, client, err := o.resolve(o.kube, args)
	if err != nil {
		return err
	}
	revs, err := client.History(name)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(revs)
	}
	return printHistory(o.Out, revs)
}

func printHistory(w io.Writer, revs []*helmsdk.Release) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tUPDATED\tSTATUS\tCHART\tAPP VERSION\tDESCRIPTION")
	for _, r := range revs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s-%s\t%s\t%s\n", r.Revision, r.Updated.UTC().Format(time.RFC3339), r.Status, r.ChartName, r.ChartVersion, r.AppVersion, r.Description)
	}
	return tw.Flush()
}

// RollbackOptions are the flags and arguments of "kubectl converge rollback [RELEASE] [REVISION]".
type RollbackOptions struct {
	// retry is the clients' retry policy: requests retry until --timeout, outages are
	// progress lines.
	retry *kuberetry.Policy
	kube  *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	releaseTarget
	cliutil.TrackFlags
	Timeout    time.Duration
	HistoryMax int
	// KeepManualChanges is --no-remove-manual-changes.
	KeepManualChanges bool
	// LockTimeout bounds the wait for another operation on the release; zero: Timeout.
	LockTimeout time.Duration
}

func newRollbackCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, retry *kuberetry.Policy) *cobra.Command {
	o := &RollbackOptions{kube: kube, retry: retry, IOStreams: streams, Timeout: deploy.DefaultTimeout, HistoryMax: 10}
	cmd := subcommand("rollback [RELEASE] [REVISION]", "Deploy an earlier revision again (default: the previous successfully deployed one)", cobra.MaximumNArgs(2),
		func(cmd *cobra.Command, args []string) error { return o.Run(cmd, args) })
	cmd.ValidArgsFunction = completeReleases(kube)
	o.releaseTarget.addFlags(cmd)
	cliutil.TimeoutVar(cmd.Flags(), &o.Timeout, "time to wait for the release to become ready")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", 0, "time to wait for another operation on the release to finish (0: as long as --timeout allows)")
	cmd.Flags().IntVar(&o.HistoryMax, "history-max", o.HistoryMax, "revisions kept in the release history (0: no limit)")
	cliutil.KeepManualChangesVar(cmd.Flags(), &o.KeepManualChanges)
	o.TrackFlags.AddFlags(cmd.Flags())
	return cmd
}

// Run rolls the release back.
func (o *RollbackOptions) Run(cmd *cobra.Command, args []string) error {
	revision := 0
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return exitcode.Usage("REVISION %q: want a revision number of 1 or more", args[1])
		}
		revision = n
	}
	name, ns, client, err := o.resolve(o.kube, args)
	if err != nil {
		return err
	}
	trackOpts, err := o.TrackFlags.Options()
	if err != nil {
		return err
	}
	clients, err := cliutil.TrackClients(o.kube)
	if err != nil {
		return err
	}
	sink := o.TrackFlags.Sink(o.ErrOut, "")
	defer cliutil.ConnectOutages(o.retry, sink)()
	res, err := deploy.Rollback(cmd.Context(), client, clients, deploy.RollbackRequest{ReleaseName: name, Namespace: ns, Revision: revision},
		deploy.ConvergeOptions{Timeout: o.Timeout, HistoryMax: o.HistoryMax, KeepManualChanges: o.KeepManualChanges, Lock: releaselock.Options{Wait: o.LockTimeout}, Track: trackOpts, Sink: sink, API: o.retry})
	if errors.Is(err, helmsdk.ErrReleaseNotFound) {
		return err
	}
	if err != nil {
		err = fmt.Errorf("rollback release %q in namespace %q: %w", name, ns, err)
	}
	if serr := o.TrackFlags.WriteCISummary(cliutil.CISummary(name, ns, res, err)); serr != nil {
		fmt.Fprintf(o.ErrOut, "rollback: %v\n", serr)
	}
	if err != nil {
		return err
	}
	rel := res.Release
	fmt.Fprintf(o.ErrOut, "rollback: release %q is at revision %d (%s): %s\n", rel.Name, rel.Revision, rel.Status, rel.Description)
	return nil
}
