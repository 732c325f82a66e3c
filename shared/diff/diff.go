// Package diff compares a live object with its planned state the way a reviewer wants to
// read it: server-set noise left out, sensitive values hidden, a unified diff of the YAML.
package diff

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-converge/converge/shared/lifecycle"
)

// Hidden values stand in for sensitive ones: a changed value shows as a changed line, with
// no value on either side.
const (
	HiddenValue   = "<hidden>"
	HiddenChanged = "<hidden, changed>"
)

// Options say what a diff shows.
type Options struct {
	// ShowInsignificant keeps managedFields, resourceVersion, generation, status and the
	// like, which differ without anyone changing the object.
	ShowInsignificant bool
	// ShowSensitive shows the values of Secrets and sensitive paths.
	ShowSensitive bool
	// Context is the number of unchanged lines around each change; zero means 3, a
	// negative number none.
	Context int
	// From names the old side in the diff's header; zero: "live".
	From string
}

// insignificantMetadata are metadata fields the API server sets.
var insignificantMetadata = []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"}

// insignificantAnnotations change on every deploy or are kept by controllers.
var insignificantAnnotations = []string{"deployment.kubernetes.io/revision", "kubectl.kubernetes.io/last-applied-configuration", lifecycle.AnnotationWerfVersion}

// insignificantAnnotationPrefixes mark annotations recording where a deploy ran (CI job URLs,
// tool version), not what it deploys.
var insignificantAnnotationPrefixes = []string{"kubectl-converge.io/", "ci.werf.io/", "gitlab.ci.werf.io/", "github.ci.werf.io/"}

