package inject

import (
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Images maps image names, as the chart refers to them, to references.
type Images map[string]string

// ParseImageFlags parses NAME=REF items of --image.
func ParseImageFlags(items []string) (Images, error) {
	out := Images{}
	for _, item := range items {
		name, ref, ok := strings.Cut(item, "=")
		if !ok || name == "" || ref == "" {
			return nil, fmt.Errorf("--image %q: want NAME=REF, e.g. backend=registry.example.com/app/backend:1.2.3", item)
		}
		if _, err := ParseRef(ref); err != nil {
			return nil, fmt.Errorf("--image %q: %w", item, err)
		}
		out[name] = ref
	}
	return out, nil
}

// LoadImagesFile reads a YAML or JSON map of NAME: REF (--images-file).
func LoadImagesFile(path string) (Images, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--images-file: %w", err)
	}
	var out Images
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("--images-file %s: want a map of image name to reference: %w", path, err)
	}
	for name, ref := range out {
		if _, err := ParseRef(ref); err != nil {
			return nil, fmt.Errorf("--images-file %s: image %q: %w", path, name, err)
		}
	}
	return out, nil
}

// Merge returns the images of base overridden by over.
func (i Images) Merge(over Images) Images {
	out := Images{}
	for k, v := range i {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// ServiceValues are the values werf injects into every chart it deploys; they take
// precedence over every user value where they Fit (werf pkg/deploy/helm/chart_extender/
// helpers/service_values.go, pkg/image/image_values.go).
type ServiceValues struct {
	// Project is werf.yaml's project: werf.name; "" without a werf project.
	Project string
	// Version is the deploying tool's version: werf.version.
	Version string
	// Repo is the images repository (--repo): werf.repo.
	Repo string
	// Commit is the git commit of the project; nil outside git.
	Commit *Commit
	// Env is --env; it is "" when not given, as in werf's render.
	Env string
	// Namespace is the release namespace.
	Namespace string
	Images    Images
	// DockerConfigJSON is the base64 docker config.json of --set-docker-config-json-value.
	DockerConfigJSON string
}

// Commit is the project's HEAD commit, as werf passes it to charts.
type Commit struct {
	Hash string
	// Date is the author date, in the commit's own time zone.
	Date time.Time
}

// Values returns the service values as chart values: werf.{name,version,repo,commit,env,
// namespace,image.NAME,tag.NAME}, global.env and global.werf.{name,version,repo,commit,env,
// namespace,images.NAME.*}.
func (s ServiceValues) Values() map[string]any {
	image, tag, structured := map[string]any{}, map[string]any{}, map[string]any{}
	names := make([]string, 0, len(s.Images))
	for name := range s.Images {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ref, _ := ParseRef(s.Images[name]) // validated when parsed
		image[name] = s.Images[name]
		tag[name] = ref.Tag
		structured[name] = ref.werfValues()
	}
	info := func() map[string]any {
		m := map[string]any{"env": s.Env, "namespace": s.Namespace, "repo": s.Repo}
		if s.Project != "" {
			m["name"] = s.Project
		}
		if s.Version != "" {
			m["version"] = s.Version
		}
		if s.Commit != nil {
			m["commit"] = map[string]any{
				"hash": s.Commit.Hash,
				"date": map[string]any{"human": s.Commit.Date.String(), "unix": s.Commit.Date.Unix()},
			}
		}
		return m
	}
	werf, global := info(), info()
	werf["image"], werf["tag"] = image, tag
	global["images"] = structured
	out := map[string]any{
		"werf":   werf,
		"global": map[string]any{"env": s.Env, "werf": global},
	}
	if s.DockerConfigJSON != "" {
		out["dockerconfigjson"] = s.DockerConfigJSON
		global["dockerconfigjson"] = s.DockerConfigJSON
	}
	return out
}

// DockerConfigJSON reads the docker config.json werf's --set-docker-config-json-value passes
// to charts: $DOCKER_CONFIG/config.json, else ~/.docker/config.json; "" when there is none.
func DockerConfigJSON(getenv func(string) string) (string, error) {
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = filepath.Join(getenv("HOME"), ".docker")
	}
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("--set-docker-config-json-value: %w", err)
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// BundleValues are the service values of a bundle being applied: the version, and the
// environment, namespace and images only when given, so that those baked at publication stay
// otherwise (werf's GetBundleServiceValues).
func (s ServiceValues) BundleValues() map[string]any {
	all := s.Values()
	werf, global := all["werf"].(map[string]any), all["global"].(map[string]any)
	globalWerf := global["werf"].(map[string]any)
	keep := func(m map[string]any, keys ...string) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			if v, ok := m[k]; ok && v != "" {
				out[k] = v
			}
		}
		return out
	}
	outWerf := keep(werf, "version", "env", "namespace")
	outGlobalWerf := keep(globalWerf, "version", "env", "namespace")
	outGlobal := keep(global, "env")
	if len(s.Images) > 0 {
		outWerf["image"], outWerf["tag"] = werf["image"], werf["tag"]
		outGlobalWerf["images"] = globalWerf["images"]
	}
	outGlobal["werf"] = outGlobalWerf
	out := map[string]any{"werf": outWerf, "global": outGlobal}
	if d, ok := all["dockerconfigjson"]; ok {
		out["dockerconfigjson"] = d
		outGlobalWerf["dockerconfigjson"] = d
	}
	return out
}

