package charts

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
)

// TestValuesFilesAreReadOnce: a values file given by URL (or stdin) is read once however
// often values are merged, so the values stored in a revision are those deployed, and one
// merge's --set does not leak into the next.
func TestValuesFilesAreReadOnce(t *testing.T) {
	var gets atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := gets.Add(1)
		fmt.Fprintf(w, "served: %d\ndb:\n  host: db\n  port: 5432\n", n)
	}))
	defer server.Close()
	local := filepath.Join(t.TempDir(), "prod.yaml")
	if err := os.WriteFile(local, []byte("db:\n  port: 6432\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := LoadValues(ValueSources{Files: []string{server.URL + "/values.yaml", local}, Set: []string{"db.user=app", "cache.user=app"}})
	if err != nil {
		t.Fatal(err)
	}
	secret := map[string]any{"db": map[string]any{"password": "s3cret"}, "cache": map[string]any{"password": "s3cret"}}
	deployed, err := v.Merge(secret)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := v.Merge()
	if err != nil {
		t.Fatal(err)
	}
	wantDeployed := map[string]any{"served": float64(1), "db": map[string]any{"host": "db", "port": float64(6432), "user": "app", "password": "s3cret"},
		"cache": map[string]any{"user": "app", "password": "s3cret"}}
	wantStored := map[string]any{"served": float64(1), "db": map[string]any{"host": "db", "port": float64(6432), "user": "app"}, "cache": map[string]any{"user": "app"}}
	if !reflect.DeepEqual(deployed, wantDeployed) || !reflect.DeepEqual(stored, wantStored) {
		t.Fatalf("deployed %v\nstored %v", deployed, stored)
	}
	if gets.Load() != 1 {
		t.Fatalf("the values URL was fetched %d times", gets.Load())
	}
	_, dbChanged := secret["db"].(map[string]any)["user"]
	if _, ok := secret["cache"].(map[string]any)["user"]; ok || dbChanged {
		t.Fatalf("--set changed the secret layer it was merged over: %v", secret)
	}
}

func TestValuesFromStdin(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = stdin }()
	if _, err := w.WriteString("replicas: 3\n"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := MergeValues(ValueSources{Files: []string{"-"}})
	if err != nil {
		t.Fatal(err)
	}
	if got["replicas"] != float64(3) {
		t.Fatalf("values from stdin: %v", got)
	}
}
