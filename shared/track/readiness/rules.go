package readiness

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Limits are the graces after which a persisting pod condition becomes a failure.
type Limits struct {
	// Unschedulable is how long a pod may stay unschedulable.
	Unschedulable time.Duration
	// ImagePull is how long a pull may fail for reasons that can pass (timeouts, rate limits).
	ImagePull time.Duration
	// ContainerConfig is how long CreateContainerConfigError may last (a ConfigMap or Secret
	// created by the same deploy may appear a moment later).
	ContainerConfig time.Duration
	// ReplicaFailure is how long a controller may fail to create pods (quota, admission)
	// before the deploy fails; during a rolling update at the quota limit it passes.
	ReplicaFailure time.Duration
}

// DefaultLimits are the graces used unless flags change them.
func DefaultLimits() Limits {
	return Limits{Unschedulable: 5 * time.Second, ImagePull: 2 * time.Minute, ContainerConfig: 5 * time.Second, ReplicaFailure: 5 * time.Second}
}

// Pods is what the rules need to know about the pods of a workload.
type Pods struct {
	Pods []*corev1.Pod
	// EventsOf returns the events about the object of a UID, oldest first; nil: none.
	EventsOf func(uid string) []*corev1.Event
	Limits   Limits
	Policy   Policy
	Now      time.Time
	// allowedRestarts is how many container restarts the workload's pods may have in all
	// before it fails: werf.io/failures-allowed-per-replica times the replicas, as nelm
	// counts (pkg/resource/metadata.go, failuresAllowed).
	allowedRestarts int
}

// WithAllowedRestarts sets the restart allowance for a workload of the given replicas: that
// of a Deployment, StatefulSet or DaemonSet, whose default is 1 per replica.
func (v Pods) WithAllowedRestarts(replicas int32) Pods {
	v.allowedRestarts = v.Policy.FailuresAllowedPerReplica * int(replicas)
	return v
}

// WithAnnotatedAllowance sets the restart allowance of a kind nelm gives no default one (a
// ReplicaSet, a Pod): werf.io/failures-allowed-per-replica times the replicas when given,
// else none; none at all for pods with restartPolicy Never (nelm pkg/resource/metadata.go,
// failuresAllowed).
func (v Pods) WithAnnotatedAllowance(replicas int32, restartPolicy corev1.RestartPolicy) Pods {
	v.allowedRestarts = 0
	if v.Policy.FailuresAllowedSet && restartPolicy != corev1.RestartPolicyNever {
		v.allowedRestarts = v.Policy.FailuresAllowedPerReplica * int(replicas)
	}
	return v
}

var terminalPull = regexp.MustCompile(`(?i)not found|manifest unknown|repository does not exist|pull access denied|unauthorized|forbidden|invalid reference`)

// diagnose returns the first failure among the pods, and a short description of what the
// pods are waiting for.
func (v Pods) diagnose() (*Failure, string) {
	var waiting []string
	pods := append([]*corev1.Pod(nil), v.Pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, pod := range pods {
		if f := v.podFailure(pod); f != nil {
			f.Events = v.warnings(string(pod.UID))
			return f, ""
		}
		if w := podWaiting(pod); w != "" {
			waiting = append(waiting, w)
		}
	}
	if f := v.restartFailure(pods); f != nil {
		return f, ""
	}
	return nil, strings.Join(waiting, "; ")
}

// restartFailure fails the workload when its pods' containers failed more often in all than
// allowed, naming the container that failed most. As kubedog counts, a failure is a
// container restart or a readiness probe failure after the probe's grace window (so a pod
// that runs but never becomes ready fails once its allowance is spent, instead of waiting
// for the timeout).
func (v Pods) restartFailure(pods []*corev1.Pod) *Failure {
	var probes []probeCount
	probeTotal := 0
	for _, pod := range pods {
		for _, c := range v.probeCounts(pod) {
			probes = append(probes, c)
			probeTotal += c.failures
		}
	}
	if f := v.probeFailure(pods, probes, probeTotal); f != nil {
		return f
	}
	total := 0
	var worstPod *corev1.Pod
	var worst corev1.ContainerStatus
	for _, pod := range pods {
		if pod.DeletionTimestamp != nil {
			continue
		}
		for _, cs := range append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
			total += int(cs.RestartCount)
			if worstPod == nil || cs.RestartCount > worst.RestartCount {
				worstPod, worst = pod, cs
			}
		}
	}
	if worstPod == nil {
		return nil
	}
	reason, msg := "CrashLoopBackOff", fmt.Sprintf("restarted %d times", worst.RestartCount)
	if w := worst.State.Waiting; w != nil && w.Reason != "" {
		reason = w.Reason
	}
	if t := worst.LastTerminationState.Terminated; t != nil {
		msg = fmt.Sprintf("exit code %d (%s), restarted %d times", t.ExitCode, t.Reason, worst.RestartCount)
		if t.Message != "" {
			msg += ": " + t.Message
		}
	}
	total += probeTotal
	if total <= v.allowedRestarts {
		return nil
	}
	if total != int(worst.RestartCount) {
		msg += fmt.Sprintf(" (%d failures in all, %d allowed)", total, v.allowedRestarts)
	}
	return &Failure{Reason: reason, Message: msg, Pod: worstPod.Name, Container: worst.Name, Events: v.warnings(string(worstPod.UID))}
}

