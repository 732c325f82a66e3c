package kuberetry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/kubectl-converge/converge/shared/testutil"
)

// transportFor is the retrying transport of a policy on a fake clock, bounding requests
// without a deadline by unbound.
func transportFor(unbound time.Duration) (*retryTransport, *testutil.InstantClock) {
	clock := testutil.NewInstantClock()
	p := &Policy{Clock: clock, Unbound: unbound}
	return p.Wrap(http.DefaultTransport).(*retryTransport), clock
}

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		failures int // answers before the server succeeds
		status   int
		body     string
		wantCode int
		wantHits int32
		// opaque sends a body the transport cannot rewind (no GetBody), as a streamed
		// request body is.
		opaque bool
	}{
		{"503 then success", http.MethodGet, 2, http.StatusServiceUnavailable, "", 200, 3, false},
		{"429 then success", http.MethodPost, 1, http.StatusTooManyRequests, "", 200, 2, false},
		{"502 on a patch then success", http.MethodPatch, 1, http.StatusBadGateway, "", 200, 2, false},
		{"504 on an update then success", http.MethodPut, 3, http.StatusGatewayTimeout, "", 200, 4, false},
		{"etcd leader change then success", http.MethodGet, 1, http.StatusInternalServerError, `{"kind":"Status","message":"etcdserver: leader changed","code":500}`, 200, 2, false},
		{"another 500 is an answer, not retried", http.MethodGet, 1, http.StatusInternalServerError, `{"kind":"Status","message":"Internal error occurred: failed calling webhook","code":500}`, 500, 1, false},
		{"an empty 500 (no API server's answer) then success", http.MethodPatch, 1, http.StatusInternalServerError, "", 200, 2, false},
		{"409 is an answer, not retried", http.MethodPost, 1, http.StatusConflict, "", 409, 1, false},
		{"504 on a create with a body it cannot rewind resends the same body", http.MethodPost, 1, http.StatusServiceUnavailable, "", 200, 2, true},
		{"503 on a patch with a body it cannot rewind resends the same body", http.MethodPatch, 2, http.StatusServiceUnavailable, "", 200, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodGet && string(body) != "payload" {
					t.Errorf("attempt %d got body %q", hits.Load()+1, body)
				}
				if int(hits.Add(1)) <= tt.failures {
					w.WriteHeader(tt.status)
					io.WriteString(w, tt.body)
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			rt, _ := transportFor(time.Minute)
			var body io.Reader
			if tt.method != http.MethodGet {
				body = strings.NewReader("payload")
			}
			req, err := http.NewRequest(tt.method, srv.URL+"/api/v1/namespaces/shop/configmaps", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.opaque {
				req.Body, req.GetBody = io.NopCloser(strings.NewReader("payload")), nil
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode || hits.Load() != tt.wantHits {
				t.Fatalf("status %d after %d requests, want %d after %d", resp.StatusCode, hits.Load(), tt.wantCode, tt.wantHits)
			}
		})
	}
}

// TestRetryTransportRetriesUntilTheDeadline: a server that never answers is retried with a
// growing, capped, jittered backoff until the request's deadline, or the run's when the
// request has none, and the last failure is returned.
func TestRetryTransportRetriesUntilTheDeadline(t *testing.T) {
	tests := []struct {
		name string
		// requestTimeout is the request's own deadline; zero: none.
		requestTimeout time.Duration
		// runTimeout binds the run (Bind); zero: no run.
		runTimeout time.Duration
		unbound    time.Duration
		want       time.Duration
	}{
		{name: "the request's deadline", requestTimeout: 20 * time.Second, unbound: time.Hour, want: 20 * time.Second},
		{name: "the run's deadline bounds a request without one", runTimeout: 45 * time.Second, unbound: time.Hour, want: 45 * time.Second},
		{name: "the earlier of the two", requestTimeout: 10 * time.Second, runTimeout: 45 * time.Second, unbound: time.Hour, want: 10 * time.Second},
		{name: "outside a run, the unbound budget", unbound: 30 * time.Second, want: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "starting")
			}))
			defer srv.Close()
			rt, clock := transportFor(tt.unbound)
			// The contexts' deadlines are far in real time: the fake clock decides.
			ctx := context.Background()
			if tt.requestTimeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, clock.Now().Add(tt.requestTimeout))
				defer cancel()
			}
			if tt.runTimeout > 0 {
				run, cancel := context.WithDeadline(context.Background(), clock.Now().Add(tt.runTimeout))
				defer cancel()
				defer rt.policy.Bind(run)()
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/v1/namespaces/shop/pods", nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusServiceUnavailable || string(data) != "starting" {
				t.Fatalf("got %d %q, want the last answer, 503 \"starting\"", resp.StatusCode, data)
			}
			total, waits := clock.Slept()
			if total != tt.want {
				t.Fatalf("retried for %s, want until the deadline %s (waits %v)", total, tt.want, waits)
			}
			if int(hits.Load()) != len(waits)+1 {
				t.Fatalf("%d requests for %d waits", hits.Load(), len(waits))
			}
			ceiling := DefaultBackoff.Initial
			for i, d := range waits[:len(waits)-1] {
				if d < ceiling/2 || d > ceiling {
					t.Fatalf("wait %d is %s, want within [%s, %s] (waits %v)", i, d, ceiling/2, ceiling, waits)
				}
				ceiling = min(2*ceiling, DefaultBackoff.Max)
			}
		})
	}
}

func TestRetryTransportRetriesRefusedConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := srv.URL
	srv.Close() // nothing listens there now
	rt, clock := transportFor(10 * time.Second)
	req, _ := http.NewRequest(http.MethodPost, addr+"/api/v1/namespaces", strings.NewReader(`{"metadata":{"name":"shop"}}`))
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused after the retries", err)
	}
	if total, _ := clock.Slept(); total != 10*time.Second {
		t.Fatalf("retried for %s, want 10s", total)
	}
}

// fakeAPI keeps objects by path and answers creates, reads and deletes of them like an API
// server; lose, when set, decides whether an answer is lost (the connection cut) after the
// server acted or before.
type fakeAPI struct {
	mu      sync.Mutex
	objects map[string]map[string]any
	// requests counts requests by method.
	requests map[string]int
	// loseAfter cuts the connection of the first N requests of a method after acting;
	// loseBefore before acting.
	loseAfter, loseBefore map[string]int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{objects: map[string]map[string]any{}, requests: map[string]int{}, loseAfter: map[string]int{}, loseBefore: map[string]int{}}
}

func (f *fakeAPI) object(name, manager string, created time.Time, deleting bool) map[string]any {
	meta := map[string]any{"name": name, "creationTimestamp": created.UTC().Format(time.RFC3339),
		"managedFields": []any{map[string]any{"manager": manager, "operation": "Update"}}}
	if deleting {
		meta["deletionTimestamp"] = created.UTC().Format(time.RFC3339)
		meta["finalizers"] = []any{"example.com/keep"}
	}
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[r.Method]++
	cut := func() {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}
	if f.loseBefore[r.Method] > 0 {
		f.loseBefore[r.Method]--
		cut()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var code int
	var out any
	switch r.Method {
	case http.MethodPost:
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		name := in["metadata"].(map[string]any)["name"].(string)
		path := r.URL.Path + "/" + name
		if _, ok := f.objects[path]; ok {
			code, out = http.StatusConflict, map[string]any{"kind": "Status", "reason": "AlreadyExists", "code": 409}
			break
		}
		f.objects[path] = f.object(name, r.URL.Query().Get("fieldManager"), time.Now(), false)
		code, out = http.StatusCreated, f.objects[path]
	case http.MethodGet:
		obj, ok := f.objects[r.URL.Path]
		code, out = http.StatusOK, obj
		if !ok {
			code, out = http.StatusNotFound, map[string]any{"kind": "Status", "reason": "NotFound", "code": 404}
		}
	case http.MethodDelete:
		_, ok := f.objects[r.URL.Path]
		code, out = http.StatusOK, map[string]any{"kind": "Status", "status": "Success"}
		if !ok {
			code, out = http.StatusNotFound, map[string]any{"kind": "Status", "reason": "NotFound", "code": 404}
		}
		delete(f.objects, r.URL.Path)
	}
	if f.loseAfter[r.Method] > 0 {
		f.loseAfter[r.Method]--
		cut()
		return
	}
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(out)
}

// TestRetryTransportChecksLostCreatesAndDeletes: a create or a delete whose answer was lost
// is checked against the live object before it is sent again: nothing is created twice, and
// nothing that took effect is reported failed.
func TestRetryTransportChecksLostCreatesAndDeletes(t *testing.T) {
	const collection = "/api/v1/namespaces/shop/configmaps"
	const object = collection + "/web"
	tests := []struct {
		name   string
		method string
		// existing is the object before the request: its field manager, whether it is being
		// deleted; "" for none.
		existing string
		deleting bool
		// loseAfter / loseBefore: the answers lost after the server acted / before.
		loseAfter, loseBefore int
		wantCode              int
		wantRequests          map[string]int
		wantExists            bool
	}{
		{name: "create taken effect, answer lost: the live object is the answer", method: http.MethodPost, loseAfter: 1,
			wantCode: 201, wantRequests: map[string]int{"POST": 1, "GET": 1}, wantExists: true},
		{name: "create lost before the server acted: sent again once", method: http.MethodPost, loseBefore: 1,
			wantCode: 201, wantRequests: map[string]int{"POST": 2, "GET": 1}, wantExists: true},
		// The AlreadyExists of the second attempt is checked once more (the first may have
		// taken effect late).
		{name: "create of an object someone else made: their AlreadyExists", method: http.MethodPost, existing: "kubectl", loseBefore: 1,
			wantCode: 409, wantRequests: map[string]int{"POST": 2, "GET": 2}, wantExists: true},
		{name: "create never answered: checked and sent again until answered", method: http.MethodPost, loseBefore: 3,
			wantCode: 201, wantRequests: map[string]int{"POST": 4, "GET": 3}, wantExists: true},
		{name: "delete taken effect, answer lost: NotFound is success", method: http.MethodDelete, existing: "converge", loseAfter: 1,
			wantCode: 200, wantRequests: map[string]int{"DELETE": 1, "GET": 1}, wantExists: false},
		{name: "delete lost before the server acted: sent again", method: http.MethodDelete, existing: "converge", loseBefore: 1,
			wantCode: 200, wantRequests: map[string]int{"DELETE": 2, "GET": 1}, wantExists: false},
		{name: "delete awaiting finalizers, answer lost: the live object is the answer", method: http.MethodDelete, existing: "converge", deleting: true, loseBefore: 1,
			wantCode: 200, wantRequests: map[string]int{"DELETE": 1, "GET": 1}, wantExists: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := newFakeAPI()
			if tt.existing != "" {
				api.objects[object] = api.object("web", tt.existing, time.Now(), tt.deleting)
			}
			api.loseAfter[tt.method], api.loseBefore[tt.method] = tt.loseAfter, tt.loseBefore
			srv := httptest.NewServer(api)
			defer srv.Close()
			rt, _ := transportFor(time.Minute)
			var req *http.Request
			if tt.method == http.MethodPost {
				req, _ = http.NewRequest(http.MethodPost, srv.URL+collection+"?fieldManager=converge", strings.NewReader(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web"}}`))
			} else {
				req, _ = http.NewRequest(http.MethodDelete, srv.URL+object, nil)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			api.mu.Lock()
			defer api.mu.Unlock()
			_, exists := api.objects[object]
			if resp.StatusCode != tt.wantCode || exists != tt.wantExists {
				t.Fatalf("answer %d, object exists %v; want %d, %v", resp.StatusCode, exists, tt.wantCode, tt.wantExists)
			}
			for method, n := range tt.wantRequests {
				if api.requests[method] != n {
					t.Fatalf("requests %v, want %v", api.requests, tt.wantRequests)
				}
			}
		})
	}
}

// TestRetryTransportRetriesACutBody: an answer whose body is cut (the API server killed while
// it sent it) is retried like a cut connection (a create checked against the live object
// first), not handed to client-go, which gives up on "unexpected error when reading response
// body"; a watch's body is the caller's to read.
func TestRetryTransportRetriesACutBody(t *testing.T) {
	const full = `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"web"}}`
	for _, tt := range []struct {
		name, method, query string
		cuts                int
		wantRequests        int32
		wantCut             bool
	}{
		{name: "a read", method: http.MethodGet, cuts: 2, wantRequests: 3},
		{name: "a create: checked before sent again", method: http.MethodPost, cuts: 1, wantRequests: 3},
		{name: "a watch: not read here", method: http.MethodGet, query: "?watch=true", cuts: 1, wantRequests: 1, wantCut: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := hits.Add(1)
				if r.Method == http.MethodGet && r.URL.Path == "/api/v1/namespaces/shop/configmaps/web" {
					// The create's check: not there yet, so it is sent again.
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusNotFound)
					io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
					return
				}
				if int(n) <= tt.cuts || r.Method == http.MethodPost && n == 1 {
					w.Header().Set("Content-Length", fmt.Sprint(len(full)))
					w.WriteHeader(http.StatusOK)
					io.WriteString(w, full[:10])
					w.(http.Flusher).Flush()
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				w.WriteHeader(http.StatusOK)
				io.WriteString(w, full)
			}))
			defer srv.Close()
			rt, _ := transportFor(time.Minute)
			var body io.Reader
			if tt.method == http.MethodPost {
				body = strings.NewReader(full)
			}
			path := "/api/v1/namespaces/shop/configmaps"
			if tt.method == http.MethodGet && tt.query == "" {
				path += "/settings"
			}
			req, err := http.NewRequest(tt.method, srv.URL+path+tt.query+map[bool]string{true: "?fieldManager=converge"}[tt.method == http.MethodPost], body)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			data, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tt.wantCut != (readErr != nil) || !tt.wantCut && string(data) != full || hits.Load() != tt.wantRequests {
				t.Fatalf("read %q (error %v) after %d requests; want the cut %v, %d requests", data, readErr, hits.Load(), tt.wantCut, tt.wantRequests)
			}
		})
	}
}

