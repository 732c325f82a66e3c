package secrets

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// DecryptValues decrypts every leaf of a secret values YAML document (keys stay plain, as
// werf writes them) and returns the document with plain values, comments and order kept.
func (c *Cipher) DecryptValues(data []byte) ([]byte, error) {
	return c.mapLeaves(data, func(path, value string) (string, error) {
		plain, err := c.Decrypt([]byte(value))
		if err != nil {
			return "", fmt.Errorf("value %s: %w", path, err)
		}
		// CBC has no integrity check: a wrong key yields valid padding about once in 256
		// tries. Values are YAML text, so garbage that is not UTF-8 tells a wrong key too.
		if !utf8.Valid(plain) {
			return "", fmt.Errorf("value %s: %w", path, ErrDecrypt)
		}
		return string(plain), nil
	})
}

// EncryptValues encrypts every leaf of a plain values YAML document. A leaf whose plain text
// equals the same path in previous (an earlier encrypted version, may be nil) keeps its old
// ciphertext, so that editing one value changes one line of the file.
func (c *Cipher) EncryptValues(data, previous []byte) ([]byte, error) {
	old := map[string]string{}
	if len(previous) > 0 {
		if _, err := c.mapLeaves(previous, func(path, value string) (string, error) {
			old[path] = value
			return value, nil
		}); err != nil {
			return nil, err
		}
	}
	return c.mapLeaves(data, func(path, value string) (string, error) {
		if cipherText, ok := old[path]; ok {
			if plain, err := c.Decrypt([]byte(cipherText)); err == nil && string(plain) == value {
				return cipherText, nil
			}
		}
		out, err := c.Encrypt([]byte(value))
		return string(out), err
	})
}

// mapLeaves replaces the value of every scalar leaf with fn(path, value).
func (c *Cipher) mapLeaves(data []byte, fn func(path, value string) (string, error)) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	if doc.Kind == 0 {
		return data, nil
	}
	if err := walkLeaves(&doc, "", fn); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func walkLeaves(n *yaml.Node, path string, fn func(path, value string) (string, error)) error {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, child := range n.Content {
			if err := walkLeaves(child, path, fn); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := walkLeaves(n.Content[i+1], joinPath(path, n.Content[i].Value), fn); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for i, child := range n.Content {
			if err := walkLeaves(child, fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		value, err := fn(path, n.Value)
		if err != nil {
			return err
		}
		n.Value, n.Tag, n.Style = value, "!!str", 0
		if strings.Contains(value, "\n") {
			n.Style = yaml.LiteralStyle
		}
	}
	return nil
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}
