package track

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Access is what the tracking runs of one command learned they may not read: pods,
// ReplicaSets, events or pod logs. Tracking goes on without them (readiness is then judged
// from the objects' own status) and says once, for each, what the user loses. The deploy's
// access preflight fills it in before the first tracking run; a nil *Access is valid and
// learns alone.
type Access struct {
	mu     sync.Mutex
	denied map[sourceKey]bool
}

// NewAccess returns an empty record, to share between the tracking runs of one command.
func NewAccess() *Access { return &Access{denied: map[sourceKey]bool{}} }

// Deny records that resource (e.g. {Resource: "events"}) cannot be listed or watched in
// namespace; it returns the line that says what is lost, and whether this is the first time
// (the caller says it once).
func (a *Access) Deny(resource schema.GroupResource, namespace string) (line string, first bool) {
	key := sourceKey{resource: resource, namespace: namespace}
	line = key.lossLine()
	if a == nil {
		return line, true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.denied[key] {
		return line, false
	}
	a.denied[key] = true
	return line, true
}

// Denied reports whether resource in namespace is known to be out of reach.
func (a *Access) Denied(resource schema.GroupResource, namespace string) bool {
	if a == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.denied[sourceKey{resource: resource, namespace: namespace}]
}

// Optional resources: tracking uses them to explain and attribute, never to judge readiness.
var (
	ResourcePods        = schema.GroupResource{Resource: "pods"}
	ResourcePodLogs     = schema.GroupResource{Resource: "pods/log"}
	ResourceEvents      = schema.GroupResource{Resource: "events"}
	ResourceReplicaSets = schema.GroupResource{Group: "apps", Resource: "replicasets"}
)

// OptionalResources are what tracking reads beside the tracked objects, with the verbs it
// uses on each.
var OptionalResources = []struct {
	Resource schema.GroupResource
	Verbs    []string
}{
	{ResourcePods, []string{"list", "watch"}},
	{ResourceReplicaSets, []string{"list", "watch"}},
	{ResourceEvents, []string{"list", "watch"}},
	{ResourcePodLogs, []string{"get"}},
}

// Optional lists OptionalResources by resource, for the access preflight.
func (a *Access) Optional() map[schema.GroupResource][]string {
	out := make(map[schema.GroupResource][]string, len(OptionalResources))
	for _, r := range OptionalResources {
		out[r.Resource] = r.Verbs
	}
	return out
}

// lossLine says, in one line, which permission is missing and what tracking does without it.
func (k sourceKey) lossLine() string {
	where := "cluster-wide"
	if k.namespace != "" {
		where = fmt.Sprintf("in namespace %s", k.namespace)
	}
	switch k.resource {
	case ResourceEvents:
		return fmt.Sprintf("no events: cannot list and watch events %s; failures are explained from the objects' own status", where)
	case ResourcePods:
		return fmt.Sprintf("no pod details: cannot list and watch pods %s; readiness is judged from the workloads' own status, without pod failure reasons or logs", where)
	case ResourceReplicaSets:
		return fmt.Sprintf("no rollout details: cannot list and watch replicasets.apps %s; Deployments are judged from their own status", where)
	case ResourcePodLogs:
		return fmt.Sprintf("no pod logs: cannot get pods/log %s", where)
	}
	return fmt.Sprintf("cannot list and watch %s %s", k.resourceName(), where)
}
