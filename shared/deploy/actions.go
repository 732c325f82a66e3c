package deploy

import "github.com/kubectl-converge/converge/shared/track"

// The run's own steps, in the typed fields of their events (track.Event's Action, Reason
// and Phase); the objects' decisions use lifecycle's vocabulary.
const (
	// PhaseCRDs applies the chart's CRDs, before everything else.
	PhaseCRDs = "crds"
	// PhaseRecover marks failed a revision an interrupted run left pending.
	PhaseRecover = "recover"
	// PhaseAutoRollback follows a failed deploy with --auto-rollback.
	PhaseAutoRollback = "auto-rollback"

	ActionApplyCRD   = "apply"
	ActionMarkFailed = "mark-failed"
	ActionRollback   = "rollback"
	ActionUninstall  = "uninstall"

	// ReasonInterrupted: the revision was left pending by a run that stopped.
	ReasonInterrupted = "interrupted"
	// ReasonDeployFailed: the deploy failed; the release returns to its last good revision.
	ReasonDeployFailed = "deploy-failed"
	// ReasonNeverDeployed: the failed deploy was the release's first; it is uninstalled.
	ReasonNeverDeployed = "never-deployed"
)

// crdRef names a CRD in events.
func crdRef(name string) *track.Ref {
	return &track.Ref{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: name}
}
