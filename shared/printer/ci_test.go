package printer

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-converge/converge/shared/testutil"
	"github.com/kubectl-converge/converge/shared/track"
)

func golden(t *testing.T, name, got string) {
	t.Helper()
	testutil.Golden(t, filepath.Join("testdata", name+".golden"), got)
}

var (
	web    = track.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "web"}
	worker = track.Ref{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "worker"}
	cache  = track.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "cache"}
	// old left the chart; migrate is a hook.
	old     = track.Ref{Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "old"}
	migrate = track.Ref{Group: "batch", Version: "v1", Kind: "Job", Namespace: "shop", Name: "migrate"}
	crash   = &track.Failure{Reason: "CrashLoopBackOff", Message: "exit code 1 (Error), restarted 2 times: panic: config, missing key: db.url", Pod: "web-7c9f-x2k", Container: "app",
		Events: []string{"BackOff: Back-off restarting failed container app (x3)"}, Logs: []string{"starting", "panic: config | missing key"}}
	ignored = &track.Failure{Reason: "ImagePullBackOff", Message: "pull access denied", Pod: "worker-1", Container: "worker"}
)

func deployEvents() []track.Event {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	return []track.Event{
		{Type: track.EventTypeStage, Time: at, Stage: "hook", Line: "hook pre-install: job/migrate"},
		{Type: track.EventTypeAction, Time: at, Object: &migrate, Action: "hook", Reason: "hook-event", Phase: "pre-hooks", Line: "hook pre-install: job/migrate"},
		{Type: track.EventTypeStage, Time: at, Stage: "weight", Line: "apply weight 0: deploy/web, deploy/worker, cm/cache"},
		{Type: track.EventTypeAction, Time: at, Object: &cache, Action: "create", Reason: "absent", Phase: "apply", Line: "create cm/cache"},
		{Type: track.EventTypeAction, Time: at, Object: &web, Action: "update", Reason: "present", Phase: "apply", Line: "update deploy/web"},
		{Type: track.EventTypeAction, Time: at, Object: &old, Action: "delete", Reason: "left-chart", Phase: "cleanup", Line: "deleted cm/old: no longer in the chart"},
		{Type: track.EventTypeStatus, Time: at, Object: &cache, Status: &track.Status{State: track.StateReady, Detail: "present"}},
		{Type: track.EventTypeStage, Time: at, Stage: "access", Warning: true, Line: "warning: no events: cannot list and watch events in namespace shop"},
		{Type: track.EventTypeStatus, Time: at, Object: &worker, Status: &track.Status{State: track.StateSkipped, Detail: "failure ignored", Failure: ignored}},
		{Type: track.EventTypeStatus, Time: at, Object: &web, Status: &track.Status{State: track.StateFailed, Failure: crash}},
		{Type: track.EventTypeSummary, Time: at, Results: []track.ObjectResult{
			{Object: cache, Status: track.Status{State: track.StateReady, Detail: "present"}, Took: time.Second},
			{Object: worker, Status: track.Status{State: track.StateSkipped, Detail: "failure ignored", Failure: ignored}, Took: 2 * time.Second},
			{Object: web, Status: track.Status{State: track.StateFailed, Failure: crash}, Took: 12 * time.Second},
		}},
	}
}

// render returns what the progress stream and the command stream receive, interleaved as
// a CI log shows them.
func render(format CIFormat) string {
	var b strings.Builder
	sink := WithCI(New(&b, ModePlain, false), &b, &b, format)
	for _, e := range deployEvents() {
		sink(e)
	}
	return b.String()
}

func TestGitHubWorkflowCommands(t *testing.T) {
	out := render(CIGitHub)
	// The exact workflow-command syntax: the title is a property (":" and "," escaped), the
	// message data ("%", CR and LF escaped).
	for _, want := range []string{
		"::error title=deploy/web failed::pod web-7c9f-x2k container app: CrashLoopBackOff: exit code 1 (Error), restarted 2 times: panic: config, missing key: db.url\n",
		"::warning title=deploy/worker failed (ignored)::pod worker-1 container worker: ImagePullBackOff: pull access denied\n",
		"::warning::no events: cannot list and watch events in namespace shop\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "::error") != 1 {
		t.Errorf("one failure must give one error annotation:\n%s", out)
	}
	// The explanation of the failure folds into a group.
	if !strings.Contains(out, "::group::Why deploy/web failed: CrashLoopBackOff\n") || strings.Count(out, "::group::") != strings.Count(out, "::endgroup::") {
		t.Errorf("no balanced group around the failure's explanation:\n%s", out)
	}
	// The annotations replace the plain lines: nothing is said twice while tracking.
	if strings.Contains(out, "deploy/web FAILED:") || strings.Contains(out, "── warning: no events") {
		t.Errorf("a plain line was printed beside its annotation:\n%s", out)
	}
	golden(t, "github", out)
}

func TestGitHubEscaping(t *testing.T) {
	if got := githubProperty("a:b,c%d\ne"); got != "a%3Ab%2Cc%25d%0Ae" {
		t.Fatalf("property %q", got)
	}
	if got := githubData("a:b,c%d\r\ne"); got != "a:b,c%25d%0D%0Ae" {
		t.Fatalf("data %q", got)
	}
}

func TestGitLabSectionsAreBalanced(t *testing.T) {
	out := render(CIGitLab)
	starts, ends := strings.Count(out, "section_start:"), strings.Count(out, "section_end:")
	if starts != 3 || starts != ends {
		t.Fatalf("%d section starts and %d ends, want 3 of each:\n%q", starts, ends, out)
	}
	// Each section ends before the next starts.
	depth := 0
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "section_start:"):
			depth++
		case strings.Contains(line, "section_end:"):
			depth--
		}
		if depth < 0 || depth > 1 {
			t.Fatalf("sections nest or close unopened at %q:\n%q", line, out)
		}
	}
}

func TestMarkdownSummary(t *testing.T) {
	var b strings.Builder
	events := deployEvents()
	WriteMarkdownSummary(&b, SummaryInfo{Release: "shop", Namespace: "shop", Revision: 4, Result: "failed",
		Error: "converge release \"shop\": deploy/web failed", Objects: events[len(events)-1].Results})
	golden(t, "summary", b.String())
}

// TestMarkdownSummaryOfObjects: kubectl converge track follows objects, not a release; its
// summary says so.
func TestMarkdownSummaryOfObjects(t *testing.T) {
	var b strings.Builder
	WriteMarkdownSummary(&b, SummaryInfo{Namespace: "shop", Result: "ready",
		Objects: []track.ObjectResult{{Object: cache, Status: track.Status{State: track.StateReady}, Took: 2 * time.Second}}})
	golden(t, "summary-objects", b.String())
}

// TestPlainAndJSON renders one deploy's events as a CI log without colors and as JSON lines.
func TestPlainAndJSON(t *testing.T) {
	events := deployEvents()
	// Log lines and messages come from the workload and may be any text.
	events = append(events, track.Event{Type: track.EventTypeLog, Time: events[0].Time, Object: &web, Pod: "web-7c9f-x2k", Container: "app", Line: "démarrage: 準備完了 ✓"})
	for _, mode := range []Mode{ModePlain, ModeJSON} {
		t.Run(string(mode), func(t *testing.T) {
			var b strings.Builder
			sink := New(&b, mode, false)
			for _, e := range events {
				sink(e)
			}
			golden(t, "mode-"+string(mode), b.String())
		})
	}
}
