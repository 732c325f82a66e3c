package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-converge/converge/shared/redact"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "werf-e2e-complex", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecryptsWerfFixtures(t *testing.T) {
	c, err := NewCipher(string(fixture(t, "werf_secret_key")))
	if err != nil {
		t.Fatal(err)
	}
	values, err := c.DecryptValues(fixture(t, "secret-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "added_via_secret_values: added_via_secret_values\noverridden_via_secret_values: overridden_via_secret_values\n"
	if string(values) != want {
		t.Fatalf("decrypted values:\n%s\nwant:\n%s", values, want)
	}
	file, err := c.Decrypt(fixture(t, "secret-config"))
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != "secretConfigContent\n" {
		t.Fatalf("decrypted file = %q", file)
	}
}

func TestRoundTripEveryLengthAndKeySize(t *testing.T) {
	for _, keyHex := range []string{strings.Repeat("ab", 16), strings.Repeat("cd", 24), strings.Repeat("ef", 32)} {
		c, err := NewCipher(keyHex)
		if err != nil {
			t.Fatalf("key of %d hex chars: %v", len(keyHex), err)
		}
		for n := 0; n <= 33; n++ {
			plain := bytes.Repeat([]byte{'x'}, n)
			enc, err := c.Encrypt(plain)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(enc, []byte("1000")) {
				t.Fatalf("encrypted value %q does not start with werf's 1000 prefix", enc)
			}
			dec, err := c.Decrypt(enc)
			if err != nil || !bytes.Equal(dec, plain) {
				t.Fatalf("round trip of %d bytes with %d-char key: %q, %v", n, len(keyHex), dec, err)
			}
		}
	}
}

func TestBadKeysAndData(t *testing.T) {
	if _, err := NewCipher(strings.Repeat("a", 31)); err == nil {
		t.Fatal("31 hex chars accepted as a key")
	}
	if _, err := NewCipher("zz" + strings.Repeat("a", 30)); err == nil {
		t.Fatal("non-hex key accepted")
	}
	right, _ := NewCipher(strings.Repeat("ab", 16))
	// CBC cannot tell every wrong key (about one in 256 decrypts to valid padding), so the
	// wrong-key case uses a fixed ciphertext and key pair known to fail.
	wrong, _ := NewCipher(strings.Repeat("cd", 16))
	fixed := fixture(t, "secret-config")
	enc, _ := right.Encrypt([]byte("s3cret-password"))
	tests := []struct {
		name string
		c    *Cipher
		data []byte
	}{
		{"wrong key", wrong, fixed},
		{"odd hex", right, enc[:len(enc)-1]},
		{"truncated", right, enc[:40]},
		{"unknown version", right, append([]byte("0700"), enc[4:]...)},
		{"not hex", right, []byte("1000zzzz")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.c.Decrypt(tt.data)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Decrypt() = %q, %v; want ErrDecrypt", out, err)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestDecryptValuesRejectsWrongKeyEvenWithValidPadding(t *testing.T) {
	right, _ := NewCipher(strings.Repeat("ab", 16))
	enc, err := right.EncryptValues([]byte("password: correct-horse-battery-staple\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Try many wrong keys: some decrypt to valid padding, none may pass as a value.
	for i := 0; i < 2000; i++ {
		wrong, _ := NewCipher(fmt.Sprintf("%032x", i+1))
		if out, err := wrong.DecryptValues(enc); err == nil {
			t.Fatalf("wrong key %d decrypted the values to %q", i+1, out)
		}
	}
}

func TestDecryptValuesNamesThePath(t *testing.T) {
	c, _ := NewCipher(strings.Repeat("ab", 16))
	_, err := c.DecryptValues([]byte("db:\n  password: 1000deadbeef\n"))
	if err == nil || !strings.Contains(err.Error(), "db.password") {
		t.Fatalf("error %v does not name the value's path", err)
	}
}

func TestEncryptValuesKeepsUnchangedCiphertext(t *testing.T) {
	c, _ := NewCipher(strings.Repeat("ab", 16))
	first, err := c.EncryptValues([]byte("db:\n  user: app\n  password: one\nlist: [a, b]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.EncryptValues([]byte("db:\n  user: app\n  password: two\nlist: [a, b]\n"), first)
	if err != nil {
		t.Fatal(err)
	}
	firstLines, secondLines := strings.Split(string(first), "\n"), strings.Split(string(second), "\n")
	changed := 0
	for i := range firstLines {
		if firstLines[i] != secondLines[i] {
			changed++
			if !strings.Contains(firstLines[i], "password") {
				t.Fatalf("line %q changed though its value did not", firstLines[i])
			}
		}
	}
	if changed != 1 {
		t.Fatalf("%d lines changed, want only the password line:\n%s\n---\n%s", changed, first, second)
	}
	plain, err := c.DecryptValues(second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plain), "password: two") || !strings.Contains(string(plain), "list: [a, b]") {
		t.Fatalf("decrypted values lost data:\n%s", plain)
	}
}

func TestKeySourceOrder(t *testing.T) {
	project, home := t.TempDir(), t.TempDir()
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{}
	src := KeySource{ProjectDir: project, HomeDir: home, Getenv: func(k string) string { return env[k] }}
	if _, _, err := src.Find(); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key anywhere: %v, want ErrNoKey", err)
	}
	write(filepath.Join(home, ".werf", "global_secret_key"), "global-key-0123456789\n")
	assertKey := func(want string) {
		t.Helper()
		got, _, err := src.Find()
		if err != nil || got != want {
			t.Fatalf("Find() = %q, %v; want %q", got, err, want)
		}
		if out := redact.String("key: " + want); strings.Contains(out, want) {
			t.Fatalf("the key read from its source is not redacted: %q", out)
		}
	}
	assertKey("global-key-0123456789")
	write(filepath.Join(project, ".werf_secret_key"), "project-key-0123456789")
	assertKey("project-key-0123456789")
	env["WERF_SECRET_KEY"] = "fromenv-key-0123456789"
	assertKey("fromenv-key-0123456789")
	src.File = filepath.Join(project, "explicit")
	write(src.File, "explicit-key-0123456789\n")
	assertKey("explicit-key-0123456789")
}
