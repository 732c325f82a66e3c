// Package readiness judges one object at one moment: the rules of every built-in kind (with
// the pods, events and limits they need), the generic rules of custom resources, and the
// werf annotations that change them. Its functions are pure: the tracking engine (package
// track) watches the cluster and hands them what it saw.
package readiness

import "strings"

// State is where a tracked object stands.
type State string

const (
	// StateProgressing is an object that is not ready yet and has not failed.
	StateProgressing State = "progressing"
	// StateReady is an object that reached readiness.
	StateReady State = "ready"
	// StateReadyWithWarnings is ready, with something the user should know.
	StateReadyWithWarnings State = "ready-with-warnings"
	// StateFailed is an object that will not become ready without a change.
	StateFailed State = "failed"
	// StateSkipped is an object not waited for (NonBlocking, ignored failures, paused).
	StateSkipped State = "skipped"
	// StateDeleted is an object that is gone (when tracking deletion).
	StateDeleted State = "deleted"
)

// Done reports whether the state ends tracking of the object.
func (s State) Done() bool { return s != StateProgressing }

// Failure explains why an object failed.
type Failure struct {
	// Reason is the machine-readable cause, e.g. ImagePullBackOff, Unschedulable.
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// Pod and Container name where the failure was seen, when it was in a pod.
	Pod       string `json:"pod,omitempty"`
	Container string `json:"container,omitempty"`
	// Logs are the last log lines of the failing container (the previous run for a crash).
	Logs []string `json:"logs,omitempty"`
	// Events are the Warning events of the object and its pods, oldest first.
	Events []string `json:"events,omitempty"`
}

// Error is the one-line form: "pod web-1 container app: ImagePullBackOff: ...".
func (f *Failure) Error() string {
	var where []string
	if f.Pod != "" {
		where = append(where, "pod "+f.Pod)
	}
	if f.Container != "" {
		where = append(where, "container "+f.Container)
	}
	out := f.Reason
	if f.Message != "" {
		out += ": " + f.Message
	}
	if len(where) > 0 {
		out = strings.Join(where, " ") + ": " + out
	}
	return out
}

// Status is the evaluation of one object at one moment.
type Status struct {
	State State `json:"state"`
	// Detail says what is awaited ("available 1/3") or what is noteworthy.
	Detail  string   `json:"detail,omitempty"`
	Failure *Failure `json:"failure,omitempty"`
}
