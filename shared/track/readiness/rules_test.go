package readiness

import (
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func view(pods ...*corev1.Pod) Pods {
	return Pods{Pods: pods, Limits: DefaultLimits(), Policy: DefaultPolicy(), Now: now}.WithAllowedRestarts(1)
}

func deployment(gen, observed int64, want, updated, available, total int32, conds ...appsv1.DeploymentCondition) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: &want},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, AvailableReplicas: available,
			Replicas: total, UnavailableReplicas: total - available, Conditions: conds},
	}
}

func pod(name string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: "uid-" + "name", CreationTimestamp: ago(time.Minute)}}
	mutate(p)
	return p
}

func waiting(reason, msg string, restarts int32) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: restarts, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}
	}
}

func TestEvalDeployment(t *testing.T) {
	tests := []struct {
		name   string
		d      *appsv1.Deployment
		v      Pods
		state  State
		reason string
		detail string
	}{
		{name: "stale status of an older generation", d: deployment(2, 1, 2, 2, 2, 2), v: view(), state: StateProgressing, detail: "observe generation 2"},
		{name: "rolling out", d: deployment(2, 2, 3, 1, 1, 3), v: view(), state: StateProgressing, detail: "updated 1/3"},
		{name: "old pods still there", d: deployment(2, 2, 2, 2, 2, 3), v: view(), state: StateProgressing, detail: "old pods terminating: 1"},
		{name: "ready", d: deployment(2, 2, 2, 2, 2, 2), v: view(), state: StateReady},
		{name: "progress deadline", d: deployment(2, 2, 2, 1, 1, 2, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "took too long"}), v: view(), state: StateFailed, reason: "ProgressDeadlineExceeded"},
		{name: "quota failure, fresh", d: deployment(1, 1, 2, 0, 0, 0, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", LastTransitionTime: ago(time.Second)}), v: view(), state: StateProgressing},
		{name: "quota failure, persisting", d: deployment(1, 1, 2, 0, 0, 0, appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "exceeded quota", LastTransitionTime: ago(10 * time.Second)}), v: view(), state: StateFailed, reason: "FailedCreate"},
		{name: "pod diagnosis while rolling out", d: deployment(1, 1, 1, 1, 0, 1), v: view(pod("web-1", waiting("ErrImagePull", "manifest unknown", 0))), state: StateFailed, reason: "ErrImagePull"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Deployment(tt.d, nil, tt.v)
			if got.State != tt.state {
				t.Fatalf("state = %s (%+v), want %s", got.State, got, tt.state)
			}
			if tt.reason != "" && (got.Failure == nil || got.Failure.Reason != tt.reason) {
				t.Fatalf("failure = %+v, want reason %s", got.Failure, tt.reason)
			}
			if !strings.Contains(got.Detail, tt.detail) {
				t.Fatalf("detail %q lacks %q", got.Detail, tt.detail)
			}
		})
	}
}

// TestRestartsCountForTheWholeWorkload follows nelm: werf.io/failures-allowed-per-replica
// times the replicas is what all the pods may restart in all.
func TestRestartsCountForTheWholeWorkload(t *testing.T) {
	crashed := func(name string, restarts int32) *corev1.Pod {
		return pod(name, func(p *corev1.Pod) {
			p.UID = types.UID("uid-" + name)
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: restarts,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
		})
	}
	tests := []struct {
		name     string
		replicas int32
		perPod   int
		pods     []*corev1.Pod
		failPod  string
	}{
		{name: "two restarts of one pod among 3 replicas are within 1 per replica", replicas: 3, perPod: 1, pods: []*corev1.Pod{crashed("a", 2), crashed("b", 0), crashed("c", 0)}},
		{name: "four restarts in all exceed 3", replicas: 3, perPod: 1, pods: []*corev1.Pod{crashed("a", 2), crashed("b", 1), crashed("c", 1)}, failPod: "a"},
		{name: "one replica, two restarts", replicas: 1, perPod: 1, pods: []*corev1.Pod{crashed("a", 2)}, failPod: "a"},
		{name: "none allowed", replicas: 2, perPod: 0, pods: []*corev1.Pod{crashed("a", 0), crashed("b", 1)}, failPod: "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := view(tt.pods...)
			v.Policy.FailuresAllowedPerReplica = tt.perPod
			f, _ := v.WithAllowedRestarts(tt.replicas).diagnose()
			if tt.failPod == "" {
				if f != nil {
					t.Fatalf("unexpected failure %+v", f)
				}
				return
			}
			if f == nil || f.Pod != tt.failPod || f.Reason != "CrashLoopBackOff" {
				t.Fatalf("failure %+v, want pod %s crash-looping", f, tt.failPod)
			}
		})
	}
}

