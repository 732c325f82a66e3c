package cliutil

import (
	"encoding/base64"
	"encoding/json"
	"os"

	"github.com/spf13/pflag"

	"github.com/kubectl-converge/converge/shared/exitcode"
	"github.com/kubectl-converge/converge/shared/giterm"
	"github.com/kubectl-converge/converge/shared/helmsdk/charts"
	"github.com/kubectl-converge/converge/shared/inject"
	"github.com/kubectl-converge/converge/shared/inputs"
	"github.com/kubectl-converge/converge/shared/redact"
	"github.com/kubectl-converge/converge/shared/secrets"
)

// DeployFlags are the flags shared by every command that renders or deploys a chart.
type DeployFlags struct {
	ReleaseName   string
	Env           string
	Values        charts.ValueSources
	SecretValues  []string
	SecretKeyFile string
	ImageFlags    []string
	ImagesFile    string
	RewriteImages []string
	Annotations   []string
	Labels        []string
	PlainHTTP     bool
	// Repo is werf's --repo: the images repository, passed as .Values.werf.repo.
	Repo string
	// werf's switches of the value sources.
	DisableDefaultValues       bool
	DisableDefaultSecretValues bool
	IgnoreSecretKey            bool
	SetDockerConfigJSONValue   bool
	// NoValuesSchemaValidation skips the check against values.schema.json (werf's flag).
	NoValuesSchemaValidation bool
}

// AddFlags registers the flags on fs.
func (f *DeployFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&f.ReleaseName, "release", "", "release name, used as given (default: the chart name, with -ENV appended when --env is set)")
	fs.StringVar(&f.Env, "env", "", "environment: appended to the default release name, passed as .Values.werf.env and .Values.global.env")
	fs.StringSliceVarP(&f.Values.Files, "values", "f", nil, "values file or URL (can be repeated)")
	fs.StringArrayVar(&f.Values.Set, "set", nil, "set values: key1=val1,key2=val2 (can be repeated)")
	fs.StringArrayVar(&f.Values.SetString, "set-string", nil, "set string values: key1=val1,key2=val2 (can be repeated)")
	fs.StringArrayVar(&f.Values.SetFile, "set-file", nil, "set values from files: key1=path1 (can be repeated)")
	fs.StringArrayVar(&f.Values.SetJSON, "set-json", nil, "set JSON values: key1=jsonval1 (can be repeated)")
	fs.StringArrayVar(&f.Values.SetLiteral, "set-literal", nil, "set a literal string value: key=value (can be repeated)")
	fs.StringArrayVar(&f.SecretValues, "secret-values", nil, "extra encrypted values file, merged after the chart's secret-values.yaml (can be repeated)")
	fs.StringVar(&f.SecretKeyFile, "secret-key-file", "", "file holding the secret key (default: $WERF_SECRET_KEY, .werf_secret_key in the project, ~/.werf/global_secret_key)")
	fs.StringArrayVar(&f.ImageFlags, "image", nil, "image reference for the chart: NAME=REF, as .Values.werf.image.NAME and .Values.global.werf.images.NAME (can be repeated)")
	fs.StringVar(&f.ImagesFile, "images-file", "", "YAML or JSON file mapping image names to references; --image wins")
	fs.StringArrayVar(&f.RewriteImages, "rewrite-image", nil, "replace container images named FROM, however the chart spells them (nginx = docker.io/library/nginx), in every pod template: FROM=TO[:TAG][@DIGEST] (can be repeated)")
	fs.StringArrayVar(&f.Annotations, "add-annotation", nil, "annotation added to every object, hooks included: key=value (can be repeated; also WERF_ADD_ANNOTATION_<ANY>=key=value)")
	fs.BoolVar(&f.PlainHTTP, "plain-http", false, "use HTTP, not HTTPS, for oci:// chart dependencies, and allow http:// chart repositories")
	fs.BoolVar(&f.DisableDefaultValues, "disable-default-values", false, "leave the chart's values.yaml out (also WERF_DISABLE_DEFAULT_VALUES)")
	fs.BoolVar(&f.DisableDefaultSecretValues, "disable-default-secret-values", false, "leave the chart's secret-values.yaml out (also WERF_DISABLE_DEFAULT_SECRET_VALUES)")
	fs.BoolVar(&f.IgnoreSecretKey, "ignore-secret-key", false, "pass secret values and files encrypted, without a key: for a render to review (also WERF_IGNORE_SECRET_KEY)")
	fs.BoolVar(&f.SetDockerConfigJSONValue, "set-docker-config-json-value", false, "pass the base64 of $DOCKER_CONFIG/config.json (else ~/.docker/config.json) as .Values.dockerconfigjson, for an image pull Secret (also WERF_SET_DOCKER_CONFIG_JSON_VALUE)")
	fs.BoolVar(&f.NoValuesSchemaValidation, "no-values-schema-validation", false, "do not check the values against the charts' values.schema.json (also WERF_NO_VALUES_SCHEMA_VALIDATION)")
	fs.StringVar(&f.Repo, "repo", "", "images repository, passed as .Values.werf.repo (werf's --repo; also WERF_REPO)")
	fs.StringArrayVar(&f.Labels, "add-label", nil, "label added to every object's metadata: key=value (can be repeated; also WERF_ADD_LABEL_<ANY>=key=value)")
}

