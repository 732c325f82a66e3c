package helmsdk

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

func TestUnchangedSinceApplied(t *testing.T) {
	at := func(seconds int) *metav1.Time {
		v := metav1.NewTime(time.Date(2026, 12, 2, 12, 0, seconds, 0, time.UTC))
		return &v
	}
	ours := func(seconds int) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationApply, Time: at(seconds)}
	}
	other := func(manager string, op metav1.ManagedFieldsOperationType, seconds int, subresource string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Time: at(seconds), Subresource: subresource}
	}
	tests := []struct {
		name     string
		fields   []metav1.ManagedFieldsEntry
		deleting bool
		want     bool
	}{
		{"only our apply", []metav1.ManagedFieldsEntry{ours(10)}, false, true},
		{"status written after our apply", []metav1.ManagedFieldsEntry{ours(10), other("kube-apiserver", metav1.ManagedFieldsOperationUpdate, 20, "status")}, false, true},
		{"created by helm before our apply", []metav1.ManagedFieldsEntry{other("helm", metav1.ManagedFieldsOperationUpdate, 5, ""), ours(10)}, false, true},
		{"kubectl edit after our apply", []metav1.ManagedFieldsEntry{ours(10), other("kubectl-edit", metav1.ManagedFieldsOperationUpdate, 20, "")}, false, false},
		{"another applier in the same second", []metav1.ManagedFieldsEntry{ours(10), other("cainjector", metav1.ManagedFieldsOperationApply, 10, "")}, false, false},
		{"never applied by us", []metav1.ManagedFieldsEntry{other("helm", metav1.ManagedFieldsOperationUpdate, 5, "")}, false, false},
		{"created by us", []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(10)}}, false, true},
		{"created by us, edited after", []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationUpdate, Time: at(10)}, other("kubectl-edit", metav1.ManagedFieldsOperationUpdate, 20, "")}, false, false},
		{"being deleted", []metav1.ManagedFieldsEntry{ours(10)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "crontabs.example.com", ManagedFields: tt.fields}}
			if tt.deleting {
				m.DeletionTimestamp = at(30)
			}
			if got := unchangedSinceApplied(m); got != tt.want {
				t.Errorf("unchangedSinceApplied = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDiscoveryServes: a CRD counts as served only once discovery lists its kind in every
// version it serves (Established comes a moment before).
func TestDiscoveryServes(t *testing.T) {
	crd := &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{
			"group": "corpus.converge.test",
			"names": map[string]any{"kind": "ScrapeTarget"},
			"versions": []any{
				map[string]any{"name": "v1", "served": true},
				map[string]any{"name": "v1alpha1", "served": false},
			},
		},
	}}
	dc := fake.NewClientset().Discovery().(*fakediscovery.FakeDiscovery)
	if discoveryServes(dc, crd) {
		t.Fatal("served before discovery lists the group")
	}
	dc.Resources = []*metav1.APIResourceList{{GroupVersion: "corpus.converge.test/v1", APIResources: []metav1.APIResource{{Name: "alertrules", Kind: "AlertRule"}}}}
	if discoveryServes(dc, crd) {
		t.Fatal("served while discovery lists another kind of the group only")
	}
	dc.Resources[0].APIResources = append(dc.Resources[0].APIResources, metav1.APIResource{Name: "scrapetargets", Kind: "ScrapeTarget"})
	if !discoveryServes(dc, crd) {
		t.Fatal("not served once discovery lists the kind in its one served version")
	}
}