// TestRetryTransportGenerateNameIsNotSentTwice: a create whose name the server chooses
// cannot be checked: its lost answer is the error.
func TestRetryTransportGenerateNameIsNotSentTwice(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer srv.Close()
	rt, _ := transportFor(time.Minute)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/namespaces/shop/pods", strings.NewReader(`{"metadata":{"generateName":"job-"}}`))
	if _, err := rt.RoundTrip(req); err == nil || hits.Load() != 1 {
		t.Fatalf("err %v after %d requests, want the lost answer's error after 1", err, hits.Load())
	}
}

// TestPolicyReportsOutagesOnce: many failing requests make one "unreachable" event, the
// first answer after it one "back" event; failures before the API server ever answered are
// no outage (the command's error says it cannot be reached).
func TestPolicyReportsOutagesOnce(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			io.WriteString(w, "{}")
			return
		}
		if hits.Add(1) > 6 {
			down.Store(false)
		}
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	rt, clock := transportFor(time.Hour)
	start := clock.Now()
	var events []Event
	defer rt.policy.Observe(func(e Event) { events = append(events, e) })()
	never, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:1/version", nil)
	if _, err := rt.RoundTrip(never); err == nil || len(events) != 0 {
		t.Fatalf("a server never reached: err %v, events %+v; want an error and no event", err, events)
	}
	first, _ := http.NewRequest(http.MethodGet, srv.URL+"/version", nil)
	if _, err := rt.RoundTrip(first); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/pods", nil)
			if resp, err := rt.RoundTrip(req); err != nil || resp.StatusCode != 200 {
				t.Errorf("request failed: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(events) != 2 || !events[0].Back.IsZero() || events[1].Back.IsZero() || events[0].Since != events[1].Since || events[0].Since.Before(start) {
		t.Fatalf("events %+v, want one unreachable then one back, both saying since when", events)
	}
	if events[0].Cause != "503 Service Unavailable" {
		t.Fatalf("cause %q, want the first failure", events[0].Cause)
	}
	if _, _, down := rt.policy.Unreachable(); down {
		t.Fatal("still unreachable after the answer")
	}
	// A restarted API server may fail a request soon after it is back: retried, not
	// another outage; a failure after that is one.
	down.Store(true)
	hits.Store(4)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/pods", nil)
	if _, err := rt.RoundTrip(req); err != nil || len(events) != 2 {
		t.Fatalf("err %v, events %+v: want the 503 soon after the return retried without an event", err, events)
	}
	clock.Sleep(context.Background(), settleTime)
	down.Store(true)
	hits.Store(4)
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/v1/pods", nil)
	if _, err := rt.RoundTrip(req); err != nil || len(events) != 4 {
		t.Fatalf("err %v, events %+v: want a later failure reported as another outage", err, events)
	}
}

