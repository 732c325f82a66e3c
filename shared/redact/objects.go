package redact

import (
	"encoding/base64"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// AddSecretObject registers the values of a Secret object (data decoded from base64,
// stringData as it is); other kinds are ignored.
func AddSecretObject(obj map[string]any) {
	if obj["kind"] != "Secret" {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		m, _ := obj[field].(map[string]any)
		for _, v := range m {
			value, ok := v.(string)
			if !ok {
				continue
			}
			if field == "data" {
				if decoded, err := base64.StdEncoding.DecodeString(value); err == nil {
					value = string(decoded)
				}
			}
			Add(value)
		}
	}
}

// AddSecretNode registers the values of a Secret object parsed as a YAML node (a rendered
// manifest's document); other kinds, and nil, are ignored.
func AddSecretNode(root *yaml.Node) {
	if !isSecret(root) {
		return
	}
	var obj map[string]any
	if root.Decode(&obj) == nil {
		AddSecretObject(obj)
	}
}

// isSecret reports whether a document's top-level mapping has kind: Secret, without decoding
// the rest of it.
func isSecret(root *yaml.Node) bool {
	if root == nil || root.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "kind" {
			return root.Content[i+1].Value == "Secret"
		}
	}
	return false
}

// AddSecretFile registers a decrypted secret file: whole, and each of its lines on its own
// (short ones too, as whole values), since a template may take any one of them.
func AddSecretFile(plain []byte) {
	Add(string(plain))
	Add(strings.Split(string(plain), "\n")...)
}

// documentSeparator splits a YAML stream into documents.
var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

// AddManifestSecrets registers the values of every Secret in a YAML stream (a release's
// manifest or a hook's); documents that do not parse are skipped.
func AddManifestSecrets(manifest string) {
	for _, doc := range documentSeparator.Split(manifest, -1) {
		if !strings.Contains(doc, "Secret") {
			continue
		}
		var obj map[string]any
		if yaml.Unmarshal([]byte(doc), &obj) == nil {
			AddSecretObject(obj)
		}
	}
}