func TestPodClassifier(t *testing.T) {
	unschedulable := func(since time.Duration) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available", LastTransitionTime: ago(since)}}
		}
	}
	crashed := func(restarts int32) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: restarts,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}
		}
	}
	strict := view()
	strict.Policy.FailuresAllowedPerReplica = 0
	strict = strict.WithAllowedRestarts(1)
	young := func(p *corev1.Pod) { p.CreationTimestamp = ago(time.Second) }
	tests := []struct {
		name   string
		pod    *corev1.Pod
		v      Pods
		reason string // "" means no failure
		msg    string
	}{
		{name: "terminal pull error", pod: pod("p", waiting("ErrImagePull", "pull access denied", 0)), v: view(), reason: "ErrImagePull"},
		{name: "transient pull error within grace", pod: pod("p", func(p *corev1.Pod) { waiting("ImagePullBackOff", "i/o timeout", 0)(p); young(p) }), v: view()},
		{name: "transient pull error after grace", pod: pod("p", func(p *corev1.Pod) {
			waiting("ImagePullBackOff", "i/o timeout", 0)(p)
			p.CreationTimestamp = ago(3 * time.Minute)
		}), v: view(), reason: "ImagePullBackOff", msg: "still failing"},
		{name: "invalid image name", pod: pod("p", waiting("InvalidImageName", "bad", 0)), v: view(), reason: "InvalidImageName"},
		{name: "unschedulable within grace", pod: pod("p", unschedulable(time.Second)), v: view()},
		{name: "unschedulable after grace", pod: pod("p", unschedulable(10*time.Second)), v: view(), reason: "Unschedulable", msg: "0/3 nodes"},
		{name: "one crash is allowed by default", pod: pod("p", crashed(1)), v: view()},
		{name: "second crash fails", pod: pod("p", crashed(2)), v: view(), reason: "CrashLoopBackOff", msg: "exit code 137 (OOMKilled)"},
		{name: "no crash allowed", pod: pod("p", crashed(1)), v: strict, reason: "CrashLoopBackOff"},
		{name: "config error within grace", pod: pod("p", func(p *corev1.Pod) { waiting("CreateContainerConfigError", "missing key", 0)(p); young(p) }), v: view()},
		{name: "config error after grace", pod: pod("p", waiting("CreateContainerConfigError", "couldn't find key x", 0)), v: view(), reason: "CreateContainerConfigError", msg: "couldn't find key x"},
		{name: "readiness probe failing is never a failure", pod: pod("p", func(p *corev1.Pod) {
			p.CreationTimestamp = ago(time.Hour)
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		}), v: view()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.v.Pods = []*corev1.Pod{tt.pod}
			f, _ := tt.v.diagnose()
			if tt.reason == "" {
				if f != nil {
					t.Fatalf("unexpected failure %+v", f)
				}
				return
			}
			if f == nil || f.Reason != tt.reason || !strings.Contains(f.Message, tt.msg) {
				t.Fatalf("failure = %+v, want reason %s with %q", f, tt.reason, tt.msg)
			}
			if f.Pod != "p" {
				t.Fatalf("failure does not name the pod: %+v", f)
			}
		})
	}
}

