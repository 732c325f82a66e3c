package cliutil

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-converge/converge/shared/clientlog"
	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/printer"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/track"
	"github.com/kubectl-converge/converge/shared/track/readiness"
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
	// CIFormat adds a CI system's markup to the progress: auto, github, gitlab or none.
	CIFormat string
	// CISummary is a file a Markdown summary of the deploy is appended to; in GitHub Actions
	// $GITHUB_STEP_SUMMARY by default.
	CISummary string
}

// AddFlags registers the flags on fs.
func (f *TrackFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Progress, "progress", "auto", "how tracking is shown on stderr: auto (tty on a terminal, plain otherwise), tty, plain or json")
	fs.StringVar(&f.Color, "color", "auto", "colors: auto, always or never (NO_COLOR is honoured)")
	fs.BoolVar(&f.NoPodLogs, "no-pod-logs", false, "do not stream the logs of the pods being rolled out")
	fs.DurationVar(&f.ProgressInterval, "progress-interval", 30*time.Second, "how often plain output lists what is still awaited (0: never)")
	fs.DurationVar(&f.Unschedulable, "unschedulable-grace", readiness.DefaultLimits().Unschedulable, "how long a pod may stay unschedulable before the deploy fails")
	fs.StringVar(&f.CIFormat, "ci-format", "auto", "CI markup in the progress: auto (from GITHUB_ACTIONS, GITLAB_CI), github (error annotations, warnings), gitlab (collapsible sections) or none")
	fs.StringVar(&f.CISummary, "ci-summary", "", "append a Markdown summary of the deploy to this file (default in GitHub Actions: $GITHUB_STEP_SUMMARY)")
	fs.DurationVar(&f.ImagePull, "image-pull-grace", readiness.DefaultLimits().ImagePull, "how long an image pull may fail for a passing reason (timeouts, rate limits) before the deploy fails")
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
	switch f.CIFormat {
	case "auto", "github", "gitlab", "none":
	default:
		return track.Options{}, exitcode.Usage("--ci-format %q: use auto, github, gitlab or none", f.CIFormat)
	}
	opts := track.DefaultOptions()
	opts.PodLogs = !f.NoPodLogs
	opts.Heartbeat = f.ProgressInterval
	opts.Limits.Unschedulable = f.Unschedulable
	opts.Limits.ImagePull = f.ImagePull
	return opts, nil
}

// Sink returns the printer for w in the chosen progress mode, or mode when it is not empty;
// CI markup goes to w too.
func (f *TrackFlags) Sink(w io.Writer, mode string) track.Sink {
	return f.SinkCI(w, w, mode)
}

// SinkCI is Sink with GitHub's workflow commands written to commands (the standard output,
// where the runner reads them).
func (f *TrackFlags) SinkCI(w, commands io.Writer, mode string) track.Sink {
	if mode == "" {
		mode = f.Progress
	}
	sink := printer.New(w, printer.Mode(mode), printer.ColorWanted(f.Color, w))
	if mode != string(printer.ModeJSON) {
		sink = printer.WithCI(sink, w, commands, f.ciFormat())
	}
	ConnectClientLog(sink)
	return sink
}

// ciFormat resolves --ci-format auto from the environment.
func (f *TrackFlags) ciFormat() printer.CIFormat {
	if f.CIFormat == "" || f.CIFormat == "auto" {
		return printer.DetectCI(os.Getenv)
	}
	return printer.CIFormat(f.CIFormat)
}

// summaryFile is where the Markdown summary goes: --ci-summary, else GitHub's step summary
// in GitHub Actions; "" for none.
func (f *TrackFlags) summaryFile() string {
	if f.CISummary != "" {
		return f.CISummary
	}
	if f.ciFormat() == printer.CIGitHub {
		return os.Getenv("GITHUB_STEP_SUMMARY")
	}
	return ""
}

// WriteCISummary appends the Markdown summary of a deploy to the summary file, if any,
// redacted like every output.
func (f *TrackFlags) WriteCISummary(info printer.SummaryInfo) error {
	path := f.summaryFile()
	if path == "" {
		return nil
	}
	var b strings.Builder
	printer.WriteMarkdownSummary(&b, info)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("--ci-summary: %w", err)
	}
	defer file.Close()
	if _, err := file.Write(redact.Bytes([]byte(b.String() + "\n"))); err != nil {
		return fmt.Errorf("--ci-summary: %w", err)
	}
	return nil
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
