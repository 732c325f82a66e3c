package cmd

import (
	"context"
	"fmt"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	"github.com/kubectl-converge/converge/shared/cliutil"
	"github.com/kubectl-converge/converge/shared/deploy"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/track"
	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// TrackOptions are the flags and arguments of "kubectl converge track KIND/NAME...".
type TrackOptions struct {
	kube *genericclioptions.ConfigFlags
	genericiooptions.IOStreams
	cliutil.TrackFlags
	// Timeout bounds the tracking; zero means no limit.
	Timeout time.Duration
}

func newTrackCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &TrackOptions{kube: kube, IOStreams: streams, Timeout: deploy.DefaultTimeout}
	cmd := subcommand("track KIND/NAME [KIND/NAME...]", "Follow existing objects until they are ready or fail, with pod logs and events", cobra.MinimumNArgs(1),
		func(cmd *cobra.Command, args []string) error { return o.Run(cmd.Context(), args) })
	cmd.Example = templates.Examples(`
		# Wait for a rollout, showing its pods' logs, and fail fast with the reason
		kubectl converge track deploy/web -n shop

		# Several objects of any kind, custom resources included
		kubectl converge track deploy/api sts/db job/migrate certificate.cert-manager.io/tls`)
	o.TrackFlags.AddFlags(cmd.Flags())
	cliutil.TimeoutVar(cmd.Flags(), &o.Timeout, "time to wait for the objects (0: no limit)")
	return cmd
}

// Run tracks the objects named in args.
func (o *TrackOptions) Run(ctx context.Context, args []string) error {
	opts, err := o.TrackFlags.Options()
	if err != nil {
		return err
	}
	ns, err := namespaceOf(o.kube)
	if err != nil {
		return err
	}
	clients, err := cliutil.TrackClients(o.kube)
	if err != nil {
		return err
	}
	var targets []track.Target
	for _, arg := range args {
		ref, err := parseObjectArg(arg, ns, clients.Mapper)
		if err != nil {
			return err
		}
		targets = append(targets, track.Target{Ref: ref, Policy: readiness.DefaultPolicy()})
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	o.registerReleaseSecrets(ctx, clients, targets)
	res, err := track.Track(ctx, clients, targets, opts, o.TrackFlags.Sink(o.ErrOut, ""))
	if err != nil {
		return err
	}
	if terr := res.Err(); terr != nil {
		if len(res.Failed()) == 0 {
			err = exitcode.Wrap(exitcode.CodeTimeout, fmt.Errorf("not ready within %s: %w", o.Timeout, terr))
		} else {
			err = exitcode.Wrap(exitcode.CodeDeployFailed, terr)
		}
	}
	summary := cliutil.CISummary("", ns, &deploy.Result{Tracking: res.Objects}, err)
	if err == nil {
		summary.Result = "ready"
	}
	if serr := o.TrackFlags.WriteCISummary(summary); serr != nil {
		fmt.Fprintf(o.ErrOut, "track: %v\n", serr)
	}
	return err
}

// parseObjectArg resolves KIND/NAME (short names, plural or kind.group as kubectl takes them)
// in namespace ns.
func parseObjectArg(arg, ns string, mapper meta.RESTMapper) (track.Ref, error) {
	kind, name, ok := strings.Cut(arg, "/")
	if !ok || kind == "" || name == "" {
		return track.Ref{}, exitcode.Usage("%q: want KIND/NAME, e.g. deploy/web", arg)
	}
	gvk, err := mapper.KindFor(schema.ParseGroupResource(kind).WithVersion(""))
	if err != nil {
		return track.Ref{}, exitcode.Usage("%q: unknown kind %q: %v", arg, kind, err)
	}
	ref := track.Ref{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Name: name}
	if m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err == nil && m.Scope.Name() == meta.RESTScopeNameNamespace {
		ref.Namespace = ns
	}
	return ref, nil
}

// registerReleaseSecrets hands the Secrets of the releases the tracked objects belong to to
// the redactor, so that pod logs and events quoting them are masked as during a converge.
// Objects or releases it cannot read are skipped: tracking does not need them.
func (o *TrackOptions) registerReleaseSecrets(ctx context.Context, clients track.Clients, targets []track.Target) {
	seen := map[[2]string]bool{}
	for _, t := range targets {
		m, err := clients.Mapper.RESTMapping(t.Ref.GroupKind(), t.Ref.Version)
		if err != nil {
			continue
		}
		live, err := clients.Dynamic.Resource(m.Resource).Namespace(t.Ref.Namespace).Get(ctx, t.Ref.Name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		ann := live.GetAnnotations()
		key := [2]string{ann[lifecycle.AnnotationReleaseName], ann[lifecycle.AnnotationReleaseNamespace]}
		if key[0] == "" || seen[key] {
			continue
		}
		seen[key] = true
		if client, err := releaseClient(o.kube, key[1], nil); err == nil {
			client.RegisterReleaseSecrets(key[0])
		}
	}
}
