// Package fakecluster is an in-memory Kubernetes API for unit tests of the engine: Helm's own
// kube client, our applier, the tracking informers, the release lock and the access checks
// all talk HTTP to one store (client-go's object tracker, the store of its fake clientsets),
// so that a test drives helmsdk.Client and deploy with nothing faked above the wire. Give a
// helmsdk.Config its Getter and the memory driver:
//
//	c := fakecluster.New(t, "ns")
//	client, _ := helmsdk.NewClient(helmsdk.Config{Getter: c.Getter(), Namespace: "ns", Driver: "memory"})
//
// It serves discovery, OpenAPI v3 claiming server-side field validation (so clients skip
// their own schema checks), get/list/watch (watch-list streams included), create, update,
// the four patch types, delete, and allow-all access reviews. Objects get a uid, a
// resourceVersion, a creationTimestamp and a generation; nothing else acts on them (no
// controllers, no garbage collector, no status), so a test puts the status it needs in the
// objects it renders. A CustomResourceDefinition is established and its kind served as soon
// as it is stored. Every write is recorded (Writes), and React lets a test refuse one.
package fakecluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jsonpatch "github.com/evanphx/json-patch"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	kubetesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/shared/redact"
)

// Kind is one resource the fake API serves.
type Kind struct {
	GVK        schema.GroupVersionKind
	Resource   string
	Namespaced bool
}

// builtinKinds are the kinds every Cluster serves from the start.
var builtinKinds = []Kind{
	{schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "configmaps", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, "secrets", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "services", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "ServiceAccount"}, "serviceaccounts", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "pods", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, "events", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "PersistentVolumeClaim"}, "persistentvolumeclaims", true},
	{schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, "namespaces", false},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, "deployments", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, "statefulsets", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"}, "daemonsets", true},
	{schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "ReplicaSet"}, "replicasets", true},
	{schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, "jobs", true},
	{schema.GroupVersionKind{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}, "leases", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, "roles", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}, "rolebindings", true},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, "clusterroles", false},
	{schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}, "clusterrolebindings", false},
	{schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}, "customresourcedefinitions", false},
	{schema.GroupVersionKind{Group: "authorization.k8s.io", Version: "v1", Kind: "SelfSubjectRulesReview"}, "selfsubjectrulesreviews", false},
	{schema.GroupVersionKind{Group: "authorization.k8s.io", Version: "v1", Kind: "SelfSubjectAccessReview"}, "selfsubjectaccessreviews", false},
}

// Write is one request that changed (or tried to change) the store.
type Write struct {
	// Verb is create, update, patch or delete.
	Verb      string
	Kind      string
	Namespace string
	Name      string
	// PatchType is the patch's content type; empty for other verbs.
	PatchType string
	// Body is the request's body (the object, the patch, the delete options).
	Body []byte
	// DryRun says the request asked for dryRun=All: nothing was stored.
	DryRun bool
}

// Reaction decides a write before the store sees it: a non-nil error (an API status error,
// apierrors.NewInvalid say) is what the client gets, and nothing is stored.
type Reaction func(Write) error

// Cluster is one fake API server.
type Cluster struct {
	server    *httptest.Server
	namespace string
	getter    *getter

	mu        sync.RWMutex // guards kinds, scheme and the tracker's use of the scheme
	kinds     map[schema.GroupVersionResource]Kind
	scheme    *runtime.Scheme
	tracker   kubetesting.ObjectTracker
	version   int64
	writes    []Write
	reactions []Reaction
	holds     []func(Write)
}

