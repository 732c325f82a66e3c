// Package track follows deployed objects until each is ready or has failed, and explains
// failures: which pod and container, the reason, the last log lines and the events. It emits
// a stream of typed events; printers (shared/printer) render them for a terminal, a CI log
// or JSON lines.
package track

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubectl-converge/converge/shared/track/readiness"
)

// Ref names one tracked object.
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

// The readiness vocabulary (State, Status, Failure, Policy, Limits) is defined in
// track/readiness with the rules that produce it; track names it for its callers.
type (
	State   = readiness.State
	Status  = readiness.Status
	Failure = readiness.Failure
	Policy  = readiness.Policy
	Limits  = readiness.Limits
)

// States of a tracked object: see readiness.State.
const (
	StateProgressing       = readiness.StateProgressing
	StateReady             = readiness.StateReady
	StateReadyWithWarnings = readiness.StateReadyWithWarnings
	StateFailed            = readiness.StateFailed
	StateSkipped           = readiness.StateSkipped
	StateDeleted           = readiness.StateDeleted
)

// EventType tells the kinds of Event apart.
type EventType string

const (
	// EventTypeStatus is a change of an object's status.
	EventTypeStatus EventType = "status"
	// EventTypeLog is a log line of a pod of a tracked object.
	EventTypeLog EventType = "log"
	// EventTypeKubeEvent is a Kubernetes event about a tracked object or its pods.
	EventTypeKubeEvent EventType = "event"
	// EventTypeWaiting lists what is still awaited (a heartbeat).
	EventTypeWaiting EventType = "waiting"
	// EventTypeSummary closes the stream with the result of every object.
	EventTypeSummary EventType = "summary"
	// EventTypeStage says what the deploy does next: apply a weight group, await a hook,
	// wait for dependencies, delete objects that left the chart. Line says it in words.
	EventTypeStage EventType = "stage"
)

// Event is one item of the tracking stream.
type Event struct {
	Type    EventType     `json:"type"`
	Time    time.Time     `json:"time"`
	Elapsed time.Duration `json:"-"`
	Object  *Ref          `json:"object,omitempty"`
	Status  *Status       `json:"status,omitempty"`
	// Pod and Container of a log line or event.
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	// Line is the log line, or the event's "Reason: message".
	Line    string         `json:"line,omitempty"`
	Warning bool           `json:"warning,omitempty"`
	Waiting []ObjectResult `json:"waiting,omitempty"`
	// Stage names a deploy stage ("weight -10", "hook pre-install") and Objects what it acts on.
	Stage   string         `json:"stage,omitempty"`
	Objects []Ref          `json:"objects,omitempty"`
	Results []ObjectResult `json:"results,omitempty"`
}

// ObjectResult is where one object ended (or stands, in a heartbeat).
type ObjectResult struct {
	Object Ref           `json:"object"`
	Status Status        `json:"status"`
	Took   time.Duration `json:"tookNanoseconds"`
}

// Sink receives the events of a tracking run, in order, from one goroutine.
type Sink func(Event)

// Result is the outcome of a tracking run.
type Result struct {
	Objects []ObjectResult
}

// Failed returns the objects that failed.
func (r *Result) Failed() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Status.State == StateFailed {
			out = append(out, o)
		}
	}
	return out
}

// Unfinished returns the objects still progressing (at a timeout).
func (r *Result) Unfinished() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if o.Status.State == StateProgressing {
			out = append(out, o)
		}
	}
	return out
}

// Err summarizes failed and unfinished objects as one error, nil when all are done and none
// failed.
func (r *Result) Err() error {
	failed, waiting := r.Failed(), r.Unfinished()
	if len(failed) == 0 && len(waiting) == 0 {
		return nil
	}
	var parts []string
	for _, f := range failed {
		parts = append(parts, fmt.Sprintf("%s failed: %s", f.Object, f.Status.Failure.Error()))
	}
	if len(failed) == 0 {
		for _, w := range waiting {
			parts = append(parts, notReadyLine(w))
		}
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// notReadyLine says why an object was not ready at a timeout: its last status, its last
// warning and its last log line.
func notReadyLine(w ObjectResult) string {
	line := fmt.Sprintf("%s not ready: %s", w.Object, w.Status.Detail)
	f := w.Status.Failure
	if f == nil {
		return line
	}
	if f.Pod != "" && !strings.Contains(w.Status.Detail, f.Pod) {
		line += "; pod " + f.Pod
		if f.Container != "" {
			line += " container " + f.Container
		}
	}
	if n := len(f.Events); n > 0 {
		line += "; last warning: " + f.Events[n-1]
	}
	if n := len(f.Logs); n > 0 {
		line += "; last log line: " + f.Logs[n-1]
	}
	return line
}
