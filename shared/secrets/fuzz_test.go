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
	// A fixed ciphertext: one made afresh each run would differ from those the fuzz cache
	// kept from earlier runs, which decrypt to the secret just as legitimately.
	good := []byte("100099d6a9fca2324fab23379edd76cb117b113d8e86542d2525c7d6be29efcd9382")
	values, err := c.EncryptValues([]byte("db:\n  password: s3cret\n"), nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{good, values, []byte("1000"), []byte("1000zz"), []byte(""), []byte("a: 1000abcdef\n"), []byte("a: [1000, {b: 1000}]\n"), []byte("- 1000\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if plain, err := c.Decrypt(data); err == nil && !strings.EqualFold(string(data), string(good)) && string(plain) == "secret" {
			t.Fatalf("foreign data %q decrypted to the secret", data)
		}
		_, _ = c.DecryptValues(data)
	})
}