// TestCRDDocuments: the chart's CRD files are split as Helm splits them, unparsed, empty
// documents left out; the digest changes with the document and the transform's key, and is
// absent when a transform has no key.
func TestCRDDocuments(t *testing.T) {
	crd := func(name string, versions ...string) string {
		out := "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: " + name + "\nspec:\n  versions:\n"
		for _, v := range versions {
			out += "  - name: " + v + "\n"
		}
		return out
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"one", crd("a.x.io", "v1"), []string{crd("a.x.io", "v1")}},
		{"two with empty documents", "---\n" + crd("a.x.io", "v1") + "---\n\n---\n" + crd("b.x.io", "v1"), []string{crd("a.x.io", "v1"), crd("b.x.io", "v1")}},
		{"a comment-only document is kept (the parse finds nothing in it)", crd("a.x.io", "v1") + "---\n# nothing\n", []string{crd("a.x.io", "v1"), "# nothing\n"}},
		{"JSON", `{"kind": "CustomResourceDefinition"}`, []string{`{"kind": "CustomResourceDefinition"}` + "\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range (&Client{}).crdDocumentsOf("crds/f.yaml", []byte(tt.file)) {
				got = append(got, strings.TrimPrefix(string(d.text), "---\n"))
				if d.file != "crds/f.yaml" || d.digest == "" {
					t.Errorf("document %q: file %q, digest %q", d.text, d.file, d.digest)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}

	file := []byte(crd("a.x.io", "v1"))
	digest := func(c *Client, data []byte) string { return c.crdDocumentsOf("f", data)[0].digest }
	identity := func(b []byte) ([]byte, error) { return b, nil }
	base := digest(&Client{transform: identity, transformKey: "k1"}, file)
	for name, other := range map[string]string{
		"another transform key": digest(&Client{transform: identity, transformKey: "k2"}, file),
		"another document":      digest(&Client{transform: identity, transformKey: "k1"}, []byte(crd("a.x.io", "v1", "v2"))),
		"no transform":          digest(&Client{}, file),
	} {
		if other == base {
			t.Errorf("%s: the same digest %s", name, base)
		}
	}
	if again := digest(&Client{transform: identity, transformKey: "k1"}, file); again != base {
		t.Errorf("the same document and key: digest %s, then %s", base, again)
	}
	if d := digest(&Client{transform: identity}, file); d != "" {
		t.Errorf("a transform without a key: digest %q, want none (always applied)", d)
	}
}

// TestCRDUnchanged: only a live CRD carrying the document's digest, applied by converge and
// changed by nobody since, is left alone.
func TestCRDUnchanged(t *testing.T) {
	applied := metav1.NewTime(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	live := func(digest string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{
			Annotations:   map[string]string{CRDAppliedDigestAnnotation: digest},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: crdFieldManager, Operation: metav1.ManagedFieldsOperationApply, Time: &applied}},
		}}
	}
	edited := live("d1")
	later := metav1.NewTime(applied.Add(time.Minute))
	edited.ManagedFields = append(edited.ManagedFields, metav1.ManagedFieldsEntry{Manager: "kubectl-edit", Operation: metav1.ManagedFieldsOperationUpdate, Time: &later})
	for _, tt := range []struct {
		name   string
		live   *metav1.PartialObjectMetadata
		digest string
		want   bool
	}{
		{"same digest", live("d1"), "d1", true},
		{"absent", nil, "d1", false},
		{"another digest", live("d0"), "d1", false},
		{"no digest to compare", live(""), "", false},
		{"edited since", edited, "d1", false},
	} {
		if got := crdUnchanged(tt.live, tt.digest); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestStuckCRDIsNudged: a CRD whose names were accepted but that is not established (the API
// server restarted between the two) gets two metadata writes, an annotation and its removal,
// which make the API server establish it; an established CRD, one still waiting for its names
// and one whose names were refused are read only.
func TestStuckCRDIsNudged(t *testing.T) {
	crd := func(conditions string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.x.io}\nstatus: {conditions: [" + conditions + "]}\n"
	}
	accepted := `{type: NamesAccepted, status: "True", reason: NoConflicts}`
	tests := []struct {
		name            string
		live            string
		wantEstablished bool
		wantErr         string
		wantPatches     []string
	}{
		{name: "established", live: crd(accepted + `, {type: Established, status: "True"}`), wantEstablished: true},
		{name: "names not yet judged", live: crd("")},
		{name: "names refused", live: crd(`{type: NamesAccepted, status: "False", reason: ListKindConflict, message: "listKind is already in use"}`),
			wantErr: `CRD "widgets.x.io" is not established: ListKindConflict: listKind is already in use`},
		{name: "names accepted, not established", live: crd(accepted), wantPatches: []string{
			`{"metadata":{"annotations":{"kubectl-converge.io/establishing":"<time>"}}}`,
			`{"metadata":{"annotations":{"kubectl-converge.io/establishing":null}}}`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := objectInfo(t, tt.live)
			info.Namespace, info.Mapping.Scope = "", meta.RESTScopeRoot
			var patches []string
			info.Client = answering(func(req *http.Request) (int, string) {
				if req.Method == http.MethodPatch {
					body, _ := io.ReadAll(req.Body)
					if req.Header.Get("Content-Type") != "application/merge-patch+json" || req.URL.Query().Get("fieldManager") != crdFieldManager {
						t.Errorf("patch %s with %q by %q", body, req.Header.Get("Content-Type"), req.URL.Query().Get("fieldManager"))
					}
					patches = append(patches, regexp.MustCompile(`"\d{4}-[^"]*"`).ReplaceAllString(string(body), `"<time>"`))
				}
				return http.StatusOK, tt.live
			})
			established, err := crdEstablished(info)
			if established != tt.wantEstablished || fmt.Sprint(err) != cmp.Or(tt.wantErr, "<nil>") {
				t.Fatalf("established %v, error %v; want %v, %q", established, err, tt.wantEstablished, tt.wantErr)
			}
			if !reflect.DeepEqual(patches, tt.wantPatches) {
				t.Fatalf("patches %q, want %q", patches, tt.wantPatches)
			}
		})
	}
}
