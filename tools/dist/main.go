// Command dist builds the release archives of both plugins, their sha256 sums and the krew
// manifest rendered from .krew.yaml; "dist check" checks a krew manifest against krew's
// rules and the archives.
//
//	go run ./tools/dist -version v0.1.0 -out dist [-platforms linux/amd64,...] [-base-url URL]
//	go run ./tools/dist check -manifest dist/converge.yaml -archives dist
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-converge/converge/tools/dist/krew"
)

// AllPlatforms are the platforms of a release.
const AllPlatforms = "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64,windows/arm64"

const module = "github.com/kubectl-converge/converge"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "check" {
		os.Exit(check(os.Args[2:]))
	}
	fs := flag.NewFlagSet("dist", flag.ExitOnError)
	ver := fs.String("version", "", "release version, with the v (v0.1.0)")
	out := fs.String("out", "dist", "output directory")
	platforms := fs.String("platforms", AllPlatforms, "comma-separated GOOS/GOARCH list")
	baseURL := fs.String("base-url", "", "where the archives will be downloaded from, for the krew manifest (default: the GitHub release URL of .krew.yaml)")
	commit := fs.String("commit", "", "git commit recorded in the binaries")
	_ = fs.Parse(os.Args[1:])
	if !strings.HasPrefix(*ver, "v") {
		fail("-version %q: want a version starting with v, such as v0.1.0", *ver)
	}
	if err := run(*ver, *out, *platforms, *baseURL, *commit); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "dist: "+format+"\n", args...)
	os.Exit(1)
}

func run(ver, out, platforms, baseURL, commit string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	license, err := os.ReadFile("LICENSE")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	pluginYAML, err := os.ReadFile("plugin.yaml")
	if err != nil {
		return err
	}
	installHook, err := os.ReadFile("helm-giterm/install-binary.sh")
	if err != nil {
		return err
	}
	completeHelper, err := os.ReadFile("kubectl-converge/kubectl_complete-converge")
	if err != nil {
		return err
	}
	helmComplete, err := os.ReadFile("plugin.complete")
	if err != nil {
		return err
	}
	// The plugin manifest carries the release version for helm plugin list.
	pluginYAML = []byte(setPluginVersion(string(pluginYAML), strings.TrimPrefix(ver, "v")))
	date := time.Now().UTC().Format(time.RFC3339)
	ldflags := fmt.Sprintf("-s -w -X %[1]s/shared/version.version=%[2]s -X %[1]s/shared/version.commit=%[3]s -X %[1]s/shared/version.date=%[4]s", module, ver, commit, date)
	build := filepath.Join(out, "build")
	defer os.RemoveAll(build)
	for _, p := range strings.Split(platforms, ",") {
		goos, goarch, ok := strings.Cut(strings.TrimSpace(p), "/")
		if !ok {
			return fmt.Errorf("-platforms: %q is not GOOS/GOARCH", p)
		}
		exe := ""
		if goos == "windows" {
			exe = ".exe"
		}
		bins := map[string][]byte{}
		for _, name := range []string{"kubectl-converge", "helm-giterm"} {
			target := filepath.Join(build, goos+"-"+goarch, name+exe)
			fmt.Fprintf(os.Stderr, "dist: build %s for %s/%s\n", name, goos, goarch)
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", target, "./"+name)
			cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("build %s for %s/%s: %w", name, goos, goarch, err)
			}
			if bins[name], err = os.ReadFile(target); err != nil {
				return err
			}
		}
		kubectlFiles := []file{
			{"kubectl-converge" + exe, bins["kubectl-converge"], 0o755},
			{"kubectl_complete-converge", completeHelper, 0o755},
			{"LICENSE", license, 0o644},
		}
		kubectlArchive := fmt.Sprintf("kubectl-converge_%s_%s_%s.tar.gz", ver, goos, goarch)
		if goos == "windows" {
			kubectlArchive = strings.TrimSuffix(kubectlArchive, ".tar.gz") + ".zip"
			err = writeZip(filepath.Join(out, kubectlArchive), kubectlFiles)
		} else {
			err = writeTarGz(filepath.Join(out, kubectlArchive), kubectlFiles)
		}
		if err != nil {
			return err
		}
		// Helm 4 installs the giterm/ directory of the archive; Helm 3 (over HTTP) installs
		// its root, whose plugin.yaml points into giterm/, so that one binary serves both.
		helmArchive := fmt.Sprintf("giterm-%s-%s-%s.tgz", strings.TrimPrefix(ver, "v"), goos, goarch)
		if err := writeTarGz(filepath.Join(out, helmArchive), []file{
			{"plugin.yaml", []byte(intoSubdir(string(pluginYAML))), 0o644},
			{"plugin.complete", helmComplete, 0o755},
			{"LICENSE", license, 0o644},
			{"giterm/plugin.yaml", pluginYAML, 0o644},
			{"giterm/bin/helm-giterm" + exe, bins["helm-giterm"], 0o755},
			{"giterm/helm-giterm/install-binary.sh", installHook, 0o755},
			{"giterm/plugin.complete", helmComplete, 0o755},
			{"giterm/LICENSE", license, 0o644},
		}); err != nil {
			return err
		}
	}
	if err := writeSums(out); err != nil {
		return err
	}
	tmpl, err := os.ReadFile(".krew.yaml")
	if err != nil {
		return err
	}
	if platforms != AllPlatforms {
		tmpl = krew.OnlyBuilt(tmpl, ver, out)
	}
	manifest, err := krew.Render(tmpl, ver, out, baseURL)
	if err != nil {
		return fmt.Errorf("render .krew.yaml: %w", err)
	}
	return os.WriteFile(filepath.Join(out, "converge.yaml"), manifest, 0o644)
}