func (v Pods) eventsOf(uid string) []*corev1.Event {
	if v.EventsOf == nil {
		return nil
	}
	return v.EventsOf(uid)
}

func (v Pods) warnings(uid string) []string {
	var out []string
	for _, e := range v.eventsOf(uid) {
		if e.Type == corev1.EventTypeWarning {
			line := e.Reason + ": " + e.Message
			if e.Count > 1 {
				line += fmt.Sprintf(" (x%d)", e.Count)
			}
			out = append(out, line)
		}
	}
	return out
}

func (v Pods) podFailure(pod *corev1.Pod) *Failure {
	if pod.DeletionTimestamp != nil {
		return nil
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			if v.Now.Sub(c.LastTransitionTime.Time) >= v.Limits.Unschedulable && !v.scaleUpTriggered(pod) {
				return &Failure{Reason: "Unschedulable", Message: c.Message, Pod: pod.Name}
			}
		}
	}
	statuses := append(append([]corev1.ContainerStatus(nil), pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if f := v.containerFailure(pod, cs); f != nil {
			return f
		}
	}
	return nil
}

func (v Pods) scaleUpTriggered(pod *corev1.Pod) bool {
	for _, e := range v.eventsOf(string(pod.UID)) {
		if e.Reason == "TriggeredScaleUp" || e.Reason == "Nominated" {
			return true
		}
	}
	return false
}

func (v Pods) containerFailure(pod *corev1.Pod, cs corev1.ContainerStatus) *Failure {
	fail := func(reason, msg string) *Failure {
		return &Failure{Reason: reason, Message: msg, Pod: pod.Name, Container: cs.Name}
	}
	if w := cs.State.Waiting; w != nil {
		switch w.Reason {
		case "ErrImagePull", "ImagePullBackOff":
			msg := w.Message
			if !terminalPull.MatchString(msg) {
				// ImagePullBackOff says only "Back-off pulling image"; the cause is in the
				// kubelet's Failed event.
				for _, e := range v.eventsOf(string(pod.UID)) {
					if e.Reason == "Failed" && strings.Contains(e.Message, "pull") {
						msg = w.Message + ": " + e.Message
					}
				}
			}
			if terminalPull.MatchString(msg) {
				return fail(w.Reason, msg)
			}
			if since := v.since(pod); since >= v.Limits.ImagePull {
				return fail(w.Reason, fmt.Sprintf("%s (still failing after %s)", msg, since.Round(time.Second)))
			}
		case "InvalidImageName", "ErrImageNeverPull":
			return fail(w.Reason, w.Message)
		case "CreateContainerConfigError", "CreateContainerError", "RunContainerError":
			if v.since(pod) >= v.Limits.ContainerConfig {
				return fail(w.Reason, w.Message)
			}
		}
	}
	return nil
}

// since is how long the pod has existed.
func (v Pods) since(pod *corev1.Pod) time.Duration {
	return v.Now.Sub(pod.CreationTimestamp.Time)
}

