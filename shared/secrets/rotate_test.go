package secrets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/exitcode"
)

func mustCipher(t *testing.T) (*Cipher, string) {
	t.Helper()
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func writeEncrypted(t *testing.T, c *Cipher, path, plain string, whole bool) {
	t.Helper()
	data, err := c.EncryptFile([]byte(plain), whole, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRotate: every secret of the chart and the extra files moves to the new key; with a
// wrong old key or an unreadable file nothing is written.
func TestRotate(t *testing.T) {
	oldKey, _ := mustCipher(t)
	newKey, _ := mustCipher(t)
	wrongKey, _ := mustCipher(t)
	tests := []struct {
		name     string
		with     *Cipher
		missing  bool
		wantCode exitcode.Code
		wantErr  string
	}{
		{name: "rotated", with: oldKey},
		{name: "wrong old key changes nothing", with: wrongKey, wantCode: exitcode.CodeUsage, wantErr: "decryption failed: check the encryption key and the data; nothing was rotated"},
		{name: "unreadable extra file changes nothing", with: oldKey, missing: true, wantCode: exitcode.CodeUsage, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chart := t.TempDir()
			values, file, extra := filepath.Join(chart, ValuesFile), filepath.Join(chart, FilesDir, "tls", "key.pem"), filepath.Join(t.TempDir(), "more-values.yaml")
			writeEncrypted(t, oldKey, values, "db:\n  password: pw\n", false)
			writeEncrypted(t, oldKey, file, "PEM\nlines\n", true)
			writeEncrypted(t, oldKey, extra, "token: tk\n", false)
			files := ChartFiles(chart)
			files[extra] = InFilesDir(extra)
			if tt.missing {
				// Sorted last: the files before it are decrypted and would be written by now.
				files[filepath.Join(t.TempDir(), "zz-absent.yaml")] = false
			}
			before := map[string][]byte{}
			for path := range files {
				before[path], _ = os.ReadFile(path)
			}

			rotated, err := Rotate(files, tt.with, newKey)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != tt.wantCode {
					t.Fatalf("Rotate: %v (code %d), want %q with code %d", err, exitcode.Of(err), tt.wantErr, tt.wantCode)
				}
				for path, data := range before {
					if now, _ := os.ReadFile(path); string(now) != string(data) {
						t.Fatalf("%s changed though the rotation failed", path)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{extra, values, file}; !slices.Equal(slices.Sorted(slices.Values(rotated)), slices.Sorted(slices.Values(want))) || !slices.IsSorted(rotated) {
				t.Fatalf("rotated %v, want %v, sorted", rotated, want)
			}
			for path, plain := range map[string]string{values: "db:\n  password: pw\n", file: "PEM\nlines\n", extra: "token: tk\n"} {
				data, _ := os.ReadFile(path)
				got, err := newKey.DecryptFile(data, files[path])
				if err != nil || string(got) != plain {
					t.Fatalf("%s with the new key: %q, %v; want %q", path, got, err, plain)
				}
				if _, err := oldKey.DecryptFile(data, files[path]); err == nil {
					t.Fatalf("%s still decrypts with the old key", path)
				}
			}
		})
	}
}

func TestInFilesDir(t *testing.T) {
	for path, want := range map[string]bool{
		"secret/tls.key":           true,
		".helm/secret/a/b.pem":     true,
		"secret-values.yaml":       false,
		".helm/secret-values.yaml": false,
		"secret":                   false,
		"secrets/x":                false,
	} {
		if got := InFilesDir(path); got != want {
			t.Errorf("InFilesDir(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestOldKey(t *testing.T) {
	_, key := mustCipher(t)
	keyFile := filepath.Join(t.TempDir(), "old.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    string
		env     string
		wantErr string
	}{
		{name: "from the environment", env: key},
		{name: "the file wins", file: keyFile, env: "not-hex"},
		{name: "none", wantErr: "no old key: set $WERF_OLD_SECRET_KEY or --old-key-file"},
		{name: "unreadable file", file: filepath.Join(t.TempDir(), "absent"), env: key, wantErr: "--old-key-file: open"},
		{name: "not a key", env: "zz", wantErr: "old key: the secret key must be hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := OldKey(tt.file, func(name string) string {
				if name == "WERF_OLD_SECRET_KEY" {
					return tt.env
				}
				return ""
			})
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.CodeUsage {
					t.Fatalf("OldKey: %v, want a usage error starting %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c == nil {
				t.Fatalf("OldKey: %v", err)
			}
		})
	}
}
