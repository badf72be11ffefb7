#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs ebpf-k8s as systemd services on this machine (as root):
#
#   bash scripts/systemd/install.sh control [--admin-token T] [--database-url URL] [--port N]
#   bash scripts/systemd/install.sh agent --control URL [--join-token T] [--node NAME]
#                                  [--interfaces LIST] [--metrics-port N] [--metrics-address ADDR]
#
# The code (agent/, control/, web/, build/bpf, node_modules) is copied to /opt/ebpf-k8s (run
# `npm run setup` first: it installs node_modules and compiles build/bpf), the unit to
# /etc/systemd/system and its settings to /etc/ebpf-k8s/{control,agent}.env (mode 600); then the
# service is enabled and started. Settings already in an env file are kept unless given again.
#
#   --prefix DIR where the code goes, default /opt/ebpf-k8s (the units are rewritten to match)
#   --root DIR   install under DIR instead of / (packaging, tests); implies --no-start
#   --no-copy    the code is already at DIR/opt/ebpf-k8s (e.g. a symlink to this repository)
#   --no-start   do not enable or start the service
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
UNITS="$REPO/scripts/systemd"
PREFIX=/opt/ebpf-k8s

say() { echo "install: $*" >&2; }
die() { echo "install: ERROR: $*" >&2; exit 1; }
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

[ $# -ge 1 ] || usage 2
what=$1; shift
case $what in agent|control) ;; -h|--help) usage 0 ;; *) echo "first argument: agent or control" >&2; usage 2 ;; esac

ROOT=""
COPY=1
START=1
declare -A set=()
while [ $# -gt 0 ]; do
  case $1 in
    --root) ROOT=${2:?}; START=0; shift 2 ;;
    --prefix) PREFIX=${2:?}; shift 2 ;;
    --no-copy) COPY=0; shift ;;
    --no-start) START=0; shift ;;
    --control) set[EBPF_K8S_CONTROL]=${2:?}; shift 2 ;;
    --join-token) set[EBPF_K8S_JOIN_TOKEN]=${2:?}; shift 2 ;;
    --node) set[EBPF_K8S_NODE]=${2:?}; shift 2 ;;
    --interfaces) set[EBPF_K8S_INTERFACES]=${2:?}; shift 2 ;;
    --metrics-port) set[EBPF_K8S_METRICS_PORT]=${2:?}; shift 2 ;;
    --metrics-address) set[EBPF_K8S_METRICS_ADDRESS]=${2:?}; shift 2 ;;
    --admin-token) set[EBPF_K8S_ADMIN_TOKEN]=${2:?}; shift 2 ;;
    --database-url) set[DATABASE_URL]=${2:?}; shift 2 ;;
    --port) set[PORT]=${2:?}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done
[ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || die "run as root (or pass --root DIR)"

etc="$ROOT/etc/ebpf-k8s"
unitdir="$ROOT/etc/systemd/system"
envfile="$etc/$what.env"
unit="ebpf-k8s-$what.service"

if [ "$COPY" = 1 ]; then
  [ -x "$REPO/node_modules/.bin/deno" ] || die "no node_modules in $REPO: run npm run setup first"
  if [ "$what" = agent ]; then compgen -G "$REPO/build/bpf/*.bpf.o" >/dev/null || die "no build/bpf/*.bpf.o: run npm run setup first"; fi
  say "copying the code to $ROOT$PREFIX"
  mkdir -p "$ROOT$PREFIX/build"
  cp -a "$REPO/agent" "$REPO/control" "$REPO/web" "$REPO/node_modules" "$REPO/package.json" "$REPO/deno.json" "$REPO/README.md" "$ROOT$PREFIX/"
  if [ -d "$REPO/build/bpf" ]; then cp -a "$REPO/build/bpf" "$ROOT$PREFIX/build/"; fi
fi

install -d -m 755 "$etc" "$unitdir"
touch "$envfile"
chmod 600 "$envfile"
# keep what the file has, replace what was given now
for key in "${!set[@]}"; do
  sed -i "/^${key}=/d" "$envfile"
  printf '%s=%s\n' "$key" "${set[$key]}" >> "$envfile"
done

if [ "$what" = agent ]; then
  grep -q '^EBPF_K8S_CONTROL=' "$envfile" || die "the agent needs --control URL (the control plane)"
  # systemd sets no HOSTNAME: name the node explicitly
  grep -q '^EBPF_K8S_NODE=' "$envfile" || printf 'EBPF_K8S_NODE=%s\n' "$(hostname | tr '[:upper:]' '[:lower:]')" >> "$envfile"
  grep -q '^EBPF_K8S_JOIN_TOKEN=' "$envfile" || say "no --join-token: the agent starts only if $ROOT/var/lib/ebpf-k8s/agent holds a credential"
else
  if ! grep -q '^EBPF_K8S_ADMIN_TOKEN=' "$envfile"; then
    printf 'EBPF_K8S_ADMIN_TOKEN=%s\n' "$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" >> "$envfile"
    say "generated an admin token: it is in $envfile (EBPF_K8S_ADMIN_TOKEN)"
  fi
fi

# the agent's removal unit goes with it, installed but not enabled (started by hand: see the unit)
units=("$unit")
if [ "$what" = agent ]; then units+=(ebpf-k8s-agent-uninstall.service); fi
for u in "${units[@]}"; do
  sed "s@/opt/ebpf-k8s@$PREFIX@g" "$UNITS/$u" > "$unitdir/$u"
  chmod 644 "$unitdir/$u"
done
say "installed ${units[*]/#/$unitdir/} and $envfile"
if [ "$START" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now "$unit"
  say "started: systemctl status $unit; journalctl -u $unit"
fi