// podWaiting describes a pod that is not ready yet, or "" for a ready one.
func podWaiting(pod *corev1.Pod) string {
	if PodReady(pod) || pod.Status.Phase == corev1.PodSucceeded {
		return ""
	}
	for _, cs := range pod.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("pod %s container %s: %s", pod.Name, cs.Name, w.Reason)
		}
		if cs.State.Running != nil && !cs.Ready {
			return fmt.Sprintf("pod %s container %s: running, not ready", pod.Name, cs.Name)
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return fmt.Sprintf("pod %s: %s", pod.Name, c.Reason)
		}
	}
	return fmt.Sprintf("pod %s: %s", pod.Name, pod.Status.Phase)
}

func PodReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func Progressing(format string, args ...any) Status {
	return Status{State: StateProgressing, Detail: fmt.Sprintf(format, args...)}
}

func Failed(f *Failure) Status { return Status{State: StateFailed, Failure: f} }

func withPods(s Status, v Pods) Status {
	if f, waiting := v.diagnose(); f != nil {
		return Failed(f)
	} else if waiting != "" && s.State == StateProgressing {
		s.Detail += "; " + waiting
	}
	return s
}

func generationPending(meta metav1.Object, observed int64) bool {
	return observed < meta.GetGeneration()
}

func Replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func condition(conds []metav1.Condition, t string) *metav1.Condition {
	for i := range conds {
		if strings.EqualFold(conds[i].Type, t) {
			return &conds[i]
		}
	}
	return nil
}

// Deployment judges a Deployment by its status and the pods of its newest ReplicaSet.
func Deployment(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, v Pods) Status {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return Failed(&Failure{Reason: "ProgressDeadlineExceeded", Message: c.Message})
		}
		if c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue && v.Now.Sub(c.LastTransitionTime.Time) >= v.Limits.ReplicaFailure {
			return Failed(&Failure{Reason: c.Reason, Message: c.Message})
		}
	}
	if newRS != nil {
		for _, c := range newRS.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue && v.Now.Sub(c.LastTransitionTime.Time) >= v.Limits.ReplicaFailure {
				return Failed(&Failure{Reason: c.Reason, Message: c.Message})
			}
		}
	}
	if d.Spec.Paused {
		return Status{State: StateSkipped, Detail: "paused: not waiting"}
	}
	if generationPending(d, d.Status.ObservedGeneration) {
		return Progressing("waiting for the controller to observe generation %d", d.Generation)
	}
	want := Replicas(d.Spec.Replicas)
	st := d.Status
	switch {
	case st.UpdatedReplicas < want:
		return withPods(Progressing("updated %d/%d", st.UpdatedReplicas, want), v)
	case st.Replicas > want:
		return withPods(Progressing("old pods terminating: %d", st.Replicas-want), v)
	case st.AvailableReplicas < want || st.UnavailableReplicas > 0:
		return withPods(Progressing("available %d/%d", st.AvailableReplicas, want), v)
	}
	return Status{State: StateReady, Detail: fmt.Sprintf("%d/%d available", st.AvailableReplicas, want)}
}

// StatefulSet judges a StatefulSet, honouring partitions and OnDelete updates.
func StatefulSet(s *appsv1.StatefulSet, v Pods) Status {
	if generationPending(s, s.Status.ObservedGeneration) {
		return Progressing("waiting for the controller to observe generation %d", s.Generation)
	}
	want := Replicas(s.Spec.Replicas)
	st := s.Status
	if st.ReadyReplicas < want || st.Replicas != want {
		return withPods(Progressing("ready %d/%d", st.ReadyReplicas, want), v)
	}
	if s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		if st.UpdatedReplicas < want {
			return Status{State: StateReadyWithWarnings, Detail: fmt.Sprintf("%d pods still run the old revision; OnDelete updates them only when they are deleted", want-st.UpdatedReplicas)}
		}
		return Status{State: StateReady, Detail: fmt.Sprintf("%d/%d ready", st.ReadyReplicas, want)}
	}
	partition := int32(0)
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
		partition = *ru.Partition
	}
	if st.UpdatedReplicas < want-partition {
		return withPods(Progressing("updated %d/%d", st.UpdatedReplicas, want-partition), v)
	}
	if partition == 0 && st.CurrentRevision != st.UpdateRevision && st.UpdatedReplicas < want {
		return withPods(Progressing("rolling out revision %s", st.UpdateRevision), v)
	}
	return Status{State: StateReady, Detail: fmt.Sprintf("%d/%d ready", st.ReadyReplicas, want)}
}

