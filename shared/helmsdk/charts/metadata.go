package charts

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// DefaultChartVersion is the version of a chart whose Chart.yaml has none (werf's default).
const DefaultChartVersion = "1.0.0"

// MetadataDefaults complete the Chart.yaml of a project's own chart as werf does
// (AutosetChartMetadata in werf's chart extender): a missing file or name gets Name, a
// missing version Version (werf: DefaultChartVersion), and AppVersion (werf.yaml's
// deploy.helmChartConfig.appVersion) replaces the chart's when set. Subcharts get none.
type MetadataDefaults struct {
	Name       string
	Version    string
	AppVersion string
}

// apply returns files with Chart.yaml completed; files is not changed.
func (d MetadataDefaults) apply(files map[string][]byte) (map[string][]byte, error) {
	meta := map[string]any{}
	if data, ok := files["Chart.yaml"]; ok {
		if err := yaml.Unmarshal(data, &meta); err != nil {
			return files, nil // Helm's loader reports it, naming the file
		}
		if meta == nil {
			meta = map[string]any{}
		}
	} else if d.Name == "" {
		return files, nil
	} else {
		meta["apiVersion"] = "v2"
	}
	changed := false
	set := func(key, value string, override bool) {
		if value == "" {
			return
		}
		if current, _ := meta[key].(string); current == "" || (override && current != value) {
			meta[key] = value
			changed = true
		}
	}
	set("name", d.Name, false)
	set("version", d.Version, false)
	set("appVersion", d.AppVersion, true)
	if !changed {
		return files, nil
	}
	data, err := yaml.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("complete Chart.yaml: %w", err)
	}
	out := make(map[string][]byte, len(files)+1)
	for k, v := range files {
		out[k] = v
	}
	out["Chart.yaml"] = data
	return out, nil
}

// LoadChartFilesWith loads a chart from its files as LoadChartFiles does, Chart.yaml
// completed by d.
func LoadChartFilesWith(name string, files map[string][]byte, d MetadataDefaults) (*Chart, error) {
	completed, err := d.apply(files)
	if err != nil {
		return nil, err
	}
	return LoadChartFiles(name, completed)
}

// LoadChartWith loads a chart as LoadChart does; a chart directory gets its Chart.yaml
// completed by d (an archive is a packaged chart: its Chart.yaml is complete).
func LoadChartWith(chartPath string, d MetadataDefaults) (*Chart, error) {
	info, err := os.Stat(chartPath)
	if err != nil || !info.IsDir() {
		return LoadChart(chartPath)
	}
	files, err := ReadChartDir(chartPath)
	if err != nil {
		return nil, err
	}
	if _, ok := files["Chart.yaml"]; !ok && d.Name == "" {
		return nil, fmt.Errorf("%s: no Chart.yaml: add one with name and version, or a werf.yaml with project at the project root", chartPath)
	}
	return LoadChartFilesWith(chartPath, files, d)
}
