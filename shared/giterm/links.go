package giterm

import (
	"path/filepath"
	"strings"
	"sync"
)

var (
	keyFilesMu sync.Mutex
	// keyFiles are the real paths of the key files the command was given (--secret-key-file).
	keyFiles = map[string]bool{}
)

// ForbidSecretKeyFile makes ForbiddenLinkTarget refuse path (a --secret-key-file), whatever
// its name, as the command learns it.
func ForbidSecretKeyFile(path string) {
	if path == "" {
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	keyFilesMu.Lock()
	defer keyFilesMu.Unlock()
	keyFiles[abs] = true
}

func isKeyFile(resolved string) bool {
	keyFilesMu.Lock()
	defer keyFilesMu.Unlock()
	return filepath.IsAbs(resolved) && keyFiles[filepath.Clean(resolved)]
}

// SecretKeyFileName is the project's secret key file, which no chart may read.
const SecretKeyFileName = ".werf_secret_key"

// ForbiddenLinkTarget says why a chart may not read resolved (a symlink's resolved target,
// or a file below a linked directory) in the project at root: a path into .git/ (where CI
// checkouts keep credentials) or a secret key file (.werf_secret_key, or one given to
// ForbidSecretKeyFile). It returns "" when the target is fine.
func ForbiddenLinkTarget(root, resolved string) string {
	if filepath.Base(resolved) == SecretKeyFileName || isKeyFile(resolved) {
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
