package helmsdk

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"

	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest/fake"
	"sigs.k8s.io/yaml"
)

// TestApplyWaitsOutATerminatingCopy: an object whose live copy is being deleted is neither
// patched nor created over (a patch merges into the copy that goes, or is refused): Apply
// says ErrTerminating, so the applier waits until it is gone and applies it again.
func TestApplyWaitsOutATerminatingCopy(t *testing.T) {
	tests := []struct {
		name string
		// live is the live object; "" answers 404.
		live      string
		install   bool
		wantErr   error
		wantWrite string
	}{
		{name: "terminating, on upgrade", live: liveConfigMap("deletionTimestamp: \"2026-12-05T10:00:00Z\"", "{a: old}"), wantErr: ErrTerminating},
		{name: "terminating, on a first install", live: liveConfigMap("deletionTimestamp: \"2026-12-05T10:00:00Z\"", "{a: old}"), install: true, wantErr: ErrTerminating, wantWrite: "POST"},
		{name: "live, patched", live: liveConfigMap("", "{a: old}"), wantWrite: "PATCH"},
		{name: "gone, created", wantWrite: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var writes []string
			client := &fake.RESTClient{
				NegotiatedSerializer: resource.UnstructuredPlusDefaultContentConfig().NegotiatedSerializer,
				GroupVersion:         schema.GroupVersion{Version: "v1"},
				Client: fake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
					body := func(code int, doc string) (*http.Response, error) {
						data, err := yaml.YAMLToJSON([]byte(doc))
						return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(data))}, err
					}
					if req.Method != http.MethodGet {
						writes = append(writes, req.Method)
					}
					switch {
					case req.Method == http.MethodPost && tt.live != "":
						return body(http.StatusConflict, `{kind: Status, apiVersion: v1, status: Failure, reason: AlreadyExists, code: 409, message: "object is being deleted: configmaps \"settings\" already exists"}`)
					case req.Method == http.MethodPost:
						return body(http.StatusCreated, manifestConfigMap)
					case tt.live == "":
						return body(http.StatusNotFound, `{kind: Status, apiVersion: v1, status: Failure, reason: NotFound, code: 404}`)
					default:
						return body(http.StatusOK, tt.live)
					}
				}),
			}
			info := objectInfo(t, manifestConfigMap)
			info.Client, info.Mapping.Scope = client, meta.RESTScopeNamespace
			err := helmOps{client: &kube.Client{Log: func(string, ...any) {}}, install: tt.install}.Apply(nil, info)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply: %v, want %v", err, tt.wantErr)
			}
			if got := len(writes); (tt.wantWrite == "" && got != 0) || (tt.wantWrite != "" && (got != 1 || writes[0] != tt.wantWrite)) {
				t.Fatalf("writes %v, want %q alone", writes, tt.wantWrite)
			}
		})
	}
}
