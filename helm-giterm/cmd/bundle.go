package cmd

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-converge/converge/shared/bundle"
	"github.com/kubectl-converge/converge/shared/chart"
	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/helmsdk"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
)

// registryFlags reach registries as helm does: Helm's registry config and docker's
// credentials (credential helpers included), --plain-http, a custom CA.
type registryFlags struct {
	plainHTTP *bool
	// insecureRegistry is werf's --insecure-registry: plain HTTP for the bundle registry
	// alone, where --plain-http also allows it for the chart's dependencies.
	insecureRegistry bool
	caFile           string
	insecure         bool
}

func (f *registryFlags) addFlags(fs *pflag.FlagSet, plainHTTP *bool) {
	f.plainHTTP = plainHTTP
	if fs.Lookup("plain-http") == nil {
		fs.BoolVar(plainHTTP, "plain-http", false, "use HTTP, not HTTPS, for the registry and a chart directory's oci:// dependencies, and allow its http:// chart repositories")
	}
	fs.BoolVar(&f.insecureRegistry, "insecure-registry", false, "use HTTP, not HTTPS, for the bundle registry only (werf's flag); --plain-http also covers the chart's oci:// dependencies and http:// repositories")
	fs.StringVar(&f.caFile, "ca-file", "", "verify the registry's certificate with this CA bundle")
	fs.BoolVar(&f.insecure, "insecure-skip-tls-verify", false, "do not verify the registry's certificate")
}

func (f *registryFlags) registry() (*charts.Registry, error) {
	return charts.NewRegistry(f.options())
}

func (f *registryFlags) options() charts.RegistryOptions {
	return charts.RegistryOptions{
		PlainHTTP: *f.plainHTTP || f.insecureRegistry, CAFile: f.caFile, InsecureSkipTLSVerify: f.insecure, ConfigFile: helmsdk.FromHelmEnv().RegistryConfig,
	}
}

func newBundlePublishCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &chartOptions{IOStreams: streams}
	var reg registryFlags
	var tag string
	cmd := &cobra.Command{
		Use:   "bundle-publish oci://REGISTRY/REPO --tag TAG [CHART]",
		Short: "Publish the chart as committed, with its values and images baked in, as an OCI bundle",
		Long: `Read the chart from the commit (giterminism), merge the chart's values, -f, --set* and werf's
service values (--env, --repo, the --image refs) into the bundle's values.yaml, as werf does,
recording the service values in service_values.json (bundle-apply checks values.schema.json
without them), encrypt the merged secret values again into
secret-values.yaml, store --add-annotation and --add-label in extra_annotations.json and
extra_labels.json, and push it to REGISTRY/REPO:TAG as a standard Helm OCI chart (helm pull and
helm install work on it). The chart version is TAG when it is a semantic version, else
0.0.0-<timestamp>-<TAG>. Prints the pushed reference with its digest.`,
		Args:          cobra.RangeArgs(1, 2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !bundle.IsRegistry(args[0]) {
				return exitcode.Usage("bundle-publish %q: want oci://REGISTRY/REPO", args[0])
			}
			repo, refTag, digest := bundle.Repository(args[0])
			if digest != "" || (refTag != "" && tag != "") {
				return exitcode.Usage("bundle-publish %q: give the tag once, with --tag", args[0])
			}
			if tag == "" {
				tag = refTag
			}
			if tag == "" {
				tag = bundle.DefaultTag
			}
			in, err := o.inputs("", firstArg(args[1:]))
			if err != nil {
				return err
			}
			ch, err := inputs.PrepareBundle(in, tag, time.Now())
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, err)
			}
			archive, err := ch.Archive()
			if err != nil {
				return err
			}
			r, err := reg.registry()
			if err != nil {
				return err
			}
			pushed, err := r.Push(archive, repo+":"+strings.ReplaceAll(tag, "+", "_"))
			if err != nil {
				return err
			}
			fmt.Fprintf(o.ErrOut, "giterm: published bundle %s %s as oci://%s:%s\n", ch.Name(), ch.Version(), repo, tag)
			fmt.Fprintf(o.Out, "oci://%s@%s\n", repo, pushed.Digest)
			return nil
		},
	}
	o.DeployFlags.AddFlags(cmd.Flags())
	o.GitFlags.AddFlags(cmd.Flags())
	reg.addFlags(cmd.Flags(), &o.DeployFlags.PlainHTTP)
	cmd.Flags().StringVar(&tag, "tag", "", "tag of the bundle: a semantic version (1.4.2) or any tag (main, a commit); default latest, as werf")
	cliutil.MarkWerfCommand(cmd, cliutil.WerfBundlePublish)
	return cmd
}