func TestEvalJob(t *testing.T) {
	job := func(conds ...batchv1.JobCondition) *batchv1.Job {
		return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate"}, Status: batchv1.JobStatus{Conditions: conds}}
	}
	if s := Job(job(batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}), view()); s.State != StateReady {
		t.Fatalf("complete job: %+v", s)
	}
	failedPod := pod("migrate-x", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}}}}
	})
	s := Job(job(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"}), view(failedPod))
	if s.State != StateFailed || s.Failure.Pod != "migrate-x" || s.Failure.Container != "job" || !strings.Contains(s.Failure.Message, "exited with code 2") {
		t.Fatalf("failed job: %+v", s.Failure)
	}
}

// TestJobFailureAllowance: nelm allows a Job 0 failures, whatever
// werf.io/failures-allowed-per-replica says (pkg/resource/metadata.go, failuresAllowed).
func TestJobFailureAllowance(t *testing.T) {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "migrate"}, Status: batchv1.JobStatus{Active: 1}}
	restarted := func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", RestartCount: 1, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	}
	failedNever := func(p *corev1.Pod) {
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	}
	running := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	}
	for _, tt := range []struct {
		name    string
		allowed int
		pods    []*corev1.Pod
		state   State
	}{
		{"running, no failure", 1, []*corev1.Pod{pod("migrate-a", running)}, StateProgressing},
		{"one restart fails it", 1, []*corev1.Pod{pod("migrate-a", restarted)}, StateFailed},
		{"crash loop fails it", 1, []*corev1.Pod{pod("migrate-a", crashedTwice)}, StateFailed},
		{"the annotation does not lift it", 5, []*corev1.Pod{pod("migrate-a", crashedTwice)}, StateFailed},
		{"a failed pod under restartPolicy Never is retried", 1, []*corev1.Pod{pod("migrate-a", failedNever), pod("migrate-b", running)}, StateProgressing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := view(tt.pods...)
			v.Policy.FailuresAllowedPerReplica = tt.allowed
			if s := Job(job, v.WithAllowedRestarts(1)); s.State != tt.state {
				t.Fatalf("Job = %+v, want %s", s, tt.state)
			}
		})
	}
}

func crashedTwice(p *corev1.Pod) {
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", RestartCount: 2, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
}

