package helmsdk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"helm.sh/helm/v3/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/resource"
)

// Applier decides how a release's objects reach the cluster: in which order, what to wait
// for between them, what to delete. Helm still renders, checks ownership, stores the release
// record and runs the hooks; without an Applier Helm applies everything at once.
type Applier interface {
	// Apply makes target live. previous holds the objects of the revision being replaced
	// (empty on a first install); those missing from target leave the release.
	Apply(previous, target []*resource.Info, ops Ops) error
	// AwaitHook returns once the hook objects Helm just created are complete (or failed).
	AwaitHook(objects []*resource.Info) error
	// Delete deletes the objects Helm deletes on its own (hooks, by their delete policy),
	// each with its werf.io/delete-propagation.
	Delete(objects []*resource.Info, ops Ops) error
	// AwaitGone returns once the objects, deleted or still being deleted, are gone,
	// reporting their progress; why says what waits for them.
	AwaitGone(objects []*resource.Info, why string) error
}

// ErrTerminating is an object that cannot be applied yet: its previous copy is still being
// deleted (deletionTimestamp set), and a patch would be refused or lost with it. Wait until
// it is gone, then apply it again: it is created anew.
var ErrTerminating = errors.New("its previous copy is still being deleted")

// Ops are the object operations an Applier builds on.
type Ops interface {
	// Apply creates target, or patches the live object with Helm's three-way merge against
	// previous (nil: the live object is the baseline). live is the object as the caller has
	// just read it; nil has it read here.
	Apply(previous, target *resource.Info, live *unstructured.Unstructured) error
	// Create creates target in one request; an AlreadyExists error when it exists.
	Create(target *resource.Info) error
	// Get returns the live object, nil when there is none.
	Get(info *resource.Info) (*unstructured.Unstructured, error)
	// Delete deletes the live object; a missing object is not an error.
	Delete(info *resource.Info, propagation metav1.DeletionPropagation) error
}

// helmOps applies objects the way Helm's upgrade does, one object per call, so that an
// Applier can order them and run them in parallel.
type helmOps struct {
	client   *kube.Client
	threeWay bool
	// install is a first install: objects are created straight away (one request), and
	// only one that exists already goes through the update path.
	install bool
	// keepManual leaves fields people set with kubectl alone, as Helm 3 does; otherwise the
	// patch removes those the chart does not have (see drift.ManualFields).
	keepManual bool
	// gone, when set, is told of each object Delete found missing.
	gone func(*resource.Info)
}

func (o helmOps) Apply(previous, target *resource.Info, live *unstructured.Unstructured) error {
	if o.install && previous == nil && live == nil {
		_, err := o.client.Create(kube.ResourceList{target})
		if err == nil || !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return o.update(previous, target, live)
}

func (o helmOps) Create(target *resource.Info) error {
	_, err := o.client.Create(kube.ResourceList{target})
	return err
}

// update is Helm 3's kube.Client.Update of one object (create when missing, else the patch
// against the old manifest, previous, or the live object when there is none) with at most one
// read of the live object where Helm makes three: none when the caller has read it.
func (o helmOps) update(previous, target *resource.Info, live *unstructured.Unstructured) error {
	helper := resource.NewHelper(target.Client, target.Mapping).WithFieldManager(fieldManager())
	kind := target.Mapping.GroupVersionKind.Kind
	if live == nil {
		var err error
		if live, err = o.Get(target); err != nil {
			return fmt.Errorf("could not get information about the resource: %w", err)
		}
	}
	if live == nil {
		obj, err := helper.Create(target.Namespace, true, target.Object)
		if err != nil {
			return fmt.Errorf("failed to create resource: %w", err)
		}
		return target.Refresh(obj, true)
	}
	if live.GetDeletionTimestamp() != nil {
		return fmt.Errorf("%s %q: %w", kind, target.Name, ErrTerminating)
	}
	patch, patchType, err := helmPatch(previous, target, live, patchOptions{threeWay: o.threeWay, keepManual: o.keepManual})
	if err != nil {
		return fmt.Errorf("failed to create patch: %w", err)
	}
	if len(patch) == 0 || string(patch) == "{}" {
		return target.Refresh(live, true)
	}
	obj, err := helper.Patch(target.Namespace, target.Name, patchType, patch, nil)
	if err != nil {
		return fmt.Errorf("cannot patch %q with kind %s: %w", target.Name, kind, err)
	}
	return target.Refresh(obj, true)
}

// fieldManager is the field manager Helm 3's client writes with: kube.ManagedFieldsManager,
// else the program's name.
func fieldManager() string {
	if kube.ManagedFieldsManager != "" {
		return kube.ManagedFieldsManager
	}
	if len(os.Args) > 0 {
		return filepath.Base(os.Args[0])
	}
	return "helm"
}

func (o helmOps) Get(info *resource.Info) (*unstructured.Unstructured, error) {
	obj, err := resource.NewHelper(info.Client, info.Mapping).Get(info.Namespace, info.Name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("%s %q: unexpected object type %T", info.Mapping.GroupVersionKind.Kind, info.Name, obj)
	}
	return u, nil
}

func (o helmOps) Delete(info *resource.Info, propagation metav1.DeletionPropagation) error {
	_, err := resource.NewHelper(info.Client, info.Mapping).DeleteWithOptions(info.Namespace, info.Name, &metav1.DeleteOptions{PropagationPolicy: &propagation})
	if apierrors.IsNotFound(err) {
		if o.gone != nil {
			o.gone(info)
		}
		return nil
	}
	return err
}

// AdoptionError is an object that exists in the cluster without belonging to the release.
type AdoptionError struct {
	Kind, Name, Namespace string
	Release, ReleaseNS    string
}

func (e *AdoptionError) Error() string {
	where := ""
	nsFlag := ""
	if e.Namespace != "" {
		where = fmt.Sprintf(" in namespace %q", e.Namespace)
		nsFlag = " -n " + e.Namespace
	}
	return fmt.Sprintf("%s %q%s already exists and does not belong to release %q: adopt it with "+
		"kubectl label%s %s/%s app.kubernetes.io/managed-by=Helm && kubectl annotate%s %s/%s meta.helm.sh/release-name=%s meta.helm.sh/release-namespace=%s, "+
		"or converge with --force-adoption",
		e.Kind, e.Name, where, e.Release, nsFlag, e.Kind, e.Name, nsFlag, e.Kind, e.Name, e.Release, e.ReleaseNS)
}

var conflictPattern = regexp.MustCompile(`(\S+) "([^"]+)" in namespace "([^"]*)" exists and cannot be imported into the current release`)

// adoptionError turns Helm's refusal to import an existing object into an error that names
// what makes the object ours; other errors pass unchanged.
func (c *Client) adoptionError(err error, release string) error {
	if err == nil {
		return nil
	}
	m := conflictPattern.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	return &AdoptionError{Kind: m[1], Name: m[2], Namespace: m[3], Release: release, ReleaseNS: c.namespace}
}
