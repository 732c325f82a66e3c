package harness

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/sirupsen/logrus"
)

// Registry starts an OCI registry (the CNCF distribution registry, in memory) on 127.0.0.1
// for this test and returns its host:port. It is stopped when the test ends.
func Registry(t testing.TB) string {
	t.Helper()
	host, _ := StoppableRegistry(t)
	return host
}

// StoppableRegistry is Registry with a function that stops it before the test ends (its
// content is gone with it).
func StoppableRegistry(t testing.TB) (host string, stop func()) {
	t.Helper()
	logrus.SetOutput(io.Discard)
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.HTTP.Secret = "e2e-registry-secret"
	srv := httptest.NewServer(handlers.NewApp(context.Background(), cfg))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), srv.Close
}
