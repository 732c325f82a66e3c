// Package annotate stamps global annotations and labels on every object a release renders,
// hooks and CRDs included, as werf's --add-annotation and --add-label do.
package annotate

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubectl-converge/converge/shared/manifest"
)

// Set is the annotations and labels to add to every object's metadata.
type Set struct {
	Annotations map[string]string
	Labels      map[string]string
}

// Empty reports whether the set adds nothing.
func (s Set) Empty() bool { return len(s.Annotations) == 0 && len(s.Labels) == 0 }

// Kind says what key=value pairs become, and so which rules their values follow.
type Kind int

const (
	// KindAnnotation values are any text.
	KindAnnotation Kind = iota
	// KindLabel values are label values: at most 63 characters of letters, digits, '-', '_'
	// and '.', starting and ending with a letter or digit.
	KindLabel
)

// ParsePairs parses "key=value" items given as source (a flag or a variable, for errors) into
// a map, checking that each key is a valid Kubernetes annotation or label key and, for
// labels, each value a valid label value.
func ParsePairs(kind Kind, source string, pairs []string) (map[string]string, error) {
	flagName := source
	out := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want key=value", flagName, p)
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return nil, fmt.Errorf("%s %q: invalid key: %s", flagName, p, strings.Join(errs, "; "))
		}
		if kind == KindLabel {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return nil, fmt.Errorf("%s %q: invalid label value: %s", flagName, p, strings.Join(errs, "; "))
			}
		}
		out[k] = v
	}
	return out, nil
}

// FromEnv returns the values of the variables named prefix<ANY> (werf's
// WERF_ADD_ANNOTATION_<ANY>=key=value form) in werf's order: werf 1.2 sorts the NAME=VALUE
// strings (pkg/util/env.go PredefinedValuesByEnvNamePrefix), so WERF_SET_10 comes before
// WERF_SET_1 ('0' sorts before '='), and the last of two items setting one key wins.
func FromEnv(environ []string, prefix string) []string {
	var found []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, prefix) && value != "" {
			found = append(found, kv)
		}
	}
	sort.Strings(found)
	out := make([]string, 0, len(found))
	for _, kv := range found {
		_, value, _ := strings.Cut(kv, "=")
		out = append(out, value)
	}
	return out
}

// CIAnnotations returns annotations that record where a deploy came from when it runs in
// GitHub Actions or GitLab CI, read from their standard environment variables.
func CIAnnotations(getenv func(string) string) map[string]string {
	if getenv == nil {
		getenv = os.Getenv
	}
	out := map[string]string{}
	switch {
	case getenv("GITHUB_ACTIONS") == "true":
		server, repo := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY")
		if server == "" {
			server = "https://github.com"
		}
		if repo != "" {
			out["project.werf.io/git"] = server + "/" + repo
			if run := getenv("GITHUB_RUN_ID"); run != "" {
				out["github.ci.werf.io/workflow-run-url"] = server + "/" + repo + "/actions/runs/" + run
			}
		}
		if sha := getenv("GITHUB_SHA"); sha != "" {
			out["ci.werf.io/commit"] = sha
		}
	case getenv("GITLAB_CI") == "true":
		if url := getenv("CI_PROJECT_URL"); url != "" {
			out["project.werf.io/git"] = url
			if id := getenv("CI_PIPELINE_ID"); id != "" {
				out["gitlab.ci.werf.io/pipeline-url"] = url + "/pipelines/" + id
			}
			if id := getenv("CI_JOB_ID"); id != "" {
				out["gitlab.ci.werf.io/job-url"] = url + "/-/jobs/" + id
			}
		}
		if sha := getenv("CI_COMMIT_SHA"); sha != "" {
			out["ci.werf.io/commit"] = sha
		}
		if tag := getenv("CI_COMMIT_TAG"); tag != "" {
			out["ci.werf.io/tag"] = tag
		}
	}
	return out
}

// Apply adds the set to the metadata of obj. List kinds are left alone: their items are
// objects of their own and a List has no metadata of its own on the server.
func (s Set) Apply(obj *manifest.Object) error {
	if s.Empty() || obj.Root == nil || strings.HasSuffix(obj.Kind(), "List") {
		return nil
	}
	md, err := manifest.EnsureMap(obj.Root, "metadata")
	if err != nil {
		return fmt.Errorf("%s %q: %w", obj.Kind(), obj.Name(), err)
	}
	for _, field := range []struct {
		name   string
		values map[string]string
	}{{"annotations", s.Annotations}, {"labels", s.Labels}} {
		if len(field.values) == 0 {
			continue
		}
		m, err := manifest.EnsureMap(md, field.name)
		if err != nil {
			return fmt.Errorf("%s %q metadata.%w", obj.Kind(), obj.Name(), err)
		}
		for _, k := range sortedKeys(field.values) {
			manifest.SetString(m, k, field.values[k])
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