// bundleOptions load a published bundle and prepare it as a release.
type bundleOptions struct {
	genericiooptions.IOStreams
	cliutil.DeployFlags
	reg registryFlags
	tag string
	// digest is the chart digest an archive must have (--digest); "" checks none.
	digest string
	env    helmsdk.HelmEnv
}

func (o *bundleOptions) addFlags(fs *pflag.FlagSet) {
	o.DeployFlags.AddFlags(fs)
	o.reg.addFlags(fs, &o.DeployFlags.PlainHTTP)
	fs.StringVar(&o.tag, "tag", "", "tag to use, or a semver range (1.4.x, ^1.4) to use the highest matching tag; default latest, as werf (when the reference names none)")
	fs.StringVar(&o.digest, "digest", "", "the chart digest (sha256:...) an archive:FILE.tar.gz bundle must have, as bundle-copy printed it")
}

// prepare loads the bundle src as release; values, --set, --secret-values, --image and
// --add-annotation given now win over the baked ones.
func (o *bundleOptions) prepare(src, release string) (*inputs.Prepared, error) {
	o.env = helmsdk.FromHelmEnv()
	r, err := o.reg.registry()
	if err != nil {
		return nil, err
	}
	loaded, err := bundle.Load(bundle.Source{Ref: src, Tag: o.tag, PlainHTTP: *o.reg.plainHTTP}, r)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(src, bundle.ArchivePrefix) {
		// An archive's own record of its digest shows it is whole, not that it is the one
		// that was published: only a digest given from elsewhere pins it.
		got := bundle.Digest(loaded.Archive)
		switch {
		case o.digest != "" && o.digest != got:
			return nil, fmt.Errorf("bundle %s has chart digest %s, not the expected %s (--digest): it is another bundle, or was changed", src, got, o.digest)
		case o.digest == "":
			fmt.Fprintf(o.ErrOut, "giterm: %s is not pinned: pass --digest %s to refuse any other archive\n", src, got)
		}
	} else if o.digest != "" {
		return nil, exitcode.Usage("--digest pins archive:FILE.tar.gz bundles; pin a registry bundle with oci://REGISTRY/REPO@sha256:...")
	}
	if loaded.Selected {
		fmt.Fprintf(o.ErrOut, "giterm: --tag %s selects tag %s\n", o.tag, loaded.Tag)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	o.DeployFlags.ReleaseName = release
	in, err := o.DeployFlags.Inputs(src, chart.ProjectDir(cwd), o.env.Namespace, "")
	if err != nil {
		return nil, err
	}
	in.Chart, in.Bundle, in.Origin, in.Progress = loaded.Chart, true, loaded.Origin, o.ErrOut
	prepared, err := inputs.Prepare(in)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return prepared, nil
}

func (o *bundleOptions) client(p *inputs.Prepared) (*helmsdk.Client, error) {
	return helmsdk.NewClient(p.HelmConfig(o.env.Getter, o.env.Driver))
}

func newBundleApplyCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &bundleOptions{IOStreams: streams}
	var track cliutil.TrackFlags
	flags := cliutil.NewConvergeFlags()
	cmd := &cobra.Command{
		Use:   "bundle-apply BUNDLE RELEASE [--tag TAG]",
		Short: "Deploy a published bundle as a release, tracked, without the git repository",
		Long: `Deploy a bundle with the same engine as kubectl converge (ordering, tracking, lock, rollback).
BUNDLE is oci://REGISTRY/REPO with --tag (a tag, or a semver range such as 1.4.x: the highest
matching tag is used and named), oci://REGISTRY/REPO:TAG, oci://REGISTRY/REPO@sha256:... for an
exact digest, or archive:FILE.tar.gz from bundle-copy. The revision records the bundle's digest.`,
		Args:          cobra.ExactArgs(2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := track.Options(); err != nil {
				return err
			}
			if err := flags.Validate(); err != nil {
				return err
			}
			prepared, err := o.prepare(args[0], args[1])
			if err != nil {
				return err
			}
			client, err := o.client(prepared)
			if err != nil {
				return err
			}
			clients, err := cliutil.TrackClients(o.env.Getter)
			if err != nil {
				return err
			}
			return flags.Converge(cmd.Context(), cliutil.ConvergeRun{
				IOStreams: o.IOStreams, Client: client, Clients: clients, Prepared: prepared, Track: track, Program: "giterm", Origin: prepared.Origin, Retry: o.env.Retry,
			})
		},
	}
	o.addFlags(cmd.Flags())
	track.AddFlags(cmd.Flags())
	flags.AddFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfBundleApply)
	return cmd
}

func newBundleRenderCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &bundleOptions{IOStreams: streams}
	cmd := &cobra.Command{
		Use:           "bundle-render BUNDLE [RELEASE] [--tag TAG]",
		Short:         "Render a bundle (from a registry, an archive or a directory) as bundle-apply would deploy it",
		Args:          cobra.RangeArgs(1, 2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			prepared, err := o.prepare(args[0], firstArg(args[1:]))
			if err != nil {
				return err
			}
			out, err := helmsdk.Render(cmd.Context(), helmsdk.RenderRequest{
				ReleaseName: prepared.ReleaseName, Namespace: prepared.Namespace, Chart: prepared.Chart, Values: prepared.Values, Transform: prepared.Transform,
			})
			if err != nil {
				return exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("render bundle %s: %w", args[0], err))
			}
			_, err = fmt.Fprint(redact.Unwrap(o.Out), out)
			return err
		},
	}
	o.addFlags(cmd.Flags())
	cliutil.MarkWerfCommand(cmd, cliutil.WerfBundleRender)
	return cmd
}

func newBundlePlanCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &bundleOptions{IOStreams: streams}
	var flags cliutil.PlanFlags
	cmd := &cobra.Command{
		Use:           "bundle-plan BUNDLE RELEASE [--tag TAG]",
		Short:         "Show what bundle-apply would change in the cluster",
		Args:          cobra.ExactArgs(2),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := flags.Validate(); err != nil {
				return err
			}
			prepared, err := o.prepare(args[0], args[1])
			if err != nil {
				return err
			}
			client, err := o.client(prepared)
			if err != nil {
				return err
			}
			return flags.Plan(cmd.Context(), o.IOStreams, client, prepared)
		},
	}
	o.addFlags(cmd.Flags())
	flags.AddFlags(cmd.Flags())
	return cmd
}

