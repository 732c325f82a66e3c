package printer

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-converge/converge/shared/track"
)

// CIFormat is how a CI system's page shows a deploy, beside the plain log.
type CIFormat string

const (
	// CINone prints the plain log only.
	CINone CIFormat = "none"
	// CIGitHub adds GitHub Actions workflow commands: an error annotation per failed object,
	// warnings, and a group around each failure's explanation.
	CIGitHub CIFormat = "github"
	// CIGitLab adds GitLab CI collapsible sections around hooks, weight groups and the
	// summary.
	CIGitLab CIFormat = "gitlab"
)

// DetectCI returns the format of the CI system the process runs in, from its standard
// variables (GITHUB_ACTIONS, GITLAB_CI).
func DetectCI(getenv func(string) string) CIFormat {
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		return CIGitHub
	case getenv("GITLAB_CI") == "true":
		return CIGitLab
	}
	return CINone
}

// WithCI decorates sink, which writes the progress to progress, with the CI system's own
// markup: GitHub's workflow commands go to commands (the step's standard output, where the
// runner reads them) instead of the plain lines they replace, so nothing shows twice;
// GitLab's section markers go to progress, around the lines they frame. CINone returns sink
// as it is.
func WithCI(sink track.Sink, progress, commands io.Writer, format CIFormat) track.Sink {
	switch format {
	case CIGitHub:
		g := &githubCI{w: commands, progress: progress, inner: sink}
		return g.sink
	case CIGitLab:
		g := &gitlabCI{w: progress, inner: sink, now: time.Now}
		return g.sink
	}
	return sink
}

type githubCI struct {
	mu       sync.Mutex
	w        io.Writer
	progress io.Writer
	inner    track.Sink
}

func (g *githubCI) sink(e track.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case e.Type == track.EventTypeStatus && e.Status != nil && e.Object != nil && e.Status.Failure != nil && e.Status.State == track.StateFailed:
		fmt.Fprintf(g.w, "::error title=%s::%s\n", githubProperty(e.Object.String()+" failed"), githubData(e.Status.Failure.Error()))
		return
	case e.Type == track.EventTypeStatus && e.Status != nil && e.Object != nil && e.Status.Failure != nil && e.Status.State == track.StateSkipped:
		fmt.Fprintf(g.w, "::warning title=%s::%s\n", githubProperty(e.Object.String()+" failed (ignored)"), githubData(e.Status.Failure.Error()))
		return
	case e.Type == track.EventTypeStage && e.Warning:
		fmt.Fprintf(g.w, "::warning::%s\n", githubData(strings.TrimPrefix(e.Line, "warning: ")))
		return
	case e.Type == track.EventTypeSummary:
		// The explanation of each failure (events, last log lines) folds into a group of the
		// log, in the progress stream it belongs to (the runner reads commands there too).
		writeSummary(g.progress, e.Results, false, func(title string) (string, string) {
			return "::group::" + githubData(title), "::endgroup::"
		})
		return
	}
	g.inner(e)
}

// githubData escapes the message of a workflow command (GitHub's toolkit escapeData).
func githubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// githubProperty escapes a property value of a workflow command (toolkit escapeProperty).
func githubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// gitlabCI frames each deploy stage (hooks, weight groups) and the summary in a collapsible
// section of GitLab's job log.
type gitlabCI struct {
	mu    sync.Mutex
	w     io.Writer
	inner track.Sink
	now   func() time.Time
	open  string
	count int
}

func (g *gitlabCI) sink(e track.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case e.Type == track.EventTypeStage && !e.Warning:
		g.close()
		g.count++
		g.open = fmt.Sprintf("converge_stage_%d", g.count)
		fmt.Fprintf(g.w, "\x1b[0Ksection_start:%d:%s[collapsed=false]\r\x1b[0K%s\n", g.now().Unix(), g.open, e.Line)
		return
	case e.Type == track.EventTypeSummary:
		g.close()
		g.count++
		name := fmt.Sprintf("converge_summary_%d", g.count)
		fmt.Fprintf(g.w, "\x1b[0Ksection_start:%d:%s\r\x1b[0KResult\n", g.now().Unix(), name)
		g.inner(e)
		fmt.Fprintf(g.w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), name)
		return
	}
	g.inner(e)
}

func (g *gitlabCI) close() {
	if g.open == "" {
		return
	}
	fmt.Fprintf(g.w, "\x1b[0Ksection_end:%d:%s\r\x1b[0K\n", g.now().Unix(), g.open)
	g.open = ""
}

// SummaryInfo is what a Markdown job summary says about one deploy.
type SummaryInfo struct {
	Release, Namespace string
	Revision           int
	// Result is "deployed", "failed", "timed out"...
	Result  string
	Error   string
	Objects []track.ObjectResult
}

// WriteMarkdownSummary writes a Markdown summary of a deploy, as GitHub's job summary and a
// merge request note render it: the release, the result, a table of the objects, and for
// each failure the reason, its events and last log lines.
func WriteMarkdownSummary(w io.Writer, s SummaryInfo) {
	icon := "✅"
	if s.Error != "" {
		icon = "❌"
	}
	if s.Release == "" {
		// kubectl converge track follows objects, not a release.
		fmt.Fprintf(w, "### %s Objects in namespace `%s`\n\n", icon, s.Namespace)
	} else {
		fmt.Fprintf(w, "### %s Release `%s` in namespace `%s`\n\n", icon, s.Release, s.Namespace)
	}
	if s.Revision > 0 {
		fmt.Fprintf(w, "Revision %d: **%s**\n\n", s.Revision, s.Result)
	} else {
		fmt.Fprintf(w, "**%s**\n\n", s.Result)
	}
	if s.Error != "" {
		fmt.Fprintf(w, "```text\n%s\n```\n\n", strings.ReplaceAll(s.Error, "```", "'''"))
	}
	if len(s.Objects) == 0 {
		return
	}
	fmt.Fprintf(w, "| Resource | Result | Time | Details |\n| --- | --- | --- | --- |\n")
	for _, r := range s.Objects {
		mark, detail := resultRow(r)
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", r.Object, mark, r.Took.Round(time.Second), markdownCell(detail))
	}
	for _, r := range s.Objects {
		f := r.Status.Failure
		if f == nil || (r.Status.State != track.StateFailed && r.Status.State != track.StateProgressing) {
			continue
		}
		fmt.Fprintf(w, "\n#### `%s`: %s\n\n", r.Object, markdownCell(f.Reason))
		if f.Pod != "" {
			fmt.Fprintf(w, "Pod `%s`", f.Pod)
			if f.Container != "" {
				fmt.Fprintf(w, ", container `%s`", f.Container)
			}
			fmt.Fprintln(w)
			fmt.Fprintln(w)
		}
		if f.Message != "" {
			fmt.Fprintf(w, "%s\n\n", markdownCell(f.Message))
		}
		if len(f.Events) > 0 || len(f.Logs) > 0 {
			fmt.Fprintln(w, "<details><summary>Events and last log lines</summary>")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "```text")
			for _, e := range f.Events {
				fmt.Fprintf(w, "event: %s\n", strings.ReplaceAll(e, "```", "'''"))
			}
			for _, l := range f.Logs {
				fmt.Fprintf(w, "log: %s\n", strings.ReplaceAll(l, "```", "'''"))
			}
			fmt.Fprintln(w, "```")
			fmt.Fprintln(w)
			fmt.Fprintln(w, "</details>")
		}
	}
}

// markdownCell keeps text on one table line and its pipes out of the table's structure.
func markdownCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}
