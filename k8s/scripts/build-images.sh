#!/usr/bin/env bash
# Builds the two images from the repository (podman, or docker): ebpf-k8s/agent (Deno,
# libbpf1, the compiled eBPF objects) and ebpf-k8s/control (Node). Run `npm run setup`
# first: it compiles build/bpf/*.bpf.o, which the agent image carries.
#
#   bash k8s/scripts/build-images.sh [--push REGISTRY] [--save DIR]
#
#   --push REGISTRY  tag as REGISTRY/ebpf-k8s/… and push (then install.sh --registry REGISTRY)
#   --save DIR       write agent.tar and control.tar to DIR, to load on each node without a
#                    registry: ctr -n k8s.io images import DIR/agent.tar
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
AGENT_TAG=0.2.0
CONTROL_TAG=0.1.0
PUSH=""
SAVE=""
# The names the manifests use, fully qualified as containerd resolves them (so a saved and
# imported image is found without a registry).
LOCAL=docker.io/ebpf-k8s

die() { echo "build-images: ERROR: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case $1 in
    --push) PUSH=${2:?}; shift 2 ;;
    --save) SAVE=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

if command -v podman >/dev/null; then engine=podman; elif command -v docker >/dev/null; then engine=docker; else die "podman or docker is needed"; fi
compgen -G "$REPO/build/bpf/*.bpf.o" >/dev/null || die "no build/bpf/*.bpf.o: run npm run setup first"

cd "$REPO"
"$engine" build -f k8s/images/agent.Containerfile -t "$LOCAL/agent:$AGENT_TAG" .
"$engine" build -f k8s/images/control.Containerfile -t "$LOCAL/control:$CONTROL_TAG" .

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
