package secrets

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/redact"
)

const (
	// ValuesFile is a chart's own encrypted values file (werf's layout).
	ValuesFile = "secret-values.yaml"
	// FilesDir holds a chart's encrypted files, read by werf_secret_file in templates.
	FilesDir = "secret"
)

// InFilesDir reports whether path lies under a secret/ directory: such a file is encrypted
// whole, any other as a values document (each leaf on its own).
func InFilesDir(path string) bool {
	parts := strings.Split(filepath.ToSlash(filepath.Clean(path)), "/")
	return slices.Contains(parts[:len(parts)-1], FilesDir)
}

// EncryptFile encrypts data as a whole file, or as a values document whose unchanged leaves
// keep their ciphertext from previous (nil: all are encrypted anew).
func (c *Cipher) EncryptFile(data []byte, whole bool, previous []byte) ([]byte, error) {
	if !whole {
		return c.EncryptValues(data, previous)
	}
	out, err := c.Encrypt(data)
	return append(out, '\n'), err
}

// DecryptFile decrypts a whole encrypted file, or the leaves of a values document.
func (c *Cipher) DecryptFile(data []byte, whole bool) ([]byte, error) {
	if whole {
		return c.Decrypt(data)
	}
	return c.DecryptValues(data)
}

// OldKey is the key secrets are encrypted with before a rotation: the file, else
// $WERF_OLD_SECRET_KEY (read with getenv; nil means os.Getenv). It is registered with the
// redactor like the current key.
func OldKey(file string, getenv func(string) string) (*Cipher, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	key := getenv("WERF_OLD_SECRET_KEY")
	if file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("--old-key-file: %w", err))
		}
		key = string(raw)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, exitcode.Usage("no old key: set $WERF_OLD_SECRET_KEY or --old-key-file")
	}
	redact.Add(key)
	c, err := NewCipher(key)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("old key: %w", err))
	}
	return c, nil
}

// ChartFiles lists the encrypted files of the chart in chartDir, by path: its
// secret-values.yaml (false: a values document) and every file under secret/ (true: whole).
func ChartFiles(chartDir string) map[string]bool {
	files := map[string]bool{}
	if _, err := os.Stat(filepath.Join(chartDir, ValuesFile)); err == nil {
		files[filepath.Join(chartDir, ValuesFile)] = false
	}
	_ = filepath.WalkDir(filepath.Join(chartDir, FilesDir), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files[p] = true
		}
		return nil
	})
	return files
}

// Rotate re-encrypts files (by path: true when encrypted whole, false for a values document)
// from the old key to the new one, and returns the paths it rewrote, sorted. Every file is
// decrypted before any is written, so a wrong old key changes nothing.
func Rotate(files map[string]bool, oldKey, newKey *Cipher) ([]string, error) {
	paths := slices.Sorted(maps.Keys(files))
	rotated := make([][]byte, len(paths))
	for i, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.CodeUsage, err)
		}
		plain, err := oldKey.DecryptFile(data, files[path])
		if err != nil {
			return nil, exitcode.Wrap(exitcode.CodeUsage, fmt.Errorf("%s: with the old key: %w; nothing was rotated", path, err))
		}
		if rotated[i], err = newKey.EncryptFile(plain, files[path], nil); err != nil {
			return nil, err
		}
	}
	for i, path := range paths {
		if err := os.WriteFile(path, rotated[i], 0o600); err != nil {
			return paths[:i], err
		}
	}
	return paths, nil
}
