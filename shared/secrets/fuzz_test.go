package secrets

import (
	"strings"
	"testing"
)

// FuzzDecrypt feeds arbitrary data to the decryption of values and files: it must return an
// error or a value, never panic, and never decrypt data that was not encrypted with the key.
func FuzzDecrypt(f *testing.F) {
	c, err := NewCipher(strings.Repeat("ab", 16))
	if err != nil {
		f.Fatal(err)
	}
	good, err := c.Encrypt([]byte("secret"))
	if err != nil {
		f.Fatal(err)
	}
	values, err := c.EncryptValues([]byte("db:\n  password: s3cret\n"), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{good, values, []byte("1000"), []byte("1000zz"), []byte(""), []byte("a: 1000abcdef\n"), []byte("a: [1000, {b: 1000}]\n"), []byte("- 1000\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if plain, err := c.Decrypt(data); err == nil && string(data) != string(good) && string(plain) == "secret" {
			t.Fatalf("foreign data %q decrypted to the secret", data)
		}
		_, _ = c.DecryptValues(data)
	})
}
