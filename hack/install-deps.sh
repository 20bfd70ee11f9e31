#!/usr/bin/env bash
# Installs what building and testing orca needs on a fresh Debian machine:
# Go modules, and kubectl if none is installed. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v make >/dev/null || need_apt+=(make)
command -v gcc >/dev/null || need_apt+=(gcc)
# libcontainer's seccomp support links libseccomp (cgo, -tags seccomp).
[ -e /usr/include/seccomp.h ] || need_apt+=(libseccomp-dev)
# Test images are built from Debian's static busybox.
[ -x /bin/busybox ] || need_apt+=(busybox-static)
# The CNI tests run the standard plugins (bridge, host-local, portmap, ...).
[ -x /usr/lib/cni/bridge ] || need_apt+=(containernetworking-plugins)
if ! ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* >/dev/null 2>&1 && ! command -v kubectl >/dev/null; then
  need_apt+=(kubectl)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
go mod download
