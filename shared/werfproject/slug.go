package werfproject

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Name limits werf applies (werf pkg/slug): Helm's release name limit and a DNS-1123 label.
const (
	MaxReleaseLength   = 53
	MaxNamespaceLength = 63
	maxProjectLength   = 50
)

// ReleaseSlug returns name when it is a valid release name (a DNS-1123 subdomain of at most
// 53 characters: dots are allowed), else werf's slug of it.
func ReleaseSlug(name string) string {
	if ValidateRelease(name) == nil {
		return name
	}
	return slug(name, MaxReleaseLength)
}

// NamespaceSlug returns name when it is a valid namespace name (a DNS-1123 label of at most
// 63 characters), else werf's slug of it.
func NamespaceSlug(name string) string {
	if ValidateNamespace(name) == nil {
		return name
	}
	return slug(name, MaxNamespaceLength)
}

// ValidateRelease checks a release name as werf and Helm do.
func ValidateRelease(name string) error {
	if len(name) > MaxReleaseLength {
		return fmt.Errorf("longer than %d characters", MaxReleaseLength)
	}
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return fmt.Errorf("not a valid release name: %s", strings.Join(errs, "; "))
	}
	return nil
}

// ValidateNamespace checks a namespace name.
func ValidateNamespace(name string) error {
	if len(name) > MaxNamespaceLength {
		return fmt.Errorf("longer than %d characters", MaxNamespaceLength)
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("not a valid namespace name: %s", strings.Join(errs, "; "))
	}
	return nil
}

// validateProject checks werf.yaml's project name: lower-case letters, digits and inner
// dashes, at most 50 characters.
func validateProject(name string) error {
	if name == "" || len(name) > maxProjectLength || len(validation.IsDNS1123Label(name)) > 0 || strings.Contains(name, ".") {
		return fmt.Errorf("project %q: use lower-case letters, digits and dashes (not at either end), at most %d characters", name, maxProjectLength)
	}
	return nil
}

// slug is werf's: the transliterated, lower-case form of data with dashes for separators,
// cropped so that "-" and the hex MurmurHash3 of the original data (not zero-padded) fit in
// max characters. A crop that ends with a dash keeps it, as werf's does ("...--hash"), so
// that names werf computed stay the same.
func slug(data string, max int) string {
	hash := fmt.Sprintf("%x", murmur3([]byte(data)))
	body := Slugify(data)
	if body == "" {
		return hash
	}
	if limit := max - len(hash) - 1; len(body) > limit {
		body = body[:limit]
	}
	return body + "-" + hash
}

// separators become dashes in a slug.
const separators = "&(){}-_[],.;:=+<>~/ ＿～"

// Slugify turns s into lower-case ASCII letters, digits and single inner dashes: letters
// with diacritics become their base letter, separators become dashes, and anything else is
// dropped (werf's slugify).
func Slugify(s string) string {
	var b strings.Builder
	for _, r := range s {
		t := transliterate(r)
		if t == "" {
			continue
		}
		if t == "-" && (b.Len() == 0 || strings.HasSuffix(b.String(), "-")) {
			continue
		}
		b.WriteString(t)
	}
	return strings.TrimSuffix(b.String(), "-")
}

// letters werf transliterates to something other than their decomposed base letter.
var letters = map[rune]string{
	'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'þ': "th", 'Þ': "th", 'ß': "b", 'ð': "o", 'Ð': "d",
	'đ': "d", 'Đ': "d", 'ø': "o", 'Ø': "o", 'ł': "l", 'Ł': "l", 'ı': "l", 'İ': "l", 'µ': "u",
	'²': "2", '³': "3", '×': "x", 'ĳ': "ij", 'Ĳ': "ij", 'ŀ': "l", 'Ŀ': "l", 'ħ': "h", 'Ħ': "h",
	'ŧ': "t", 'Ŧ': "t", 'ſ': "s", 'ĸ': "k", 'ŉ': "n", 'ŋ': "n", 'Ŋ': "n",
}

func transliterate(r rune) string {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		return string(r)
	case r >= 'A' && r <= 'Z':
		return string(unicode.ToLower(r))
	case strings.ContainsRune(separators, r):
		return "-"
	}
	if t, ok := letters[r]; ok {
		return t
	}
	if base := []rune(norm.NFD.String(string(r)))[0]; base < unicode.MaxASCII && unicode.IsLetter(base) {
		return string(unicode.ToLower(base))
	}
	return ""
}

// murmur3 is MurmurHash3 x86 32-bit with seed 0, the hash werf's slugs end with.
func murmur3(data []byte) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(data) / 4 * 4
	for i := 0; i < n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
		h = h<<13 | h>>19
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(data) - n {
	case 3:
		k ^= uint32(data[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[n])
		k *= c1
		k = k<<15 | k>>17
		k *= c2
		h ^= k
	}
	h ^= uint32(len(data))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
