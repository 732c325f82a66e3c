package helmsdk

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiversion "k8s.io/apimachinery/pkg/version"
	"k8s.io/cli-runtime/pkg/resource"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/openapi/cached"
	"k8s.io/client-go/openapi/openapitest"
	"k8s.io/kubectl/pkg/validation"

	"helm.sh/helm/v3/pkg/kube"
)

// TestServerValidationAgreesWithKubectl: for every kind of the real API server documents
// client-go ships, what patchTakesFieldValidation reads is what kubectl's own verifier
// decides (so skipping kubectl's client-side validation for a kind skips only what kubectl
// would have skipped).
func TestServerValidationAgreesWithKubectl(t *testing.T) {
	specs := openapitest.NewEmbeddedFileClient()
	crds := map[schema.GroupVersionResource]string{{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}: "CustomResourceDefinitionList"}
	kubectl := resource.NewQueryParamVerifierV3(dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), crds), cached.NewClient(specs), resource.QueryParamFieldValidation)
	paths, err := specs.Paths()
	if err != nil {
		t.Fatal(err)
	}
	kinds := 0
	for path, doc := range paths {
		data, err := doc.Schema("application/json")
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		gv, err := schema.ParseGroupVersion(strings.TrimPrefix(strings.TrimPrefix(path, "api/"), "apis/"))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for gvk, ours := range patchTakesFieldValidation(data, gv) {
			kinds++
			theirs := kubectl.HasSupport(gvk)
			if ours != (theirs == nil) {
				t.Errorf("%s %v: we read %v, kubectl says %v", path, gvk, ours, theirs)
			}
		}
	}
	t.Logf("%d kinds of %d documents agree", kinds, len(paths))
	if kinds < 20 {
		t.Fatalf("only %d kinds read from %d documents: the documents were not understood", kinds, len(paths))
	}
}

// countingSpec is one group version's document, counting its reads.
type countingSpec struct {
	data  []byte
	reads *int
}

func (s countingSpec) Schema(string) ([]byte, error) { *s.reads++; return s.data, nil }
func (s countingSpec) ServerRelativeURL() string     { return "" }

// recordingFactory is Helm's factory whose strict validator records what it was given.
type recordingFactory struct {
	kube.Factory
	made      int
	validated []string
}

func (f *recordingFactory) Validator(directive string) (validation.Schema, error) {
	if directive != metav1.FieldValidationStrict {
		return nil, errors.New("only strict validation is expected here")
	}
	f.made++
	return recordingSchema{f}, nil
}

type recordingSchema struct{ f *recordingFactory }

func (s recordingSchema) ValidateBytes(data []byte) error {
	s.f.validated = append(s.f.validated, string(data))
	return nil
}