// Normalize returns a deep copy of obj without the fields the API server and controllers own,
// unless opts shows them.
func Normalize(obj map[string]any, opts Options) map[string]any {
	if obj == nil {
		return nil
	}
	out := deepCopy(obj).(map[string]any)
	if opts.ShowInsignificant {
		return out
	}
	delete(out, "status")
	md, _ := out["metadata"].(map[string]any)
	if md == nil {
		return out
	}
	for _, k := range insignificantMetadata {
		delete(md, k)
	}
	if ann, ok := md["annotations"].(map[string]any); ok {
		for _, k := range insignificantAnnotations {
			delete(ann, k)
		}
		for k := range ann {
			for _, p := range insignificantAnnotationPrefixes {
				if strings.HasPrefix(k, p) {
					delete(ann, k)
				}
			}
		}
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return out
}

// Mask hides the sensitive values of live and planned in place: a Secret's data and
// stringData, the paths of werf.io/sensitive-paths, everything but metadata with
// werf.io/sensitive "true". Either side may be nil (create, delete). A value that differs
// shows as HiddenChanged on the planned side.
func Mask(live, planned map[string]any, opts Options) error {
	if opts.ShowSensitive {
		return nil
	}
	paths, err := sensitivePaths(planned)
	if err != nil {
		return err
	}
	if planned == nil {
		if paths, err = sensitivePaths(live); err != nil {
			return err
		}
	}
	for _, p := range paths {
		concrete := map[string][]string{}
		for _, side := range []map[string]any{live, planned} {
			for _, c := range expand(side, p) {
				concrete[strings.Join(c, "\x00")] = c
			}
		}
		for _, c := range concrete {
			lv, lok := get(live, c)
			pv, pok := get(planned, c)
			changed := lok && pok && !equalJSON(lv, pv)
			if lok {
				set(live, c, HiddenValue)
			}
			if pok {
				if changed {
					set(planned, c, HiddenChanged)
				} else {
					set(planned, c, HiddenValue)
				}
			}
		}
	}
	return nil
}

// sensitivePaths lists the paths to hide in obj, parsed.
func sensitivePaths(obj map[string]any) ([][]string, error) {
	if obj == nil {
		return nil, nil
	}
	var ann map[string]any
	if md, ok := obj["metadata"].(map[string]any); ok {
		ann, _ = md["annotations"].(map[string]any)
	}
	if list, ok := ann[lifecycle.AnnotationSensitivePaths].(string); ok && strings.TrimSpace(list) != "" {
		var out [][]string
		for _, p := range strings.Split(list, ",") {
			parsed, err := ParsePath(strings.TrimSpace(p))
			if err != nil {
				return nil, fmt.Errorf("annotation %s: %w", lifecycle.AnnotationSensitivePaths, err)
			}
			out = append(out, parsed)
		}
		return out, nil
	}
	if ann[lifecycle.AnnotationSensitive] == "true" {
		var out [][]string
		for k := range obj {
			if k != "apiVersion" && k != "kind" && k != "metadata" {
				out = append(out, []string{k})
			}
		}
		return out, nil
	}
	if obj["kind"] == "Secret" && (obj["apiVersion"] == "v1" || obj["apiVersion"] == nil) {
		return [][]string{{"data", "*"}, {"stringData", "*"}}, nil
	}
	return nil, nil
}

// ParsePath reads a JSONPath of the werf.io/sensitive-paths form into segments: field names,
// "*" for every key or item, "[N]" as the index N.
func ParsePath(p string) ([]string, error) {
	rest := strings.TrimPrefix(strings.TrimPrefix(p, "$"), ".")
	if rest == "" {
		return nil, fmt.Errorf("path %q selects nothing: use a JSONPath such as $.spec.template.spec.containers[*].env[*].value", p)
	}
	var out []string
	for _, part := range strings.Split(rest, ".") {
		name := part
		var indexes []string
		if i := strings.IndexByte(part, '['); i >= 0 {
			name = part[:i]
			for _, idx := range strings.Split(strings.TrimSuffix(part[i+1:], "]"), "][") {
				if idx != "*" {
					if _, err := strconv.Atoi(idx); err != nil {
						return nil, fmt.Errorf("path %q: index %q: want [*] or a number", p, idx)
					}
				}
				indexes = append(indexes, idx)
			}
		}
		if name == "" && len(indexes) == 0 {
			return nil, fmt.Errorf("path %q has an empty segment", p)
		}
		if name != "" {
			out = append(out, name)
		}
		out = append(out, indexes...)
	}
	return out, nil
}

// expand resolves the wildcards of path against obj into the concrete paths present.
func expand(obj any, path []string) [][]string {
	if obj == nil {
		return nil
	}
	if len(path) == 0 {
		return [][]string{{}}
	}
	var out [][]string
	head, tail := path[0], path[1:]
	prefix := func(k string, sub [][]string) {
		for _, s := range sub {
			out = append(out, append([]string{k}, s...))
		}
	}
	switch v := obj.(type) {
	case map[string]any:
		if head == "*" {
			for k, child := range v {
				prefix(k, expand(child, tail))
			}
		} else if child, ok := v[head]; ok {
			prefix(head, expand(child, tail))
		}
	case []any:
		if head == "*" {
			for i, child := range v {
				prefix(strconv.Itoa(i), expand(child, tail))
			}
		} else if i, err := strconv.Atoi(head); err == nil && i >= 0 && i < len(v) {
			prefix(head, expand(v[i], tail))
		}
	}
	return out
}

func get(obj any, path []string) (any, bool) {
	cur := obj
	for _, seg := range path {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func set(obj any, path []string, value any) {
	if len(path) == 0 {
		return
	}
	parent, ok := get(obj, path[:len(path)-1])
	if len(path) == 1 {
		parent, ok = obj, true
	}
	if !ok {
		return
	}
	last := path[len(path)-1]
	switch v := parent.(type) {
	case map[string]any:
		v[last] = value
	case []any:
		if i, err := strconv.Atoi(last); err == nil && i >= 0 && i < len(v) {
			v[i] = value
		}
	}
}

func equalJSON(a, b any) bool {
	ya, err1 := yaml.Marshal(a)
	yb, err2 := yaml.Marshal(b)
	return err1 == nil && err2 == nil && string(ya) == string(yb)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = deepCopy(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = deepCopy(val)
		}
		return out
	default:
		return v
	}
}

// Unified is the unified diff from live to planned YAML, "" when they are equal; a nil side
// is an absent object.
func Unified(live, planned map[string]any, opts Options) (string, error) {
	a, err := toYAML(live)
	if err != nil {
		return "", err
	}
	b, err := toYAML(planned)
	if err != nil {
		return "", err
	}
	if a == b {
		return "", nil
	}
	context := opts.Context
	switch {
	case context == 0:
		context = 3
	case context < 0:
		context = 0
	}
	from := opts.From
	if from == "" {
		from = "live"
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: lines(a), B: lines(b),
		FromFile: from, ToFile: "planned", Context: context,
	})
}

// lines splits text into lines that keep their newline; an absent object has none.
func lines(text string) []string {
	if text == "" {
		return nil
	}
	return difflib.SplitLines(strings.TrimSuffix(text, "\n"))
}

func toYAML(obj map[string]any) (string, error) {
	if obj == nil {
		return "", nil
	}
	out, err := yaml.Marshal(obj)
	return string(out), err
}
