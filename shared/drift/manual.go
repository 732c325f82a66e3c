// Package drift finds manual changes: fields of a release's object that a person set with
// kubectl and the chart does not have.
package drift

import (
	"encoding/json"
	"reflect"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Manual changes are fields of a release's object that a person set with kubectl and the
// chart does not have. Helm 3's three-way merge keeps them (they are in neither the old nor
// the new manifest); nelm removes the fields of the field manager "kubectl-edit" by taking
// them over with server-side apply (nelm pkg/plan/resource_info.go,
// removeUndesirableManagers; --no-remove-manual-changes turns it off). Here the same is done
// within Helm's patch: the manual fields are added to the old manifest the patch is computed
// from, so the patch removes those the new manifest does not have and sets those it has.
//
// manualFieldManagers are kubectl's own field managers of the commands that change an
// object's content on a person's behalf: nelm's kubectl-edit, and the others that leave the
// same kind of drift. kubectl-rollout (restartedAt), kubectl-scale (the scale subresource)
// and controllers are not manual changes.
var manualFieldManagers = map[string]bool{
	"kubectl-edit":              true,
	"kubectl-patch":             true,
	"kubectl-client-side-apply": true,
	"kubectl-replace":           true,
	"kubectl-set":               true,
	"kubectl-label":             true,
	"kubectl-annotate":          true,
	// kubectl apply --server-side
	"kubectl": true,
}

// ManualFields returns the part of live that manual field managers own alone (fields another
// manager owns as well, of any subresource, are left out), nil when there is none.
func ManualFields(live *unstructured.Unstructured) map[string]any {
	var manual, others [][]string
	for _, entry := range live.GetManagedFields() {
		paths := fieldPaths(entry.FieldsV1)
		if entry.Subresource == "" && manualFieldManagers[entry.Manager] {
			manual = append(manual, paths...)
		} else {
			others = append(others, paths...)
		}
	}
	if len(manual) == 0 {
		return nil
	}
	owned := map[string]bool{}
	for _, p := range others {
		owned[strings.Join(p, "\x00")] = true
	}
	out := map[string]any{}
	for _, p := range manual {
		if owned[strings.Join(p, "\x00")] {
			continue
		}
		copyPath(out, live.Object, p)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// fieldPaths lists the leaves of a managed-fields set (FieldsV1: "f:name" map fields, "k:{…}"
// list items by key, "v:…" set items, "i:N" indices); "." entries, which only say that a
// parent exists, are not leaves: removing a map because a person created it would take the
// fields of other managers with it.
func fieldPaths(f *metav1.FieldsV1) [][]string {
	if f == nil {
		return nil
	}
	var tree map[string]any
	if json.Unmarshal(f.Raw, &tree) != nil {
		return nil
	}
	var out [][]string
	var walk func(prefix []string, node map[string]any)
	walk = func(prefix []string, node map[string]any) {
		for key, child := range node {
			if key == "." {
				continue
			}
			path := append(append([]string(nil), prefix...), key)
			sub, _ := child.(map[string]any)
			if len(sub) == 0 {
				out = append(out, path)
				continue
			}
			walk(path, sub)
		}
	}
	walk(nil, tree)
	return out
}

// copyPath copies the value at path from src into dst, building the maps and list items on
// the way; list items carry their key fields so a strategic merge patch can address them.
func copyPath(dst map[string]any, src any, path []string) {
	var into any = dst
	for i, elem := range path {
		last := i == len(path)-1
		switch {
		case strings.HasPrefix(elem, "f:"):
			name := elem[2:]
			m, ok := src.(map[string]any)
			if !ok {
				return
			}
			value, ok := m[name]
			if !ok {
				return
			}
			target, ok := into.(map[string]any)
			if !ok {
				return
			}
			if last {
				target[name] = runtime.DeepCopyJSONValue(value)
				return
			}
			if _, exists := target[name]; !exists {
				target[name] = emptyLike(value)
			}
			src, into = value, target[name]
		case strings.HasPrefix(elem, "k:"):
			var key map[string]any
			if json.Unmarshal([]byte(elem[2:]), &key) != nil {
				return
			}
			list, ok := src.([]any)
			if !ok {
				return
			}
			item := findItem(list, key)
			if item == nil {
				return
			}
			parent, ok := into.([]any)
			if !ok {
				return
			}
			out := findItem(parent, key)
			if out == nil {
				out = runtime.DeepCopyJSONValue(key).(map[string]any)
				parent = append(parent, out)
				setList(dst, path[:i], parent)
			}
			if last {
				for k, v := range item {
					out[k] = runtime.DeepCopyJSONValue(v)
				}
				return
			}
			src, into = item, out
		case strings.HasPrefix(elem, "v:"):
			var value any
			if json.Unmarshal([]byte(elem[2:]), &value) != nil {
				return
			}
			parent, ok := into.([]any)
			if !ok {
				return
			}
			for _, v := range parent {
				if reflect.DeepEqual(v, value) {
					return
				}
			}
			setList(dst, path[:i], append(parent, value))
			return
		default:
			// "i:N" items of atomic lists: Helm's patch replaces such a list whole already.
			return
		}
	}
}

// setList stores list at the map path (f: and k: elements) below dst.
func setList(dst map[string]any, path []string, list []any) {
	var node any = dst
	for i, elem := range path {
		last := i == len(path)-1
		switch {
		case strings.HasPrefix(elem, "f:"):
			m := node.(map[string]any)
			if last {
				m[elem[2:]] = list
				return
			}
			node = m[elem[2:]]
		case strings.HasPrefix(elem, "k:"):
			var key map[string]any
			_ = json.Unmarshal([]byte(elem[2:]), &key)
			node = findItem(node.([]any), key)
		}
	}
}

func findItem(list []any, key map[string]any) map[string]any {
	for _, v := range list {
		item, ok := v.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for k, want := range key {
			if !reflect.DeepEqual(item[k], want) {
				match = false
				break
			}
		}
		if match {
			return item
		}
	}
	return nil
}

func emptyLike(v any) any {
	if _, ok := v.([]any); ok {
		return []any{}
	}
	return map[string]any{}
}

// WithManualFields returns old with the manual fields added: maps are merged, list items
// matched by their key fields (or value) and added when missing.
func WithManualFields(old, manual map[string]any) map[string]any {
	out := runtime.DeepCopyJSONValue(old).(map[string]any)
	mergeInto(out, manual)
	return out
}

func mergeInto(dst, src map[string]any) {
	for k, v := range src {
		existing, ok := dst[k]
		if !ok {
			dst[k] = runtime.DeepCopyJSONValue(v)
			continue
		}
		switch sv := v.(type) {
		case map[string]any:
			if dm, ok := existing.(map[string]any); ok {
				mergeInto(dm, sv)
			}
		case []any:
			if dl, ok := existing.([]any); ok {
				dst[k] = mergeLists(dl, sv)
			}
		}
		// A scalar the old manifest has already: the patch decides from the new manifest.
	}
}

func mergeLists(dst, src []any) []any {
	for _, v := range src {
		item, isMap := v.(map[string]any)
		found := false
		for _, d := range dst {
			if dm, ok := d.(map[string]any); ok && isMap && sameItem(dm, item) {
				mergeInto(dm, item)
				found = true
				break
			}
			if reflect.DeepEqual(d, v) {
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, runtime.DeepCopyJSONValue(v))
		}
	}
	return dst
}

// sameItem says whether two list items are one by the usual merge keys of Kubernetes lists.
func sameItem(a, b map[string]any) bool {
	for _, key := range []string{"name", "containerPort", "mountPath", "devicePath", "ip", "type", "topologyKey", "port"} {
		av, aok := a[key]
		bv, bok := b[key]
		if aok || bok {
			return aok && bok && reflect.DeepEqual(av, bv)
		}
	}
	return false
}
