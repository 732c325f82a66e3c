package harness

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
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

// SecureRegistry starts a registry on 127.0.0.1 that serves HTTPS with a certificate of its
// own and requires user and password (htpasswd). It returns host:port and a PEM file of the
// certificate, to trust with --ca-file.
func SecureRegistry(t testing.TB, user, password string) (host, caFile string) {
	t.Helper()
	logrus.SetOutput(io.Discard)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &configuration.Configuration{}
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.HTTP.Secret = "e2e-registry-secret"
	cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "e2e", "path": htpasswd}}
	srv := httptest.NewUnstartedServer(handlers.NewApp(context.Background(), cfg))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile = filepath.Join(dir, "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(srv.URL, "https://"), caFile
}