func TestEvalGeneric(t *testing.T) {
	obj := func(status map[string]any, gen int64) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w", "generation": gen}}}
		if status != nil {
			u.Object["status"] = status
		}
		return u
	}
	cond := func(t, s string) map[string]any {
		return map[string]any{"conditions": []any{map[string]any{"type": t, "status": s, "reason": "R", "message": "m"}}}
	}
	tests := []struct {
		name  string
		u     *unstructured.Unstructured
		state State
	}{
		{"no status is present", obj(nil, 1), StateReady},
		{"ready condition, any case", obj(cond("READY", "True"), 1), StateReady},
		{"ready false", obj(cond("Ready", "False"), 1), StateProgressing},
		{"stalled", obj(cond("Stalled", "True"), 1), StateFailed},
		{"stale generation", obj(map[string]any{"observedGeneration": int64(1), "phase": "Running"}, 2), StateProgressing},
		{"phase running", obj(map[string]any{"phase": "Running"}, 1), StateReady},
		{"phase failed", obj(map[string]any{"phase": "Failed", "message": "boom"}, 1), StateFailed},
		{"phase pending", obj(map[string]any{"phase": "Pending"}, 1), StateProgressing},
		{"status without a signal", obj(map[string]any{"foo": "bar"}, 1), StateReadyWithWarnings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := evalGeneric(tt.u); got.State != tt.state {
				t.Fatalf("evalGeneric = %+v, want %s", got, tt.state)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(map[string]string{
		lifecycle.AnnotationFailMode: "IgnoreAndContinueDeployProcess", lifecycle.AnnotationTrackTerminationMode: "NonBlocking",
		lifecycle.AnnotationFailuresAllowed: "0", lifecycle.AnnotationLogRegex: "^ok", lifecycle.AnnotationLogRegexForPrefix + "sidecar": "^side",
		lifecycle.AnnotationLogRegexSkip: "health", lifecycle.AnnotationSkipLogsForContainers: "a, b", lifecycle.AnnotationShowLogsForReplicas: "2",
		lifecycle.AnnotationLogRegexSkipForPrefix + "sidecar": "debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.FailMode != FailModeIgnoreAndContinueDeployProcess || p.Termination != TerminationModeNonBlocking || p.FailuresAllowedPerReplica != 0 || p.LogReplicas != 2 {
		t.Fatalf("policy = %+v", p)
	}
	for line, keep := range map[string]bool{"ok go": true, "nope": false, "ok healthcheck": false} {
		if p.KeepLine("app", line) != keep {
			t.Fatalf("KeepLine(app, %q) != %v", line, keep)
		}
	}
	if !p.KeepLine("sidecar", "side line") || p.KeepLine("sidecar", "ok") {
		t.Fatal("per-container regex not applied")
	}
	// The sidecar's own skip regex replaces the general one.
	if p.KeepLine("sidecar", "side debug") || !p.KeepLine("sidecar", "side health") {
		t.Fatal("log-regex-skip-for-sidecar not applied")
	}
	if p.ShowLogsOf("a") || !p.ShowLogsOf("c") {
		t.Fatal("skip-logs-for-containers not applied")
	}
	for key, value := range map[string]string{
		lifecycle.AnnotationFailMode: "Sometimes", lifecycle.AnnotationTrackTerminationMode: "Never", lifecycle.AnnotationFailuresAllowed: "-1",
		lifecycle.AnnotationNoActivityTimeout: "soon", lifecycle.AnnotationLogRegex: "(", lifecycle.AnnotationSkipLogs: "maybe",
		lifecycle.AnnotationIgnoreProbeFailsPrefix + "app": "x", lifecycle.AnnotationShowServiceMessages: "yes please",
	} {
		if _, err := ParsePolicy(map[string]string{key: value}); err == nil || !strings.Contains(err.Error(), key) {
			t.Fatalf("ParsePolicy(%s=%q) error %v does not name the annotation", key, value, err)
		}
	}
}

func TestEvalServiceAndPVC(t *testing.T) {
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIP: "10.0.0.1"}}
	if s := Service(lb); s.State != StateReadyWithWarnings {
		t.Fatalf("LoadBalancer without address: %+v", s)
	}
	if s := Service(&corev1.Service{}); s.State != StateProgressing {
		t.Fatalf("service without cluster IP: %+v", s)
	}
	pending := &corev1.PersistentVolumeClaim{Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	if s := PVC(pending, true); s.State != StateReadyWithWarnings {
		t.Fatalf("WaitForFirstConsumer PVC must not hang: %+v", s)
	}
	if s := PVC(pending, false); s.State != StateProgressing {
		t.Fatalf("pending PVC: %+v", s)
	}
}

func TestEvalStatefulSetAndDaemonSet(t *testing.T) {
	three, one := int32(3), int32(1)
	sts := func(strategy appsv1.StatefulSetUpdateStrategy, ready, updated int32, current, update string) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 2},
			Spec:       appsv1.StatefulSetSpec{Replicas: &three, UpdateStrategy: strategy},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 3, ReadyReplicas: ready, UpdatedReplicas: updated,
				CurrentRevision: current, UpdateRevision: update},
		}
	}
	rolling := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType}
	partitioned := appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType, RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: &one}}
	onDelete := appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	tests := []struct {
		name  string
		s     *appsv1.StatefulSet
		state State
	}{
		{"rolling, in progress", sts(rolling, 3, 1, "a", "b"), StateProgressing},
		{"rolling, done", sts(rolling, 3, 3, "b", "b"), StateReady},
		{"partition 1: two updated is done", sts(partitioned, 3, 2, "a", "b"), StateReady},
		{"partition 1: one updated is not", sts(partitioned, 3, 1, "a", "b"), StateProgressing},
		{"OnDelete with old pods is ready, with a warning", sts(onDelete, 3, 0, "a", "b"), StateReadyWithWarnings},
		{"not all ready", sts(rolling, 2, 3, "b", "b"), StateProgressing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StatefulSet(tt.s, view()); got.State != tt.state {
				t.Fatalf("StatefulSet = %+v, want %s", got, tt.state)
			}
		})
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Generation: 1}, Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 4, UpdatedNumberScheduled: 4, NumberAvailable: 3, NumberReady: 3}}
	if got := DaemonSet(ds, view()); got.State != StateProgressing || !strings.Contains(got.Detail, "available 3/4") {
		t.Fatalf("daemonset 3/4: %+v", got)
	}
	ds.Status.NumberAvailable, ds.Status.NumberReady = 4, 4
	if got := DaemonSet(ds, view()); got.State != StateReady {
		t.Fatalf("daemonset 4/4: %+v", got)
	}
	ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1}
	if got := DaemonSet(ds, view()); got.State != StateReadyWithWarnings {
		t.Fatalf("daemonset on no node must not hang: %+v", got)
	}
}

