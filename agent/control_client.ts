// SPDX-License-Identifier: Apache-2.0
/** The agent's HTTP client for an https control plane signed by a private CA (--control-ca). */
import { ConfigError } from "./config.ts";

/**
 * The HTTP client for an https control plane whose certificate is signed by a CA of `caFile` (--control-ca), on
 * top of the roots Deno trusts (its bundled ones; the system's with DENO_TLS_CA_STORE=system); undefined without one (fetch's default client). A file that cannot be read or holds no
 * certificate stops the start, naming the flag.
 */
export function controlClient(caFile: string | undefined): Deno.HttpClient | undefined {
  if (caFile === undefined) return undefined;
  let pem: string;
  try {
    pem = Deno.readTextFileSync(caFile);
  } catch (e) {
    throw new ConfigError(`--control-ca: cannot read ${caFile}: ${(e as Error).message}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError(`--control-ca: ${caFile} holds no PEM certificate`);
  }
  return Deno.createHttpClient({ caCerts: [pem] });
}
