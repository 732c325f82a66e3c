package cmd

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
)

var convergeExample = templates.Examples(`
	# Install or upgrade the chart in .helm/ of the current git repository
	kubectl converge

	# Install or upgrade a chart directory into a namespace, with values
	kubectl converge ./chart -n shop -f values-prod.yaml --set replicas=3`)

// ConvergeOptions are the flags and arguments of "kubectl converge [CHART]".
type ConvergeOptions struct {
	configFlags *genericclioptions.ConfigFlags
	genericiooptions.IOStreams

	// ChartArg is the chart directory or archive given on the command line; empty means locate it.
	ChartArg string
	// ReleaseName overrides the release name; empty means the chart's name.
	ReleaseName string
	Values      helmsdk.ValueSources
	// Timeout bounds the whole deploy.
	Timeout time.Duration
	// HistoryMax is the number of revisions kept; zero keeps all of them.
	HistoryMax int

	chartPath string
	namespace string
}

// NewConvergeOptions returns options with kubectl's connection flags and the documented defaults.
func NewConvergeOptions(streams genericiooptions.IOStreams) *ConvergeOptions {
	return &ConvergeOptions{
		configFlags: genericclioptions.NewConfigFlags(true),
		IOStreams:   streams,
		Timeout:     5 * time.Minute,
		HistoryMax:  10,
	}
}

func newConvergeCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewConvergeOptions(streams)
	cmd := &cobra.Command{
		Use:   "converge [CHART]",
		Short: "Install or upgrade a Helm chart as a release and track it until it is ready",
		Long: `Install or upgrade a chart as a Helm-compatible release, the way "helm upgrade --install"
does, using kubectl's own connection flags (--kubeconfig, --context, -n, ...).

CHART defaults to .helm/ at the root of the git work tree (werf's layout), else the
current directory when it holds a Chart.yaml.`,
		Example:       convergeExample,
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl converge"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&o.ReleaseName, "release", o.ReleaseName, "release name (default: the chart's name)")
	flags.StringSliceVarP(&o.Values.Files, "values", "f", nil, "values file (can be repeated)")
	flags.StringArrayVar(&o.Values.Set, "set", nil, "set a value: key=value (can be repeated)")
	flags.StringArrayVar(&o.Values.SetString, "set-string", nil, "set a string value: key=value (can be repeated)")
	flags.StringArrayVar(&o.Values.SetFile, "set-file", nil, "set a value from a file: key=path (can be repeated)")
	flags.StringArrayVar(&o.Values.SetJSON, "set-json", nil, "set a JSON value: key=json (can be repeated)")
	flags.StringArrayVar(&o.Values.SetLiteral, "set-literal", nil, "set a literal string value: key=value (can be repeated)")
	flags.DurationVar(&o.Timeout, "timeout", o.Timeout, "time to wait for the release to become ready")
	flags.IntVar(&o.HistoryMax, "history-max", o.HistoryMax, "revisions kept in the release history (0: no limit)")
	o.configFlags.AddFlags(flags)
	return cmd
}

// Complete resolves the chart location and the namespace from the kubeconfig.
func (o *ConvergeOptions) Complete(args []string) error {
	if len(args) == 1 {
		o.ChartArg = args[0]
	}
	cwd, err := os.Getwd()
	if err != nil {
		return err
	}
	if o.chartPath, err = chart.Locate(o.ChartArg, cwd); err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	o.namespace, _, err = o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("resolve namespace from kubeconfig: %w", err)
	}
	return nil
}

// Validate checks the flag values without touching the cluster.
func (o *ConvergeOptions) Validate() error {
	if o.Timeout <= 0 {
		return exitcode.Usage("--timeout must be positive, got %s", o.Timeout)
	}
	if o.HistoryMax < 0 {
		return exitcode.Usage("--history-max must be 0 (no limit) or more, got %d", o.HistoryMax)
	}
	return nil
}

// Run installs or upgrades the release.
func (o *ConvergeOptions) Run(cmd *cobra.Command) error {
	ch, err := helmsdk.LoadChart(o.chartPath)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, err)
	}
	vals, err := helmsdk.MergeValues(o.Values)
	if err != nil {
		return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("read values: %w", err))
	}
	name := o.ReleaseName
	if name == "" {
		name = ch.Name()
	}
	client, err := helmsdk.NewClient(helmsdk.Config{Getter: o.configFlags, Namespace: o.namespace, Driver: os.Getenv("HELM_DRIVER")})
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(o.ErrOut, "converge: release %q in namespace %q from chart %s %s, waiting up to %s\n", name, o.namespace, ch.Name(), ch.Version(), o.Timeout)
	rel, err := client.UpgradeOrInstall(cmd.Context(), helmsdk.UpgradeRequest{
		ReleaseName:     name,
		Chart:           ch,
		Values:          vals,
		CreateNamespace: true,
		Wait:            true,
		Timeout:         o.Timeout,
		HistoryMax:      o.HistoryMax,
	})
	if err != nil {
		return fmt.Errorf("converge release %q in namespace %q: %w", name, o.namespace, err)
	}
	fmt.Fprintf(o.ErrOut, "converge: release %q revision %d %s in %s\n", rel.Name, rel.Revision, rel.Status, time.Since(start).Round(100*time.Millisecond))
	if rel.Notes != "" {
		fmt.Fprintln(o.Out, rel.Notes)
	}
	return nil
}
