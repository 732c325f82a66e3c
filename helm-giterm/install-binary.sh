#!/usr/bin/env sh
# Install hook of the helm giterm plugin: makes sure $HELM_PLUGIN_DIR/bin/helm-giterm exists.
# A release archive ships the binary already; a source checkout builds it with Go.
set -eu
dir=${HELM_PLUGIN_DIR:?HELM_PLUGIN_DIR is not set: run this through helm plugin install}
bin="$dir/bin/helm-giterm"
if [ -x "$bin" ]; then
  echo "helm giterm: using $bin"
  exit 0
fi
if command -v go >/dev/null 2>&1 && [ -f "$dir/go.mod" ]; then
  echo "helm giterm: building $bin from source"
  (cd "$dir" && go build -trimpath -o "$bin" ./helm-giterm)
  exit 0
fi
echo "helm giterm: no binary at $bin and no Go toolchain to build it; install a release archive (giterm-<version>.tgz) for your platform, or install Go and run the install again" >&2
exit 1
