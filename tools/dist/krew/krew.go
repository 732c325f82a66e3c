// Package krew renders the krew-release-bot template (.krew.yaml) into a plugin manifest and
// checks a manifest against krew's rules and the release archives it names.
package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

var uriTemplate = regexp.MustCompile(`addURIAndSha "([^"]+)"`)

// OnlyBuilt drops the platform entries of a krew-release-bot template whose archive is not in
// dir, for a build of some platforms only (a developer's, a test's).
func OnlyBuilt(tmpl []byte, tag, dir string) []byte {
	text := string(tmpl)
	head, platforms, ok := strings.Cut(text, "  platforms:\n")
	if !ok {
		return tmpl
	}
	blocks := strings.Split(platforms, "  - selector:")
	kept := []string{blocks[0]}
	for _, b := range blocks[1:] {
		m := uriTemplate.FindStringSubmatch(b)
		if m == nil {
			kept = append(kept, b)
			continue
		}
		name := path.Base(strings.ReplaceAll(m[1], "{{ .TagName }}", tag))
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			kept = append(kept, b)
		}
	}
	return []byte(head + "  platforms:\n" + strings.Join(kept, "  - selector:"))
}

// Render executes the krew-release-bot template for tag, as the bot does: {{ .TagName }} and
// {{addURIAndSha URL .TagName}}. Archives are read from dir by the URL's file name; baseURL,
// when set, replaces everything before the file name (a mirror, a test server).
func Render(tmpl []byte, tag, dir, baseURL string) ([]byte, error) {
	data := map[string]string{"TagName": tag}
	funcs := template.FuncMap{
		"addURIAndSha": func(urlTemplate, tagName string) (string, error) {
			var url bytes.Buffer
			t, err := template.New("url").Parse(urlTemplate)
			if err != nil {
				return "", err
			}
			if err := t.Execute(&url, map[string]string{"TagName": tagName}); err != nil {
				return "", err
			}
			name := path.Base(url.String())
			sum, err := fileSHA256(filepath.Join(dir, name))
			if err != nil {
				return "", fmt.Errorf("archive for %s: %w", url.String(), err)
			}
			uri := url.String()
			if baseURL != "" {
				uri = strings.TrimSuffix(baseURL, "/") + "/" + name
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, sum), nil
		},
	}
	t, err := template.New(".krew.yaml").Funcs(funcs).Parse(string(tmpl))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func fileSHA256(p string) (string, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}

// Manifest is the part of krew's Plugin manifest the rules look at.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []Platform `json:"platforms"`
	} `json:"spec"`
}