// werfValues are werf 2's keys for one image (.Values.global.werf.images.NAME): repository
// without the registry, Docker Hub names completed as the registry client completes them.
// Without a digest, the *_ref keys are the tagged forms.
func (r Ref) werfValues() map[string]any {
	registry, repository := r.Registry, r.Repository
	if registry != "" {
		repository = strings.TrimPrefix(repository, registry+"/")
	} else {
		registry = "index.docker.io"
		if !strings.Contains(repository, "/") {
			repository = "library/" + repository
		}
	}
	tag := r.Tag
	if tag == "" {
		tag = "latest"
	}
	name := path.Base(repository)
	refTag := r.Repository + ":" + tag
	withDigest := func(s string) string {
		if r.Digest == "" {
			return s
		}
		return s + "@" + r.Digest
	}
	return map[string]any{
		"registry":       registry,
		"namespace":      path.Dir(repository),
		"name":           name,
		"tag":            tag,
		"digest":         r.Digest,
		"tag_digest":     withDigest(tag),
		"image":          registry + "/" + repository,
		"repository":     repository,
		"ref":            withDigest(refTag),
		"ref_tag":        refTag,
		"repository_ref": withDigest(repository + ":" + tag),
		"repository_tag": repository + ":" + tag,
		"name_ref":       withDigest(name + ":" + tag),
		"name_tag":       name + ":" + tag,
	}
}

// TemplatesRead matches a template that reads werf's service values (.Values.werf...,
// .Values.global.werf...): a chart written for werf, which gets them wherever it is deployed.
var TemplatesRead = regexp.MustCompile(`\.Values\.(global\.)?werf\b`)

// Fit returns the service values without those that would retype a value defined holds: a
// string where defined has a list, a map or a number, a map where it has a scalar or a list.
// A service value of defined's own kind replaces it (a scalar) or merges into it (a map), as
// werf's service values take precedence over every other value. left names the keys left out,
// dotted (global.env).
func Fit(service, defined map[string]any) (fitted map[string]any, left []string) {
	return fit(service, defined, "")
}

func fit(service, defined map[string]any, prefix string) (map[string]any, []string) {
	out := make(map[string]any, len(service))
	var left []string
	for _, k := range slices.Sorted(maps.Keys(service)) {
		sv := service[k]
		dv, ok := defined[k]
		switch {
		case !ok || dv == nil:
			out[k] = sv
		case kindOf(sv) != kindOf(dv):
			left = append(left, prefix+k)
		case kindOf(sv) == "map":
			sub, subLeft := fit(sv.(map[string]any), dv.(map[string]any), prefix+k+".")
			out[k] = sub
			left = append(left, subLeft...)
		default:
			out[k] = sv
		}
	}
	return out, left
}

// kindOf is the YAML kind of a value: map, list, string, bool or number.
func kindOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return "map"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return "number"
}
