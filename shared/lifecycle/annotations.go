// Package lifecycle is the vocabulary of the Helm and werf annotations that decide the life of
// a release's objects (when each is applied, in which order, how it is recreated and deleted,
// who owns it, how it is tracked) and the one decision per object that plan, deploy and
// uninstall share (Decide). Every annotation is named and parsed here only, each with its
// validation error; the package imports nothing of the project, so every layer may use it.
package lifecycle

// Helm's annotations.
const (
	// AnnotationHook makes an object a hook: the comma-separated events it runs in.
	AnnotationHook = "helm.sh/hook"
	// AnnotationHookWeight orders the hooks of one event (werf.io/weight wins over it).
	AnnotationHookWeight = "helm.sh/hook-weight"
	// AnnotationHookDeletePolicy is when Helm deletes a hook: before-hook-creation (the
	// default), hook-succeeded, hook-failed.
	AnnotationHookDeletePolicy = "helm.sh/hook-delete-policy"
	// AnnotationHelmResourcePolicy "keep" leaves the object in the cluster when it leaves the
	// chart or the release is uninstalled.
	AnnotationHelmResourcePolicy = "helm.sh/resource-policy"
	// AnnotationReleaseName and AnnotationReleaseNamespace are Helm's ownership metadata: the
	// release an object belongs to.
	AnnotationReleaseName      = "meta.helm.sh/release-name"
	AnnotationReleaseNamespace = "meta.helm.sh/release-namespace"
)

// werf's and nelm's deploy annotations.
const (
	// AnnotationWerfPrefix starts every werf.io annotation.
	AnnotationWerfPrefix             = "werf.io/"
	AnnotationWeight                 = "werf.io/weight"
	AnnotationDeployDependencyPrefix = "werf.io/deploy-dependency-"
	// AnnotationDeleteDependencyPrefix is nelm's "werf.io/delete-dependency-<id>:
	// state=absent,kind=…,name=…": the object is deleted only once those objects are gone.
	AnnotationDeleteDependencyPrefix = "werf.io/delete-dependency-"
	// External dependencies are "<id>.external-dependency.werf.io/resource" and ".../namespace",
	// or nelm's "<id>.external-dependency.werf.io: apiVersion:kind[:namespace]:name".
	AnnotationExternalDependencyDomain = ".external-dependency.werf.io"
	AnnotationExternalDependencySuffix = AnnotationExternalDependencyDomain + "/"
	// AnnotationDependencyDomain is nelm's "<id>.dependency.werf.io: apiVersion:kind[:namespace]:name".
	AnnotationDependencyDomain   = ".dependency.werf.io"
	AnnotationReplicasOnCreation = "werf.io/replicas-on-creation"
	AnnotationDeletePolicy       = "werf.io/delete-policy"
	AnnotationDeletePropagation  = "werf.io/delete-propagation"
	// AnnotationWerfResourcePolicy is nelm's helm.sh/resource-policy.
	AnnotationWerfResourcePolicy = "werf.io/resource-policy"
	// AnnotationOwnership is nelm's werf.io/ownership: "release" (the default) objects belong
	// to the release; "anyone" objects are deployed with it but carry no release metadata, so
	// nothing checks who owns them before they are applied and nothing deletes them.
	AnnotationOwnership = "werf.io/ownership"
	// AnnotationDeployOn is nelm's werf.io/deploy-on: the comma-separated stages an object is
	// deployed in (ParseDeployOn).
	AnnotationDeployOn = "werf.io/deploy-on"
	// AnnotationSensitive hides the whole object's values in diffs; AnnotationSensitivePaths
	// the comma-separated JSON paths it names.
	AnnotationSensitive      = "werf.io/sensitive"
	AnnotationSensitivePaths = "werf.io/sensitive-paths"
	// AnnotationWerfVersion records the version of the tool that deployed an object.
	AnnotationWerfVersion    = "werf.io/version"
	AnnotationReleaseChannel = "werf.io/release-channel"
)

// werf's tracking annotations, honoured on every tracked object (parsed by track/readiness).
const (
	AnnotationTrackTerminationMode   = "werf.io/track-termination-mode"
	AnnotationFailMode               = "werf.io/fail-mode"
	AnnotationFailuresAllowed        = "werf.io/failures-allowed-per-replica"
	AnnotationNoActivityTimeout      = "werf.io/no-activity-timeout"
	AnnotationIgnoreProbeFailsPrefix = "werf.io/ignore-readiness-probe-fails-for-"
	AnnotationLogRegex               = "werf.io/log-regex"
	AnnotationLogRegexForPrefix      = "werf.io/log-regex-for-"
	AnnotationLogRegexSkip           = "werf.io/log-regex-skip"
	AnnotationLogRegexSkipForPrefix  = "werf.io/log-regex-skip-for-"
	AnnotationSkipLogs               = "werf.io/skip-logs"
	AnnotationSkipLogsForContainers  = "werf.io/skip-logs-for-containers"
	AnnotationShowLogsOnlyFor        = "werf.io/show-logs-only-for-containers"
	AnnotationShowLogsForReplicas    = "werf.io/show-logs-only-for-number-of-replicas"
	AnnotationShowServiceMessages    = "werf.io/show-service-messages"
)

// Annotations converge records on the objects a --force-adoption run takes over, so that the
// run can hand them back when it fails and rolls back.
const (
	// AnnotationAdoptedFrom is the previous owner, "RELEASE/NAMESPACE" ("" when none).
	AnnotationAdoptedFrom = "kubectl-converge.io/adopted-from"
	// AnnotationAdoptedInRun names the run that adopted the object.
	AnnotationAdoptedInRun = "kubectl-converge.io/adopted-in-run"
)
