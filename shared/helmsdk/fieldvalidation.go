package helmsdk

import (
	"encoding/json"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/openapi"
	"k8s.io/kubectl/pkg/validation"

	"helm.sh/helm/v3/pkg/kube"
)

// serverValidatingFactory is Helm's factory with one change to Build's validation: kubectl's
// strict validator skips every client-side check for a kind whose API server validates
// fields itself (the fieldValidation parameter of its PATCH operation), and finds that out
// by reading and fully decoding the OpenAPI v3 document of the kind's group version anew
// for each kind in each Build. Helm builds a release's manifest twice per upgrade and each
// hook once, so a chart with large CRDs spent seconds there (over a second per Build in the
// public-chart benchmark). Here each group version's document is read once per run and only
// the PATCH operations are decoded; every kind it cannot vouch for (an API server without
// the parameter, an aggregated API without OpenAPI v3, a custom resource whose document is
// not published yet, a List) goes through kubectl's own validator, as before.
type serverValidatingFactory struct {
	kube.Factory
	specs openapi.Client
	// serverVersion is the API server's version, asked once, for builtinVouched.
	serverVersion     func() (*apiversion.Info, error)
	versionOnce       sync.Once
	validatesBuiltins bool

	mu       sync.Mutex
	paths    map[string]openapi.GroupVersion
	pathsGen int // how many times paths was read
	read     map[schema.GroupVersion]bool
	verified map[schema.GroupVersionKind]bool
}

// newServerValidatingFactory wraps f; specs is the API server's OpenAPI v3 (nil: f as is) and
// serverVersion asks for its version (nil: the documents are read for every kind).
func newServerValidatingFactory(f kube.Factory, specs openapi.Client, serverVersion func() (*apiversion.Info, error)) kube.Factory {
	if specs == nil {
		return f
	}
	return &serverValidatingFactory{Factory: f, specs: specs, serverVersion: serverVersion, read: map[schema.GroupVersion]bool{}, verified: map[schema.GroupVersionKind]bool{}}
}

// serverValidatedBuiltins are kinds of Kubernetes' own group versions whose PATCH operations
// all take fieldValidation on every API server since 1.27, where server-side field validation
// is GA and cannot be turned off (TestServerValidatedBuiltinsAgreeWithTheirDocuments checks
// each against the API server documents client-go ships).
var serverValidatedBuiltins = func() map[schema.GroupVersionKind]bool {
	kinds := map[schema.GroupVersion][]string{
		{Version: "v1"}: {"ConfigMap", "Endpoints", "LimitRange", "Namespace", "PersistentVolume", "PersistentVolumeClaim",
			"Pod", "PodTemplate", "ReplicationController", "ResourceQuota", "Secret", "Service", "ServiceAccount"},
		{Group: "apps", Version: "v1"}:  {"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"},
		{Group: "batch", Version: "v1"}: {"CronJob", "Job"},
	}
	out := map[schema.GroupVersionKind]bool{}
	for gv, names := range kinds {
		for _, kind := range names {
			out[gv.WithKind(kind)] = true
		}
	}
	return out
}()

// builtinVouched reports whether gvk is one of serverValidatedBuiltins and the API server is
// 1.27 or later: its document need not be read. Reading the documents of v1 and apps/v1 took
// a seventh of a second before the first object of a plain chart could be written.
func (f *serverValidatingFactory) builtinVouched(gvk schema.GroupVersionKind) bool {
	if !serverValidatedBuiltins[gvk] || f.serverVersion == nil {
		return false
	}
	// A version that cannot be read leaves the documents to be read for the rest of the run.
	f.versionOnce.Do(func() {
		info, err := f.serverVersion()
		if err != nil || info == nil {
			return
		}
		v, err := utilversion.ParseGeneric(info.GitVersion)
		f.validatesBuiltins = err == nil && v.AtLeast(utilversion.MajorMinor(1, 27))
	})
	return f.validatesBuiltins
}

