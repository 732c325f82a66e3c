package cliutil

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-converge/converge/shared/clientlog"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/printer"
	"github.com/kubectl-converge/converge/shared/track"
)

// TrackFlags are the flags of every command that tracks objects.
type TrackFlags struct {
	// Progress is how tracking is shown: auto, tty, plain or json.
	Progress         string
	Color            string
	NoPodLogs        bool
	ProgressInterval time.Duration
	Unschedulable    time.Duration
	ImagePull        time.Duration
}

// AddFlags registers the flags on fs.
func (f *TrackFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Progress, "progress", "auto", "how tracking is shown on stderr: auto (tty on a terminal, plain otherwise), tty, plain or json")
	fs.StringVar(&f.Color, "color", "auto", "colors: auto, always or never (NO_COLOR is honoured)")
	fs.BoolVar(&f.NoPodLogs, "no-pod-logs", false, "do not stream the logs of the pods being rolled out")
	fs.DurationVar(&f.ProgressInterval, "progress-interval", 30*time.Second, "how often plain output lists what is still awaited (0: never)")
	fs.DurationVar(&f.Unschedulable, "unschedulable-grace", track.DefaultLimits().Unschedulable, "how long a pod may stay unschedulable before the deploy fails")
	fs.DurationVar(&f.ImagePull, "image-pull-grace", track.DefaultLimits().ImagePull, "how long an image pull may fail for a passing reason (timeouts, rate limits) before the deploy fails")
}

// Options turns the flags into tracking options; mode "" keeps --progress.
func (f *TrackFlags) Options() (track.Options, error) {
	switch f.Progress {
	case "auto", "tty", "plain", "json":
	default:
		return track.Options{}, exitcode.Usage("--progress %q: use auto, tty, plain or json", f.Progress)
	}
	switch f.Color {
	case "auto", "always", "never":
	default:
		return track.Options{}, exitcode.Usage("--color %q: use auto, always or never", f.Color)
	}
	opts := track.DefaultOptions()
	opts.PodLogs = !f.NoPodLogs
	opts.Heartbeat = f.ProgressInterval
	opts.Limits.Unschedulable = f.Unschedulable
	opts.Limits.ImagePull = f.ImagePull
	return opts, nil
}

// Sink returns the printer for w in the chosen progress mode, or mode when it is not empty.
func (f *TrackFlags) Sink(w io.Writer, mode string) track.Sink {
	if mode == "" {
		mode = f.Progress
	}
	sink := printer.New(w, printer.Mode(mode), printer.ColorWanted(f.Color, w))
	ConnectClientLog(sink)
	return sink
}

// ConnectClientLog shows what the client libraries have to say that matters (requests
// delayed by client-side throttling, summed; the API server's warnings) as progress lines of
// sink, so that they are rendered and redacted like the rest; the last sink connected wins.
func ConnectClientLog(sink track.Sink) {
	throttle := clientlog.DefaultThrottle()
	start := time.Now()
	clientlog.Connect(func(m clientlog.Message) {
		line := "warning from the API server: " + m.Text
		if m.Kind == clientlog.KindThrottled {
			if line = throttle.Add(m.Delay, time.Now()); line == "" {
				return
			}
		}
		sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Elapsed: time.Since(start), Stage: "client", Warning: true, Line: "warning: " + line})
	})
}

// TrackClients builds the API clients tracking needs from kubectl's connection flags.
func TrackClients(getter genericclioptions.RESTClientGetter) (track.Clients, error) {
	cfg, err := getter.ToRESTConfig()
	if err != nil {
		return track.Clients{}, fmt.Errorf("kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return track.Clients{}, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return track.Clients{}, err
	}
	mapper, err := getter.ToRESTMapper()
	if err != nil {
		return track.Clients{}, err
	}
	return track.Clients{Kube: kube, Dynamic: dyn, Mapper: mapper}, nil
}
