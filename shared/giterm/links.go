package giterm

import (
	"path/filepath"
	"strings"
)

// SecretKeyFileName is the project's secret key file, which no chart may read.
const SecretKeyFileName = ".werf_secret_key"

// ForbiddenLinkTarget says why a chart may not read resolved (a symlink's resolved target,
// or a file below a linked directory) in the project at root: a path into .git/ (where CI
// checkouts keep credentials) or a secret key file. It returns "" when the target is fine.
func ForbiddenLinkTarget(root, resolved string) string {
	if filepath.Base(resolved) == SecretKeyFileName {
		return "a secret key file"
	}
	rel, err := filepath.Rel(root, resolved)
	if err != nil {
		rel = resolved
	}
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == ".git" {
			return "the .git directory"
		}
	}
	return ""
}