func (f *serverValidatingFactory) Validator(directive string) (validation.Schema, error) {
	if directive != metav1.FieldValidationStrict {
		return f.Factory.Validator(directive)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return &serverValidatingSchema{factory: f, pathsGen: f.pathsGen}, nil
}

// serverValidatingSchema is one Build's strict validator.
type serverValidatingSchema struct {
	factory *serverValidatingFactory
	// pathsGen is the factory's pathsGen when this Build began: the list of documents is
	// read again at most once per Build.
	pathsGen int
	// kubectl is kubectl's validator, made on the first object this one cannot vouch for.
	kubectl validation.Schema
}

func (s *serverValidatingSchema) ValidateBytes(data []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if json.Unmarshal(data, &head) == nil && head.APIVersion != "" && head.Kind != "" && head.Kind != "List" {
		if gv, err := schema.ParseGroupVersion(head.APIVersion); err == nil && s.factory.serverValidates(gv.WithKind(head.Kind), s.pathsGen) {
			return nil
		}
	}
	if s.kubectl == nil {
		var err error
		if s.kubectl, err = s.factory.Factory.Validator(metav1.FieldValidationStrict); err != nil {
			return err
		}
	}
	return s.kubectl.ValidateBytes(data)
}

// serverValidates reports whether every PATCH operation of gvk in its group version's
// OpenAPI v3 document takes the fieldValidation query parameter (kubectl's own test); false
// when that cannot be told. The list of documents is read again for a group version it does
// not name (a CRD established since), unless it was read since the Build began (buildGen).
func (f *serverValidatingFactory) serverValidates(gvk schema.GroupVersionKind, buildGen int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.builtinVouched(gvk) {
		return true
	}
	if f.read[gvk.GroupVersion()] {
		return f.verified[gvk]
	}
	path := "apis/" + gvk.Group + "/" + gvk.Version
	if gvk.Group == "" {
		path = "api/" + gvk.Version
	}
	if _, listed := f.paths[path]; !listed && f.pathsGen == buildGen {
		paths, err := f.specs.Paths()
		f.pathsGen++
		if err != nil {
			return false
		}
		f.paths = paths
	}
	spec, listed := f.paths[path]
	if !listed {
		return false
	}
	data, err := spec.Schema("application/json")
	if err != nil {
		return false
	}
	f.read[gvk.GroupVersion()] = true
	for kind, ok := range patchTakesFieldValidation(data, gvk.GroupVersion()) {
		f.verified[kind] = ok
	}
	// A kind its document does not name is kubectl's to judge.
	return f.verified[gvk]
}

// patchTakesFieldValidation reads the OpenAPI v3 document of group version gv: for each kind
// of gv with a PATCH operation (not the kinds of others, as autoscaling's Scale of a
// deployment's scale subresource: kubectl reads their own document), whether all of them take fieldValidation as a query parameter (inline
// or through a reference to the document's parameters, as kubectl looks it up). Only the
// operations are decoded, not the schemas; an unreadable document vouches for nothing.
func patchTakesFieldValidation(data []byte, gv schema.GroupVersion) map[schema.GroupVersionKind]bool {
	type parameter struct {
		Name string `json:"name"`
		In   string `json:"in"`
		Ref  string `json:"$ref"`
	}
	var doc struct {
		Paths map[string]struct {
			Patch *struct {
				Parameters []parameter     `json:"parameters"`
				GVK        json.RawMessage `json:"x-kubernetes-group-version-kind"`
			} `json:"patch"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]parameter `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil
	}
	out := map[schema.GroupVersionKind]bool{}
	for _, p := range doc.Paths {
		if p.Patch == nil {
			continue
		}
		var gvk schema.GroupVersionKind
		if json.Unmarshal(p.Patch.GVK, &gvk) != nil || gvk.Kind == "" || gvk.GroupVersion() != gv {
			continue
		}
		takes := false
		for _, param := range p.Patch.Parameters {
			if ref, isRef := strings.CutPrefix(param.Ref, "#/parameters/"); isRef {
				param = doc.Components.Parameters[ref]
			}
			if param.Name == "fieldValidation" && param.In == "query" {
				takes = true
				break
			}
		}
		if seen, ok := out[gvk]; ok {
			takes = takes && seen
		}
		out[gvk] = takes
	}
	return out
}

// openAPIV3 is the API server's OpenAPI v3 and version as getter reaches them; nil when it
// cannot.
func openAPIV3(getter genericclioptions.RESTClientGetter) (openapi.Client, func() (*apiversion.Info, error)) {
	dc, err := getter.ToDiscoveryClient()
	if err != nil {
		return nil, nil
	}
	return dc.OpenAPIV3(), dc.ServerVersion
}
