// Package manifest edits streams of Kubernetes YAML documents in place, keeping their order,
// comments and formatting as far as YAML allows.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Object is one YAML document of a stream.
type Object struct {
	// Root is the document's top-level mapping; nil for an empty or comment-only document.
	Root *yaml.Node
	doc  *yaml.Node
	raw  []byte
}

// Kind is the object's kind, "" when it has none.
func (o *Object) Kind() string { return o.scalar("kind") }

// Name is metadata.name, "" when it has none.
func (o *Object) Name() string {
	if md := Lookup(o.Root, "metadata"); md != nil {
		if n := Lookup(md, "name"); n != nil {
			return n.Value
		}
	}
	return ""
}

func (o *Object) scalar(key string) string {
	if n := Lookup(o.Root, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// Edit parses the stream, calls edit for every non-empty document and writes the stream back.
// Empty documents are dropped, as kubectl and Helm drop them.
func Edit(data []byte, edit func(*Object) error) ([]byte, error) {
	objects, err := Parse(data)
	if err != nil {
		return nil, err
	}
	for _, o := range objects {
		if err := edit(o); err != nil {
			return nil, err
		}
	}
	return Encode(objects)
}

// Parse splits a YAML stream into its documents.
func Parse(data []byte) ([]*Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*Object
	for i := 1; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parse YAML document %d: %w", i, err)
		}
		o := &Object{doc: &doc}
		if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
			o.Root = doc.Content[0]
		} else if len(doc.Content) == 1 && doc.Content[0].Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("YAML document %d is not a mapping", i)
		}
		if o.Root == nil && doc.HeadComment == "" && doc.FootComment == "" {
			continue
		}
		out = append(out, o)
	}
}

// Encode writes objects back as one stream, documents separated by "---".
func Encode(objects []*Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objects {
		if i > 0 {
			buf.WriteString("---\n")
		}
		var doc bytes.Buffer
		enc := yaml.NewEncoder(&doc)
		enc.SetIndent(2)
		if err := enc.Encode(o.doc); err != nil {
			return nil, err
		}
		buf.Write(doc.Bytes())
	}
	return buf.Bytes(), nil
}

// Lookup returns the value of key in mapping m, or nil.
func Lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// EnsureMap returns the mapping under key in m, creating it (or replacing a null) as needed.
func EnsureMap(m *yaml.Node, key string) (*yaml.Node, error) {
	if v := Lookup(m, key); v != nil {
		if v.Kind == yaml.MappingNode {
			return v, nil
		}
		if v.Tag != "!!null" {
			return nil, fmt.Errorf("%s is a %s, want a mapping", key, strings.TrimPrefix(v.Tag, "!!"))
		}
		v.Kind, v.Tag, v.Value, v.Style = yaml.MappingNode, "!!map", "", 0
		return v, nil
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v, nil
}

// Delete removes key from mapping m; it reports whether the key was there.
func Delete(m *yaml.Node, key string) bool {
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}

// SetString sets key to the string value in mapping m, quoting it as a string.
func SetString(m *yaml.Node, key, value string) {
	if v := Lookup(m, key); v != nil {
		v.Kind, v.Tag, v.Value, v.Content = yaml.ScalarNode, "!!str", value, nil
		return
	}
	m.Content = append(m.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
}

// Annotations returns metadata.annotations as a map of the string values.
func (o *Object) Annotations() map[string]string {
	out := map[string]string{}
	ann := Lookup(Lookup(o.Root, "metadata"), "annotations")
	if ann == nil || ann.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(ann.Content); i += 2 {
		out[ann.Content[i].Value] = ann.Content[i+1].Value
	}
	return out
}

// Source is the chart file the document was rendered from, as Helm names it in its
// "# Source: chart/templates/x.yaml" comment; "" when the comment is missing.
func (o *Object) Source() string {
	comments := []string{o.doc.HeadComment}
	if o.Root != nil {
		// yaml.v3 attaches a comment above the first key to the key itself.
		comments = append(comments, o.Root.HeadComment)
		if len(o.Root.Content) > 0 {
			comments = append(comments, o.Root.Content[0].HeadComment)
		}
	}
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			if src, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				return strings.TrimSpace(src)
			}
		}
	}
	return ""
}
