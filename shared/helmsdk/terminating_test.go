package helmsdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/rest/fake"
	"sigs.k8s.io/yaml"
)

const statusNotFound = `{kind: Status, apiVersion: v1, status: Failure, reason: NotFound, code: 404}`

// answering is a REST client whose server answers each request with a status code and a
// YAML body.
func answering(answer func(*http.Request) (int, string)) *fake.RESTClient {
	return &fake.RESTClient{
		NegotiatedSerializer: resource.UnstructuredPlusDefaultContentConfig().NegotiatedSerializer,
		GroupVersion:         schema.GroupVersion{Version: "v1"},
		Client: fake.CreateHTTPClient(func(req *http.Request) (*http.Response, error) {
			code, doc := answer(req)
			data, err := yaml.YAMLToJSON([]byte(doc))
			return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(bytes.NewReader(data))}, err
		}),
	}
}

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
			info := objectInfo(t, manifestConfigMap)
			info.Client = answering(func(req *http.Request) (int, string) {
				if req.Method != http.MethodGet {
					writes = append(writes, req.Method)
				}
				switch {
				case req.Method == http.MethodPost && tt.live != "":
					return http.StatusConflict, `{kind: Status, apiVersion: v1, status: Failure, reason: AlreadyExists, code: 409, message: "object is being deleted: configmaps \"settings\" already exists"}`
				case req.Method == http.MethodPost:
					return http.StatusCreated, manifestConfigMap
				case tt.live == "":
					return http.StatusNotFound, statusNotFound
				}
				return http.StatusOK, tt.live
			})
			err := helmOps{client: &kube.Client{Log: func(string, ...any) {}}, install: tt.install}.Apply(nil, info, nil)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("Apply: %v, want %v", err, tt.wantErr)
			}
			if got := len(writes); (tt.wantWrite == "" && got != 0) || (tt.wantWrite != "" && (got != 1 || writes[0] != tt.wantWrite)) {
				t.Fatalf("writes %v, want %q alone", writes, tt.wantWrite)
			}
		})
	}
}

// awaiting records what it is asked to await.
type awaiting struct {
	Applier
	got []string
}

func (a *awaiting) AwaitGone(objects []*resource.Info, why string) error {
	for _, o := range objects {
		a.got = append(a.got, o.Name)
	}
	return nil
}

// TestWaitForDeleteAwaitsWhatIsStillThere: the hooks Helm deleted are awaited through the
// Applier, or an uninstall's awaitGone, once each, and only those still there (Helm asks
// for every hook with a delete policy, most of which never existed).
func TestWaitForDeleteAwaitsWhatIsStillThere(t *testing.T) {
	tests := []struct {
		name      string
		uninstall bool
		live      []string
		want      string
	}{
		{name: "a deploy, one still there", live: []string{"settings"}, want: "settings"},
		{name: "a deploy, none there", want: ""},
		{name: "an uninstall, one still there", uninstall: true, live: []string{"settings"}, want: "settings"},
		{name: "an uninstall, none there", uninstall: true, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resources kube.ResourceList
			for _, name := range []string{"settings", "gone"} {
				info := objectInfo(t, strings.Replace(manifestConfigMap, "settings", name, 1))
				live := slices.Contains(tt.live, name)
				info.Client = answering(func(*http.Request) (int, string) {
					if live {
						return http.StatusOK, manifestConfigMap
					}
					return http.StatusNotFound, statusNotFound
				})
				resources = append(resources, info)
			}
			applier := &awaiting{}
			c := &deployKubeClient{Client: &kube.Client{Log: func(string, ...any) {}}, context: context.Background()}
			called := 0
			if tt.uninstall {
				c.awaitGone = func(_ context.Context, objects []*resource.Info) error {
					called++
					return applier.AwaitGone(objects, "")
				}
			} else {
				c.applier = applier
			}
			if err := c.WaitForDelete(resources, time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(applier.got, ","); got != tt.want || (tt.uninstall && tt.want == "" && called != 0) {
				t.Fatalf("awaited %q (%d calls), want %q", got, called, tt.want)
			}
		})
	}
}

// awaitingDeleter deletes as the applier does and records what it is asked to await.
type awaitingDeleter struct {
	hookApplier
	got []string
}

func (a *awaitingDeleter) AwaitGone(objects []*resource.Info, _ string) error {
	for _, o := range objects {
		a.got = append(a.got, o.Name)
	}
	return nil
}

// TestWaitForDeleteReadsNothingTheDeleteFoundMissing: a hook whose delete by its policy
// found nothing is not read again by the wait that follows (Helm deletes and awaits every
// hook before creating it, most of which are not there); one the delete did delete is read,
// and awaited while still there, also after an earlier delete of it found nothing.
func TestWaitForDeleteReadsNothingTheDeleteFoundMissing(t *testing.T) {
	tests := []struct {
		name string
		// deletes are the answers to the deletes, one Delete each: true deleted, false missing.
		deletes   []bool
		wantReads int
		want      string
	}{
		{name: "missing", deletes: []bool{false}, wantReads: 0, want: ""},
		{name: "deleted, still there", deletes: []bool{true}, wantReads: 1, want: "settings"},
		{name: "missing, then deleted", deletes: []bool{false, true}, wantReads: 1, want: "settings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := objectInfo(t, manifestConfigMap)
			deleted, reads := false, 0
			info.Client = answering(func(req *http.Request) (int, string) {
				switch {
				case req.Method == http.MethodGet:
					reads++
					return http.StatusOK, liveConfigMap("deletionTimestamp: \"2026-12-05T10:00:00Z\"", "{a: b}")
				case deleted:
					return http.StatusOK, manifestConfigMap
				}
				return http.StatusNotFound, statusNotFound
			})
			applier := &awaitingDeleter{}
			c := &deployKubeClient{Client: &kube.Client{Log: func(string, ...any) {}}, applier: applier, context: context.Background()}
			for _, d := range tt.deletes {
				deleted = d
				if _, errs := c.Delete(kube.ResourceList{info}); len(errs) > 0 {
					t.Fatal(errs)
				}
			}
			if err := c.WaitForDelete(kube.ResourceList{info}, time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(applier.got, ","); reads != tt.wantReads || got != tt.want {
				t.Fatalf("%d reads, awaited %q; want %d reads, %q awaited", reads, got, tt.wantReads, tt.want)
			}
		})
	}
}
