package helmsdk

import (
	"encoding/json"
	"github.com/kubectl-converge/converge/shared/lifecycle"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/resource"
)

// RecordAdoption marks the object as adopted by run from previousOwner.
func RecordAdoption(info *resource.Info, previousOwner, run string) error {
	return patchAnnotations(info, map[string]*string{lifecycle.AnnotationAdoptedFrom: &previousOwner, lifecycle.AnnotationAdoptedInRun: &run})
}

// HandBack returns an object adopted by a run that failed to its previous owner (or to no
// owner), instead of deleting it with the failed release.
func HandBack(info *resource.Info, annotations map[string]string) error {
	release, namespace, _ := strings.Cut(annotations[lifecycle.AnnotationAdoptedFrom], "/")
	patch := map[string]*string{lifecycle.AnnotationAdoptedFrom: nil, lifecycle.AnnotationAdoptedInRun: nil, lifecycle.AnnotationReleaseName: nil, lifecycle.AnnotationReleaseNamespace: nil}
	if release != "" {
		patch[lifecycle.AnnotationReleaseName], patch[lifecycle.AnnotationReleaseNamespace] = &release, &namespace
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