// Platform is one platform entry of a manifest.
type Platform struct {
	Selector *struct {
		MatchLabels      map[string]string `json:"matchLabels"`
		MatchExpressions []any             `json:"matchExpressions"`
	} `json:"selector"`
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

var (
	namePattern   = regexp.MustCompile(`^[\w-]+$`)
	sha256Pattern = regexp.MustCompile(`^[a-f0-9]{64}$`)
	supportedOS   = map[string]bool{"linux": true, "darwin": true, "windows": true}
	supportedArch = map[string]bool{"amd64": true, "arm64": true, "386": true, "arm": true, "ppc64le": true, "s390x": true}
	licenseNames  = map[string]bool{"license": true, "license.txt": true, "license.md": true, "copying": true, "copying.txt": true}
)

// Check applies krew's manifest rules to the manifest file (named NAME.yaml) and each
// platform's archive, read from dir by the URI's file name: the sha256 must match, the bin
// and a LICENSE must be in it. It returns every violation found.
func Check(manifestPath, dir string) []error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		return []error{err}
	}
	var m Manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return []error{fmt.Errorf("manifest %s: %w", manifestPath, err)}
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" {
		fail("apiVersion/kind %s/%s: want krew.googlecontainertools.github.com/v1alpha2 Plugin", m.APIVersion, m.Kind)
	}
	if !namePattern.MatchString(m.Metadata.Name) || m.Metadata.Name+".yaml" != filepath.Base(manifestPath) {
		fail("metadata.name %q must be a safe name equal to the file name %s without .yaml", m.Metadata.Name, filepath.Base(manifestPath))
	}
	if !strings.HasPrefix(m.Spec.Version, "v") {
		fail("spec.version %q must start with v", m.Spec.Version)
	} else if _, err := version.ParseSemantic(m.Spec.Version); err != nil {
		fail("spec.version %q: %v", m.Spec.Version, err)
	}
	if m.Spec.ShortDescription == "" || strings.Contains(m.Spec.ShortDescription, "\n") {
		fail("spec.shortDescription must be one non-empty line")
	}
	if strings.TrimSpace(m.Spec.Description) == "" {
		fail("spec.description is required")
	}
	if len(m.Spec.Platforms) == 0 {
		fail("spec.platforms: at least one platform")
	}
	seen := map[string]int{}
	for i, p := range m.Spec.Platforms {
		where := fmt.Sprintf("platform %d", i)
		if p.Selector == nil || len(p.Selector.MatchLabels) == 0 || len(p.Selector.MatchExpressions) > 0 {
			fail("%s: selector must be matchLabels with os and arch", where)
			continue
		}
		labels := p.Selector.MatchLabels
		for k := range labels {
			if k != "os" && k != "arch" {
				fail("%s: selector key %q: only os and arch", where, k)
			}
		}
		osName, arch := labels["os"], labels["arch"]
		if !supportedOS[osName] || !supportedArch[arch] {
			fail("%s: os/arch %s/%s is not a platform krew supports", where, osName, arch)
		}
		key := osName + "/" + arch
		if j, dup := seen[key]; dup {
			fail("%s: selector %s overlaps platform %d", where, key, j)
		}
		seen[key] = i
		if p.URI == "" || p.Bin == "" {
			fail("%s (%s): uri and bin are required", where, key)
			continue
		}
		if osName == "windows" && !strings.HasSuffix(p.Bin, ".exe") {
			fail("%s (%s): bin %q must end in .exe on windows", where, key, p.Bin)
		}
		if !sha256Pattern.MatchString(p.SHA256) {
			fail("%s (%s): sha256 %q must be 64 lowercase hex digits", where, key, p.SHA256)
		}
		archive := filepath.Join(dir, path.Base(p.URI))
		sum, err := fileSHA256(archive)
		if err != nil {
			fail("%s (%s): archive %s: %v", where, key, path.Base(p.URI), err)
			continue
		}
		if sum != p.SHA256 {
			fail("%s (%s): sha256 %s does not match archive %s (%s)", where, key, p.SHA256, path.Base(p.URI), sum)
		}
		names, err := archiveFiles(archive)
		if err != nil {
			fail("%s (%s): %v", where, key, err)
			continue
		}
		if !names[p.Bin] {
			fail("%s (%s): bin %q is not in archive %s", where, key, p.Bin, path.Base(p.URI))
		}
		license := false
		for n := range names {
			license = license || licenseNames[strings.ToLower(path.Base(n))]
		}
		if !license {
			fail("%s (%s): archive %s has no LICENSE file", where, key, path.Base(p.URI))
		}
	}
	return errs
}

// archiveFiles lists the regular files of a .tar.gz or .zip archive.
func archiveFiles(p string) (map[string]bool, error) {
	names := map[string]bool{}
	switch {
	case strings.HasSuffix(p, ".zip"):
		r, err := zip.OpenReader(p)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		for _, f := range r.File {
			if !f.FileInfo().IsDir() {
				names[path.Clean(f.Name)] = true
			}
		}
	case strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz"):
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			if h.Typeflag == tar.TypeReg {
				names[path.Clean(h.Name)] = true
			}
		}
	default:
		return nil, fmt.Errorf("archive %s: krew takes .tar.gz or .zip", filepath.Base(p))
	}
	return names, nil
}
