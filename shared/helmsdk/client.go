// Package helmsdk is the only place that calls the Helm SDK. Everything else works with the
// types declared here, so moving from helm.sh/helm/v3 to helm.sh/helm/v4 changes this package
// and nothing outside it.
package helmsdk

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/kube"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
)

// Transform rewrites a stream of YAML documents; it must be idempotent, because Helm passes
// some objects through it twice (as rendered, then when building them for the API server).
type Transform func([]byte) ([]byte, error)

// Config says which cluster, namespace and release storage a Client works with.
type Config struct {
	// Getter resolves the cluster connection, as kubectl's ConfigFlags or Helm's settings do.
	Getter genericclioptions.RESTClientGetter
	// Namespace holds the release records and every namespaced object without its own namespace.
	Namespace string
	// Driver is the release storage: "" or "secret" (the default), "configmap", "memory" or "sql".
	Driver string
	// Transform is applied to every object before it reaches the cluster: the rendered
	// templates, hooks and CRDs alike (Helm 3's post-renderer skips hooks and CRDs). Nil
	// leaves objects as rendered.
	Transform Transform
	// Debugf receives Helm's debug messages; nil discards them.
	Debugf func(format string, args ...any)
}

// Client runs release actions in one namespace.
type Client struct {
	cfg       *action.Configuration
	getter    genericclioptions.RESTClientGetter
	kube      *deployKubeClient
	namespace string
	transform Transform
	// lastDigest is the sha256 of the manifests the last render produced.
	lastDigest string
	// renderErr is the post-renderer's own refusal of the last render.
	renderErr error
}