// DaemonSet judges a DaemonSet.
func DaemonSet(d *appsv1.DaemonSet, v Pods) Status {
	if generationPending(d, d.Status.ObservedGeneration) {
		return Progressing("waiting for the controller to observe generation %d", d.Generation)
	}
	st := d.Status
	if st.DesiredNumberScheduled == 0 {
		return Status{State: StateReadyWithWarnings, Detail: "no node matches: 0 pods scheduled"}
	}
	if d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType && st.UpdatedNumberScheduled < st.DesiredNumberScheduled && st.NumberReady == st.DesiredNumberScheduled {
		return Status{State: StateReadyWithWarnings, Detail: "some nodes run the old revision; OnDelete updates pods only when they are deleted"}
	}
	if st.UpdatedNumberScheduled < st.DesiredNumberScheduled || st.NumberAvailable < st.DesiredNumberScheduled || st.NumberReady < st.DesiredNumberScheduled {
		return withPods(Progressing("available %d/%d", st.NumberAvailable, st.DesiredNumberScheduled), v)
	}
	return Status{State: StateReady, Detail: fmt.Sprintf("%d/%d available", st.NumberAvailable, st.DesiredNumberScheduled)}
}

// ReplicaSet judges a standalone ReplicaSet.
func ReplicaSet(rs *appsv1.ReplicaSet, v Pods) Status {
	for _, c := range rs.Status.Conditions {
		if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue && v.Now.Sub(c.LastTransitionTime.Time) >= v.Limits.ReplicaFailure {
			return Failed(&Failure{Reason: c.Reason, Message: c.Message})
		}
	}
	if generationPending(rs, rs.Status.ObservedGeneration) {
		return Progressing("waiting for the controller to observe generation %d", rs.Generation)
	}
	want := Replicas(rs.Spec.Replicas)
	if rs.Status.AvailableReplicas < want || rs.Status.Replicas != want {
		return withPods(Progressing("available %d/%d", rs.Status.AvailableReplicas, want), v)
	}
	return Status{State: StateReady, Detail: fmt.Sprintf("%d/%d available", rs.Status.AvailableReplicas, want)}
}

// Job judges a Job by its conditions, never by counting failed pods.
func Job(j *batchv1.Job, v Pods) Status {
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			// SuccessCriteriaMet comes before the counters are updated: "succeeded 0" misleads.
			if j.Status.Succeeded == 0 {
				return Status{State: StateReady, Detail: "complete"}
			}
			return Status{State: StateReady, Detail: fmt.Sprintf("complete, %d succeeded", j.Status.Succeeded)}
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			f := &Failure{Reason: c.Reason, Message: c.Message}
			if pf, _ := v.diagnose(); pf != nil {
				f.Pod, f.Container = pf.Pod, pf.Container
				f.Message = strings.TrimSpace(f.Message + "; " + pf.Error())
			} else if pod := lastFailedPod(v.Pods); pod != nil {
				f.Pod = pod.Name
				for _, cs := range pod.Status.ContainerStatuses {
					if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
						f.Container = cs.Name
						f.Message = strings.TrimSpace(fmt.Sprintf("%s; container %s exited with code %d (%s)", f.Message, cs.Name, t.ExitCode, t.Reason))
						break
					}
				}
			}
			return Failed(f)
		}
	}
	if j.Spec.Suspend != nil && *j.Spec.Suspend {
		return Status{State: StateSkipped, Detail: "suspended: not waiting"}
	}
	// nelm allows a Job no failure (pkg/resource/metadata.go, failuresAllowed: 0 for
	// batch/Job, before werf.io/failures-allowed-per-replica is read): its first container
	// restart or counted readiness probe failure fails it, as kubedog's first CrashLoopBackOff
	// does. Pods that fail under restartPolicy Never restart nothing: the Job retries them
	// until its own Failed condition.
	v.allowedRestarts = 0
	return withPods(Progressing("active %d, succeeded %d, failed %d", j.Status.Active, j.Status.Succeeded, j.Status.Failed), v)
}

func lastFailedPod(pods []*corev1.Pod) *corev1.Pod {
	var last *corev1.Pod
	for _, p := range pods {
		if p.Status.Phase == corev1.PodFailed && (last == nil || p.CreationTimestamp.After(last.CreationTimestamp.Time)) {
			last = p
		}
	}
	return last
}