// New starts a fake API server for the test, stopped when the test ends; namespace is the
// kubeconfig context's namespace, and exists (with "default").
func New(t testing.TB, namespace string) *Cluster {
	t.Helper()
	c := &Cluster{namespace: namespace, kinds: map[schema.GroupVersionResource]Kind{}, scheme: runtime.NewScheme()}
	for _, k := range builtinKinds {
		c.addKindLocked(k)
	}
	c.tracker = kubetesting.NewObjectTracker(c.scheme, unstructured.UnstructuredJSONScheme)
	c.server = httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(c.server.Close)
	c.getter = newGetter(c.server.URL, namespace)
	for _, ns := range []string{"default", namespace} {
		if err := c.Add(&unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	return c
}

// React adds a reaction every later write goes through first.
func (c *Cluster) React(r Reaction) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reactions = append(c.reactions, r)
}

// Hold adds a function every later write goes through as it arrives, before it is recorded
// or served: it may block, to hold a request until others arrive (reactions run one write
// at a time, holds do not).
func (c *Cluster) Hold(h func(Write)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holds = append(c.holds, h)
}

// Writes are the writes so far, in order, dry runs and refused ones included.
func (c *Cluster) Writes() []Write {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return slices.Clone(c.writes)
}

// Add stores obj as it is (with a uid and a resourceVersion), as if created by someone else.
func (c *Cluster) Add(obj *unstructured.Unstructured) error {
	k, ok := c.kindOf(obj.GroupVersionKind())
	if !ok {
		return fmt.Errorf("fakecluster: kind %s is not served", obj.GroupVersionKind())
	}
	ns := ""
	if k.Namespaced {
		ns = obj.GetNamespace()
		if ns == "" {
			ns = c.namespace
			obj.SetNamespace(ns)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stamp(obj, nil)
	return c.tracker.Create(k.gvr(), obj, ns)
}

// Get returns the stored object of kind (as "ConfigMap" or "Job.batch"), nil when none.
func (c *Cluster) Get(kind, namespace, name string) *unstructured.Unstructured {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for gvr, k := range c.kinds {
		if k.GVK.Kind != kind && k.GVK.GroupKind().String() != kind {
			continue
		}
		if !k.Namespaced {
			namespace = ""
		}
		obj, err := c.tracker.Get(gvr, namespace, name)
		if err != nil {
			continue
		}
		return obj.(*unstructured.Unstructured).DeepCopy()
	}
	return nil
}

func (k Kind) gvr() schema.GroupVersionResource { return k.GVK.GroupVersion().WithResource(k.Resource) }

func (c *Cluster) kindOf(gvk schema.GroupVersionKind) (Kind, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, k := range c.kinds {
		if k.GVK == gvk {
			return k, true
		}
	}
	return Kind{}, false
}

func (c *Cluster) addKindLocked(k Kind) {
	c.kinds[k.gvr()] = k
	if !c.scheme.Recognizes(k.GVK) {
		c.scheme.AddKnownTypeWithName(k.GVK, &unstructured.Unstructured{})
		c.scheme.AddKnownTypeWithName(k.GVK.GroupVersion().WithKind(k.GVK.Kind+"List"), &unstructured.UnstructuredList{})
	}
}

// stamp gives an object being stored what the API server gives it; live is the stored
// object it replaces (nil: a new one).
func (c *Cluster) stamp(obj, live *unstructured.Unstructured) {
	c.version++
	obj.SetResourceVersion(strconv.FormatInt(c.version, 10))
	if live == nil {
		if obj.GetUID() == "" {
			obj.SetUID(uuid.NewUUID())
		}
		obj.SetCreationTimestamp(metav1.Now())
		obj.SetGeneration(1)
		return
	}
	obj.SetUID(live.GetUID())
	obj.SetCreationTimestamp(live.GetCreationTimestamp())
	obj.SetGeneration(live.GetGeneration())
	spec, _ := json.Marshal(obj.Object["spec"])
	liveSpec, _ := json.Marshal(live.Object["spec"])
	if string(spec) != string(liveSpec) {
		obj.SetGeneration(live.GetGeneration() + 1)
	}
}

// request is a resource request, parsed from its path.
type request struct {
	kind        Kind
	namespace   string
	name        string
	subresource string
}

func (c *Cluster) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "version":
		writeJSON(w, http.StatusOK, map[string]string{"major": "1", "minor": "37", "gitVersion": "v1.37.2", "platform": "fake/fake"})
		return
	case path == "api":
		writeJSON(w, http.StatusOK, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}})
		return
	case path == "apis":
		writeJSON(w, http.StatusOK, c.groups())
		return
	case path == "openapi/v3":
		writeJSON(w, http.StatusOK, c.openAPIRoot())
		return
	case strings.HasPrefix(path, "openapi/v3/"):
		writeJSON(w, http.StatusOK, c.openAPIGroupVersion(strings.TrimPrefix(path, "openapi/v3/")))
		return
	}
	gv, rest, ok := splitGroupVersion(path)
	if !ok {
		writeStatus(w, apierrors.NewNotFound(schema.GroupResource{}, path))
		return
	}
	if len(rest) == 0 {
		writeJSON(w, http.StatusOK, c.resources(gv))
		return
	}
	req, err := c.parse(gv, rest)
	if err != nil {
		writeStatus(w, err)
		return
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case req.name != "":
			c.get(w, r, req)
		case r.URL.Query().Get("watch") == "true" || r.URL.Query().Get("watch") == "1":
			c.watch(w, r, req)
		default:
			c.list(w, r, req)
		}
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		c.write(w, r, req)
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(req.kind.gvr().GroupResource(), r.Method))
	}
}

