package deploy

import (
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
}

// NewReport describes the outcome of a deploy of release; res may be nil when it failed early.
func NewReport(release, namespace string, res *Result, err error) Report {
	r := Report{Release: release, Namespace: namespace, Objects: []track.ObjectResult{}}
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