// TestNamesOf: the name of the object a create makes, from the JSON that dynamic clients
// send and the protobuf that typed clientsets send.
func TestNamesOf(t *testing.T) {
	info, ok := runtime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), runtime.ContentTypeProtobuf)
	if !ok {
		t.Fatal("no protobuf serializer")
	}
	encode := func(obj runtime.Object) []byte {
		data, err := runtime.Encode(scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion), obj)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name              string
		body              []byte
		wantName, wantGen string
		wantOK            bool
	}{
		{"json", []byte(`{"metadata":{"name":"web"}}`), "web", "", true},
		{"json generateName", []byte(`{"metadata":{"generateName":"job-"}}`), "", "job-", true},
		{"json review without a name", []byte(`{"kind":"SelfSubjectAccessReview","spec":{}}`), "", "", true},
		{"protobuf", encode(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.shop.v1", Labels: map[string]string{"status": "pending-install"}}}), "sh.helm.release.v1.shop.v1", "", true},
		{"protobuf generateName", encode(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "job-"}}), "", "job-", true},
		{"neither", []byte("\x00\x01garbage"), "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, gen, ok := namesOf(tt.body)
			if name != tt.wantName || gen != tt.wantGen || ok != tt.wantOK {
				t.Fatalf("namesOf = %q, %q, %v; want %q, %q, %v", name, gen, ok, tt.wantName, tt.wantGen, tt.wantOK)
			}
		})
	}
}