// TestKindsServerValidatesSkipKubectlsValidator: a kind whose PATCH takes fieldValidation is
// not validated on the client; every other object (a kind without it, one in a document it
// does not name, a group version with no document, a List, an object without apiVersion) goes
// through kubectl's validator, made once per Build. Each document is read once per run; the
// list of documents is read again for a group version it did not name.
func TestKindsServerValidatesSkipKubectlsValidator(t *testing.T) {
	doc := `{"paths": {
		"/apis/example.com/v1/namespaces/{namespace}/widgets/{name}": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
			"parameters": [{"name": "dryRun", "in": "query"}, {"name": "fieldValidation", "in": "query"}]}},
		"/apis/example.com/v1/namespaces/{namespace}/widgets/{name}/status": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
			"parameters": [{"$ref": "#/parameters/fieldValidation-x"}]}},
		"/apis/example.com/v1/namespaces/{namespace}/gadgets/{name}": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Gadget"},
			"parameters": [{"name": "dryRun", "in": "query"}]}},
		"/apis/example.com/v1/namespaces/{namespace}/mixeds/{name}": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Mixed"},
			"parameters": [{"name": "fieldValidation", "in": "query"}]}},
		"/apis/example.com/v1/namespaces/{namespace}/mixeds/{name}/status": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "example.com", "version": "v1", "kind": "Mixed"},
			"parameters": [{"name": "fieldValidation", "in": "body"}]}}
	}, "components": {"parameters": {"fieldValidation-x": {"name": "fieldValidation", "in": "query"}}}}`
	reads := 0
	specs := &openapitest.FakeClient{PathsMap: map[string]openapi.GroupVersion{"apis/example.com/v1": countingSpec{[]byte(doc), &reads}}}
	recorder := &recordingFactory{}
	factory := newServerValidatingFactory(recorder, specs, nil)
	obj := func(apiVersion, kind string) string {
		return `{"apiVersion": "` + apiVersion + `", "kind": "` + kind + `", "metadata": {"name": "x"}}`
	}
	build := func(objects ...string) {
		t.Helper()
		v, err := factory.Validator(metav1.FieldValidationStrict)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objects {
			if err := v.ValidateBytes([]byte(o)); err != nil {
				t.Fatal(err)
			}
		}
	}
	build(obj("example.com/v1", "Widget"), obj("example.com/v1", "Widget"))
	if recorder.made != 0 || len(recorder.validated) != 0 {
		t.Fatalf("kubectl's validator was made %d times for a kind the server validates: %v", recorder.made, recorder.validated)
	}
	unvouched := []string{
		obj("example.com/v1", "Gadget"),
		obj("example.com/v1", "Mixed"),
		obj("example.com/v1", "Sprocket"),
		obj("other.example.com/v1", "Widget"),
		obj("v1", "List"),
		`{"kind": "Widget"}`,
	}
	build(append([]string{obj("example.com/v1", "Widget")}, unvouched...)...)
	if recorder.made != 1 || strings.Join(recorder.validated, "\n") != strings.Join(unvouched, "\n") {
		t.Fatalf("kubectl's validator made %d times, given:\n%s\nwant once, given:\n%s", recorder.made, strings.Join(recorder.validated, "\n"), strings.Join(unvouched, "\n"))
	}
	build(obj("example.com/v1", "Widget"))
	if reads != 1 {
		t.Fatalf("the document was read %d times in one run, want once", reads)
	}
	// A CRD established meanwhile: its document is found by reading the list again.
	specs.PathsMap["apis/other.example.com/v1"] = countingSpec{[]byte(strings.ReplaceAll(doc, "example.com", "other.example.com")), &reads}
	recorder.validated = nil
	build(obj("other.example.com/v1", "Gadget"))
	build(obj("other.example.com/v1", "Widget"))
	if len(recorder.validated) != 1 || reads != 2 {
		t.Fatalf("after the new group version: validated %v, %d document reads; want the Gadget only, 2 reads", recorder.validated, reads)
	}
}

// TestNoOpenAPIKeepsKubectlsValidator: without the API server's OpenAPI v3 the factory is
// Helm's own.
func TestNoOpenAPIKeepsKubectlsValidator(t *testing.T) {
	recorder := &recordingFactory{}
	if f := newServerValidatingFactory(recorder, nil, nil); f != kube.Factory(recorder) {
		t.Fatalf("got %T, want Helm's factory unchanged", f)
	}
	specs := &openapitest.FakeClient{ForcedErr: errors.New("openapi/v3: 404")}
	v, err := newServerValidatingFactory(recorder, specs, nil).Validator(metav1.FieldValidationStrict)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ValidateBytes([]byte(`{"apiVersion": "v1", "kind": "ConfigMap"}`)); err != nil || len(recorder.validated) != 1 {
		t.Fatalf("err %v, kubectl's validator given %v: want the ConfigMap given to it", err, recorder.validated)
	}
}

