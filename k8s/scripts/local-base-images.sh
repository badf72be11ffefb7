#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the two base images of k8s/images/ from Debian packages, for a machine that reaches
# no container registry (only its configured apt sources):
#   localhost/ebpf-k8s-base/debian:bookworm-slim   mmdebstrap minbase root of bookworm, imported
#   localhost/ebpf-k8s-base/node:20-bookworm-slim  that root plus this machine's Node 20 (node, npm)
# Keeps images that exist already (--rebuild replaces them). Prints the two names, one a line,
# for build-images.sh --local-base; elsewhere the Containerfiles' defaults (docker.io's
# debian:bookworm-slim and node:20-bookworm-slim) are used instead.
#
#   bash k8s/scripts/local-base-images.sh [--rebuild]
set -euo pipefail
DEBIAN_BASE=localhost/ebpf-k8s-base/debian:bookworm-slim
NODE_BASE=localhost/ebpf-k8s-base/node:20-bookworm-slim
REBUILD=""
die() { echo "local-base-images: ERROR: $*" >&2; exit 1; }
say() { echo "local-base-images: $*" >&2; }

case ${1-} in
  "") ;;
  --rebuild) REBUILD=1 ;;
  -h|--help) sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac
command -v podman >/dev/null || die "podman is needed (Debian package podman)"
command -v mmdebstrap >/dev/null || die "mmdebstrap is needed (Debian package mmdebstrap)"
have() { [ -z "$REBUILD" ] && podman image exists "$1"; }
# A rebuild replaces the images rather than leave them behind untagged (the node base first: it sits on the other).
if [ -n "$REBUILD" ]; then
  for image in "$NODE_BASE" "$DEBIAN_BASE"; do
    if podman image exists "$image"; then podman rmi "$image" >/dev/null || die "cannot remove $image"; fi
  done
fi

# The machine's own apt sources (deb822 or one-line), so the root comes from where its packages come from.
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
  [ -s "$f" ] && grep -q "debian" "$f" && sources+=("$f")
done
[ ${#sources[@]} -gt 0 ] || die "no Debian apt source in /etc/apt/sources.list{,.d}"

if ! have "$DEBIAN_BASE"; then
  say "building $DEBIAN_BASE with mmdebstrap (${sources[*]})"
  mm_log=$(mktemp) # its hooks talk even with --quiet: shown only when it fails
  # As debian:bookworm-slim: no documentation, manuals or locales, no apt lists; libstdc++6 for Node.
  # The merged-/usr hook installs usr-is-merged, where bookworm's default would pull usrmerge and perl.
  # shellcheck disable=SC2016 # "$1" is the root's path, expanded by mmdebstrap's hook
  mmdebstrap --quiet --variant=minbase --include=libstdc++6 --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    bookworm - "${sources[@]}" 2>"$mm_log" | podman import --quiet - "$DEBIAN_BASE" >/dev/null \
    || { cat "$mm_log" >&2; rm -f "$mm_log"; die "mmdebstrap or podman import failed"; }
  rm -f "$mm_log"
fi

if ! have "$NODE_BASE"; then
  node -e 'process.exit(Number(process.versions.node.split(".")[0]) === 20 ? 0 : 1)' 2>/dev/null \
    || die "the node base copies this machine's Node 20, and node here is $(node --version 2>/dev/null || echo missing)"
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  [ -f "$npm_dir/bin/npm-cli.js" ] || die "cannot find npm's directory (from $(command -v npm))"
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp "$(readlink -f "$(command -v node)")" "$ctx/node"
  cp -a "$npm_dir" "$ctx/npm"
  # As node:20-bookworm-slim: node and npm in /usr/local, a user "node" with uid 1000.
  cat > "$ctx/Containerfile" <<CONTAINERFILE
FROM $DEBIAN_BASE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
CONTAINERFILE
  say "building $NODE_BASE (Node $(node --version) of this machine)"
  podman build --quiet --layers=false --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -t "$NODE_BASE" "$ctx" >/dev/null \
    || die "podman build of $NODE_BASE failed"
fi
echo "$DEBIAN_BASE"
echo "$NODE_BASE"