// splitGroupVersion splits "api/v1/..." and "apis/group/version/..." paths.
func splitGroupVersion(path string) (schema.GroupVersion, []string, bool) {
	parts := strings.Split(path, "/")
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		return schema.GroupVersion{Version: parts[1]}, parts[2:], true
	case len(parts) >= 3 && parts[0] == "apis":
		return schema.GroupVersion{Group: parts[1], Version: parts[2]}, parts[3:], true
	}
	return schema.GroupVersion{}, nil, false
}

func (c *Cluster) parse(gv schema.GroupVersion, rest []string) (request, error) {
	var req request
	if len(rest) >= 3 && rest[0] == "namespaces" {
		req.namespace, rest = rest[1], rest[2:]
	}
	c.mu.RLock()
	k, ok := c.kinds[gv.WithResource(rest[0])]
	c.mu.RUnlock()
	if !ok {
		return req, apierrors.NewNotFound(gv.WithResource(rest[0]).GroupResource(), "")
	}
	req.kind = k
	if len(rest) > 1 {
		req.name = rest[1]
	}
	if len(rest) > 2 {
		req.subresource = rest[2]
	}
	return req, nil
}

func (c *Cluster) groups() *metav1.APIGroupList {
	c.mu.RLock()
	defer c.mu.RUnlock()
	byGroup := map[string][]string{}
	for gvr := range c.kinds {
		if gvr.Group != "" && !slices.Contains(byGroup[gvr.Group], gvr.Version) {
			byGroup[gvr.Group] = append(byGroup[gvr.Group], gvr.Version)
		}
	}
	list := &metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
	for group, versions := range byGroup {
		slices.Sort(versions)
		g := metav1.APIGroup{Name: group}
		for _, v := range versions {
			g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: group + "/" + v, Version: v})
		}
		g.PreferredVersion = g.Versions[len(g.Versions)-1]
		list.Groups = append(list.Groups, g)
	}
	slices.SortFunc(list.Groups, func(a, b metav1.APIGroup) int { return strings.Compare(a.Name, b.Name) })
	return list
}

var allVerbs = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}

