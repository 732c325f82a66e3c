package track

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubectl-converge/converge/shared/redact"
)

// sourceKey names one list and watch: a resource in a namespace ("" for cluster-scoped).
type sourceKey struct {
	resource  schema.GroupResource
	namespace string
}

func (k sourceKey) resourceName() string {
	if k.resource.Group == "" {
		return k.resource.Resource
	}
	return k.resource.Resource + "." + k.resource.Group
}

func (k sourceKey) String() string {
	if k.namespace == "" {
		return k.resourceName() + " cluster-wide"
	}
	return k.resourceName() + " in namespace " + k.namespace
}

// source is one informer, run with its own stop so that a list the user may not do is
// stopped alone, with its health as its reflector reports it.
type source struct {
	key      sourceKey
	informer cache.SharedIndexInformer
	// optional sources (pods, ReplicaSets, events) explain; the others judge readiness.
	optional bool

	mu      sync.Mutex
	denied  error
	lastErr error
	stop    context.CancelFunc
}

// health is where a source stands: synced and usable, still starting, failing (retried by
// its reflector), or denied for good.
type health int

const (
	healthStarting health = iota
	healthSynced
	healthFailing
	healthDenied
)

func (s *source) health() (health, error) {
	if s == nil {
		return healthDenied, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.denied != nil:
		return healthDenied, s.denied
	case s.informer.HasSynced():
		return healthSynced, nil
	case s.lastErr != nil:
		return healthFailing, s.lastErr
	}
	return healthStarting, nil
}

// usable reports whether the source's cache can be read.
func (s *source) usable() bool {
	h, _ := s.health()
	return h == healthSynced
}

// settled reports whether waiting for the source would not help: it synced, or it fails.
func (s *source) settled() bool {
	h, _ := s.health()
	return h != healthStarting
}

func (s *source) list() []any {
	if !s.usable() {
		return nil
	}
	return s.informer.GetStore().List()
}

// sources opens the informers of a tracking run: one per resource and namespace, never one
// per object, so the number of watch connections does not grow with the objects or pods.
type sources struct {
	clients   Clients
	factories map[string]informers.SharedInformerFactory
	byKey     map[sourceKey]*source
	access    *Access
	// changed is called on every cache change and every change of a source's health.
	changed func()
	// said receives the one line about a permission that is missing or a list that fails.
	said func(line string, warning bool)
}

func newSources(clients Clients, access *Access, changed func(), said func(string, bool)) *sources {
	return &sources{clients: clients, factories: map[string]informers.SharedInformerFactory{}, byKey: map[sourceKey]*source{}, access: access, changed: changed, said: said}
}

func (ss *sources) factory(namespace string) informers.SharedInformerFactory {
	f, ok := ss.factories[namespace]
	if !ok {
		f = informers.NewSharedInformerFactoryWithOptions(ss.clients.Kube, 0, informers.WithNamespace(namespace))
		ss.factories[namespace] = f
	}
	return f
}

// typed returns the source of a built-in kind the rules judge from typed objects.
func (ss *sources) typed(resource schema.GroupResource, namespace string, optional bool, informer func(informers.SharedInformerFactory) cache.SharedIndexInformer) *source {
	key := sourceKey{resource: resource, namespace: namespace}
	if s, ok := ss.byKey[key]; ok && (s != nil || optional) {
		if s != nil && !optional {
			s.optional = false
		}
		return s
	}
	if optional && ss.access.Denied(resource, namespace) {
		ss.byKey[key] = nil
		return nil
	}
	s := &source{key: key, informer: informer(ss.factory(namespace)), optional: optional}
	ss.byKey[key] = s
	return s
}

// dynamic returns the source of any other resource.
func (ss *sources) dynamic(gvr schema.GroupVersionResource, namespace string) *source {
	key := sourceKey{resource: gvr.GroupResource(), namespace: namespace}
	if s, ok := ss.byKey[key]; ok {
		return s
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(ss.clients.Dynamic, gvr, namespace, 0, cache.Indexers{}, nil).Informer()
	s := &source{key: key, informer: inf}
	ss.byKey[key] = s
	return s
}

func (ss *sources) pods(namespace string) *source {
	// A target of the kind may have opened the source before, unindexed.
	return indexedSource(ss.typed(ResourcePods, namespace, true, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Pods().Informer()
	}), byController, controllerUID)
}

func (ss *sources) replicaSets(namespace string) *source {
	// A target of the kind may have opened the source before, unindexed.
	return indexedSource(ss.typed(ResourceReplicaSets, namespace, true, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Apps().V1().ReplicaSets().Informer()
	}), byController, controllerUID)
}

