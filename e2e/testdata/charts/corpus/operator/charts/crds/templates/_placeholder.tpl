{{/* The CRDs live in crds/: Helm installs them before anything else. */}}
