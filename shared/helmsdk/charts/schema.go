package charts

import (
	"errors"
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// ResolvedValues are values as a render resolves them against the chart: dependencies
// processed (conditions, tags, aliases, import-values), then coalesced with the defaults of
// every chart of the tree, as Helm's install and upgrade do before they render.
type ResolvedValues struct {
	chart     *chart.Chart
	coalesced map[string]any
}

// ResolveValues resolves vals against a copy of the chart (the chart is left as loaded);
// enableWith decides which subcharts are enabled, as the render will decide it (the values
// rendered may hold more than those checked).
func (c *Chart) ResolveValues(vals, enableWith map[string]any) (*ResolvedValues, error) {
	processed, err := copyChartTree(c.chart)
	if err != nil {
		return nil, err
	}
	if err := chartutil.ProcessDependenciesWithMerge(processed, enableWith); err != nil {
		return nil, err
	}
	coalesced, err := chartutil.CoalesceValues(processed, vals)
	if err != nil {
		return nil, err
	}
	return &ResolvedValues{chart: processed, coalesced: coalesced}, nil
}

// WithDefaults is the chart with defaults as its own default values (values.yaml), for the
// checks that must not see part of them; the chart itself is left as it is.
func (c *Chart) WithDefaults(defaults map[string]any) *Chart {
	shallow := *c.chart
	shallow.Values = defaults
	return &Chart{chart: &shallow}
}

// WithoutPaths is a copy of values without the leaves that paths holds (a map of the same
// shape: a map in paths descends, anything else removes the key); a map emptied so is removed
// too. Nothing of values or paths is changed.
func WithoutPaths(values, paths map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = v
	}
	for k, p := range paths {
		v, ok := out[k]
		if !ok {
			continue
		}
		pm, pIsMap := p.(map[string]any)
		vm, vIsMap := v.(map[string]any)
		switch {
		case pIsMap && vIsMap:
			if rest := WithoutPaths(vm, pm); len(rest) > 0 {
				out[k] = rest
			} else {
				delete(out, k)
			}
		case !pIsMap:
			delete(out, k)
		}
	}
	return out
}

// Views are the values each chart of the tree sees: the root chart's first, then every enabled
// subchart's, depth first (each with the globals its parents hand down).
func (r *ResolvedValues) Views() []map[string]any {
	var out []map[string]any
	var walk func(ch *chart.Chart, vals map[string]any)
	walk = func(ch *chart.Chart, vals map[string]any) {
		out = append(out, vals)
		for _, dep := range ch.Dependencies() {
			if sub, ok := vals[dep.Name()].(map[string]any); ok {
				walk(dep, sub)
			}
		}
	}
	walk(r.chart, r.coalesced)
	return out
}

// Validate checks the values against the values.schema.json of the chart and of every enabled
// subchart, as Helm checks them before a render; the error is one line naming each chart and
// field.
func (r *ResolvedValues) Validate() error {
	if err := chartutil.ValidateAgainstSchema(r.chart, r.coalesced); err != nil {
		return schemaError(err.Error())
	}
	return nil
}

// schemaError turns the multi-line report of Helm's schema validation ("chart:\n- at
// '/x': ...") into one line: "values do not match values.schema.json of chart NAME: at
// '/x': ...; values.schema.json of chart SUB: ...".
func schemaError(report string) error {
	var charts []string
	for _, line := range strings.Split(strings.TrimSpace(report), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, "-"):
			charts = append(charts, "values.schema.json of chart "+strings.TrimSuffix(line, ":")+":")
		case len(charts) == 0:
			charts = append(charts, line)
		default:
			charts[len(charts)-1] += " " + withoutValue(strings.TrimPrefix(line, "- ")) + ";"
		}
	}
	return errors.New("values do not match " + strings.TrimSuffix(strings.Join(charts, " "), ";"))
}

// quotedOrBare is a value as the JSON-schema validator writes it into a message: a string
// quoted with ' (inner ' escaped as \'), or a bare number or boolean.
const quotedOrBare = `(?:'(?:[^'\\]|\\.)*'|[^' ]+)`

// valueInMessage is every message form of the validator (santhosh-tekuri/jsonschema kind
// templates) that embeds the checked value, with what replaces it: errors name the field,
// never the value (it may be a secret). Enum and const messages hold the schema's values only.
var valueInMessage = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`: '(?:[^'\\]|\\.)*' does not match pattern `), ": value does not match pattern "},
	// the parser's complaint after the format name may quote part of the value: dropped.
	{regexp.MustCompile(`: ` + quotedOrBare + ` is not valid ([^:]+):.*$`), ": value is not valid $1"},
	{regexp.MustCompile(`: (minimum|maximum|exclusiveMinimum|exclusiveMaximum|multipleOf): got .*?, want `), ": $1: want "},
}

// withoutValue replaces the value in one "at '/path': message" line of the validator's report
// by the word value.
func withoutValue(line string) string {
	for _, v := range valueInMessage {
		line = v.re.ReplaceAllString(line, v.with)
	}
	return line
}
