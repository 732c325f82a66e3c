package cliutil

import "github.com/spf13/pflag"

// ProjectFlags locate a werf project and its werf.yaml as werf's flags of the same names do
// (werf 1.2 cmd/werf/common: SetupDir, SetupConfigPath, SetupConfigTemplatesDir).
type ProjectFlags struct {
	// Dir is --dir: the project directory; "" finds werf.yaml from the current directory up.
	Dir string
	// Config is --config: the path of werf.yaml; "" is werf.yaml (or werf.yml) in Dir.
	Config string
	// TemplatesDir is --config-templates-dir: the partials werf.yaml includes; "" is .werf
	// in Dir.
	TemplatesDir string
}

// AddFlags registers the flags on fs.
func (f *ProjectFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.Dir, "dir", "", "werf project directory, holding werf.yaml (default: the current directory, else the nearest one above it with werf.yaml)")
	fs.StringVar(&f.Config, "config", "", "werf.yaml to use, relative to the current directory (default: werf.yaml in the project directory)")
	fs.StringVar(&f.TemplatesDir, "config-templates-dir", "", "directory of the partials (**/*.tmpl) werf.yaml includes (default: .werf in the project directory)")
}