// TestRetryTransportGivesUpOnOnePathWhileOthersAnswer: a path that keeps answering 503 (an
// aggregated API whose service is down) while the API server answers other requests is
// retried for pathBudget, not until the run's deadline.
func TestRetryTransportGivesUpOnOnePathWhileOthersAnswer(t *testing.T) {
	var rt *retryTransport
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/metrics.k8s.io/v1beta1" {
			io.WriteString(w, "{}")
			return
		}
		if hits.Add(1) == 2 {
			// Another client of the command gets an answer meanwhile.
			other, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+"/api/v1/namespaces", nil)
			if resp, err := rt.RoundTrip(other); err == nil {
				resp.Body.Close()
			}
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "service unavailable")
	}))
	defer srv.Close()
	rt, clock := transportFor(time.Hour)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/apis/metrics.k8s.io/v1beta1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %v, %v; want the 503", resp, err)
	}
	if total, _ := clock.Slept(); total < pathBudget || total > pathBudget+DefaultBackoff.Initial+DefaultBackoff.Max {
		t.Fatalf("retried for %s, want about %s", total, pathBudget)
	}
}

// sleepHookClock is an instant clock that calls woke after each sleep.
type sleepHookClock struct {
	*testutil.InstantClock
	woke func()
}

func (c sleepHookClock) Sleep(ctx context.Context, d time.Duration) bool {
	ok := c.InstantClock.Sleep(ctx, d)
	c.woke()
	return ok
}

