// SPDX-License-Identifier: Apache-2.0
/**
 * HTTPS for the control plane: the certificate (with its chain) and key of EBPF_K8S_TLS_CERT and
 * EBPF_K8S_TLS_KEY, read once at start. A file that cannot be read, or is not PEM of the kind it should hold,
 * stops the start with the variable named: a control plane silently serving plain HTTP where HTTPS was asked
 * for would send every agent's credential in the clear.
 */
import { readFileSync } from "node:fs";

export interface TlsFiles {
  cert: string;
  key: string;
}

function readPem(variable: string, path: string, kind: RegExp, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${variable}: cannot read ${path}: ${(e as Error).message}`);
  }
  if (!kind.test(text)) throw new Error(`${variable}: ${path} holds no PEM ${what}`);
  return text;
}

/** Undefined: plain HTTP (neither set; the configuration refuses one without the other). */
export function readTls(config: { EBPF_K8S_TLS_CERT?: string; EBPF_K8S_TLS_KEY?: string }): TlsFiles | undefined {
  if (config.EBPF_K8S_TLS_CERT === undefined || config.EBPF_K8S_TLS_KEY === undefined) return undefined;
  return {
    cert: readPem("EBPF_K8S_TLS_CERT", config.EBPF_K8S_TLS_CERT, /-----BEGIN CERTIFICATE-----/, "certificate"),
    key: readPem("EBPF_K8S_TLS_KEY", config.EBPF_K8S_TLS_KEY, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"),
  };
}
