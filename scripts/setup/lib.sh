#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shared by the set-up parts: messages, and installing the Debian packages of a list file.
# A list file holds one "<command or absolute path> <package>" per line, '#' starts a comment;
# a package is installed only when its command or path is missing.

say() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# The package column of list files (comments and blank lines dropped), unique, in order.
list_packages() {
  sed 's/#.*//' "$@" | awk 'NF { if (!seen[$2]++) print $2 }'
}

# install_missing LIST... : apt-get installs the packages whose command or path is missing.
install_missing() {
  local missing=() what pkg
  while read -r what pkg; do
    if [[ $what == /* ]]; then [ -e "$what" ] && continue; else command -v "$what" >/dev/null 2>&1 && continue; fi
    [[ " ${missing[*]-} " == *" $pkg "* ]] || missing+=("$pkg")
  done < <(sed 's/#.*//' "$@" | awk 'NF { print $1, $2 }')
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
}
