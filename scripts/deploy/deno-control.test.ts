// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane under Deno (`deno task control`), as a real process:
 * it starts, answers /healthz, a JSON API call and /metrics, and stops on
 * SIGTERM with status 0. Killed by its process group id, temp dir removed,
 * also on failure.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, listeningUrl, type Proc, start } from "../procs.ts";

describe("control plane under Deno", () => {
  const dir = mkdtempSync(`${tmpdir()}/ek8s-deno-control-`);
  let proc: Proc | undefined;
  afterAll(async () => {
    await proc?.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  });

  it("deno task control: starts, serves /healthz, the JSON API and /metrics, stops on SIGTERM", async () => {
    const admin = "deno-test-admin-token-0123456789";
    proc = start("deno control", [`${BIN}/deno`, "task", "control"], {
      PORT: "0",
      HOST: "127.0.0.1",
      DATABASE_URL: `file:${dir}/db.sqlite`,
      EBPF_K8S_ADMIN_TOKEN: admin,
      EBPF_K8S_KUBE_SYNC: "off",
    });
    const base = await listeningUrl(proc);
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // deno-lint-ignore no-control-regex -- strips the ANSI colours of deno task's banner
    expect(proc.output().replace(/\x1b\[[0-9;]*m/g, "")).toContain("Task control ./node_modules/deno/deno run");

    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ ok: true });
    const token = await fetch(`${base}/api/v1/join-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ ttlSeconds: 600, description: "deno" }),
    });
    expect(token.status).toBe(201);
    expect(await fetch(`${base}/api/v1/nodes`).then((r) => r.json())).toEqual([]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^ebpf_k8s_nodes\{status="Ready"\} 0$/m);

    const code = await proc.stop(10_000);
    expect(code, proc.output()).toBe(0);
    expect(proc.output()).toContain("SIGTERM: shutting down");
  }, 90_000);
});