func (c *Cluster) resources(gv schema.GroupVersion) *metav1.APIResourceList {
	c.mu.RLock()
	defer c.mu.RUnlock()
	list := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: gv.String()}
	for gvr, k := range c.kinds {
		if gvr.GroupVersion() == gv {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: k.Resource, Kind: k.GVK.Kind, Namespaced: k.Namespaced, Verbs: allVerbs, SingularName: strings.ToLower(k.GVK.Kind)})
		}
	}
	slices.SortFunc(list.APIResources, func(a, b metav1.APIResource) int { return strings.Compare(a.Name, b.Name) })
	return list
}

// openAPIRoot and openAPIGroupVersion claim server-side field validation for every kind
// (a PATCH with the fieldValidation parameter), which is all clients read from them: they
// then leave validation to the server instead of fetching schemas.
func (c *Cluster) openAPIRoot() map[string]any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	paths := map[string]any{}
	for gvr := range c.kinds {
		p := gvPath(gvr.GroupVersion())
		paths[p] = map[string]any{"serverRelativeURL": "/openapi/v3/" + p}
	}
	return map[string]any{"paths": paths}
}

func gvPath(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

func (c *Cluster) openAPIGroupVersion(path string) map[string]any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	paths := map[string]any{}
	for gvr, k := range c.kinds {
		if gvPath(gvr.GroupVersion()) != path {
			continue
		}
		paths["/"+path+"/"+k.Resource+"/{name}"] = map[string]any{"patch": map[string]any{
			"x-kubernetes-group-version-kind": map[string]any{"group": k.GVK.Group, "version": k.GVK.Version, "kind": k.GVK.Kind},
			"parameters":                      []any{map[string]any{"name": "fieldValidation", "in": "query"}},
		}}
	}
	return map[string]any{"openapi": "3.0.0", "info": map[string]any{"title": "fake", "version": "v1"}, "paths": paths}
}

func (c *Cluster) get(w http.ResponseWriter, r *http.Request, req request) {
	c.mu.RLock()
	obj, err := c.tracker.Get(req.kind.gvr(), req.namespace, req.name)
	c.mu.RUnlock()
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeObject(w, r, http.StatusOK, obj.(*unstructured.Unstructured))
}

// selector is a list or watch request's label and field selectors.
type selector struct {
	labels labels.Selector
	fields fields.Selector
}

func parseSelector(r *http.Request) (selector, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(err.Error())
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return selector{}, apierrors.NewBadRequest(err.Error())
	}
	return selector{labels: ls, fields: fs}, nil
}

func (s selector) matches(obj *unstructured.Unstructured) bool {
	if !s.labels.Matches(labels.Set(obj.GetLabels())) {
		return false
	}
	set := fields.Set{}
	for _, req := range s.fields.Requirements() {
		v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, strings.Split(req.Field, ".")...)
		set[req.Field] = fmt.Sprint(v)
		if v == nil {
			set[req.Field] = ""
		}
	}
	return s.fields.Matches(set)
}

