// SPDX-License-Identifier: Apache-2.0
/** The node page, its live fragment, module switches through htmx, and the overview's status. */
import { beforeEach, describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import {
  ADMIN_TOKEN,
  batch,
  getJson,
  iface,
  inventory,
  postBatch,
  READ_TOKEN,
  T0,
  useTestApp,
} from "../control/test-support.ts";

const s = useTestApp();

const ADMIN_COOKIE = { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}` };

async function html(path: string, headers: Record<string, string> = {}) {
  const res = await s.app.request(`http://control.test${path}`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/html/);
  return res.text();
}

function flip(node: string, module: string, enabled: boolean, headers: Record<string, string>) {
  return s.app.request(`http://control.test/nodes/${node}/modules/${module}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: `enabled=${enabled}`,
  });
}

describe("overview", () => {
  it("shows status with its colour class and last seen, agent version and kernel, and links each node", async () => {
    await postBatch(s.app, batch({ inventory: inventory() }));
    await postBatch(s.app, batch({ node: "node-b" }));
    s.clock.now += 45_000;
    const page = await html("/");
    expect(page).toContain('<a href="/nodes/node-a">node-a</a>');
    expect(page).toMatch(
      /<span class="status status-stale"[^>]*>Stale<span class="seen"> · last seen 45 s ago<\/span>/,
    );
    expect(page).toContain("agent 0.2.0");
    expect(page).toContain("kernel 6.12.0-test");
    expect(page).toContain("agent version unknown"); // node-b sent no inventory
    // what each node's RX/TX covers: its watched interfaces, by ifindex, and a note on what they miss
    expect(page).toContain('<td class="covers text" title="veth0">veth0</td>');
    expect(page).toContain("traffic between pods of the same node crosses none of them");
    s.clock.now += 100_000;
    expect(await html("/fragments/nodes")).toContain('class="status status-lost"');
  });

  it("names at most three interfaces a node's RX/TX covers, by ifindex, the rest in the title", async () => {
    const interfaces = ["eth1", "eth0", "cni0", "wg0"].map((ifname, i) => iface({ ifname, ifindex: 4 - i }));
    await postBatch(s.app, batch({ interfaces }));
    expect(await html("/")).toContain(
      '<td class="covers text" title="wg0, cni0, eth0, eth1">wg0, cni0, eth0 +1 more</td>',
    );
  });

  it("explains how to join when no node has reported", async () => {
    const page = await html("/");
    expect(page).toContain("/api/v1/join-tokens");
    expect(page).toContain(
      "EBPF_K8S_JOIN_TOKEN=TOKEN deno task agent --control http://control.test --node NAME --interfaces IF",
    );
  });
});

describe("GET /nodes/:node", () => {
  beforeEach(async () => {
    await postBatch(s.app, batch({ inventory: inventory() }));
  });

  it("polls its fragment every 2 s and shows status, interfaces, programs, maps with a fill bar, and features", async () => {
    const page = await html("/nodes/node-a");
    expect(page).toMatch(
      /<div id="node-detail" hx-get="\/fragments\/nodes\/node-a" hx-trigger="every 2s" hx-swap="innerHTML">/,
    );
    expect(page).toContain('class="status status-ready"');
    expect(page).toContain("veth0"); // interface table
    // Programs with attach point and run statistics (1,000 runs, 85 µs in total → 85 ns per run).
    expect(page).toContain("ifstats_ingress");
    expect(page).toContain("tc ingress veth0");
    expect(page).toContain("<td>1,000</td><td>85 ns</td><td>85.0 µs</td>");
    // Maps: 768 of 1024 is 75 %: amber.
    expect(page).toContain('<span class="bar bar-warn" style="width: 75.0%"></span><span class="pct">75 %</span>');
    expect(page).toContain("768 / 1,024");
    expect(page).toContain('<li class="flag flag-on">prog:sched_cls ✓</li>');
    expect(page).toContain('<li class="flag flag-off">map:sockhash ✗</li>');
  });

  it("each region's fragment is that region alone: status and health, modules, the folded lists", async () => {
    const fragment = await html("/fragments/nodes/node-a");
    expect(fragment).not.toContain("<html");
    expect(fragment).toContain('class="status status-ready"');
    expect(fragment).toContain('id="node-health"');
    expect(fragment).not.toContain("veth0");
    expect(fragment).not.toContain("ifstats_ingress");
    const modules = await html("/fragments/nodes/node-a/modules");
    expect(modules).not.toContain("<html");
    expect(modules).toContain('id="modules"');
    expect(modules).not.toContain("ifstats_ingress");
    const lists = await html("/fragments/nodes/node-a/lists");
    expect(lists).not.toContain("<html");
    expect(lists).toContain("veth0");
    expect(lists).toContain("ifstats_ingress");
    expect(lists).not.toContain('id="modules"');
    expect(await html("/fragments/nodes/never-seen/lists")).toContain("has not reported yet");
  });

  it("folds the long lists, polling them only while unfolded, outside the region that refreshes them", async () => {
    const page = await html("/nodes/node-a");
    expect(page).toMatch(
      /<details id="node-lists" class="panel lists"><summary>Interfaces, kernel features, eBPF programs and maps <span class="meta">1 interface, 2 programs, 1 map<\/span><\/summary><div hx-get="\/fragments\/nodes\/node-a\/lists" hx-trigger="every 2s \[this.closest\(&#39;details&#39;\).open\]"/,
    );
    expect(page.indexOf('id="node-health"')).toBeLessThan(page.indexOf('id="node-lists"'));
  });

  it("shows fill bars only for hash and LRU maps: an array, full by design, has none", async () => {
    const maps = [
      { id: 1, name: "cfg", type: "array", module: "ifstats" as const, maxEntries: 1, entries: 1 },
      { id: 2, name: "slots", type: "percpu_array", module: "ifstats" as const, maxEntries: 8, entries: 8 },
      { id: 3, name: "conns", type: "lru_hash", module: "tcp" as const, maxEntries: 100, entries: 95 },
    ];
    await postBatch(s.app, batch({ node: "node-f", inventory: inventory({ maps }) }));
    const page = await html("/fragments/nodes/node-f/lists");
    expect(page.match(/class="bar bar-full"/g)).toHaveLength(1);
    expect(page).toContain('<span class="bar bar-full" style="width: 95.0%"></span><span class="pct">95 %</span>');
    expect(page.match(/class="fill-none na"[^>]*>fixed slots</g)).toHaveLength(2);
    expect(page).toContain("1 / 1");
  });

  it("shows module states and errors; without the admin cookie no switches, but how to log in", async () => {
    const modules = [{
      name: "accel" as const,
      desired: false,
      state: "error" as const,
      error: "sockmap needs kernel ≥ 5.x",
    }];
    await postBatch(s.app, batch({ seq: 2, ts: T0 + 1_000, inventory: inventory({ modules }) }));
    const page = await html("/nodes/node-a");
    expect(page).toContain('<span class="state state-error">error</span>');
    expect(page).toContain("sockmap needs kernel ≥ 5.x");
    expect(page).toContain("not reported"); // modules the agent did not mention
    expect(page).not.toContain("hx-post");
    expect(page).toContain('<a href="/login?next=%2Fnodes%2Fnode-a">log in</a>');
  });

  it("for the admin: a switch per module, asking first for traffic-changing ones", async () => {
    const page = await html("/nodes/node-a", ADMIN_COOKIE);
    expect(page).toContain('hx-post="/nodes/node-a/modules/flows"');
    expect(page).toContain('hx-confirm="lb changes how traffic flows on node-a. Turn it on?"');
    expect(page).not.toContain('hx-confirm="flows');
    expect(page).toContain("admin · <button");
  });

  it("the explanations of missing data: no inventory yet, bpf_stats off", async () => {
    await postBatch(s.app, batch({ node: "node-b" }));
    expect(await html("/nodes/node-b")).toContain("This agent has not sent an inventory yet.");
    const noStats = inventory({
      bpfStats: false,
      programs: [{ id: 1, name: "p", type: "sched_cls", module: "ifstats", attach: "tc ingress eth0" }],
    });
    await postBatch(s.app, batch({ node: "node-c", inventory: noStats }));
    expect(await html("/nodes/node-c")).toContain("sysctl -w kernel.bpf_stats_enabled=1");
  });

  it("the spool: pending is neutral, merged loses nothing, only batches dropped because it was full flag the node", async () => {
    const spool = (s: Partial<ReturnType<typeof inventory>["spool"]>) =>
      inventory({ spool: { pending: 3, dropped: 0, ...s } });
    await postBatch(s.app, batch({ node: "node-m", inventory: spool({ merged: 1234 }) }));
    const merged = await html("/nodes/node-m");
    expect(merged).toMatch(
      /<div class="health-info"><dt>Spool<\/dt><dd><span class="spool" title="[^"]*">3 batches waiting to be sent · 1,234 merged to make room \(counts summed, nothing lost\)<\/span>/,
    );
    expect(merged).not.toContain("spool full");
    await postBatch(s.app, batch({ node: "node-d", inventory: spool({ merged: 2, dropped: 5 }) }));
    expect(await html("/nodes/node-d")).toMatch(
      /<div class="health-bad"><dt>Spool<\/dt><dd><span class="spool bad"[^>]*>3 batches waiting to be sent · 2 merged [^<]* · 5 dropped since the agent started because the spool was full</,
    );
    // an agent from before merging does not send the count
    await postBatch(s.app, batch({ node: "node-o", inventory: spool({}) }));
    expect(await html("/nodes/node-o")).toMatch(/<span class="spool"[^>]*>3 batches waiting to be sent<\/span>/);
    await postBatch(s.app, batch({ node: "node-e", inventory: spool({ pending: 0 }) }));
    expect(await html("/nodes/node-e")).toMatch(
      /<div class="health-ok"><dt>Spool<\/dt><dd><span class="spool"[^>]*>empty: every batch acknowledged</,
    );
  });

  it("refused batches the agent keeps in quarantine flag the node; none, nothing shown", async () => {
    const spool = (q: number) => inventory({ spool: { pending: 0, dropped: 0, quarantined: q, quarantineDropped: 0 } });
    await postBatch(s.app, batch({ node: "node-q", inventory: spool(2) }));
    const page = await html("/nodes/node-q");
    expect(page).toMatch(/<div class="health-bad"><dt>Spool<\/dt>/);
    expect(page).toMatch(
      /<span class="sub quarantine"[^>]*>quarantine: 2 refused batches kept, 0 dropped because the quarantine was full/,
    );
    await postBatch(s.app, batch({ node: "node-r", inventory: spool(0) }));
    expect(await html("/nodes/node-r")).not.toContain("quarantine:");
  });

  it("the health summary: agent, modules, desired state, alerts, drops and spool, first on the page", async () => {
    const modules = [
      { name: "ifstats" as const, desired: true, state: "on" as const },
      { name: "accel" as const, desired: true, state: "error" as const, error: "sockmap: EPERM" },
    ];
    await postBatch(s.app, batch({ node: "node-s", inventory: inventory({ modules }) }));
    const health = (await html("/fragments/nodes/node-s")).replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    expect(health).toContain(
      "Agent reporting on time last batch just now; Stale after 30 s without one, Lost after 2 min",
    );
    expect(health).toContain("Modules 1 on, 7 off accel: error");
    expect(health).toContain("Desired state version 0: 1 switch waiting for the agent (accel)");
    expect(health).toContain("Alerts none firing");
    expect(health).toContain("Drops 0 packets in the last 5 min");
    s.clock.now += 45_000;
    expect(await html("/fragments/nodes/node-s")).toMatch(
      /<div class="health-bad"><dt>Agent<\/dt><dd><span class="status status-stale">a batch is overdue/,
    );
  });

  it("renders for a node that has not reported yet, with its switches (pre-provisioning)", async () => {
    const page = await html("/nodes/future-node", ADMIN_COOKIE);
    expect(page).toContain("has not reported yet");
    expect(page).toContain('hx-post="/nodes/future-node/modules/lb"');
  });

  it("400 for a bad node name", async () => {
    expect((await s.app.request("/nodes/Bad_Name")).status).toBe(400);
  });
});

describe("switching a module from the page", () => {
  beforeEach(async () => {
    await postBatch(s.app, batch({ inventory: inventory() }));
  });

  it("with the admin cookie and HX-Request: switches, answers the refreshed detail and a flash line", async () => {
    const res = await flip("node-a", "lb", true, { ...ADMIN_COOKIE, "hx-request": "true" });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(
      '<p id="flash" class="flash" role="status" hx-swap-oob="true">lb is now on for node-a (desired state version 1)',
    );
    expect(body).toContain("desired state version 1");
    expect(body).toContain("waiting for the agent to apply &quot;on&quot;");
    expect(
      (await getJson(s.app, "/api/v1/nodes/node-a/modules")).body.find((m: { name: string }) => m.name === "lb")
        .desired,
    ).toBe(
      true,
    );
  });

  it("refuses a cross-site cookie write (no HX-Request, foreign Origin) with 403 and changes nothing", async () => {
    const res = await flip("node-a", "lb", true, { ...ADMIN_COOKIE, origin: "http://evil.test" });
    expect(res.status).toBe(403);
    expect((await getJson(s.app, "/api/v1/nodes/node-a")).body.desired.version).toBe(0);
  });

  it("with the read token: 403 shown in the flash line", async () => {
    const res = await flip("node-a", "lb", true, { cookie: `${SESSION_COOKIE}=${READ_TOKEN}`, "hx-request": "true" });
    expect(res.status).toBe(403);
    expect(res.headers.get("hx-retarget")).toBe("#flash");
    expect(await res.text()).toContain("admin token");
  });

  it("without a session: htmx is sent to the login page", async () => {
    const res = await flip("node-a", "lb", true, {
      "hx-request": "true",
      "hx-current-url": "http://control.test/nodes/node-a",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("hx-redirect")).toBe("/login?next=%2Fnodes%2Fnode-a");
  });

  it("a bad form value or module answers in the flash line", async () => {
    const htmx = { ...ADMIN_COOKIE, "hx-request": "true" };
    const bad = await s.app.request("http://control.test/nodes/node-a/modules/lb", {
      method: "POST",
      headers: { ...htmx, "content-type": "application/x-www-form-urlencoded" },
      body: "enabled=maybe",
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("hx-retarget")).toBe("#flash");
    expect((await flip("node-a", "warp", true, htmx)).status).toBe(404);
  });
});

describe("GET /login", () => {
  it("is a form that posts the token and where to go back to", async () => {
    const page = await html("/login?next=/nodes/node-a");
    expect(page).toContain('<form method="post" action="/login">');
    expect(page).toContain('<input type="hidden" name="next" value="/nodes/node-a"/>');
    expect(page).toContain('type="password" name="token"');
  });

  it("says who is logged in", async () => {
    expect(await html("/login", ADMIN_COOKIE)).toContain("You are logged in as admin.");
  });
});
