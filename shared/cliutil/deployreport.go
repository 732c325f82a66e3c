package cliutil

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/kubectl-converge/converge/shared/exitcode"
)

// DefaultDeployReportPath is werf's --deploy-report-path default (werf 1.2
// cmd/werf/common/common.go, DefaultDeployReportPathJSON).
const DefaultDeployReportPath = ".werf-deploy-report.json"

// DeployReportPath is the file werf's --deploy-report-path names: "" is the default, a path
// without an extension gets ".json", any extension but .json is refused (werf 1.2
// cmd/werf/common GetDeployReportPath).
func DeployReportPath(path string) (string, error) {
	switch ext := filepath.Ext(path); {
	case path == "":
		return DefaultDeployReportPath, nil
	case ext == ".json":
		return path, nil
	case ext == "":
		return path + ".json", nil
	default:
		return "", errors.New("the extension must be .json or none, as in werf")
	}
}

// ReadDeployReport returns the release and namespace a deploy report names: one written by
// converge's --save-report or by werf's --save-deploy-report (both have "release" and
// "namespace").
func ReadDeployReport(path string) (release, namespace string, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", "", exitcode.Usage("read deploy report: %v (write one with converge --save-report %s)", err, path)
	}
	var report struct {
		Release   string `json:"release"`
		Namespace string `json:"namespace"`
	}
	if err := json.Unmarshal(data, &report); err != nil {
		return "", "", exitcode.Usage("deploy report %q: not JSON: %v", path, err)
	}
	for _, f := range []struct{ name, value string }{{"release", report.Release}, {"namespace", report.Namespace}} {
		if f.value == "" {
			return "", "", exitcode.Usage("deploy report %q: no %s in it", path, f.name)
		}
	}
	return report.Release, report.Namespace, nil
}