func TestBuiltinCustomResourceRules(t *testing.T) {
	obj := func(apiVersion, kind string, status map[string]any) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind, "metadata": map[string]any{"name": "x"}, "status": status}}
	}
	conds := func(t, s, reason string) map[string]any {
		return map[string]any{"conditions": []any{map[string]any{"type": t, "status": s, "reason": reason, "message": "m"}}}
	}
	tests := []struct {
		name  string
		u     *unstructured.Unstructured
		state State
	}{
		{"sealed secret synced", obj("bitnami.com/v1alpha1", "SealedSecret", conds("Synced", "True", "")), StateReady},
		{"sealed secret not synced", obj("bitnami.com/v1alpha1", "SealedSecret", conds("Synced", "False", "ErrUnsealFailed")), StateFailed},
		{"paused rollout", obj("argoproj.io/v1alpha1", "Rollout", map[string]any{"phase": "Paused"}), StateReadyWithWarnings},
		{"degraded rollout", obj("argoproj.io/v1alpha1", "Rollout", map[string]any{"phase": "Degraded"}), StateFailed},
		{"healthy rollout falls back to phase", obj("argoproj.io/v1alpha1", "Rollout", map[string]any{"phase": "Healthy"}), StateReady},
		{"certificate issuing failed", obj("cert-manager.io/v1", "Certificate", conds("Issuing", "False", "Failed")), StateFailed},
		{"certificate ready", obj("cert-manager.io/v1", "Certificate", conds("Ready", "True", "Ready")), StateReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Custom(tt.u); got.State != tt.state {
				t.Fatalf("Custom = %+v, want %s", got, tt.state)
			}
		})
	}
}

