#!/usr/bin/env sh
# Install hook of the helm giterm plugin: makes sure bin/helm-giterm exists next to this
# script's directory. A release archive ships the binary already; a source checkout builds it
# with Go. Paths are relative to this script, because a release archive lays the plugin out
# twice: at the root for Helm 3 (plugin.yaml pointing into giterm/) and in giterm/ for Helm 4.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/bin/helm-giterm"
if [ -x "$bin" ] || [ -x "$bin.exe" ]; then
  echo "helm giterm: using $bin"
  exit 0
fi
if command -v go >/dev/null 2>&1 && [ -f "$here/go.mod" ]; then
  echo "helm giterm: building $bin from source"
  (cd "$here" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./helm-giterm)
  exit 0
fi
echo "helm giterm: no binary at $bin, and no Go toolchain and sources to build it; install the release archive for your platform (giterm-<version>-<os>-<arch>.tgz), or install from a source checkout with Go 1.26 on PATH" >&2
exit 1
