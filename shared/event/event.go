// Package event is the vocabulary of what a run tells its user while it works: typed events
// about objects (status changes, log lines, Kubernetes events, stages, the summary), sent to
// a Sink. The tracking engine, the deploy, the release lock and the access preflight emit
// them; printers (shared/printer) render them for a terminal, a CI log or JSON lines. A leaf:
// emitting an event does not bring the tracking engine along.
package event

import (
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// Ref names one object of a release.
type Ref struct {
	// Group is the API group, "" for the core group.
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// shortKinds are kubectl's short names of the built-in kinds people read most, keyed by
// "Kind.group" ("Kind" for the core group).
var shortKinds = map[string]string{
	"Deployment.apps": "deploy", "StatefulSet.apps": "sts", "DaemonSet.apps": "ds", "ReplicaSet.apps": "rs",
	"Job.batch": "job", "CronJob.batch": "cronjob", "Pod": "pod", "Service": "svc", "Ingress.networking.k8s.io": "ing",
	"PersistentVolumeClaim": "pvc", "ConfigMap": "cm", "Secret": "secret", "ServiceAccount": "sa",
	"CustomResourceDefinition.apiextensions.k8s.io": "crd",
}

// GroupKind is the object's kind with its API group: two kinds of one name in different
// groups are different kinds.
func (r Ref) GroupKind() schema.GroupKind { return schema.GroupKind{Group: r.Group, Kind: r.Kind} }

// String is the short kubectl form: deploy/web for the well-known built-in kinds, the
// lowercase kind for the rest of the core group (endpoints/web), and kind.group otherwise
// (service.serving.knative.dev/web), so that kinds of one name never read alike.
func (r Ref) String() string {
	gk := r.GroupKind().String()
	if short, ok := shortKinds[gk]; ok {
		return short + "/" + r.Name
	}
	return strings.ToLower(gk) + "/" + r.Name
}

// builtinGroups are the API groups whose kinds read unambiguously without the group.
var builtinGroups = map[string]bool{"": true, "apps": true, "batch": true}

// KindName is the form of plans and manifests: Kind/name for the core, apps and batch kinds,
// Kind.group/name otherwise (AlertRule.monitoring.example.com/x), so kinds of one name in
// different groups never read alike.
func (r Ref) KindName() string {
	if builtinGroups[r.Group] {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "." + r.Group + "/" + r.Name
}

// Type tells the kinds of Event apart.
type Type string

const (
	// TypeStatus is a change of an object's status.
	TypeStatus Type = "status"
	// TypeLog is a log line of a pod of a tracked object.
	TypeLog Type = "log"
	// TypeKubeEvent is a Kubernetes event about a tracked object or its pods.
	TypeKubeEvent Type = "event"
	// TypeWaiting lists what is still awaited (a heartbeat).
	TypeWaiting Type = "waiting"
	// TypeSummary closes the stream with the result of every object.
	TypeSummary Type = "summary"
	// TypeStage says what the run does next: take the lock, apply a weight group, await a
	// hook, wait for dependencies, delete objects that left the chart. Line says it in words.
	TypeStage Type = "stage"
	// TypeAction is what the run did to one object (Object), typed in Action, Reason and
	// Phase for scripts and the saved report; Line says it in words. Text printers leave
	// these out: the stage lines already name every object.
	TypeAction Type = "action"
)

// Event is one item of the stream.
type Event struct {
	Type    Type              `json:"type"`
	Time    time.Time         `json:"time"`
	Elapsed time.Duration     `json:"-"`
	Object  *Ref              `json:"object,omitempty"`
	Status  *readiness.Status `json:"status,omitempty"`
	// Pod and Container of a log line or event.
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	// Line is the log line, or the event's "Reason: message".
	Line    string         `json:"line,omitempty"`
	Warning bool           `json:"warning,omitempty"`
	Waiting []ObjectResult `json:"waiting,omitempty"`
	// Stage names a stage ("weight -10", "hook pre-install", "lock") and Objects what it acts on.
	Stage   string         `json:"stage,omitempty"`
	Objects []Ref          `json:"objects,omitempty"`
	Results []ObjectResult `json:"results,omitempty"`
	// Action, Reason and Phase say in tokens what Line says to people, so that a script
	// reads decisions without parsing sentences. They use lifecycle's vocabulary for objects
	// (action "create", "update", "delete", "keep", "hook"...; reason "left-chart",
	// "delete-policy-before-creation"...; phase "pre-hooks", "apply", "cleanup",
	// "post-hooks", "uninstall") and name the run's own steps too (phase "crds",
	// "recover", "auto-rollback"). Empty when the event is no decision.
	Action string `json:"action,omitempty"`
	Reason string `json:"reason,omitempty"`
	Phase  string `json:"phase,omitempty"`
}

// ObjectResult is where one object ended (or stands, in a heartbeat).
type ObjectResult struct {
	Object Ref              `json:"object"`
	Status readiness.Status `json:"status"`
	Took   time.Duration    `json:"tookNanoseconds"`
}

// Sink receives the events of a run, in order, from one goroutine.
type Sink func(Event)
