package harness

import (
	"fmt"
	"strings"
)

// LargeCRD is a namespaced CRD of kind in group (plural: kind in lower case plus "s"),
// served as v1, with a schema of generated, documented fields up to about kb kilobytes, as
// operators' generated CRDs are. extra, if not empty, is one more property of spec, in the
// flow style ("name: {type: string}").
func LargeCRD(group, kind string, kb int, extra string) string {
	plural := strings.ToLower(kind) + "s"
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[1]s.%[4]s
spec:
  group: %[4]s
  names: {kind: %[2]s, plural: %[1]s, singular: %[3]s, listKind: %[2]sList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
            properties:
`, plural, kind, strings.ToLower(kind), group)
	if extra != "" {
		b.WriteString("              " + extra + "\n")
	}
	description := strings.Repeat("Describes one setting of the resource as generated API documentation does at length. ", 3)
	for i := 0; b.Len() < kb<<10; i++ {
		fmt.Fprintf(&b, "              field%04d:\n                type: string\n                description: %s\n", i, description)
	}
	return b.String()
}
