package releaselock

import (
	"context"
	"crypto/sha3"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// werf and nelm serialize a release with lockgate's Kubernetes locker (github.com/werf/lockgate
// v0.1.1, pkg/distributed_locker, as pinned by nelm's go.mod): the lock "release/<name>" lives
// in the annotation lockgate.io/<sha3-224 of the lock name> of the ConfigMap
// werf-synchronization in the release namespace (nelm pkg/common LockConfigMapName and
// pkg/lock/lock_manager.go). The annotation holds a JSON lease whose holder renews
// ExpireAtTimestamp (Unix seconds, holder's clock) every few seconds; anyone may take a lease
// whose expiry has passed; every change is an Update with the ConfigMap's resourceVersion, so
// a conflict means somebody else changed the locks and the step is redone. Converge takes this
// lock after its own Lease, so werf and converge runs on one release wait for each other.
const (
	WerfConfigMap = "werf-synchronization"
	// lockgate's DistributedLockLeaseTTLSeconds and DistributedLockLeaseRenewPeriodSeconds.
	werfLeaseTTL         = 10 * time.Second
	werfLeaseRenewPeriod = 3 * time.Second
)

// WerfLockName is the lockgate lock werf and nelm take for a release.
func WerfLockName(release string) string { return "release/" + release }

// WerfLockAnnotation is the annotation of the werf-synchronization ConfigMap that holds the
// lock's lease (lockgate's keyName: sha3-224 of the lock name, lowercase hex).
func WerfLockAnnotation(lockName string) string {
	return fmt.Sprintf("lockgate.io/%x", sha3.Sum224([]byte(lockName)))
}

// werfLease is lockgate's LockLeaseRecord as JSON: the embedded LockHandle's tagged fields,
// the rest by their Go names. Fields of newer lockgate versions (QueueMembers) are kept as
// read, so a renewal does not drop them.
type werfLease struct {
	UUID               string          `json:"uuid"`
	LockName           string          `json:"lockName"`
	ExpireAtTimestamp  int64           `json:"ExpireAtTimestamp"`
	SharedHoldersCount int64           `json:"SharedHoldersCount"`
	IsShared           bool            `json:"IsShared"`
	QueueMembers       json.RawMessage `json:"QueueMembers,omitempty"`
}

// errWerfLockForbidden says the deployer may not read or change the werf-synchronization
// ConfigMap: werf cannot be locked out, which is said, not hidden.
var errWerfLockForbidden = errors.New("werf lock forbidden")

// werfLock is the held lockgate lease of one release.
type werfLock struct {
	configMaps func() corev1client.ConfigMapInterface
	namespace  string
	lockName   string
	key        string
	uuid       string
	now        func() time.Time

	mu   sync.Mutex
	lost bool
}

func newWerfLock(kube kubernetes.Interface, namespace, release string) *werfLock {
	name := WerfLockName(release)
	return &werfLock{
		configMaps: func() corev1client.ConfigMapInterface { return kube.CoreV1().ConfigMaps(namespace) },
		namespace:  namespace,
		lockName:   name,
		key:        WerfLockAnnotation(name),
		now:        time.Now,
	}
}

// tryAcquire takes the lease when there is none or it expired; otherwise it reports the
// holder's lease UUID as the one to wait for.
func (w *werfLock) tryAcquire(ctx context.Context) (held bool, holder string, err error) {
	for {
		cm, err := w.configMap(ctx)
		if err != nil {
			return false, "", err
		}
		if current, ok := w.lease(cm); ok && !w.now().After(time.Unix(current.ExpireAtTimestamp, 0)) {
			return false, "werf lease " + current.UUID, nil
		}
		lease := werfLease{UUID: uuid.NewString(), LockName: w.lockName, ExpireAtTimestamp: w.now().Add(werfLeaseTTL).Unix(), SharedHoldersCount: 1}
		err = w.put(ctx, cm, &lease)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return false, "", err
		}
		w.uuid = lease.UUID
		return true, "", nil
	}
}

// configMap reads the lock ConfigMap, creating it empty as nelm does when it is missing.
func (w *werfLock) configMap(ctx context.Context) (*corev1.ConfigMap, error) {
	cm, err := w.configMaps().Get(ctx, WerfConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		cm, err = w.configMaps().Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: WerfConfigMap, Namespace: w.namespace}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			cm, err = w.configMaps().Get(ctx, WerfConfigMap, metav1.GetOptions{})
		}
	}
	if apierrors.IsForbidden(err) {
		return nil, fmt.Errorf("%w: %s", errWerfLockForbidden, apierrors.ReasonForError(err))
	}
	return cm, err
}

// lease reads the lease in the ConfigMap; an unreadable record counts as none, as a record
// lockgate could not parse would stop werf too, and taking it over is the only way forward.
func (w *werfLock) lease(cm *corev1.ConfigMap) (werfLease, bool) {
	data := cm.Annotations[w.key]
	if data == "" {
		return werfLease{}, false
	}
	var lease werfLease
	if json.Unmarshal([]byte(data), &lease) != nil {
		return werfLease{}, false
	}
	return lease, true
}

// put stores the lease (nil removes it) with the ConfigMap's resourceVersion as precondition.
func (w *werfLock) put(ctx context.Context, cm *corev1.ConfigMap, lease *werfLease) error {
	cm = cm.DeepCopy()
	if lease == nil {
		delete(cm.Annotations, w.key)
	} else {
		data, err := json.Marshal(lease)
		if err != nil {
			return err
		}
		if cm.Annotations == nil {
			cm.Annotations = map[string]string{}
		}
		cm.Annotations[w.key] = string(data)
	}
	_, err := w.configMaps().Update(ctx, cm, metav1.UpdateOptions{})
	return err
}

// change applies fn to the lease this run holds; errWerfLeaseLost when it is gone or another
// run's.
func (w *werfLock) change(ctx context.Context, fn func(*werfLease) *werfLease) error {
	for {
		cm, err := w.configMaps().Get(ctx, WerfConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return errWerfLeaseLost
		}
		if err != nil {
			return err
		}
		current, ok := w.lease(cm)
		if !ok || current.UUID != w.uuid {
			return errWerfLeaseLost
		}
		err = w.put(ctx, cm, fn(&current))
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

var errWerfLeaseLost = errors.New("the werf lease was taken over")

// renew extends the lease as lockgate's lease renew worker does.
func (w *werfLock) renew(ctx context.Context) error {
	return w.change(ctx, func(l *werfLease) *werfLease {
		l.ExpireAtTimestamp = w.now().Add(werfLeaseTTL).Unix()
		return l
	})
}

// release gives the lease up: lockgate drops the record when its last holder leaves.
func (w *werfLock) release(ctx context.Context) error {
	return w.change(ctx, func(l *werfLease) *werfLease {
		l.SharedHoldersCount--
		if l.SharedHoldersCount > 0 {
			return l
		}
		return nil
	})
}
