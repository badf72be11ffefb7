#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# A throwaway CA and a server certificate it signs, for tests of HTTPS between agent and control plane:
#   scripts/testing/test-ca.sh DIR [SAN]   (SAN default IP:127.0.0.1)
# writes DIR/ca.pem, DIR/server.pem and DIR/server.key (P-256, valid one day). Needs openssl.
set -eu
dir=$1
san=${2:-IP:127.0.0.1}
cd "$dir"
curve="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
# shellcheck disable=SC2086 # $curve is several words on purpose
openssl req -x509 $curve -keyout ca.key -out ca.pem -days 1 -subj /CN=ebpf-k8s-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
# shellcheck disable=SC2086
openssl req $curve -keyout server.key -out server.csr -subj /CN=ebpf-k8s-test-server 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
  "$san" >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 \
  -extfile server.ext 2>/dev/null
rm -f server.csr server.ext ca.srl ca.key
