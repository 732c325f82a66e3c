package helmsdk

import (
	"fmt"
	"regexp"
	"strings"
)

// Helm's own messages that span lines or name Go types; helmError rewrites them into one
// line that names the chart file and says what to do.
var (
	helmMappingError = regexp.MustCompile(`resource mapping not found for name: "([^"]*)" namespace: "[^"]*" from "[^"]*": no matches for kind "([^"]+)" in version "([^"]+)"`)
	helmListDocument = regexp.MustCompile(`^YAML parse error on ([^:]+): error unmarshaling JSON: .*cannot unmarshal (array|string|number|bool) into Go value of type releaseutil\.SimpleHead`)
)

const helmSchemaError = "values don't meet the specifications of the schema(s) in the following chart(s):"

// helmError turns Helm's multi-line and type-naming errors into one-line ones; other errors
// pass unchanged.
func helmError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, helmSchemaError); ok {
		var charts []string
		for _, line := range strings.Split(strings.TrimSpace(rest), "\n") {
			line = strings.TrimSpace(line)
			switch {
			case line == "":
			case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, "-"):
				charts = append(charts, "values.schema.json of chart "+strings.TrimSuffix(line, ":")+":")
			case len(charts) == 0:
				charts = append(charts, line)
			default:
				charts[len(charts)-1] += " " + strings.TrimPrefix(line, "- ") + ";"
			}
		}
		return &rewrittenError{msg: "values do not match " + strings.TrimSuffix(strings.Join(charts, " "), ";"), err: err}
	}
	if m := helmMappingError.FindStringSubmatch(msg); m != nil {
		return &rewrittenError{msg: fmt.Sprintf("%s %q: the cluster serves no kind %s in %s: install its CustomResourceDefinition first (in the chart's crds/ or another release)", m[2], m[1], m[2], m[3]), err: err}
	}
	if m := helmListDocument.FindStringSubmatch(msg); m != nil {
		return &rewrittenError{msg: fmt.Sprintf("%s: renders a YAML %s where a Kubernetes object (a mapping with apiVersion, kind and metadata) must be", m[1], m[2]), err: err}
	}
	return err
}

// rewrittenError says in its own words what err says, keeping err for errors.Is and As.
type rewrittenError struct {
	msg string
	err error
}

func (e *rewrittenError) Error() string { return e.msg }
func (e *rewrittenError) Unwrap() error { return e.err }