// Pod judges a standalone Pod.
func Pod(p *corev1.Pod, v Pods) Status {
	if p.Status.Phase == corev1.PodSucceeded {
		return Status{State: StateReady, Detail: "succeeded"}
	}
	if p.Spec.RestartPolicy == corev1.RestartPolicyAlways && PodReady(p) {
		return Status{State: StateReady, Detail: "ready"}
	}
	if p.Status.Phase == corev1.PodFailed {
		f := &Failure{Reason: "PodFailed", Message: p.Status.Message, Pod: p.Name}
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				f.Container, f.Message = cs.Name, fmt.Sprintf("exit code %d (%s)", t.ExitCode, t.Reason)
			}
		}
		return Failed(f)
	}
	return withPods(Progressing("%s", p.Status.Phase), v)
}

// Service judges a Service: a cluster IP, and for a LoadBalancer its address when the
// cluster provides one (without a load balancer controller it would never come).
func Service(s *corev1.Service) Status {
	if s.Spec.Type == corev1.ServiceTypeExternalName || s.Spec.ClusterIP == corev1.ClusterIPNone {
		return Status{State: StateReady}
	}
	if s.Spec.ClusterIP == "" {
		return Progressing("waiting for a cluster IP")
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer && len(s.Status.LoadBalancer.Ingress) == 0 {
		return Status{State: StateReadyWithWarnings, Detail: "LoadBalancer has no address yet (not waited for)"}
	}
	return Status{State: StateReady, Detail: s.Spec.ClusterIP}
}

// PVC judges a PersistentVolumeClaim; one waiting for its first consumer is not awaited.
func PVC(p *corev1.PersistentVolumeClaim, waitForFirstConsumer bool) Status {
	switch p.Status.Phase {
	case corev1.ClaimBound:
		return Status{State: StateReady, Detail: "bound"}
	case corev1.ClaimLost:
		return Failed(&Failure{Reason: "ClaimLost", Message: "the bound volume was lost"})
	}
	if waitForFirstConsumer {
		return Status{State: StateReadyWithWarnings, Detail: "waiting for the first consumer to be bound"}
	}
	return Progressing("%s", p.Status.Phase)
}

// evalGeneric judges any other object: standard conditions first, then the conditions and
// status fields kubedog reads (kubedog.go); objects with no status, or with no field
// kubedog reads a word in, are ready once they exist.
func evalGeneric(u *unstructured.Unstructured) Status {
	status, ok := u.Object["status"].(map[string]any)
	if !ok || len(status) == 0 {
		return Status{State: StateReady, Detail: "present"}
	}
	if og, found, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "observedGeneration"); found {
		if n, ok := toInt64(og); ok && n < u.GetGeneration() {
			return Progressing("waiting for the controller to observe generation %d", u.GetGeneration())
		}
	}
	var conds []metav1.Condition
	if raw, ok := status["conditions"].([]any); ok {
		for _, c := range raw {
			m, _ := c.(map[string]any)
			t, _ := m["type"].(string)
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			conds = append(conds, metav1.Condition{Type: t, Status: metav1.ConditionStatus(s), Reason: r, Message: msg})
		}
	}
	if c := condition(conds, "Stalled"); c != nil && c.Status == metav1.ConditionTrue {
		return Failed(&Failure{Reason: c.Reason, Message: c.Message})
	}
	if c := condition(conds, "Reconciling"); c != nil && c.Status == metav1.ConditionTrue {
		return Progressing("reconciling: %s", c.Message)
	}
	for _, t := range []string{"Ready", "Available", "Established", "Succeeded"} {
		c := condition(conds, t)
		if c == nil {
			continue
		}
		if c.Status == metav1.ConditionTrue {
			return Status{State: StateReady, Detail: t}
		}
		return Progressing("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	if s := kubedogConditions(u); s != nil {
		return *s
	}
	s, unknown := kubedogFields(status)
	if s != nil {
		return *s
	}
	if unknown != "" {
		return Status{State: StateReadyWithWarnings, Detail: unknown + " is no state kubedog knows: tracked by presence"}
	}
	return Status{State: StateReadyWithWarnings, Detail: "no readiness signal in its status: tracked by presence"}
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		return int64(n), true
	case string:
		var out int64
		_, err := fmt.Sscan(n, &out)
		return out, err == nil
	}
	return 0, false
}