// TestServerValidatedBuiltinsAgreeWithTheirDocuments: every kind vouched for without reading
// its document is one whose PATCH takes fieldValidation in the API server documents client-go
// ships.
func TestServerValidatedBuiltinsAgreeWithTheirDocuments(t *testing.T) {
	paths, err := openapitest.NewEmbeddedFileClient().Paths()
	if err != nil {
		t.Fatal(err)
	}
	read := map[schema.GroupVersion]map[schema.GroupVersionKind]bool{}
	for gvk := range serverValidatedBuiltins {
		gv := gvk.GroupVersion()
		if read[gv] == nil {
			path := "apis/" + gv.String()
			if gv.Group == "" {
				path = "api/" + gv.Version
			}
			doc, ok := paths[path]
			if !ok {
				t.Fatalf("%v: no document %s among those client-go ships", gvk, path)
			}
			data, err := doc.Schema("application/json")
			if err != nil {
				t.Fatal(err)
			}
			read[gv] = patchTakesFieldValidation(data, gv)
		}
		if !read[gv][gvk] {
			t.Errorf("%v is vouched for, but its document does not have fieldValidation on each PATCH", gvk)
		}
	}
}

// TestBuiltinKindsNeedNoDocumentFrom127: on an API server from 1.27 a vouched-for built-in
// kind is validated by the server without its document being read; on an older one, one
// whose version cannot be told, or for a kind not vouched for, the document is read as before.
func TestBuiltinKindsNeedNoDocumentFrom127(t *testing.T) {
	doc := `{"paths": {
		"/apis/apps/v1/namespaces/{namespace}/deployments/{name}": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
			"parameters": [{"name": "fieldValidation", "in": "query"}]}},
		"/apis/apps/v1/namespaces/{namespace}/widgets/{name}": {"patch": {
			"x-kubernetes-group-version-kind": {"group": "apps", "version": "v1", "kind": "Widget"},
			"parameters": [{"name": "fieldValidation", "in": "query"}]}}
	}}`
	tests := []struct {
		name       string
		version    string
		versionErr error
		kind       string
		wantReads  int
	}{
		{"a built-in kind on 1.37", "v1.37.2", nil, "Deployment", 0},
		{"a built-in kind on 1.27", "v1.27.0", nil, "Deployment", 0},
		{"a built-in kind on 1.26", "v1.26.15", nil, "Deployment", 1},
		{"a built-in kind when the version cannot be read", "", errors.New("the server is unreachable"), "Deployment", 1},
		{"a built-in kind when the version cannot be parsed", "unknown", nil, "Deployment", 1},
		{"a built-in kind on a distribution's 1.28", "v1.28.3-eks-4b4f5b8", nil, "Deployment", 0},
		{"a built-in kind on k3s 1.29", "v1.29.0+k3s1", nil, "Deployment", 0},
		{"a kind not vouched for on 1.37", "v1.37.2", nil, "Widget", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reads, asked := 0, 0
			specs := &openapitest.FakeClient{PathsMap: map[string]openapi.GroupVersion{"apis/apps/v1": countingSpec{[]byte(doc), &reads}}}
			recorder := &recordingFactory{}
			factory := newServerValidatingFactory(recorder, specs, func() (*apiversion.Info, error) {
				asked++
				return &apiversion.Info{GitVersion: tt.version}, tt.versionErr
			})
			for range 2 {
				v, err := factory.Validator(metav1.FieldValidationStrict)
				if err != nil {
					t.Fatal(err)
				}
				if err := v.ValidateBytes([]byte(`{"apiVersion": "apps/v1", "kind": "` + tt.kind + `", "metadata": {"name": "x"}}`)); err != nil {
					t.Fatal(err)
				}
			}
			if reads != tt.wantReads || len(recorder.validated) != 0 {
				t.Fatalf("document read %d times, kubectl's validator given %d objects; want %d reads and none (the server validates)", reads, len(recorder.validated), tt.wantReads)
			}
			if wantAsked := map[bool]int{true: 1, false: 0}[tt.kind == "Deployment"]; asked != wantAsked {
				t.Fatalf("the server's version was asked %d times, want %d (once, and only for a kind that could be vouched for)", asked, wantAsked)
			}
		})
	}
}
