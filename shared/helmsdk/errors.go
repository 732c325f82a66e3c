package helmsdk

import (
	"fmt"
	"regexp"
)

// Helm's own messages that span lines or name Go types; helmError rewrites them into one
// line that names the chart file and says what to do. (Schema errors never come from Helm:
// values are checked before, by charts.ResolvedValues.Validate, without service values.)
var (
	helmMappingError = regexp.MustCompile(`resource mapping not found for name: "([^"]*)" namespace: "[^"]*" from "[^"]*": no matches for kind "([^"]+)" in version "([^"]+)"`)
	helmListDocument = regexp.MustCompile(`^YAML parse error on ([^:]+): error unmarshaling JSON: .*cannot unmarshal (array|string|number|bool) into Go value of type releaseutil\.SimpleHead`)
)

// helmError turns Helm's multi-line and type-naming errors into one-line ones; other errors
// pass unchanged.
func helmError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
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