func (c *Cluster) list(w http.ResponseWriter, r *http.Request, req request) {
	sel, err := parseSelector(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	list, err := c.listLocked(req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	items := list.Items[:0]
	for _, item := range list.Items {
		if sel.matches(&item) {
			items = append(items, item)
		}
	}
	list.Items = items
	writeJSON(w, http.StatusOK, list)
}

func (c *Cluster) listLocked(req request) (*unstructured.UnstructuredList, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	obj, err := c.tracker.List(req.kind.gvr(), req.kind.GVK, req.namespace)
	if err != nil {
		return nil, err
	}
	list := obj.(*unstructured.UnstructuredList)
	list.SetAPIVersion(req.kind.GVK.GroupVersion().String())
	list.SetKind(req.kind.GVK.Kind + "List")
	return list, nil
}

// watch streams the tracker's events; with sendInitialEvents (client-go's watch-list) the
// objects already stored come first, then the bookmark that ends them.
func (c *Cluster) watch(w http.ResponseWriter, r *http.Request, req request) {
	sel, err := parseSelector(r)
	if err != nil {
		writeStatus(w, err)
		return
	}
	q := r.URL.Query()
	var initial *unstructured.UnstructuredList
	rv := q.Get("resourceVersion")
	if q.Get("sendInitialEvents") == "true" {
		if initial, err = c.listLocked(req); err != nil {
			writeStatus(w, err)
			return
		}
		rv = initial.GetResourceVersion()
	}
	c.mu.RLock()
	watcher, err := c.tracker.Watch(req.kind.gvr(), req.namespace, metav1.ListOptions{ResourceVersion: rv})
	c.mu.RUnlock()
	if err != nil {
		writeStatus(w, err)
		return
	}
	defer watcher.Stop()
	events := relay(r.Context(), watcher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		// The client returns from Watch once it has the headers, not at the first event.
		flusher.Flush()
	}
	send := func(typ watch.EventType, obj *unstructured.Unstructured) bool {
		data, err := json.Marshal(map[string]any{"type": typ, "object": obj.Object})
		if err != nil {
			return false
		}
		if _, err := w.Write(append(data, '\n')); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if initial != nil {
		for i := range initial.Items {
			if sel.matches(&initial.Items[i]) && !send(watch.Added, &initial.Items[i]) {
				return
			}
		}
		bookmark := &unstructured.Unstructured{}
		bookmark.SetGroupVersionKind(req.kind.GVK)
		bookmark.SetResourceVersion(rv)
		bookmark.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		if !send(watch.Bookmark, bookmark) {
			return
		}
	}
	for ev := range events {
		obj, ok := ev.Object.(*unstructured.Unstructured)
		if !ok || !sel.matches(obj) {
			continue
		}
		if !send(ev.Type, obj) {
			return
		}
	}
}

// relay drains watcher into an unbounded queue: the tracker panics when a watcher's channel
// fills, and a client reading slowly must not make a write panic.
func relay(ctx context.Context, watcher watch.Interface) <-chan watch.Event {
	out := make(chan watch.Event)
	var mu sync.Mutex
	var queue []watch.Event
	wake := make(chan struct{}, 1)
	redact.Go(func() {
		for ev := range watcher.ResultChan() {
			mu.Lock()
			queue = append(queue, ev)
			mu.Unlock()
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	redact.Go(func() {
		defer close(out)
		for {
			mu.Lock()
			pending := queue
			queue = nil
			mu.Unlock()
			for _, ev := range pending {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-wake:
			case <-ctx.Done():
				return
			}
		}
	})
	return out
}

func (c *Cluster) write(w http.ResponseWriter, r *http.Request, req request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeStatus(w, apierrors.NewBadRequest(err.Error()))
		return
	}
	q := r.URL.Query()
	wr := Write{Kind: req.kind.GVK.Kind, Namespace: req.namespace, Name: req.name, Body: body, DryRun: slices.Contains(q["dryRun"], "All")}
	switch r.Method {
	case http.MethodPost:
		wr.Verb = "create"
	case http.MethodPut:
		wr.Verb = "update"
	case http.MethodPatch:
		wr.Verb, wr.PatchType = "patch", r.Header.Get("Content-Type")
	case http.MethodDelete:
		wr.Verb = "delete"
	}
	var obj *unstructured.Unstructured
	if wr.Verb == "create" || wr.Verb == "update" {
		obj = &unstructured.Unstructured{}
		if err := yaml.Unmarshal(body, &obj.Object); err != nil {
			writeStatus(w, apierrors.NewBadRequest(fmt.Sprintf("decode %s: %v", req.kind.GVK.Kind, err)))
			return
		}
		if wr.Name == "" {
			wr.Name = obj.GetName()
		}
	}
	c.mu.RLock()
	holds := slices.Clone(c.holds)
	c.mu.RUnlock()
	for _, hold := range holds {
		hold(wr)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, wr)
	for _, react := range c.reactions {
		if err := react(wr); err != nil {
			writeStatus(w, err)
			return
		}
	}
	if review := strings.HasPrefix(req.kind.Resource, "selfsubject"); review {
		writeJSON(w, http.StatusCreated, allowed(req.kind, obj))
		return
	}
	gvr := req.kind.gvr()
	var live *unstructured.Unstructured
	if req.name != "" {
		if got, err := c.tracker.Get(gvr, req.namespace, req.name); err == nil {
			live = got.(*unstructured.Unstructured)
		}
	}
	status := http.StatusOK
	switch wr.Verb {
	case "create":
		if obj.GetName() == "" && obj.GetGenerateName() != "" {
			obj.SetName(obj.GetGenerateName() + strings.ToLower(string(uuid.NewUUID())[:5]))
		}
		if got, err := c.tracker.Get(gvr, req.namespace, obj.GetName()); err == nil {
			_ = got
			writeStatus(w, apierrors.NewAlreadyExists(gvr.GroupResource(), obj.GetName()))
			return
		}
		status = http.StatusCreated
		live = nil
	case "update":
		if live == nil {
			writeStatus(w, apierrors.NewNotFound(gvr.GroupResource(), req.name))
			return
		}
		if req.subresource == "status" {
			updated := live.DeepCopy()
			updated.Object["status"] = obj.Object["status"]
			obj = updated
		}
	case "patch":
		if obj, err = patched(req.kind, live, body, wr.PatchType); err != nil {
			writeStatus(w, err)
			return
		}
		if live == nil {
			status = http.StatusCreated
		}
		setManager(obj, q.Get("fieldManager"), wr.PatchType == string(types.ApplyPatchType))
	case "delete":
		if live == nil {
			writeStatus(w, apierrors.NewNotFound(gvr.GroupResource(), req.name))
			return
		}
		if !wr.DryRun {
			if err := c.tracker.Delete(gvr, req.namespace, req.name); err != nil {
				writeStatus(w, err)
				return
			}
		}
		writeObject(w, r, http.StatusOK, live)
		return
	}
	obj.SetGroupVersionKind(req.kind.GVK)
	if req.kind.Namespaced {
		obj.SetNamespace(req.namespace)
	}
	if wr.Verb == "create" {
		setManager(obj, q.Get("fieldManager"), false)
	}
	if wr.DryRun {
		writeObject(w, r, status, obj)
		return
	}
	c.stamp(obj, live)
	if req.kind.GVK.Kind == "CustomResourceDefinition" {
		c.establish(obj)
	}
	if live == nil {
		err = c.tracker.Create(gvr, obj, req.namespace)
	} else {
		err = c.tracker.Update(gvr, obj, req.namespace)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeObject(w, r, status, obj)
}

// patched is live with the patch applied; a server-side apply of a missing object creates it.
func patched(k Kind, live *unstructured.Unstructured, patch []byte, patchType string) (*unstructured.Unstructured, error) {
	gr := k.gvr().GroupResource()
	if live == nil && patchType != string(types.ApplyPatchType) {
		return nil, apierrors.NewNotFound(gr, "")
	}
	var original []byte
	if live != nil {
		var err error
		if original, err = json.Marshal(live.Object); err != nil {
			return nil, err
		}
	}
	var out []byte
	var err error
	switch types.PatchType(patchType) {
	case types.JSONPatchType:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(patch); err == nil {
			out, err = p.Apply(original)
		}
	case types.MergePatchType:
		out, err = jsonpatch.MergePatch(original, patch)
	case types.StrategicMergePatchType:
		typed, newErr := scheme.Scheme.New(k.GVK)
		if newErr != nil {
			return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType, Message: "the body of the request was in an unknown format: " + patchType}}
		}
		out, err = strategicpatch.StrategicMergePatch(original, patch, typed)
	case types.ApplyPatchType:
		// Server-side apply as a merge of the applied configuration: what it owned and no
		// longer sets stays, which the engine's CRDs never rely on.
		applied, yerr := yaml.YAMLToJSON(patch)
		if yerr != nil {
			return nil, apierrors.NewBadRequest(yerr.Error())
		}
		if live == nil {
			out = applied
		} else {
			out, err = jsonpatch.MergePatch(original, applied)
		}
	default:
		return nil, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusUnsupportedMediaType, Reason: metav1.StatusReasonUnsupportedMediaType, Message: "the body of the request was in an unknown format: " + patchType}}
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("patch %s: %v", k.GVK.Kind, err))
	}
	obj := &unstructured.Unstructured{}
	if err := json.Unmarshal(out, &obj.Object); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	return obj, nil
}

// setManager records the write in managedFields, as the API server does: server-side apply
// as an Apply, the rest as an Update.
func setManager(obj *unstructured.Unstructured, manager string, apply bool) {
	if manager == "" {
		return
	}
	op := metav1.ManagedFieldsOperationUpdate
	if apply {
		op = metav1.ManagedFieldsOperationApply
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	fields := obj.GetManagedFields()
	fields = slices.DeleteFunc(fields, func(f metav1.ManagedFieldsEntry) bool { return f.Manager == manager && f.Operation == op })
	fields = append(fields, metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: &now, APIVersion: obj.GetAPIVersion()})
	obj.SetManagedFields(fields)
}

// establish serves the kind of a stored CRD and marks it established.
func (c *Cluster) establish(crd *unstructured.Unstructured) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
	scope, _, _ := unstructured.NestedString(crd.Object, "spec", "scope")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		version, _ := v.(map[string]any)
		name, _ := version["name"].(string)
		if served, _ := version["served"].(bool); served && name != "" {
			c.addKindLocked(Kind{GVK: schema.GroupVersionKind{Group: group, Version: name, Kind: kind}, Resource: plural, Namespaced: scope != "Cluster"})
		}
	}
	names, _, _ := unstructured.NestedMap(crd.Object, "spec", "names")
	_ = unstructured.SetNestedMap(crd.Object, names, "status", "acceptedNames")
	_ = unstructured.SetNestedSlice(crd.Object, []any{
		map[string]any{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
		map[string]any{"type": "Established", "status": "True", "reason": "InitialNamesAccepted"},
	}, "status", "conditions")
}