// TestRetryTransportPathBudgetCountsOnlyWhileTheServerAnswers: the path budget (a path that
// fails on its own while the API server answers others) counts from a failure of the path
// while others were answered, and an outage (empty 502s from a proxy before the API server)
// starts it afresh: a create is tried again once the API server is back, not failed with the
// outage's stale 502 because another request got through first.
func TestRetryTransportPathBudgetCountsOnlyWhileTheServerAnswers(t *testing.T) {
	const collection = "/api/v1/namespaces/shop/serviceaccounts"
	const (
		normal  = 0
		gateway = http.StatusBadGateway         // empty: a proxy whose API server is down
		busy    = http.StatusServiceUnavailable // a Status: the API server, failing this path
	)
	tests := []struct {
		name string
		// answer is what the server answers at elapsed time on the clock, to the create's
		// path (ours) or another.
		answer func(elapsed time.Duration, ours bool) int
		// others are when another client of the command sends a request.
		others []time.Duration
	}{
		{name: "an outage longer than the budget, then the path answers 503 while the server starts",
			answer: func(elapsed time.Duration, ours bool) int {
				switch {
				case elapsed < 2*pathBudget:
					return gateway
				case ours && elapsed < 2*pathBudget+5*time.Second:
					return busy
				}
				return normal
			},
			others: []time.Duration{2 * pathBudget}},
		{name: "the path fails while others are answered, then an outage longer than the budget",
			answer: func(elapsed time.Duration, ours bool) int {
				switch {
				case elapsed < 2*time.Second && ours:
					return busy
				case elapsed < 2*time.Second:
					return normal
				case elapsed < 3*pathBudget:
					return gateway
				}
				return normal
			},
			others: []time.Duration{0, 3 * pathBudget}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := testutil.NewInstantClock()
			start := clock.Now()
			var created atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ours := strings.HasPrefix(r.URL.Path, collection)
				switch tt.answer(clock.Now().Sub(start), ours) {
				case gateway:
					w.WriteHeader(http.StatusBadGateway)
				case busy:
					w.WriteHeader(http.StatusServiceUnavailable)
					io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"starting","code":503}`)
				default:
					switch {
					case !ours:
						io.WriteString(w, "{}")
					case r.Method == http.MethodPost:
						created.Add(1)
						w.WriteHeader(http.StatusCreated)
						io.WriteString(w, `{"kind":"ServiceAccount","apiVersion":"v1","metadata":{"name":"hooks"}}`)
					default:
						w.WriteHeader(http.StatusNotFound)
						io.WriteString(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
					}
				}
			}))
			defer srv.Close()
			var rt *retryTransport
			others := slices.Clone(tt.others)
			hooked := sleepHookClock{InstantClock: clock, woke: func() {
				for len(others) > 0 && clock.Now().Sub(start) >= others[0] {
					others = others[1:]
					// Sent once, past the retries: answered or not, as the server is then.
					other, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/namespaces", nil)
					if resp, err := rt.next.RoundTrip(other); err == nil {
						if resp.StatusCode == http.StatusOK {
							rt.policy.answered(clock.Now())
						}
						resp.Body.Close()
					}
				}
			}}
			rt = (&Policy{Clock: hooked, Unbound: time.Hour}).Wrap(http.DefaultTransport).(*retryTransport)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+collection+"?fieldManager=converge", strings.NewReader(`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"hooks"}}`))
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated || created.Load() != 1 {
				t.Fatalf("answer %d after %s, %d created; want 201 and one", resp.StatusCode, clock.Now().Sub(start).Round(time.Second), created.Load())
			}
		})
	}
}
