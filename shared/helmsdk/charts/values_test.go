package charts

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
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

// TestSetErrorsNameKeysNotValues: an error about a --set item names its keys and never
// shows a value (a password given on the command line).
func TestSetErrorsNameKeysNotValues(t *testing.T) {
	const secret = "hunter2-SECRETMARKER"
	tests := []struct {
		name    string
		src     ValueSources
		wantErr string
	}{
		{name: "a key without value after a secret", src: ValueSources{Set: []string{"db.password=" + secret + ",oops"}},
			wantErr: `--set "db.password=...,oops": key "oops" has no value`},
		{name: "an empty key after a secret", src: ValueSources{Set: []string{"db.password=" + secret + ",=x"}},
			wantErr: `--set "db.password=...,=...": a key before = is empty: use KEY=VALUE`},
		{name: "a list value with commas", src: ValueSources{Set: []string{"hosts={a-" + secret + ",b},oops"}},
			wantErr: `--set "hosts=...,oops": key "oops" has no value`},
		{name: "an escaped comma in a value", src: ValueSources{SetString: []string{`token=a\,` + secret + `,oops`}},
			wantErr: `--set-string "token=...,oops": key "oops" has no value`},
		{name: "json", src: ValueSources{SetJSON: []string{`db={"password":"` + secret + `","x":1},oops`}},
			wantErr: `--set-json "db=...,oops": key "oops" has no value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MergeValues(tt.src)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error %v, want %s", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "SECRETMARKER") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}

// TestOversizedValuesFilesAreRefused: a values file or a --set-file file over
// MaxValuesFileSize is refused with one line naming it and the cap (a sparse file: nothing is
// written to disk).
func TestOversizedValuesFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(MaxValuesFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fits := filepath.Join(dir, "fits.yaml")
	if err := os.WriteFile(fits, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The server streams four times the cap without saying how long it is; that it could not
	// send it all shows the cap is kept while reading.
	// Each subtest asks for its own path, so a handler still failing its last writes to a
	// closed connection does not count into the next subtest.
	const streamed = 4 * MaxValuesFileSize
	var mu sync.Mutex
	servedBy := map[string]*atomic.Int64{}
	servedFor := func(path string) *atomic.Int64 {
		mu.Lock()
		defer mu.Unlock()
		if servedBy[path] == nil {
			servedBy[path] = new(atomic.Int64)
		}
		return servedBy[path]
	}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served := servedFor(r.URL.Path)
		chunk := bytes.Repeat([]byte("# padding\n"), 1<<15)
		for served.Load() < streamed {
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer server.Close()
	bigURL := server.URL + "/values.yaml"
	bigSetFileURL := server.URL + "/cert.yaml"
	for _, tc := range []struct {
		name     string
		src      ValueSources
		wantErr  string
		streamed bool
	}{
		{name: "values file", src: ValueSources{Files: []string{fits, big}}, wantErr: "--values " + big + ": larger than the 64 MiB allowed"},
		{name: "set-file", src: ValueSources{SetFile: []string{"cert=" + big}}, wantErr: `--set-file "cert=...": ` + big + ": larger than the 64 MiB allowed"},
		{name: "values URL", src: ValueSources{Files: []string{bigURL}}, wantErr: "--values " + bigURL + ": larger than the 64 MiB allowed", streamed: true},
		{name: "set-file URL", src: ValueSources{SetFile: []string{"cert=" + bigSetFileURL}}, wantErr: `--set-file "cert=...": ` + bigSetFileURL + ": larger than the 64 MiB allowed", streamed: true},
		{name: "within the cap", src: ValueSources{Files: []string{fits}, SetFile: []string{"cert=" + fits}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := MergeValues(tc.src)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if !tc.streamed {
				return
			}
			// Socket buffers on both ends take what the machine allows beyond what was read
			// (18 MiB on one CI machine; tcp_rmem allows 32 MiB and more elsewhere), so the
			// proof is that the server could not send its whole stream: a reader that reads
			// whole takes all four times the cap, a capped one the cap and the buffers.
			url := tc.src.Files
			if len(url) == 0 {
				url = []string{strings.TrimPrefix(tc.src.SetFile[0], "cert=")}
			}
			served := servedFor(strings.TrimPrefix(url[0], server.URL)).Load()
			if served >= streamed {
				t.Fatalf("the server could send all %d MiB of its stream: it was read whole, not capped while reading", served>>20)
			}
		})
	}
}
