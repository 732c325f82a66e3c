package kuberetry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryTransport(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		failures int // answers before the server succeeds
		status   int
		wantCode int
		wantHits int32
		// opaque sends a body the transport cannot rewind (no GetBody), as a streamed
		// request body is.
		opaque bool
	}{
		{"503 then success", http.MethodGet, 2, http.StatusServiceUnavailable, 200, 3, false},
		{"429 without Retry-After then success", http.MethodPost, 1, http.StatusTooManyRequests, 200, 2, false},
		{"502 on a patch then success", http.MethodPatch, 1, http.StatusBadGateway, 200, 2, false},
		{"500 is an answer, not retried", http.MethodGet, 1, http.StatusInternalServerError, 500, 1, false},
		{"409 is an answer, not retried", http.MethodPost, 1, http.StatusConflict, 409, 1, false},
		{"503 for good gives up", http.MethodGet, 100, http.StatusServiceUnavailable, 503, 4, false},
		{"504 on a create with a body it cannot rewind resends the same body", http.MethodPost, 1, http.StatusGatewayTimeout, 200, 2, true},
		{"503 on a patch with a body it cannot rewind resends the same body", http.MethodPatch, 2, http.StatusServiceUnavailable, 200, 3, true},
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
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			rt := &retryTransport{next: http.DefaultTransport, backoff: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}}
			var body io.Reader
			if tt.method != http.MethodGet {
				body = strings.NewReader("payload")
			}
			req, err := http.NewRequest(tt.method, srv.URL, body)
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

func TestRetryTransportRetriesRefusedConnections(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := srv.URL
	srv.Close() // nothing listens there now
	rt := &retryTransport{next: http.DefaultTransport, backoff: []time.Duration{time.Millisecond, time.Millisecond}}
	req, _ := http.NewRequest(http.MethodPost, addr, strings.NewReader("x"))
	if _, err := rt.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("err = %v, want connection refused after the retries", err)
	}
}