// NewClient connects the Helm action configuration to the cluster described by c.
func NewClient(c Config) (*Client, error) {
	debugf := c.Debugf
	if debugf == nil {
		debugf = func(string, ...any) {}
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(c.Getter, c.Namespace, c.Driver, debugf); err != nil {
		return nil, fmt.Errorf("initialize release storage %q in namespace %q: %w", c.Driver, c.Namespace, err)
	}
	cfg.Releases.Driver = &werfHooksDriver{Driver: newCachedReads(cfg.Releases.Driver)}
	client := &Client{cfg: cfg, getter: c.Getter, namespace: c.Namespace, transform: c.Transform}
	if kc, ok := cfg.KubeClient.(*kube.Client); ok {
		// Objects without metadata.namespace must land in the release namespace, not in the
		// kubeconfig context's namespace.
		kc.Namespace = c.Namespace
		client.kube = &deployKubeClient{Client: kc, transform: c.Transform}
		cfg.KubeClient = client.kube
	}
	return client, nil
}

// deployKubeClient is Helm's kube client with our transform applied to everything Helm
// builds (hooks, CRDs and the release's manifests all go through Build), and with the
// release's objects applied and hooks awaited by an Applier when one is set.
type deployKubeClient struct {
	*kube.Client
	transform Transform
	applier   Applier
	// keepManual is the applier's request to keep manual changes (helmOps.keepManual).
	keepManual bool
	// owner, while set, limits Helm's deletions to objects that still carry this release's
	// ownership annotations; the others are kept and listed in spared.
	owner  *ownership
	spared []SparedObject
	// deleteOrder, while set, deletes the uninstall's objects in waves (UninstallRequest).
	deleteOrder   func([]*resource.Info) ([][]*resource.Info, error)
	deleteTimeout time.Duration
}

// SparedObject is an object of a release an uninstall did not delete: another release owns
// it now.
type SparedObject struct {
	Kind  string `json:"kind"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
	// HandedBack says it was adopted by the failed run and returned to Owner.
	HandedBack bool `json:"handedBack,omitempty"`
	// Reason is why it stays when no other release owns it: SparedKept, SparedOwnedByAnyone.
	Reason string `json:"reason,omitempty"`
}

// Reasons an uninstall leaves an object of the release in place.
const (
	// SparedKept is werf.io/resource-policy: keep on the live object.
	SparedKept = "keep"
	// SparedOwnedByAnyone is werf.io/ownership: anyone.
	SparedOwnedByAnyone = "ownership-anyone"
)

// annotationWerfResourcePolicy is nelm's helm.sh/resource-policy.
const annotationWerfResourcePolicy = "werf.io/resource-policy"

// ownership is the release a deletion may touch objects of; objects adopted in the run
// handBackRun are handed back to their previous owner instead of deleted.
type ownership struct{ release, namespace, handBackRun string }

// DeleteWithPropagationPolicy is how Helm's uninstall deletes the release's objects: only
// those the release still owns go. Hooks (deleted through Delete by their delete policy)
// carry no ownership annotations and are the release's by definition.
func (c *deployKubeClient) DeleteWithPropagationPolicy(resources kube.ResourceList, policy metav1.DeletionPropagation) (*kube.Result, []error) {
	owned := c.owned(resources)
	if len(owned) == 0 {
		// Helm's client calls an empty list an error ("no objects visited").
		return &kube.Result{}, nil
	}
	if c.deleteOrder == nil {
		return c.Client.DeleteWithPropagationPolicy(owned, policy)
	}
	waves, err := c.deleteOrder(owned)
	if err != nil {
		return &kube.Result{}, []error{err}
	}
	result := &kube.Result{}
	deadline := time.Now().Add(c.deleteTimeout)
	for w, wave := range waves {
		res, errs := c.Client.DeleteWithPropagationPolicy(wave, policy)
		if res != nil {
			result.Deleted = append(result.Deleted, res.Deleted...)
		}
		if len(errs) > 0 {
			return result, errs
		}
		if w == len(waves)-1 {
			break
		}
		for _, info := range wave {
			for {
				if _, err := resource.NewHelper(info.Client, info.Mapping).Get(info.Namespace, info.Name); apierrors.IsNotFound(err) {
					break
				}
				if c.deleteTimeout > 0 && time.Now().After(deadline) {
					return result, []error{fmt.Errorf("%s %q is still there after %s: what depends on its deletion (werf.io/delete-dependency) was not deleted", info.Mapping.GroupVersionKind.Kind, info.Name, c.deleteTimeout)}
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
	}
	return result, nil
}

// owned drops the objects another release (or nobody) owns now: an object taken over with
// --force-adoption by another release, or adopted from outside, is not this release's to delete.
func (c *deployKubeClient) owned(resources kube.ResourceList) kube.ResourceList {
	if c.owner == nil {
		return resources
	}
	var out kube.ResourceList
	for _, info := range resources {
		live, err := resource.NewHelper(info.Client, info.Mapping).Get(info.Namespace, info.Name)
		if err != nil {
			out = append(out, info) // gone, or unreadable: Helm reports it
			continue
		}
		ann := map[string]string{}
		if m, err := meta.Accessor(live); err == nil {
			ann = m.GetAnnotations()
		}
		if run := ann[AnnotationAdoptedInRun]; run != "" && run == c.owner.handBackRun {
			if err := HandBack(info, ann); err == nil {
				previous, _, _ := strings.Cut(ann[AnnotationAdoptedFrom], "/")
				c.spared = append(c.spared, SparedObject{Kind: info.Mapping.GroupVersionKind.Kind, Name: info.Name, Owner: previous, HandedBack: true})
				continue
			}
		}
		kind := info.Mapping.GroupVersionKind.Kind
		switch {
		case ann[AnnotationOwnership] == OwnershipAnyone:
			c.spared = append(c.spared, SparedObject{Kind: kind, Name: info.Name, Reason: SparedOwnedByAnyone})
			continue
		case ann[annotationWerfResourcePolicy] == "keep":
			// Helm leaves helm.sh/resource-policy: keep objects out before this; nelm's own
			// annotation (checked on the live object, as nelm does) is ours to honour.
			c.spared = append(c.spared, SparedObject{Kind: kind, Name: info.Name, Reason: SparedKept})
			continue
		}
		if ann[annotationReleaseName] == c.owner.release && ann[annotationReleaseNamespace] == c.owner.namespace {
			out = append(out, info)
			continue
		}
		c.spared = append(c.spared, SparedObject{Kind: info.Mapping.GroupVersionKind.Kind, Name: info.Name, Owner: ann["meta.helm.sh/release-name"]})
	}
	return out
}

func (c *deployKubeClient) Build(r io.Reader, validate bool) (kube.ResourceList, error) {
	if c.transform == nil {
		return c.Client.Build(r, validate)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	out, err := c.transform(data)
	if err != nil {
		return nil, err
	}
	return c.Client.Build(bytes.NewReader(out), validate)
}

// postRenderer adapts a Transform to Helm's PostRenderer, so that the manifest stored in the
// release record is the one applied.
type postRenderer struct{ transform Transform }

func (p postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out, err := p.transform(in.Bytes())
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}
