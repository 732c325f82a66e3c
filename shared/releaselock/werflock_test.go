package releaselock

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-converge/converge/shared/event"
	"github.com/kubectl-converge/converge/shared/exitcode"
)

// The key werf's library uses for release "app": sha3-224("release/app"), computed outside Go
// (python3 hashlib.sha3_224).
const werfKeyOfApp = "lockgate.io/ea52bc36ac2b3f6517f2be8b874ec59a5f98cdc2ce97391ef4824d79"

func werfLockConfigMap(record string) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: WerfConfigMap, Namespace: "ns"}}
	if record != "" {
		cm.Annotations = map[string]string{werfKeyOfApp: record}
	}
	return cm
}

func werfRecord(uuid string, expires time.Time) string {
	return `{"uuid":"` + uuid + `","lockName":"release/app","ExpireAtTimestamp":` + jsonInt(expires.Unix()) + `,"SharedHoldersCount":1,"IsShared":false}`
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestWerfLockAnnotation(t *testing.T) {
	if got := WerfLockAnnotation(WerfLockName("app")); got != werfKeyOfApp {
		t.Fatalf("annotation %q, want %q", got, werfKeyOfApp)
	}
}

func TestAcquireWerfLock(t *testing.T) {
	tests := []struct {
		name     string
		existing *corev1.ConfigMap
		wantErr  string
		wantWait bool
	}{
		{name: "no ConfigMap: created as nelm does, lease written"},
		{name: "ConfigMap without a lease"},
		{name: "expired werf lease is taken over", existing: werfLockConfigMap(werfRecord("f00d", time.Now().Add(-time.Second)))},
		{name: "unreadable record is taken over", existing: werfLockConfigMap("{not json")},
		{name: "live werf lease makes the run wait, then give up", existing: werfLockConfigMap(werfRecord("f00d", time.Now().Add(time.Hour))),
			wantErr: `release "app" is locked by werf or nelm (werf lease f00d in configmap "werf-synchronization", namespace "ns"): gave up waiting`, wantWait: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if tt.existing != nil {
				if _, err := kube.CoreV1().ConfigMaps("ns").Create(context.Background(), tt.existing, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			} else if tt.name == "ConfigMap without a lease" {
				if _, err := kube.CoreV1().ConfigMaps("ns").Create(context.Background(), werfLockConfigMap(""), metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var said []string
			sink := func(e event.Event) { said = append(said, e.Line) }
			before := time.Now()
			lock, _, err := Acquire(context.Background(), kube, "ns", "app", Options{Wait: 1500 * time.Millisecond, Operation: "converge"}, sink)
			waited := strings.Contains(strings.Join(said, "\n"), "locked by werf or nelm (werf lease f00d")
			if waited != tt.wantWait {
				t.Fatalf("said it waits for werf: %v, want %v: %q", waited, tt.wantWait, said)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.CodeTimeout {
					t.Fatalf("error %v (code %d), want %q with the timeout code", err, exitcode.Of(err), tt.wantErr)
				}
				// Giving up on the werf lock gives the converge lease back.
				if _, gerr := kube.CoordinationV1().Leases("ns").Get(context.Background(), LeaseName("app"), metav1.GetOptions{}); !apierrors.IsNotFound(gerr) {
					t.Fatalf("the converge lease is still there after giving up: %v", gerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			record := readWerfRecord(t, kube)
			if record["lockName"] != "release/app" || record["SharedHoldersCount"] != float64(1) || record["IsShared"] != false || record["uuid"] == "f00d" || record["uuid"] == "" {
				t.Fatalf("lease record %v is not lockgate's record of a new exclusive lease", record)
			}
			// The expiry is a TTL after the lease was written or last renewed, in whole
			// seconds; measured from the clock around the run, never from how long it took.
			expiry := time.Unix(int64(record["ExpireAtTimestamp"].(float64)), 0)
			if earliest, latest := before.Add(werfLeaseTTL).Add(-time.Second), time.Now().Add(werfLeaseTTL); expiry.Before(earliest) || expiry.After(latest) {
				t.Fatalf("lease expires at %s, want lockgate's TTL %s after it was written (between %s and %s)", expiry, werfLeaseTTL, earliest, latest)
			}
			lock.Release()
			cm, err := kube.CoreV1().ConfigMaps("ns").Get(context.Background(), WerfConfigMap, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cm.Annotations[werfKeyOfApp]; ok {
				t.Fatalf("the werf lease is still there after release: %v", cm.Annotations)
			}
		})
	}
}

func readWerfRecord(t *testing.T, kube *fake.Clientset) map[string]any {
	t.Helper()
	cm, err := kube.CoreV1().ConfigMaps("ns").Get(context.Background(), WerfConfigMap, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var record map[string]any
	if err := json.Unmarshal([]byte(cm.Annotations[werfKeyOfApp]), &record); err != nil {
		t.Fatalf("annotation %s: %v (annotations %v)", werfKeyOfApp, err, cm.Annotations)
	}
	return record
}

// TestWerfLeaseRenewAndLoss: renewal moves the expiry and keeps fields of newer lockgate
// versions; a lease another run took over is reported lost, and its record left alone.
func TestWerfLeaseRenewAndLoss(t *testing.T) {
	kube := fake.NewClientset()
	w := newWerfLock(kube, "ns", "app")
	clock := time.Now()
	w.now = func() time.Time { return clock }
	if held, _, err := w.tryAcquire(context.Background()); err != nil || !held {
		t.Fatalf("held %v, err %v", held, err)
	}
	cm, _ := kube.CoreV1().ConfigMaps("ns").Get(context.Background(), WerfConfigMap, metav1.GetOptions{})
	var record map[string]any
	_ = json.Unmarshal([]byte(cm.Annotations[werfKeyOfApp]), &record)
	record["QueueMembers"] = map[string]any{"other": map[string]any{"AcquirerId": "other"}}
	data, _ := json.Marshal(record)
	cm.Annotations[werfKeyOfApp] = string(data)
	if _, err := kube.CoreV1().ConfigMaps("ns").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	clock = clock.Add(5 * time.Second)
	if err := w.renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	renewed := readWerfRecord(t, kube)
	if got, want := int64(renewed["ExpireAtTimestamp"].(float64)), clock.Add(werfLeaseTTL).Unix(); got != want {
		t.Fatalf("expiry after renewal %d, want %d", got, want)
	}
	if renewed["QueueMembers"] == nil {
		t.Fatalf("renewal dropped the queue of a newer lockgate: %v", renewed)
	}

	cm, _ = kube.CoreV1().ConfigMaps("ns").Get(context.Background(), WerfConfigMap, metav1.GetOptions{})
	cm.Annotations[werfKeyOfApp] = werfRecord("someone-else", clock.Add(time.Minute))
	if _, err := kube.CoreV1().ConfigMaps("ns").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.renew(context.Background()); !errors.Is(err, errWerfLeaseLost) {
		t.Fatalf("renewal of a taken-over lease: %v, want errWerfLeaseLost", err)
	}
	if err := w.release(context.Background()); !errors.Is(err, errWerfLeaseLost) {
		t.Fatalf("release of a taken-over lease: %v, want errWerfLeaseLost", err)
	}
	if got := readWerfRecord(t, kube)["uuid"]; got != "someone-else" {
		t.Fatalf("the other run's lease was changed: uuid %v", got)
	}
}

// TestWerfLockConflictIsRedone: an Update refused for a stale resourceVersion (somebody else
// changed another lock in the ConfigMap) is redone from a fresh read, as lockgate does.
func TestWerfLockConflictIsRedone(t *testing.T) {
	kube := fake.NewClientset(werfLockConfigMap(""))
	conflicts := 1
	kube.PrependReactor("update", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		if conflicts > 0 {
			conflicts--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "configmaps"}, WerfConfigMap, errors.New("the object has been modified"))
		}
		return false, nil, nil
	})
	w := newWerfLock(kube, "ns", "app")
	if held, _, err := w.tryAcquire(context.Background()); err != nil || !held {
		t.Fatalf("held %v, err %v", held, err)
	}
	if conflicts != 0 || readWerfRecord(t, kube)["uuid"] != w.uuid {
		t.Fatalf("the conflicting update was not redone")
	}
}

// TestWerfLockForbiddenIsSaid: a deployer who may not use the werf-synchronization ConfigMap
// still deploys under the converge lease, and is told that werf is not locked out.
func TestWerfLockForbiddenIsSaid(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("*", "configmaps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, WerfConfigMap, errors.New("no"))
	})
	var said []string
	lock, _, err := Acquire(context.Background(), kube, "ns", "app", Options{Operation: "converge"}, func(e event.Event) {
		if e.Warning {
			said = append(said, e.Line)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	if len(said) != 1 || !strings.Contains(said[0], `werf and nelm runs on release "app" are not kept from running at the same time`) {
		t.Fatalf("warnings %q", said)
	}
}
