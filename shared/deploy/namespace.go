package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"github.com/kubectl-converge/converge/shared/releaselock"
	"github.com/kubectl-converge/converge/shared/track"
)

// namespaceDeletion is what dismiss --with-namespace decided under the release lock: the
// namespace to wait for (its deletion was sent), or nothing.
type namespaceDeletion struct {
	name string
}

// deleteNamespaceIfAlone deletes the release namespace after its release was uninstalled,
// and must run under the release lock, so that no other run of the release starts between
// the check and the deletion. Unless force, the namespace stays (saying why in one line)
// when converge did not create it for this release, when it holds another release's records,
// or when it holds any object the release does not own (one created with kubectl, another
// tool's); what every namespace has (its default ServiceAccount, kube-root-ca.crt), events,
// objects another object controls (their owner is judged instead), objects being deleted and
// the release's own lock are not counted.
func deleteNamespaceIfAlone(ctx context.Context, clients track.Clients, namespace, release string, force bool, sink track.Sink) (*namespaceDeletion, error) {
	namespaces := clients.Kube.CoreV1().Namespaces()
	live, err := namespaces.Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read namespace %q: %w", namespace, err)
	}
	if !force {
		why := ""
		if owner := live.Annotations[AnnotationCreatedForRelease]; owner != release {
			why = fmt.Sprintf("was not created by converge for release %q", release)
		} else if why, err = namespaceHoldsOthers(ctx, clients, namespace, release); err != nil {
			return nil, err
		}
		if why != "" {
			sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "namespace", Warning: true,
				Line: fmt.Sprintf("namespace %q %s: left in place (--force-namespace deletes it anyway)", namespace, why)})
			return nil, nil
		}
	}
	err = namespaces.Delete(ctx, namespace, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &live.UID}})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("delete namespace %q: %w", namespace, err)
	}
	sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "namespace", Line: fmt.Sprintf("deleting namespace %q", namespace)})
	return &namespaceDeletion{name: namespace}, nil
}

// await waits until the namespace is gone (after the release lock was given up: the
// namespace's deletion takes the lock's Lease with it).
func (d *namespaceDeletion) await(ctx context.Context, clients track.Clients, sink track.Sink) error {
	if d == nil {
		return nil
	}
	err := wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := clients.Kube.CoreV1().Namespaces().Get(ctx, d.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
	if err != nil {
		return exitcode.DeployFailure(fmt.Errorf("wait for namespace %q to be deleted: %w", d.name, err))
	}
	sink(track.Event{Type: track.EventTypeStage, Time: time.Now(), Stage: "namespace", Line: fmt.Sprintf("namespace %q deleted", d.name)})
	return nil
}

// namespaceHoldsOthers says what in namespace belongs to someone other than release ("" when
// nothing does): another release's records first (they name it), then any other object.
func namespaceHoldsOthers(ctx context.Context, clients track.Clients, namespace, release string) (string, error) {
	other, err := otherRelease(ctx, clients, namespace, release)
	if err != nil || other != "" {
		return fmt.Sprintf("holds release %q too", other), err
	}
	resources, err := discovery.ServerPreferredNamespacedResources(clients.Kube.Discovery())
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return "", fmt.Errorf("list the kinds of objects in namespace %q: %w", namespace, err)
	}
	if err != nil {
		return fmt.Sprintf("may hold objects of API groups that do not answer (%v)", err), nil
	}
	for _, list := range resources {
		gv, err := schema.ParseGroupVersion(list.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "list") || !hasVerb(r.Verbs, "delete") || r.Kind == "Event" {
				continue
			}
			objects, err := clients.Dynamic.Resource(gv.WithResource(r.Name)).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if apierrors.IsForbidden(err) {
				return fmt.Sprintf("may hold %s this user cannot list", r.Name), nil
			}
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("list %s in namespace %q: %w", r.Name, namespace, err)
			}
			for _, o := range objects.Items {
				if foreign(r.Kind, o.GetName(), o.GetAnnotations(), len(o.GetOwnerReferences()) > 0, o.GetDeletionTimestamp() != nil, namespace, release) {
					return fmt.Sprintf("holds %s %q, which release %q does not own", strings.ToLower(r.Kind), o.GetName(), release), nil
				}
			}
		}
	}
	return "", nil
}

// foreign says whether an object in the release namespace belongs to someone other than the
// release being dismissed.
func foreign(kind, name string, annotations map[string]string, controlled, deleting bool, namespace, release string) bool {
	switch {
	case deleting, controlled:
		return false
	case annotations[lifecycle.AnnotationReleaseName] == release && annotations[lifecycle.AnnotationReleaseNamespace] == namespace:
		return false
	case kind == "ServiceAccount" && name == "default", kind == "ConfigMap" && name == "kube-root-ca.crt":
		return false
	case kind == "Secret" && annotations["kubernetes.io/service-account.name"] == "default":
		return false
	case kind == "Endpoints":
		// Kept by the endpoints controller for a Service (judged itself) without an owner.
		return false
	case kind == "Lease" && name == releaselock.LeaseName(release), kind == "ConfigMap" && name == releaselock.WerfConfigMap:
		// The lock this dismiss holds; werf's lock ConfigMap is shared by the releases of
		// the namespace, which are judged by their records.
		return false
	}
	return true
}

func hasVerb(verbs []string, verb string) bool {
	for _, v := range verbs {
		if v == verb {
			return true
		}
	}
	return false
}

// otherRelease returns the name of a Helm release other than name whose storage records
// (Secrets or ConfigMaps labelled owner=helm) live in ns, or "" when there is none.
func otherRelease(ctx context.Context, clients track.Clients, ns, name string) (string, error) {
	sel := metav1.ListOptions{LabelSelector: "owner=helm"}
	secrets, err := clients.Kube.CoreV1().Secrets(ns).List(ctx, sel)
	if err != nil {
		return "", fmt.Errorf("list release records in namespace %q: %w", ns, err)
	}
	cms, err := clients.Kube.CoreV1().ConfigMaps(ns).List(ctx, sel)
	if err != nil {
		return "", fmt.Errorf("list release records in namespace %q: %w", ns, err)
	}
	var records []metav1.ObjectMeta
	for _, s := range secrets.Items {
		records = append(records, s.ObjectMeta)
	}
	for _, c := range cms.Items {
		records = append(records, c.ObjectMeta)
	}
	for _, r := range records {
		if other := r.Labels["name"]; other != name {
			return other, nil
		}
	}
	return "", nil
}