// allowed answers an access or rules review: everything is allowed.
func allowed(k Kind, review *unstructured.Unstructured) map[string]any {
	if review == nil {
		review = &unstructured.Unstructured{Object: map[string]any{}}
	}
	out := review.DeepCopy().Object
	out["apiVersion"], out["kind"] = k.GVK.GroupVersion().String(), k.GVK.Kind
	if k.GVK.Kind == "SelfSubjectRulesReview" {
		out["status"] = map[string]any{
			"resourceRules":    []any{map[string]any{"verbs": []any{"*"}, "apiGroups": []any{"*"}, "resources": []any{"*"}}},
			"nonResourceRules": []any{map[string]any{"verbs": []any{"*"}, "nonResourceURLs": []any{"*"}}},
			"incomplete":       false,
		}
	} else {
		out["status"] = map[string]any{"allowed": true}
	}
	return out
}

// writeObject writes obj, as PartialObjectMetadata when the client asks for metadata only.
func writeObject(w http.ResponseWriter, r *http.Request, status int, obj *unstructured.Unstructured) {
	if strings.Contains(r.Header.Get("Accept"), "as=PartialObjectMetadata") {
		meta := map[string]any{}
		if m, ok := obj.Object["metadata"].(map[string]any); ok {
			meta = m
		}
		writeJSON(w, status, map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": meta})
		return
	}
	writeJSON(w, status, obj.Object)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, err error) {
	var status metav1.Status
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s.Status()
	} else {
		status = apierrors.NewInternalError(err).Status()
	}
	status.Kind, status.APIVersion = "Status", "v1"
	writeJSON(w, int(status.Code), status)
}
