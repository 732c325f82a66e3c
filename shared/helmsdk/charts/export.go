package charts

import (
	"fmt"
	"log"
	"strings"

	"github.com/mitchellh/copystructure"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"sigs.k8s.io/yaml"
)

// export is one item of werf's dependencies[].export-values: the parent's value at the path
// parent is copied into the subchart's values at child ("" is the subchart's root).
type export struct{ parent, child string }

// ExportValues returns the values to render the chart with: user (the values files and
// --set flags, with what the user decrypted) under top (the service values, which win), and
// werf's dependencies[].export-values applied at every depth as nelm applies them
// (pkg/helm/pkg/chartutil/dependencies.go of werf/nelm, the same code as werf 1.2's
// 3p-helm), in two passes:
//
//  1. The user's values: from the top of the chart down, each export of a subchart copies
//     the user's table at the parent's path into the user's values at the subchart's path,
//     unless the user already set something there. A subchart re-exports what it was given
//     this way. Charts go by their own names here, not their aliases, and disabled
//     subcharts count too, as in nelm; a value that is not a map is not copied.
//  2. The charts' values (top included for the top chart, as nelm's service values are):
//     after conditions, tags and aliases are applied, from the top down, each enabled
//     subchart receives its exports from its parent's values (which hold what the parent
//     itself received), above the subchart's own values and above what its parents' values
//     say for it, yet below anything the user set for it.
//
// The short form "NAME" is {parent: exports.NAME, child: .}. A malformed item, or a value
// that is not a map exported to a subchart's root, is skipped with a warning, as in nelm.
// One difference: of a chart declared twice under two aliases, nelm hands the chart's own
// exports down only under the first alias (its second pass rewrites the shared dependency's
// items in place, and then no longer reads them); here both aliases' subcharts receive them.
// Nothing of the chart, user or top is changed.
func (c *Chart) ExportValues(user, top map[string]any) (map[string]any, error) {
	work, err := copyChartTree(c.chart)
	if err != nil {
		return nil, fmt.Errorf("chart %q: export-values: %w", c.Name(), err)
	}
	exports := map[*chart.Dependency][]export{}
	collectExports(work, exports)
	if len(exports) == 0 {
		return MergeMaps(user, top), nil
	}
	user, top = mustCopy(user), mustCopy(top)
	user = exportUserValues(work, user, exports)
	// Conditions and tags see the user's values with the service values over them, as nelm's
	// do; import-values are left out of this copy so that the values read are the charts'
	// own, as when nelm applies export-values (before import-values).
	forEachChart(work, func(ch *chart.Chart, _ []string) {
		if ch.Metadata == nil {
			return
		}
		for _, d := range ch.Metadata.Dependencies {
			if d != nil {
				d.ImportValues = nil
			}
		}
	})
	if err := chartutil.ProcessDependenciesWithMerge(work, MergeMaps(user, top)); err != nil {
		return nil, fmt.Errorf("chart %q: export-values: %w", c.Name(), err)
	}
	overrides, err := exportChartValues(work, top, exports)
	if err != nil {
		return nil, fmt.Errorf("chart %q: export-values: %w", c.Name(), err)
	}
	return chartutil.MergeTables(MergeMaps(user, top), overrides), nil
}

// collectExports parses the export-values of every declared dependency in the tree, keyed
// by the dependency (which keeps its identity while Helm applies aliases and conditions).
func collectExports(root *chart.Chart, out map[*chart.Dependency][]export) {
	forEachChart(root, func(ch *chart.Chart, _ []string) {
		for i, items := range rawExportValues(ch) {
			dep := ch.Metadata.Dependencies[i]
			if dep == nil {
				continue
			}
			for _, item := range items {
				e, err := parseExport(item)
				if err != nil {
					log.Printf("warning: chart %q: dependency %q: export-values item %v is ignored: %v", ch.Name(), dep.Name, item, err)
					continue
				}
				out[dep] = append(out[dep], e)
			}
		}
	})
}

// rawExportValues returns the export-values items of each of ch's declared dependencies, by
// its index in ch.Metadata.Dependencies: Helm's Chart.yaml type has no such field. The
// dependencies come from requirements.yaml when it declares them (an apiVersion v1 chart),
// as Helm's loader reads them.
func rawExportValues(ch *chart.Chart) [][]any {
	if ch.Metadata == nil || len(ch.Metadata.Dependencies) == 0 {
		return nil
	}
	var declared [][]any
	for _, name := range []string{"Chart.yaml", "requirements.yaml"} {
		for _, f := range ch.Raw {
			if f.Name != name {
				continue
			}
			var meta struct {
				Dependencies *[]struct {
					ExportValues []any `json:"export-values"`
				} `json:"dependencies"`
			}
			if yaml.Unmarshal(f.Data, &meta) != nil || meta.Dependencies == nil {
				continue
			}
			declared = nil
			for _, d := range *meta.Dependencies {
				declared = append(declared, d.ExportValues)
			}
		}
	}
	if len(declared) != len(ch.Metadata.Dependencies) {
		return nil
	}
	return declared
}

// parseExport reads one export-values item as nelm's parseExportValues does.
func parseExport(item any) (export, error) {
	switch e := item.(type) {
	case string:
		name := strings.TrimSpace(e)
		if name == "" || name == "." {
			return export{parent: "exports"}, nil
		}
		return export{parent: "exports." + name}, nil
	case map[string]any:
		parent, ok := e["parent"].(string)
		if !ok {
			return export{}, fmt.Errorf("parent must be a string")
		}
		child, ok := e["child"].(string)
		if !ok {
			return export{}, fmt.Errorf("child must be a string")
		}
		parent, child = strings.TrimSpace(parent), strings.TrimSpace(child)
		if parent == "" || parent == "." {
			return export{}, fmt.Errorf("parent %q is not allowed", parent)
		}
		if child == "." {
			child = ""
		}
		return export{parent: parent, child: child}, nil
	}
	return export{}, fmt.Errorf("want {parent: PATH, child: PATH} or a name")
}