func (ss *sources) events(namespace string) *source {
	// A target of the kind may have opened the source before, unindexed.
	return indexedSource(ss.typed(ResourceEvents, namespace, true, func(f informers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Core().V1().Events().Informer()
	}), byInvolvedObject, involvedUID)
}

// The indexes the informers keep up to date on every change, so that an evaluation finds
// what an object controls, and the events of each, without walking the caches: at a
// thousand objects, rebuilding them on each evaluation took most of the process's CPU.
const (
	byController     = "controller-uid"
	byInvolvedObject = "involved-object-uid"
)

// indexedSource adds the index name to the source's informer unless it has it (the factory
// hands out one informer per kind and namespace; a running informer indexes what it holds
// when the index is added). A stopped informer refuses: lookups then walk its cache.
func indexedSource(s *source, name string, fn cache.IndexFunc) *source {
	if s == nil {
		return nil
	}
	if _, has := s.informer.GetIndexer().GetIndexers()[name]; !has {
		_ = s.informer.AddIndexers(cache.Indexers{name: fn})
	}
	return s
}

func controllerUID(obj any) ([]string, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, nil
	}
	if owner := metav1.GetControllerOfNoCopy(m); owner != nil {
		return []string{string(owner.UID)}, nil
	}
	return nil, nil
}

func involvedUID(obj any) ([]string, error) {
	if e, ok := obj.(*corev1.Event); ok && e.InvolvedObject.UID != "" {
		return []string{string(e.InvolvedObject.UID)}, nil
	}
	return nil, nil
}

// byIndex returns the objects of s that fn gives value, from the index name; nil when s
// cannot be read. An informer without the index is walked instead.
func (s *source) byIndex(name string, fn cache.IndexFunc, value string) []any {
	if !s.usable() {
		return nil
	}
	if items, err := s.informer.GetIndexer().ByIndex(name, value); err == nil {
		return items
	}
	var items []any
	for _, obj := range s.informer.GetStore().List() {
		if values, _ := fn(obj); slices.Contains(values, value) {
			items = append(items, obj)
		}
	}
	return items
}

// start runs every source until ctx ends. A source the API server forbids is stopped at
// once; one that fails otherwise is retried by its reflector, and said once.
func (ss *sources) start(ctx context.Context) error {
	for _, s := range ss.byKey {
		if s == nil {
			continue
		}
		if err := ss.startOne(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// startOne runs source s until ctx ends, unless it runs already.
func (ss *sources) startOne(ctx context.Context, s *source) error {
	s.mu.Lock()
	if s.stop != nil {
		s.mu.Unlock()
		return nil
	}
	runCtx, stop := context.WithCancel(ctx)
	s.stop = stop
	s.mu.Unlock()
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { ss.changed() },
		UpdateFunc: func(any, any) { ss.changed() },
		DeleteFunc: func(any) { ss.changed() },
	}
	if _, err := s.informer.AddEventHandler(handler); err != nil {
		stop()
		return fmt.Errorf("watch %s: %w", s.key, err)
	}
	// Replaces client-go's default handler, which writes the error to the terminal
	// through klog on every retry.
	if err := s.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { ss.failed(s, err) }); err != nil {
		stop()
		return fmt.Errorf("watch %s: %w", s.key, err)
	}
	redact.Go(func() { s.informer.Run(runCtx.Done()) })
	// The initial list's last Add can reach the handler before the informer counts as
	// synced, and a pass judges with the health the source had when the pass began: the
	// sync itself is a change to look at.
	redact.Go(func() {
		select {
		case <-s.informer.HasSyncedChecker().Done():
			ss.changed()
		case <-runCtx.Done():
		}
	})
	return nil
}

func (ss *sources) failed(s *source, err error) {
	s.mu.Lock()
	if s.denied != nil {
		s.mu.Unlock()
		return
	}
	synced := s.informer.HasSynced()
	first := s.lastErr == nil
	if apierrors.IsForbidden(err) {
		s.denied = err
		s.stop()
	} else if !synced {
		s.lastErr = err
	}
	denied := s.denied != nil
	s.mu.Unlock()
	switch {
	case denied && s.optional:
		if line, firstTime := ss.access.Deny(s.key.resource, s.key.namespace); firstTime {
			ss.said(line, true)
		}
	case denied:
		ss.said(fmt.Sprintf("cannot list and watch %s: forbidden", s.key), true)
	case !synced && first:
		ss.said(fmt.Sprintf("cannot list %s yet: %v (retrying)", s.key, err), true)
	}
	ss.changed()
}
