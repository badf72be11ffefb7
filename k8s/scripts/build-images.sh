#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the two images from the repository (podman, or docker): ebpf-k8s/agent (Deno, libbpf1,
# the agent, the wire contract, eBPF objects compiled in the build) and ebpf-k8s/control
# (Node, compiled JavaScript, production npm packages). Needs no set-up of the machine
# besides the engine: the builds compile in their own stages.
#
#   bash k8s/scripts/build-images.sh [--local-base] [--no-layer-cache] [--ca-file FILE] [--name PREFIX]
#                                    [--push REGISTRY] [--save DIR]
#
#   --local-base     base images made from this machine's Debian packages (local-base-images.sh,
#                    podman), for a machine that reaches no container registry
#   --no-layer-cache keep no intermediate layer as a cache for the next build (podman --layers=false):
#                    the store holds the two images only, and every build starts from the bases
#   --ca-file FILE   extra CA certificates npm trusts in the builds (a TLS-intercepting proxy's),
#                    given as a build secret: in no layer of the images
#   --name PREFIX    image names PREFIX/agent and PREFIX/control (default docker.io/ebpf-k8s)
#   --push REGISTRY  tag as REGISTRY/ebpf-k8s/… and push (then install.sh --registry REGISTRY)
#   --save DIR       write agent.tar and control.tar to DIR, to load on each node without a
#                    registry: ctr -n k8s.io images import DIR/agent.tar
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AGENT_TAG=0.2.0
CONTROL_TAG=0.1.0
PUSH=""
SAVE=""
LOCAL_BASE=""
CA_FILE=""
NO_LAYER_CACHE=""
# The names the manifests use, fully qualified as containerd resolves them (so a saved and
# imported image is found without a registry).
LOCAL=docker.io/ebpf-k8s

die() { echo "build-images: ERROR: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --local-base) LOCAL_BASE=1; shift ;;
    --no-layer-cache) NO_LAYER_CACHE=1; shift ;;
    --ca-file) CA_FILE=${2:?}; shift 2 ;;
    --name) LOCAL=${2:?}; shift 2 ;;
    --push) PUSH=${2:?}; shift 2 ;;
    --save) SAVE=${2:?}; shift 2 ;;
    -h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

if command -v podman >/dev/null; then engine=podman; elif command -v docker >/dev/null; then engine=docker; else die "podman or docker is needed"; fi
flags=()
debian_base=()
node_base=()
# Limits at the usual defaults rather than the engine's raised ones, which some machines refuse.
[ "$engine" = podman ] && flags+=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# The builds' RUN steps (apt, npm) on the host's network: podman's default would make a bridge (cni-podman0)
# in the root namespace and leave it there after the build.
[ "$engine" = podman ] && flags+=(--network=host)
if [ -n "$NO_LAYER_CACHE" ]; then
  [ "$engine" = podman ] || die "--no-layer-cache needs podman"
  flags+=(--layers=false)
fi
if [ -n "$CA_FILE" ]; then
  [ -r "$CA_FILE" ] || die "--ca-file $CA_FILE: not a readable file"
  flags+=(--secret "id=ca,src=$CA_FILE")
fi
if [ -n "$LOCAL_BASE" ]; then
  [ "$engine" = podman ] || die "--local-base needs podman"
  mapfile -t bases < <(bash "$REPO/k8s/scripts/local-base-images.sh")
  [ ${#bases[@]} = 2 ] || die "local-base-images.sh failed"
  debian_base=(--build-arg "DEBIAN_IMAGE=${bases[0]}")
  node_base=(--build-arg "NODE_IMAGE=${bases[1]}")
fi

cd "$REPO"
"$engine" build "${flags[@]}" "${debian_base[@]}" "${node_base[@]}" -f k8s/images/agent.Containerfile -t "$LOCAL/agent:$AGENT_TAG" .
"$engine" build "${flags[@]}" "${node_base[@]}" -f k8s/images/control.Containerfile -t "$LOCAL/control:$CONTROL_TAG" .

if [ -n "$PUSH" ]; then
  for image in "agent:$AGENT_TAG" "control:$CONTROL_TAG"; do
    "$engine" tag "$LOCAL/$image" "$PUSH/ebpf-k8s/$image"
    "$engine" push "$PUSH/ebpf-k8s/$image"
  done
fi
if [ -n "$SAVE" ]; then
  mkdir -p "$SAVE"
  "$engine" save -o "$SAVE/agent.tar" "$LOCAL/agent:$AGENT_TAG"
  "$engine" save -o "$SAVE/control.tar" "$LOCAL/control:$CONTROL_TAG"
fi
