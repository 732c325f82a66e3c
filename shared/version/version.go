// Package version holds the build information of both plugins, set at build time with
// -ldflags "-X github.com/kubectl-converge/converge/shared/version.version=v1.2.3" and so on.
package version

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
)

var (
	version = "v0.0.0-dev"
	commit  = "unknown"
	date    = "unknown"
)

// Info describes one build of a plugin binary.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	BuildDate string `json:"buildDate"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the information stamped into this binary.
func Get() Info {
	return Info{
		Version:   version,
		Commit:    commit,
		BuildDate: date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// Write prints the build information for program as text, or as JSON when format is "json".
func Write(w io.Writer, program, format string) error {
	info := Get()
	switch format {
	case "", "text":
		_, err := fmt.Fprintf(w, "%s %s (commit %s, built %s, %s, %s)\n", program, info.Version, info.Commit, info.BuildDate, info.GoVersion, info.Platform)
		return err
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	default:
		return fmt.Errorf("unknown --output %q: use text or json", format)
	}
}
