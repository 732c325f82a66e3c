package secrets

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubectl-converge/converge/shared/redact"
)

// KeySource says where to look for the secret key, in werf's order after an explicit file.
type KeySource struct {
	// File is a key file given on the command line (--secret-key-file); it wins when set.
	File string
	// ProjectDir holds .werf_secret_key: the git work tree root, else the current directory.
	ProjectDir string
	// Getenv reads WERF_SECRET_KEY; nil means os.Getenv.
	Getenv func(string) string
	// HomeDir holds .werf/global_secret_key; empty means the user's home directory.
	HomeDir string
}

// ErrNoKey is returned when no source holds a key.
var ErrNoKey = errors.New("secret key not found")

// Find returns the key and a description of where it came from, and registers the key with
// the redactor so that no output shows it (a chart, a log or an error may carry it).
func (s KeySource) Find() (key, origin string, err error) {
	key, origin, err = s.find()
	if err == nil {
		redact.Add(key)
	}
	return key, origin, err
}

// maxKeyFile caps what Register reads of a key file (a key is at most 64 hex digits).
const maxKeyFile = 64 << 10

// Register registers with the redactor the key of every source that holds one
// ($WERF_SECRET_KEY, --secret-key-file, .werf_secret_key, ~/.werf/global_secret_key), as soon
// as a command knows them and whether or not it decrypts anything: a chart link, a log or an
// error may show a key the run never uses. Unreadable sources are left to Find to report.
func (s KeySource) Register() {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	redact.Add(strings.TrimSpace(getenv("WERF_SECRET_KEY")))
	home := s.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	files := []string{filepath.Join(s.ProjectDir, ".werf_secret_key"), filepath.Join(home, ".werf", "global_secret_key")}
	if s.File != "" {
		files = append(files, s.File)
	}
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		raw, _ := io.ReadAll(io.LimitReader(f, maxKeyFile))
		f.Close()
		redact.Add(strings.TrimSpace(string(raw)))
	}
}

func (s KeySource) find() (key, origin string, err error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if s.File != "" {
		raw, err := os.ReadFile(s.File)
		if err != nil {
			return "", "", fmt.Errorf("read --secret-key-file: %w", err)
		}
		return strings.TrimSpace(string(raw)), s.File, nil
	}
	if env := strings.TrimSpace(getenv("WERF_SECRET_KEY")); env != "" {
		return env, "$WERF_SECRET_KEY", nil
	}
	home := s.HomeDir
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	candidates := []string{filepath.Join(s.ProjectDir, ".werf_secret_key"), filepath.Join(home, ".werf", "global_secret_key")}
	for _, path := range candidates {
		raw, err := os.ReadFile(path)
		if err == nil {
			return strings.TrimSpace(string(raw)), path, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("read secret key: %w", err)
		}
	}
	return "", "", fmt.Errorf("%w in --secret-key-file, $WERF_SECRET_KEY, %s or %s: generate one with \"kubectl converge secret generate-key\"", ErrNoKey, candidates[0], candidates[1])
}

// Load finds the key and builds a Cipher from it.
func (s KeySource) Load() (*Cipher, error) {
	key, origin, err := s.Find()
	if err != nil {
		return nil, err
	}
	c, err := NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key from %s: %w", origin, err)
	}
	return c, nil
}