func newBundleCopyCommand(streams genericiooptions.IOStreams) *cobra.Command {
	var reg registryFlags
	var plainHTTP bool
	var from, to, tag, relocate string
	cmd := &cobra.Command{
		Use:   "bundle-copy --from SOURCE --to DESTINATION",
		Short: "Copy a bundle between registries and archive files",
		Long: `Copy a bundle as it is (same chart archive, same digest) from a registry (oci://REGISTRY/REPO:TAG,
@sha256:..., or --tag) or an archive (archive:FILE.tar.gz) to another registry or archive. An
archive carries the chart and its digest; reading it verifies the digest, so an archive changed
on the way is refused. --rewrite-images-to REPO points the baked image refs (.Values.werf.image.*,
.Values.global.werf.images.*) at REPO/<name> with the same tags and digests (the images themselves
are copied by your image tooling); the copy is then a new chart with a new digest.`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if from == "" || to == "" {
				return exitcode.Usage("bundle-copy needs --from and --to")
			}
			r, err := reg.registry()
			if err != nil {
				return err
			}
			loaded, err := bundle.Load(bundle.Source{Ref: from, Tag: tag, PlainHTTP: *reg.plainHTTP}, r)
			if err != nil {
				return err
			}
			if relocate != "" {
				changes, err := relocateImages(loaded, relocate)
				if err != nil {
					return exitcode.Wrap(exitcode.CodeUsage, err)
				}
				for _, c := range changes {
					fmt.Fprintf(streams.ErrOut, "giterm: image %s\n", c)
				}
			}
			switch {
			case strings.HasPrefix(to, bundle.ArchivePrefix):
				path := strings.TrimPrefix(to, bundle.ArchivePrefix)
				if err := bundle.WriteArchive(path, bundle.Archive{Source: strings.TrimPrefix(loaded.Origin, "bundle "), Tag: loaded.Tag, Chart: loaded.Archive}); err != nil {
					return err
				}
				fmt.Fprintf(streams.ErrOut, "giterm: copied %s to %s (chart digest %s: pass it to bundle-apply --digest)\n", loaded.Origin, to, bundle.Digest(loaded.Archive))
				fmt.Fprintln(streams.Out, bundle.Digest(loaded.Archive))
			case bundle.IsRegistry(to):
				repo, destTag, digest := bundle.Repository(to)
				if digest != "" {
					return exitcode.Usage("--to %s: a destination takes a tag, not a digest", to)
				}
				if destTag == "" {
					destTag = loaded.Tag
				}
				if destTag == "" {
					return exitcode.Usage("--to %s: name the tag, as oci://REGISTRY/REPO:TAG", to)
				}
				pushed, err := r.Push(loaded.Archive, repo+":"+strings.ReplaceAll(destTag, "+", "_"))
				if err != nil {
					return err
				}
				fmt.Fprintf(streams.ErrOut, "giterm: copied %s to oci://%s:%s\n", loaded.Origin, repo, destTag)
				fmt.Fprintf(streams.Out, "oci://%s@%s\n", repo, pushed.Digest)
			default:
				return exitcode.Usage("--to %q: want oci://REGISTRY/REPO[:TAG] or archive:FILE.tar.gz", to)
			}
			return nil
		},
	}
	reg.addFlags(cmd.Flags(), &plainHTTP)
	cmd.Flags().StringVar(&from, "from", "", "source: oci://REGISTRY/REPO[:TAG|@DIGEST] or archive:FILE.tar.gz")
	cmd.Flags().StringVar(&to, "to", "", "destination: oci://REGISTRY/REPO[:TAG] or archive:FILE.tar.gz")
	cmd.Flags().StringVar(&tag, "tag", "", "tag of the source, or a semver range")
	cmd.Flags().StringVar(&relocate, "rewrite-images-to", "", "point the baked image refs at this repository (REGISTRY/PATH), keeping tags and digests")
	cliutil.MarkWerfCommand(cmd, cliutil.WerfBundleCopy)
	return cmd
}

// relocateImages rewrites the baked image refs of the loaded bundle to target, in its chart
// and its archive.
func relocateImages(loaded *bundle.Loaded, target string) ([]string, error) {
	values, changes, err := inject.Relocate(loaded.Chart.Values(), target)
	if err != nil {
		return nil, err
	}
	if err := loaded.Chart.SetValues(values); err != nil {
		return nil, err
	}
	if loaded.Archive, err = loaded.Chart.Archive(); err != nil {
		return nil, err
	}
	return changes, nil
}
