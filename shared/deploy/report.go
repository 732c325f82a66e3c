package deploy

import (
	"sync"

	"github.com/kubectl-converge/converge/shared/track"
)

// Report is the machine-readable account of one deploy (--save-report).
type Report struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	// Revision and Status are those of the revision the deploy recorded; zero and "" when
	// it failed before recording one.
	Revision int    `json:"revision"`
	Status   string `json:"status"`
	Chart    string `json:"chart,omitempty"`
	// Error is the failure, "" on success.
	Error string `json:"error,omitempty"`
	// RolledBackTo is the revision --auto-rollback recorded after the failure.
	RolledBackTo int                  `json:"rolledBackTo,omitempty"`
	Seconds      float64              `json:"durationSeconds"`
	Objects      []track.ObjectResult `json:"objects"`
	// Actions are what the run did (ActionLog), each typed beside its line.
	Actions []ReportAction `json:"actions"`
}

// NewReport describes the outcome of a deploy of release; res may be nil when it failed early.
func NewReport(release, namespace string, res *Result, err error) Report {
	r := Report{Release: release, Namespace: namespace, Objects: []track.ObjectResult{}, Actions: []ReportAction{}}
	if err != nil {
		r.Error = err.Error()
	}
	if res == nil {
		return r
	}
	r.Seconds = res.Duration.Seconds()
	if res.Tracking != nil {
		r.Objects = res.Tracking
	}
	if rel := res.Release; rel != nil {
		r.Revision, r.Status, r.Chart = rel.Revision, rel.Status, rel.ChartName+"-"+rel.ChartVersion
	}
	if res.RolledBack != nil {
		r.RolledBackTo = res.RolledBack.Revision
	}
	return r
}

// ReportAction is one decision of the run as the report keeps it: the typed action, reason
// and phase beside the line that said it.
type ReportAction struct {
	Object  *track.Ref  `json:"object,omitempty"`
	Objects []track.Ref `json:"objects,omitempty"`
	Action  string      `json:"action"`
	Reason  string      `json:"reason,omitempty"`
	Phase   string      `json:"phase,omitempty"`
	Line    string      `json:"line"`
}

// ActionLog keeps the decisions (events with an Action) a run sends to its sink, for the
// report.
type ActionLog struct {
	mu      sync.Mutex
	actions []ReportAction
}

// Sink records the decisions among the events and passes every event on to next.
func (l *ActionLog) Sink(next track.Sink) track.Sink {
	return func(e track.Event) {
		if e.Action != "" {
			l.mu.Lock()
			l.actions = append(l.actions, ReportAction{Object: e.Object, Objects: e.Objects, Action: e.Action, Reason: e.Reason, Phase: e.Phase, Line: e.Line})
			l.mu.Unlock()
		}
		if next != nil {
			next(e)
		}
	}
}

// Actions are the decisions recorded so far, in order.
func (l *ActionLog) Actions() []ReportAction {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ReportAction{}, l.actions...)
}