// Inputs turns the flags into the deploy inputs for chartPath in namespace; project is the
// werf project's name ("" outside one). Bad flag values are usage errors.
func (f *DeployFlags) Inputs(chartPath, projectDir, namespace, project string) (inputs.Inputs, error) {
	secrets.KeySource{File: f.SecretKeyFile, ProjectDir: projectDir}.Register()
	giterm.ForbidSecretKeyFile(f.SecretKeyFile)
	images := inject.Images{}
	if f.ImagesFile != "" {
		fromFile, err := inject.LoadImagesFile(f.ImagesFile)
		if err != nil {
			return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
		}
		images = fromFile
	}
	fromFlags, err := inject.ParseImageFlags(f.ImageFlags)
	if err != nil {
		return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	rewrites, err := inject.ParseRewrites(f.RewriteImages)
	if err != nil {
		return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	dockerConfig := ""
	if f.SetDockerConfigJSONValue {
		if dockerConfig, err = inject.DockerConfigJSON(os.Getenv); err != nil {
			return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
		}
		// Registry credentials: never printed.
		redact.Add(dockerConfig)
		if raw, derr := base64.StdEncoding.DecodeString(dockerConfig); derr == nil {
			redact.AddValues(map[string]any{"config": string(raw)})
			var cfg struct {
				Auths map[string]map[string]any `json:"auths"`
			}
			if json.Unmarshal(raw, &cfg) == nil {
				for _, auth := range cfg.Auths {
					redact.AddValues(auth)
				}
			}
		}
	}
	md, err := inputs.Metadata(inputs.MetadataRequest{AnnotationFlags: f.Annotations, LabelFlags: f.Labels, Environ: os.Environ(), Env: f.Env, Project: project})
	if err != nil {
		return inputs.Inputs{}, exitcode.Wrap(exitcode.CodeUsage, err)
	}
	return inputs.Inputs{
		ChartPath:         chartPath,
		ProjectDir:        projectDir,
		ReleaseName:       f.ReleaseName,
		Env:               f.Env,
		Namespace:         namespace,
		Values:            f.Values,
		SecretValuesFiles: f.SecretValues,
		SecretKeyFile:     f.SecretKeyFile,
		Images:            images.Merge(fromFlags),
		Rewrites:          rewrites,
		Metadata:          md,
		PlainHTTP:         f.PlainHTTP,
		Repo:              f.Repo,

		DisableDefaultValues:       f.DisableDefaultValues,
		DisableDefaultSecretValues: f.DisableDefaultSecretValues,
		IgnoreSecretKey:            f.IgnoreSecretKey,
		DockerConfigJSON:           dockerConfig,
		NoValuesSchemaValidation:   f.NoValuesSchemaValidation,
	}, nil
}