// probeFailure fails the workload on readiness probe failures alone (probes, total in all):
// when they exceed the allowance while no container restarted, it names the container whose
// probe failed most, with the probe's message.
func (v Pods) probeFailure(pods []*corev1.Pod, probes []probeCount, total int) *Failure {
	restarts := 0
	for _, pod := range pods {
		for _, cs := range pod.Status.ContainerStatuses {
			restarts += int(cs.RestartCount)
		}
	}
	if restarts > 0 {
		return nil
	}
	worst := probeCount{}
	for _, c := range probes {
		if c.failures > worst.failures {
			worst = c
		}
	}
	if total <= v.allowedRestarts || worst.failures == 0 {
		return nil
	}
	return &Failure{Reason: "ReadinessProbeFailed", Pod: worst.pod.Name, Container: worst.container, Events: v.warnings(string(worst.pod.UID)),
		Message: fmt.Sprintf("%s (%d failures after the probe's grace, %d allowed)", worst.message, total, v.allowedRestarts)}
}

type probeCount struct {
	pod       *corev1.Pod
	container string
	failures  int
	message   string
}

// probeCounts reads the pod's "Readiness probe failed" events per container, counting those
// after the container's grace window.
func (v Pods) probeCounts(pod *corev1.Pod) []probeCount {
	if pod.DeletionTimestamp != nil {
		return nil
	}
	started := map[string]time.Time{}
	for _, cs := range pod.Status.ContainerStatuses {
		if r := cs.State.Running; r != nil {
			started[cs.Name] = r.StartedAt.Time
		}
	}
	counts := map[string]*probeCount{}
	var order []string
	for _, e := range v.eventsOf(string(pod.UID)) {
		if e.Reason != "Unhealthy" || !strings.HasPrefix(e.Message, "Readiness probe failed") {
			continue
		}
		container := containerOfFieldPath(e.InvolvedObject.FieldPath)
		start, running := started[container]
		if !running {
			continue
		}
		countFrom := start.Add(v.probeGrace(pod, container))
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.Before(countFrom) {
			continue
		}
		n := 1
		if first := e.FirstTimestamp.Time; !first.IsZero() && !first.Before(countFrom) && e.Count > 1 {
			n = int(e.Count)
		}
		c := counts[container]
		if c == nil {
			c = &probeCount{pod: pod, container: container}
			counts[container] = c
			order = append(order, container)
		}
		c.failures += n
		c.message = e.Message
	}
	out := make([]probeCount, 0, len(order))
	for _, name := range order {
		out = append(out, *counts[name])
	}
	return out
}

// containerOfFieldPath reads "spec.containers{app}".
func containerOfFieldPath(path string) string {
	_, rest, ok := strings.Cut(path, "{")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "}")
	return name
}

// probeGrace is how long after the container started its readiness probe failures do not
// count: werf.io/ignore-readiness-probe-fails-for-<container>, else kubedog's window
// (pod/probes.go): initial delay (after a startup probe's worst case) + timeout +
// (failureThreshold + successThreshold - 3) periods + half a period + timeout; none when
// failureThreshold is 1.
func (v Pods) probeGrace(pod *corev1.Pod, container string) time.Duration {
	if d, ok := v.Policy.IgnoreProbeFailsFor[container]; ok {
		return d
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != container || c.ReadinessProbe == nil {
			continue
		}
		p := c.ReadinessProbe
		if p.FailureThreshold == 1 {
			return 0
		}
		orDefault := func(v, def int32) float64 {
			if v == 0 {
				return float64(def)
			}
			return float64(v)
		}
		period, timeout := orDefault(p.PeriodSeconds, 10), orDefault(p.TimeoutSeconds, 1)
		delay := float64(p.InitialDelaySeconds)
		if s := c.StartupProbe; s != nil {
			delay += float64(s.InitialDelaySeconds) + orDefault(s.PeriodSeconds, 10)*orDefault(s.FailureThreshold, 3)
		}
		seconds := delay + timeout + (orDefault(p.FailureThreshold, 3)+orDefault(p.SuccessThreshold, 1)-3)*period + period/2 + timeout
		return time.Duration(max(0, seconds) * float64(time.Second))
	}
	return 0
}
