package helmsdk

import (
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
)

// Annotations that record an adoption (--force-adoption) on the adopted object, so that the
// run that adopted it can hand it back when it fails and rolls back.
const (
	// AnnotationAdoptedFrom is the previous owner, "RELEASE/NAMESPACE" ("" when none).
	AnnotationAdoptedFrom = "kubectl-converge.io/adopted-from"
	// AnnotationAdoptedInRun names the run that adopted the object.
	AnnotationAdoptedInRun = "kubectl-converge.io/adopted-in-run"

	annotationReleaseName      = "meta.helm.sh/release-name"
	annotationReleaseNamespace = "meta.helm.sh/release-namespace"
)

// Owner is the release an object's ownership annotations name, "RELEASE/NAMESPACE"; "" when
// it has none.
func Owner(annotations map[string]string) string {
	if annotations[annotationReleaseName] == "" {
		return ""
	}
	return annotations[annotationReleaseName] + "/" + annotations[annotationReleaseNamespace]
}

// RecordAdoption marks the object as adopted by run from previousOwner.
func RecordAdoption(info *resource.Info, previousOwner, run string) error {
	return patchAnnotations(info, map[string]*string{AnnotationAdoptedFrom: &previousOwner, AnnotationAdoptedInRun: &run})
}

// HandBack returns an object adopted by a run that failed to its previous owner (or to no
// owner), instead of deleting it with the failed release.
func HandBack(info *resource.Info, annotations map[string]string) error {
	release, namespace, _ := strings.Cut(annotations[AnnotationAdoptedFrom], "/")
	patch := map[string]*string{AnnotationAdoptedFrom: nil, AnnotationAdoptedInRun: nil, annotationReleaseName: nil, annotationReleaseNamespace: nil}
	if release != "" {
		patch[annotationReleaseName], patch[annotationReleaseNamespace] = &release, &namespace
	}
	return patchAnnotations(info, patch)
}

func patchAnnotations(info *resource.Info, annotations map[string]*string) error {
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return err
	}
	_, err = resource.NewHelper(info.Client, info.Mapping).Patch(info.Namespace, info.Name, types.MergePatchType, data, nil)
	return err
}
