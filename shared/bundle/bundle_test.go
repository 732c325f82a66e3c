package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	now := time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC)
	tests := map[string]string{
		"1.4.2":          "1.4.2",
		"2.0.0-rc.1":     "2.0.0-rc.1",
		"main":           "0.0.0-20261124010203-main",
		"v1.2.3":         "0.0.0-20261124010203-v1-2-3",
		"feature/Login_": "0.0.0-20261124010203-feature-login",
		"___":            "0.0.0-20261124010203-tag",
	}
	for tag, want := range tests {
		if got := Version(tag, now); got != want {
			t.Errorf("Version(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestSelectTag(t *testing.T) {
	tags := []string{"1.5.0", "1.4.3", "1.4.10", "1.4.1", "2.0.0-rc.1", "main", "1.4.11_build.7"}
	tests := []struct{ constraint, want, err string }{
		{constraint: "1.4.x", want: "1.4.11_build.7"},
		{constraint: "~1.4.1", want: "1.4.11_build.7"},
		{constraint: "^1.4", want: "1.5.0"},
		{constraint: ">=1.4.2, <1.4.10", want: "1.4.3"},
		{constraint: "^3", err: `--tag "^3": no tag matches among 7 semver tags`},
		{constraint: "not a range", err: "not a semver range"},
	}
	for _, tt := range tests {
		got, err := SelectTag(tags, tt.constraint)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: error %v, want %q", tt.constraint, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: %q %v, want %q", tt.constraint, got, err, tt.want)
		}
	}
	for tag, want := range map[string]bool{"1.4.x": true, "^1.4": true, "1.4.2": false, "main": false, ">=1.0": true, "latest": false} {
		if IsRange(tag) != want {
			t.Errorf("IsRange(%q) = %v", tag, !want)
		}
	}
}

type entry struct {
	name     string
	data     string
	typeflag byte
	size     int64
}

func writeTar(t *testing.T, entries ...entry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.data)), Typeflag: e.typeflag}
		if e.typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if e.typeflag == tar.TypeSymlink {
			h.Linkname, h.Size = "/etc/passwd", 0
		}
		if e.size > 0 {
			h.Size = e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.data))
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadArchive(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	if err := WriteArchive(good, Archive{Source: "oci://r/x:1", Tag: "1", Chart: []byte("chart bytes")}); err != nil {
		t.Fatal(err)
	}
	a, err := ReadArchive(good)
	if err != nil || string(a.Chart) != "chart bytes" || a.Tag != "1" || a.ChartDigest != Digest([]byte("chart bytes")) {
		t.Fatalf("round trip: %+v %v", a, err)
	}
	index := `{"chartDigest": "` + Digest([]byte("chart")) + `"}`
	tests := []struct {
		name    string
		path    string
		wantErr string
	}{
		{"digest mismatch", writeTar(t, entry{name: "bundle.json", data: index}, entry{name: "chart.tgz", data: "chart!"}), "it was changed after it was written"},
		{"path outside", writeTar(t, entry{name: "bundle.json", data: index}, entry{name: "../chart.tgz", data: "chart"}), `unexpected entry "../chart.tgz"`},
		{"symlink", writeTar(t, entry{name: "chart.tgz", typeflag: tar.TypeSymlink}), `entry "chart.tgz" is not a regular file`},
		{"duplicate", writeTar(t, entry{name: "bundle.json", data: index}, entry{name: "bundle.json", data: index}), `unexpected entry "bundle.json"`},
		{"missing chart", writeTar(t, entry{name: "bundle.json", data: index}), "it must hold bundle.json and chart.tgz"},
		{"oversized index", writeTar(t, entry{name: "bundle.json", data: strings.Repeat(" ", maxIndexSize+1)}), "more than the 65536 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadArchive(tt.path)
			if !errors.Is(err, ErrBadArchive) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
	notGzip := filepath.Join(t.TempDir(), "x.tar.gz")
	os.WriteFile(notGzip, []byte("plain"), 0o644)
	if _, err := ReadArchive(notGzip); !errors.Is(err, ErrBadArchive) {
		t.Fatalf("not gzip: %v", err)
	}
}
