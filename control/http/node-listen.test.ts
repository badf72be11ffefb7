// SPDX-License-Identifier: Apache-2.0
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RETRY_JITTER } from "../wire/retry.ts";
import { keepAliveMs, listenNode } from "./node-listen.ts";
import { readTls } from "./tls.ts";

/** GET over https trusting only `ca`: the status and body, or the client's error (a refused certificate). */
function httpsGet(url: string, ca?: string): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = get(url, { ca, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => body += c);
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
}

describe("the control plane's Node server", () => {
  it("keeps an idle connection open longer than an agent's longest wait, and says so", async () => {
    expect(keepAliveMs(60)).toBeGreaterThan(60 * (1 + RETRY_JITTER) * 1000);
    const server = await listenNode(() => new Response("ok"), {
      port: 0,
      hostname: "127.0.0.1",
      keepAliveMs: keepAliveMs(60),
    });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(await res.text()).toBe("ok");
      // Node's default would say timeout=5: every 10 s batch would need a new connection.
      expect(res.headers.get("keep-alive")).toBe(`timeout=${Math.floor(keepAliveMs(60) / 1000)}`);
    } finally {
      await server.close();
    }
  });

  it("serves HTTPS with EBPF_K8S_TLS_CERT/KEY: a client trusting the CA gets the answer, another is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ek8s-tls-"));
    try {
      execFileSync("sh", [new URL("../../scripts/testing/test-ca.sh", import.meta.url).pathname, dir]);
      const tls = readTls({ EBPF_K8S_TLS_CERT: join(dir, "server.pem"), EBPF_K8S_TLS_KEY: join(dir, "server.key") });
      const server = await listenNode(() => new Response("ok"), {
        port: 0,
        hostname: "127.0.0.1",
        keepAliveMs: keepAliveMs(60),
        tls,
      });
      try {
        const url = `https://127.0.0.1:${server.port}/`;
        expect(await httpsGet(url, readFileSync(join(dir, "ca.pem"), "utf8"))).toEqual({ status: 200, body: "ok" });
        expect(await httpsGet(url)).toEqual({ error: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses TLS files it cannot use, naming the variable", () => {
    const dir = mkdtempSync(join(tmpdir(), "ek8s-tls-"));
    try {
      writeFileSync(join(dir, "cert.pem"), "-----BEGIN CERTIFICATE-----\n");
      writeFileSync(join(dir, "key.pem"), "no key here");
      const files = { EBPF_K8S_TLS_CERT: join(dir, "cert.pem"), EBPF_K8S_TLS_KEY: join(dir, "key.pem") };
      expect(() => readTls(files)).toThrow(`EBPF_K8S_TLS_KEY: ${files.EBPF_K8S_TLS_KEY} holds no PEM private key`);
      expect(() => readTls({ ...files, EBPF_K8S_TLS_CERT: join(dir, "none.pem") })).toThrow(
        /^EBPF_K8S_TLS_CERT: cannot read .*none\.pem/,
      );
      expect(readTls({})).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
