package bundle

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadArchive feeds arbitrary bytes as a bundle archive: it is refused with
// ErrBadArchive or read with a chart matching its digest, never a panic.
func FuzzReadArchive(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good.tar.gz")
	if err := WriteArchive(good, Archive{Tag: "1", Chart: []byte("chart")}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("not an archive"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := filepath.Join(t.TempDir(), "a.tar.gz")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := ReadArchive(path)
		if err != nil {
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("error is not ErrBadArchive: %v", err)
			}
			return
		}
		if Digest(a.Chart) != a.ChartDigest {
			t.Fatalf("read a chart that does not match its digest")
		}
	})
}
