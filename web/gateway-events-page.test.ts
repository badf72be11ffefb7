// SPDX-License-Identifier: Apache-2.0
/** The service page shows the gateway's flow events over the window: summed per port, and a row per frontend. */
import { describe, expect, it } from "vitest";
import { createService } from "../control/services/model.ts";
import { WEB } from "../control/services/fixtures.test-support.ts";
import { batch, postBatch, T0, useTestApp } from "../control/test-support.ts";
import { pageRequests } from "./pages.test-support.ts";

const s = useTestApp();
const { page } = pageRequests(s);

describe("/services/:namespace/:name: gateway flow events", () => {
  it("sums them per port and lists each frontend, problems marked", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    const frontends: [number, string, number, number, number, number, number, number, number][] = [
      [1, "0.0.0.0", 30080, 12, 0, 0, 0, 0, 4],
      [1, "203.0.113.7", 80, 1_500, 3, 1, 5, 2, 0],
    ];
    const gateway = { version: 1, services: [], flows: 0, evicted: 0, noBackend: 0, frontends };
    expect((await postBatch(s.app, batch({ ts: T0 + 1_000, gateway }))).status).toBe(200);
    const html = await page("/services/default/web");
    expect(html).toMatch(
      new RegExp(
        "<dt>Gateway flows since [^<]*</dt><dd>1,512 new flows, " +
          '<strong class="error-text">3</strong> evicted \\(flow table full\\), ' +
          '<strong class="error-text">1</strong> SNAT ports exhausted, ' +
          '<strong class="error-text">5</strong> no backend, 2 to the stack \\(no route\\), 4 expired \\(idle\\)</dd>',
      ),
    );
    const table = html.slice(
      html.indexOf('<table class="gateway-frontends">'),
      html.indexOf('<table class="backends">'),
    );
    const rows = [...table.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) =>
      [...m[1]!.matchAll(/<t[hd]>(.*?)<\/t[hd]>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, ""))
    );
    expect(rows).toEqual([
      [
        "Gateway frontend",
        "new flows",
        "evicted (flow table full)",
        "SNAT ports exhausted",
        "no backend",
        "to the stack (no route)",
        "expired (idle)",
      ],
      ["any node :30080", "12", "0", "0", "0", "0", "4"],
      ["203.0.113.7:80", "1,500", "3", "1", "5", "2", "0"],
    ]);
  });

  it("shows no frontend table while no frontend had an event", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    const html = await page("/services/default/web");
    expect(html).toContain("0 new flows, 0 evicted (flow table full)");
    expect(html).not.toContain("gateway-frontends");
  });
});