// TestReadinessProbeFailuresCount follows kubedog (pod/probes.go, event/informer.go): a
// "Readiness probe failed" event after the probe's grace window counts as a failure against
// werf.io/failures-allowed-per-replica times the replicas.
func TestReadinessProbeFailuresCount(t *testing.T) {
	started := now.Add(-time.Hour)
	neverReady := func(p *corev1.Pod) {
		p.UID = "uid-web"
		p.Spec.Containers = []corev1.Container{{Name: "app", ReadinessProbe: &corev1.Probe{PeriodSeconds: 10, TimeoutSeconds: 1, FailureThreshold: 3, SuccessThreshold: 1}}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(started)}}}}
	}
	unhealthy := func(after time.Duration, count int32) *corev1.Event {
		at := metav1.NewTime(started.Add(after))
		return &corev1.Event{Reason: "Unhealthy", Type: corev1.EventTypeWarning, Message: "Readiness probe failed: dial tcp 10.0.0.1:8080: connect: connection refused",
			InvolvedObject: corev1.ObjectReference{FieldPath: "spec.containers{app}"}, FirstTimestamp: at, LastTimestamp: at, Count: count}
	}
	tests := []struct {
		name     string
		perPod   int
		ignore   time.Duration
		events   []*corev1.Event
		wantFail bool
	}{
		{name: "none allowed, failures after the grace", perPod: 0, events: []*corev1.Event{unhealthy(time.Minute, 3)}, wantFail: true},
		{name: "one allowed, one failure", perPod: 1, events: []*corev1.Event{unhealthy(time.Minute, 1)}},
		{name: "one allowed, three failures", perPod: 1, events: []*corev1.Event{unhealthy(time.Minute, 3)}, wantFail: true},
		// Grace of this probe: 1 + (3+1-3)*10 + 5 + 1 = 17 s after the start.
		{name: "failures within the grace do not count", perPod: 0, events: []*corev1.Event{unhealthy(10*time.Second, 1)}},
		{name: "the annotation replaces the grace", perPod: 0, ignore: 2 * time.Hour, events: []*corev1.Event{unhealthy(time.Minute, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := view(pod("web", neverReady))
			v.Policy.FailuresAllowedPerReplica = tt.perPod
			if tt.ignore > 0 {
				v.Policy.IgnoreProbeFailsFor = map[string]time.Duration{"app": tt.ignore}
			}
			v.EventsOf = func(uid string) []*corev1.Event {
				if uid == "uid-web" {
					return tt.events
				}
				return nil
			}
			f, _ := v.WithAllowedRestarts(1).diagnose()
			if !tt.wantFail {
				if f != nil {
					t.Fatalf("unexpected failure %+v", f)
				}
				return
			}
			if f == nil || f.Reason != "ReadinessProbeFailed" || f.Container != "app" || !strings.Contains(f.Message, "connection refused") {
				t.Fatalf("failure %+v, want ReadinessProbeFailed of container app with the probe's message", f)
			}
		})
	}
}

// TestFailureAllowanceByKind: the restarts a workload's pods may have in all, as nelm allows
// them (pkg/resource/metadata.go, failuresAllowed); a Job's is in TestJobFailureAllowance.
func TestFailureAllowanceByKind(t *testing.T) {
	annotated := map[string]string{lifecycle.AnnotationFailuresAllowed: "2"}
	for _, tt := range []struct {
		name        string
		annotations map[string]string
		allowance   func(Pods) Pods
		want        int
	}{
		{"deployment, 3 replicas", nil, func(v Pods) Pods { return v.WithAllowedRestarts(3) }, 3},
		{"deployment, 3 replicas, annotated 2", annotated, func(v Pods) Pods { return v.WithAllowedRestarts(3) }, 6},
		{"deployment annotated 0", map[string]string{lifecycle.AnnotationFailuresAllowed: "0"}, func(v Pods) Pods { return v.WithAllowedRestarts(3) }, 0},
		{"replicaset, 3 replicas", nil, func(v Pods) Pods { return v.WithAnnotatedAllowance(3, corev1.RestartPolicyAlways) }, 0},
		{"replicaset, 3 replicas, annotated 2", annotated, func(v Pods) Pods { return v.WithAnnotatedAllowance(3, corev1.RestartPolicyAlways) }, 6},
		{"pod", nil, func(v Pods) Pods { return v.WithAnnotatedAllowance(1, corev1.RestartPolicyOnFailure) }, 0},
		{"pod annotated 2", annotated, func(v Pods) Pods { return v.WithAnnotatedAllowance(1, corev1.RestartPolicyAlways) }, 2},
		{"pod annotated 2, restartPolicy Never", annotated, func(v Pods) Pods { return v.WithAnnotatedAllowance(1, corev1.RestartPolicyNever) }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.annotations)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.allowance(Pods{Policy: p}).allowedRestarts; got != tt.want {
				t.Fatalf("allowance %d, want %d", got, tt.want)
			}
		})
	}
}