// forEachChart calls fn for ch and every chart below it, parents first, with the path of
// names from ch's dependencies down (empty for ch).
func forEachChart(ch *chart.Chart, fn func(ch *chart.Chart, path []string)) {
	var walk func(ch *chart.Chart, path []string)
	walk = func(ch *chart.Chart, path []string) {
		fn(ch, path)
		for _, sub := range ch.Dependencies() {
			walk(sub, append(append([]string(nil), path...), sub.Name()))
		}
	}
	walk(ch, nil)
}

// declaredAs is the first dependency of parent named as sub is now (the chart's name, or its
// alias once aliases are applied), as nelm finds it.
func declaredAs(parent, sub *chart.Chart) *chart.Dependency {
	for _, d := range parent.Metadata.Dependencies {
		if d != nil && d.Name == sub.Name() {
			return d
		}
	}
	return nil
}

// exportUserValues is the first pass over the loaded tree (nelm's processExportExtraValues).
func exportUserValues(root *chart.Chart, user map[string]any, exports map[*chart.Dependency][]export) map[string]any {
	forEachChart(root, func(sub *chart.Chart, subPath []string) {
		if sub == root {
			return
		}
		parentPath := subPath[:len(subPath)-1]
		for _, e := range exports[declaredAs(sub.Parent(), sub)] {
			table, err := chartutil.Values(user).Table(joinPath(append(append([]string(nil), parentPath...), e.parent)...))
			if err != nil {
				continue
			}
			to := joinPath(append(append([]string(nil), subPath...), e.child)...)
			if present(user, to) {
				continue
			}
			user = chartutil.MergeTables(pathToMap(to, mustCopy(table)), user)
		}
	})
	return user
}

// present reports whether values hold anything at path: a table or another value.
func present(values map[string]any, path string) bool {
	if _, err := chartutil.Values(values).Table(path); err == nil {
		return true
	}
	_, err := chartutil.Values(values).PathValue(path)
	return err == nil
}

// exportChartValues is the second pass, over the tree as rendered (aliases applied, disabled
// subcharts gone): nelm's processExportValues, which sets each subchart's values and its
// parents' values for it. It returns what the top chart's values then say for its
// subcharts, which is what the render must see under the user's values.
func exportChartValues(root *chart.Chart, top map[string]any, exports map[*chart.Dependency][]export) (map[string]any, error) {
	valuesOf := func(ch *chart.Chart) (map[string]any, error) {
		var vals map[string]any
		if ch == root {
			vals = top
		}
		return chartutil.MergeValues(ch, vals)
	}
	overrides := map[string]any{}
	var walkErr error
	forEachChart(root, func(sub *chart.Chart, _ []string) {
		if sub == root || walkErr != nil {
			return
		}
		dep := declaredAs(sub.Parent(), sub)
		if len(exports[dep]) == 0 {
			return
		}
		pvals, err := valuesOf(sub.Parent())
		if err != nil {
			walkErr = err
			return
		}
		exported := exportedValues(sub.Parent().Name(), dep.Name, exports[dep], pvals)
		svals, err := chartutil.MergeValues(sub, nil)
		if err != nil {
			walkErr = err
			return
		}
		sub.Values = chartutil.MergeTables(mustCopy(exported), svals)
		// The parents' values say the same for the subchart, so that theirs do not win.
		synced := mustCopy(exported)
		for ch := sub; ch != root; ch = ch.Parent() {
			synced = map[string]any{ch.Name(): synced}
			pv, err := valuesOf(ch.Parent())
			if err != nil {
				walkErr = err
				return
			}
			ch.Parent().Values = chartutil.MergeTables(mustCopy(synced), pv)
		}
		overrides = chartutil.MergeTables(synced, overrides)
	})
	return overrides, walkErr
}

// exportedValues are the values one dependency receives (nelm's getExportedValues): later
// items win over earlier ones.
func exportedValues(parentName, depName string, items []export, pvals map[string]any) map[string]any {
	out := map[string]any{}
	for _, e := range items {
		var received map[string]any
		if table, err := chartutil.Values(pvals).Table(e.parent); err == nil {
			received = pathToMap(e.child, mustCopy(table))
		} else {
			value, err := chartutil.Values(pvals).PathValue(e.parent)
			if err != nil {
				continue
			}
			if e.child == "" {
				log.Printf("warning: chart %q: dependency %q: export-values %q is not a map and cannot become the subchart's values; it is ignored (give child: a key)", parentName, depName, e.parent)
				continue
			}
			keys := strings.Split(e.child, ".")
			received = pathToMap(joinPath(keys[:len(keys)-1]...), map[string]any{keys[len(keys)-1]: mustCopyAny(value)})
		}
		out = chartutil.MergeTables(received, out)
	}
	return out
}

// pathToMap nests data under the dotted path ("" is data itself).
func pathToMap(path string, data map[string]any) map[string]any {
	if path == "" {
		return data
	}
	keys := strings.Split(path, ".")
	out := data
	for i := len(keys) - 1; i >= 0; i-- {
		out = map[string]any{keys[i]: out}
	}
	return out
}

// joinPath joins path parts with dots, leaving out empty ones.
func joinPath(parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

func mustCopy(m map[string]any) map[string]any {
	out, _ := mustCopyAny(m).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

// mustCopyAny deep-copies values parsed from YAML or JSON, which copystructure always can.
func mustCopyAny(v any) any {
	out, err := copystructure.Copy(v)
	if err != nil {
		return v
	}
	return out
}
