import { describe, expect, it } from "vitest";
import { RETRY_JITTER } from "../wire/retry.ts";
import { keepAliveMs, listenNode } from "./node-listen.ts";

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
});