// intoSubdir points the plugin manifest's command and hooks into the giterm/ directory.
func intoSubdir(manifest string) string {
	return strings.NewReplacer(
		"${HELM_PLUGIN_DIR}/", "${HELM_PLUGIN_DIR}/giterm/",
		"${HELM_PLUGIN_DIR}\\", "${HELM_PLUGIN_DIR}\\giterm\\",
	).Replace(manifest)
}

// setPluginVersion replaces the version line of plugin.yaml.
func setPluginVersion(manifest, ver string) string {
	lines := strings.Split(manifest, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "version:") {
			lines[i] = "version: " + ver
		}
	}
	return strings.Join(lines, "\n")
}

type file struct {
	name string
	data []byte
	mode int64
}

// Archives carry a fixed time, so that the same inputs make the same archive.
var archiveTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func writeTarGz(path string, files []file) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	dirs := map[string]bool{}
	for _, f := range files {
		if d := filepath.Dir(f.name); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir, ModTime: archiveTime}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: archiveTime}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func writeZip(path string, files []file) error {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: archiveTime}
		h.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// writeSums writes sha256sums.txt for every archive in dir, in sha256sum's format.
func writeSums(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var lines []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".tar.gz") || strings.HasSuffix(n, ".tgz") || strings.HasSuffix(n, ".zip")) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		lines = append(lines, hex.EncodeToString(sum[:])+"  "+n)
	}
	sort.Strings(lines)
	return os.WriteFile(filepath.Join(dir, "sha256sums.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func check(args []string) int {
	fs := flag.NewFlagSet("dist check", flag.ExitOnError)
	manifest := fs.String("manifest", "", "krew manifest (NAME.yaml)")
	archives := fs.String("archives", ".", "directory holding the archives the manifest names")
	_ = fs.Parse(args)
	errs := krew.Check(*manifest, *archives)
	for _, err := range errs {
		fmt.Fprintf(os.Stderr, "dist check: %v\n", err)
	}
	if len(errs) > 0 {
		return 1
	}
	fmt.Fprintf(os.Stderr, "dist check: %s follows krew's rules\n", *manifest)
	return 0
}
