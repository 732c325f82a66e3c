package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const krewTemplate = `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: converge
spec:
  version: {{ .TagName }}
  shortDescription: Deploy Helm charts and track them
  description: |
    Deploys.
  platforms:
  - selector:
      matchLabels: {os: linux, arch: amd64}
    {{addURIAndSha "https://example.com/{{ .TagName }}/kubectl-converge_{{ .TagName }}_linux_amd64.tar.gz" .TagName }}
    bin: kubectl-converge
  - selector:
      matchLabels: {os: windows, arch: amd64}
    {{addURIAndSha "https://example.com/{{ .TagName }}/kubectl-converge_{{ .TagName }}_windows_amd64.zip" .TagName }}
    bin: kubectl-converge.exe
`

func writeTarGz(t *testing.T, path string, files ...string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f, Mode: 0o755, Size: 2, Typeflag: tar.TypeReg})
		tw.Write([]byte("x\n"))
	}
	tw.Close()
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeZip(t *testing.T, path string, files ...string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, _ := zw.Create(f)
		w.Write([]byte("x\n"))
	}
	zw.Close()
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// release writes archives and renders the manifest; edit changes the manifest text.
func release(t *testing.T, linuxFiles []string, edit func(string) string) (manifest, dir string) {
	t.Helper()
	dir = t.TempDir()
	writeTarGz(t, filepath.Join(dir, "kubectl-converge_v0.1.0_linux_amd64.tar.gz"), linuxFiles...)
	writeZip(t, filepath.Join(dir, "kubectl-converge_v0.1.0_windows_amd64.zip"), "kubectl-converge.exe", "LICENSE")
	out, err := Render([]byte(krewTemplate), "v0.1.0", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	manifest = filepath.Join(dir, "converge.yaml")
	if err := os.WriteFile(manifest, []byte(edit(string(out))), 0o644); err != nil {
		t.Fatal(err)
	}
	return manifest, dir
}

func TestCheck(t *testing.T) {
	same := func(s string) string { return s }
	good := []string{"kubectl-converge", "LICENSE"}
	tests := []struct {
		name  string
		files []string
		edit  func(string) string
		want  string
	}{
		{name: "a rendered release follows the rules", files: good, edit: same},
		{name: "wrong sha256", files: good, edit: func(s string) string {
			i := strings.Index(s, "sha256: ") + len("sha256: ")
			return s[:i] + strings.Repeat("a", 64) + s[i+64:]
		}, want: "sha256 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa does not match archive kubectl-converge_v0.1.0_linux_amd64.tar.gz"},
		{name: "uppercase sha256", files: good, edit: func(s string) string {
			i := strings.Index(s, "sha256: ") + len("sha256: ")
			return s[:i] + strings.ToUpper(s[i:i+64]) + s[i+64:]
		}, want: "must be 64 lowercase hex digits"},
		{name: "missing platform file", files: good, edit: func(s string) string {
			return strings.Replace(s, "kubectl-converge_v0.1.0_windows_amd64.zip", "kubectl-converge_v0.1.0_windows_arm64.zip", 1)
		}, want: "archive kubectl-converge_v0.1.0_windows_arm64.zip: open"},
		{name: "overlapping selector", files: good, edit: func(s string) string {
			return strings.Replace(s, "{os: windows, arch: amd64}", "{os: linux, arch: amd64}", 1)
		}, want: "selector linux/amd64 overlaps platform 0"},
		{name: "bin not in archive", files: []string{"other", "LICENSE"}, edit: same, want: `bin "kubectl-converge" is not in archive`},
		{name: "no license", files: []string{"kubectl-converge"}, edit: same, want: "has no LICENSE file"},
		{name: "version without v", files: good, edit: func(s string) string { return strings.Replace(s, "version: v0.1.0", "version: 0.1.0", 1) }, want: `spec.version "0.1.0" must start with v`},
		{name: "windows bin without .exe", files: good, edit: func(s string) string {
			return strings.Replace(s, "bin: kubectl-converge.exe", "bin: kubectl-converge", 1)
		}, want: "must end in .exe on windows"},
		{name: "selector key", files: good, edit: func(s string) string {
			return strings.Replace(s, "{os: linux, arch: amd64}", "{os: linux, arch: amd64, distro: debian}", 1)
		}, want: `selector key "distro"`},
		{name: "name differs from file", files: good, edit: func(s string) string { return strings.Replace(s, "name: converge", "name: deploy", 1) }, want: `metadata.name "deploy"`},
		{name: "multi-line short description", files: good, edit: func(s string) string {
			return strings.Replace(s, "shortDescription: Deploy Helm charts and track them", "shortDescription: |\n    two\n    lines", 1)
		}, want: "one non-empty line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest, dir := release(t, tt.files, tt.edit)
			errs := Check(manifest, dir)
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			got := strings.Join(msgs, "\n")
			if tt.want == "" {
				if got != "" {
					t.Fatalf("violations of a good manifest:\n%s", got)
				}
				return
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("violations:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}

func TestRenderAndOnlyBuilt(t *testing.T) {
	dir := t.TempDir()
	writeTarGz(t, filepath.Join(dir, "kubectl-converge_v1.2.3_linux_amd64.tar.gz"), "kubectl-converge", "LICENSE")
	if _, err := Render([]byte(krewTemplate), "v1.2.3", dir, ""); err == nil || !strings.Contains(err.Error(), "windows_amd64.zip") {
		t.Fatalf("rendering with an archive missing: %v", err)
	}
	out, err := Render(OnlyBuilt([]byte(krewTemplate), "v1.2.3", dir), "v1.2.3", dir, "http://127.0.0.1:8080/files/")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "windows") || !strings.Contains(string(out), "uri: http://127.0.0.1:8080/files/kubectl-converge_v1.2.3_linux_amd64.tar.gz\n    sha256: ") {
		t.Fatalf("rendered:\n%s", out)
	}
}
