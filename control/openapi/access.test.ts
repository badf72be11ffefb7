// SPDX-License-Identifier: Apache-2.0
/**
 * Each operation's documented access (`open`, `reader`, `admin`, `node`) is what the app checks: with
 * EBPF_K8S_READ_AUTH=token and no token, an open operation answers without asking for one, every other answers
 * 401; with the read token, a reader operation passes the check and an admin operation answers 403.
 */
import { describe, expect, it } from "vitest";
import { bearer, READ_TOKEN, useTestApp } from "../test-support.ts";
import { OPERATIONS } from "./operations.ts";

const s = useTestApp({ settings: { readAuth: "token" } });

/** A concrete path for a template: each `{param}` a valid name. */
const concrete = (path: string) => path.replace(/\{(\w+)\}/g, (_, p: string) => (p === "module" ? "ifstats" : "x1"));

describe("the documented access of every operation", () => {
  it("is what the app asks for", async () => {
    const wrong: string[] = [];
    for (const op of OPERATIONS) {
      const url = concrete(op.path);
      const ask = async (headers: Record<string, string>) => {
        const res = await s.app.request(url, { method: op.method.toUpperCase(), headers });
        // A stream stays open: its status is all this needs.
        await res.body?.cancel();
        return res.status;
      };
      const anonymous = await ask({});
      const reader = await ask(bearer(READ_TOKEN));
      const expected = {
        open: [anonymous !== 401, reader !== 401 && reader !== 403],
        reader: [anonymous === 401, reader !== 401 && reader !== 403],
        admin: [anonymous === 401, reader === 403],
        node: [anonymous === 401, reader === 401],
      }[op.access];
      if (!expected.every(Boolean)) wrong.push(`${op.method} ${op.path} (${op.access}): ${anonymous}, ${reader}`);
    }
    expect(wrong).toEqual([]);
  });
});
