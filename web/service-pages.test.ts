// SPDX-License-Identifier: Apache-2.0
/**
 * The services pages: the list (empty state, rows, live region, nodes),
 * the create form through htmx (422 with errors next to the fields,
 * conflicts included), a service's page with its backends' shares, the
 * state switch and delete, and refusals.
 */
import { describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import { createRule, deleteRule } from "../control/accel/rules.ts";
import { createService, syncServices } from "../control/services/model.ts";
import { readVersion } from "../control/services/version.ts";
import {
  batch,
  bearer,
  credentialFor,
  getJson,
  postBatch,
  READ_TOKEN,
  T0,
  useTestApp,
} from "../control/test-support.ts";
import { WEB as WEB_HTTP } from "../control/services/fixtures.test-support.ts";
import { ADMIN, HTMX, pageRequests, SERVICE_FORM as FORM } from "./pages.test-support.ts";

const s = useTestApp();

const { page, postForm } = pageRequests(s);

const WEB = { ...WEB_HTTP, affinity: "client" as const };

describe("/services", () => {
  it("explains an empty list in words; without the admin token there is no form", async () => {
    const html = await page("/services");
    expect(html).toContain("No services yet.");
    expect(html).toContain("No node is polling for services");
    expect(html).not.toContain('id="service-form"');
    expect(html).toContain('<a href="/login?next=%2Fservices">log in</a>');
    expect(html).toContain('<a href="/services" aria-current="page">Services</a>');
  });

  it("lists each frontend with affinity, backends, connections and nodes in sync, refreshed in place", async () => {
    await createService(s.db, WEB, T0);
    await syncServices(s.db, "kubernetes", [{
      ...WEB,
      namespace: "kube-system",
      name: "dns",
      portName: "",
      vip: "10.96.0.53",
      port: 53,
      protocol: "UDP",
      affinity: "none",
      backends: [],
    }], T0);
    await postBatch(
      s.app,
      batch({
        node: "node-a",
        ts: T0 + 1_000,
        lb: { version: 2, services: [[1, 40, 0], [2, 0, 7]], backends: [[1, 30], [2, 10]] },
      }),
    );
    await s.app.request("/api/v1/lb/state?after=1&wait=0", { headers: bearer(await credentialFor(s.app, "node-a")) });

    const html = await page("/services");
    expect(html).toMatch(
      /<div id="services" hx-get="\/fragments\/services\?since=1h" hx-trigger="every 5s" hx-swap="innerHTML">/,
    );
    expect(html).toContain('<h3>2 services<span class="meta">connections since 1 h ago · version 2</span></h3>');
    expect(html).toContain(
      '<tr id="service-1"><td><a href="/services/default/web?since=1h">default/web</a></td><td>http</td><td><code>10.96.0.10:80/TCP</code></td><td>client, 3 h</td>' +
        // web changed at version 1, which node-a runs; dns at version 2, which it does not yet.
        '<td>2 / 2 active</td><td>40</td><td><span class="state state-on">1 of 1</span></td></tr>',
    );
    expect(html).toContain(
      '<tr id="service-2"><td><a href="/services/kube-system/dns?since=1h">kube-system/dns</a><span class="sub">from Kubernetes</span></td><td><span class="na">—</span></td>' +
        '<td><code>10.96.0.53:53/UDP</code></td><td>none</td><td class="bad">0 / 0 active<span class="sub">no backends: refused</span></td>' +
        '<td class="bad">0<span class="sub">7 refused</span></td><td><span class="state state-vanished">0 of 1</span></td></tr>',
    );
    expect(html).toContain('<td><a href="/nodes/node-a">node-a</a></td><td class="bad">1</td><td>just now</td>');
    expect(html).toContain("1 behind version 2");

    const fragment = await page("/fragments/services?since=24h");
    expect(fragment).not.toContain("<html");
    expect(fragment).toContain("connections since 24 h ago");
    expect(await page("/services?since=soon", {}, 400)).toContain(
      "The parameter &#39;since&#39; must be an ISO 8601 time",
    );
  });

  it("creates through the form: a blank form comes back with the list and a line saying what was made", async () => {
    const res = await postForm("/services", FORM);
    const html = await res.text();
    expect(res.status, html).toBe(200);
    expect(html).toContain('<section class="panel" id="service-form"><h3>New service</h3>');
    expect(html).toContain('<div id="services" hx-swap-oob="innerHTML">');
    expect(html).toContain(
      "Created default/api (unnamed port): 10.96.0.20:8080/TCP with 2 backends. Nodes apply it within seconds.",
    );
    const made = (await getJson(s.app, "/api/v1/services/default/api/-")).body;
    expect(made.backends.map((b: { ip: string; weight: number }) => [b.ip, b.weight])).toEqual([["10.244.1.9", 1], [
      "10.244.2.9",
      2,
    ]]);
  });

  it("422 with each error next to its field, what was typed kept; conflicts too; nothing written", async () => {
    const res = await postForm("/services", {
      ...FORM,
      vip: "10.96.0",
      port: "http",
      backends: "10.244.1.9:8080\nsomewhere",
    });
    const html = await res.text();
    expect(res.status).toBe(422);
    expect(html).toContain(
      '<span class="field-error" id="f-backends-error">line 2: write ip:port, optionally followed by a weight</span>',
    );
    expect(html).toContain(">10.244.1.9:8080\nsomewhere</textarea>");
    expect(html).not.toContain("hx-swap-oob");

    const fields =
      await (await postForm("/services", { ...FORM, vip: "10.96.0", port: "http", backends: "10.244.1.999:8080" }))
        .text();
    expect(fields).toContain(
      '<input name="vip" id="f-vip" value="10.96.0" placeholder="10.96.0.10" aria-invalid="true" aria-describedby="f-vip-error"/><span class="field-error" id="f-vip-error">must be an IPv4 address</span>',
    );
    expect(fields).toContain(
      '<span class="field-error" id="f-port-error">Invalid input: expected number, received string</span>',
    );
    expect(fields).toContain(
      '<span class="field-error" id="f-backends-error">line 1 (ip): must be an IPv4 address</span>',
    );
    expect((await getJson(s.app, "/api/v1/services")).body.services).toEqual([]);

    await createService(s.db, WEB, T0);
    const name = await postForm("/services", { ...FORM, name: "web", portName: "http" });
    expect(name.status).toBe(422);
    expect(await name.text()).toContain(
      '<span class="field-error" id="f-name-error">default/web port &quot;http&quot; already exists</span>',
    );
    const frontend = await (await postForm("/services", { ...FORM, vip: "10.96.0.10", port: "80" })).text();
    expect(frontend).toContain(
      '<span class="field-error" id="f-vip-error">10.96.0.10:80/TCP is already the frontend of default/web port &quot;http&quot;</span>',
    );
    expect((await getJson(s.app, "/api/v1/services")).body.services).toHaveLength(1);
  });

  it("refuses writes: not logged in (to /login), the read token (403), a cookie write from another site (403)", async () => {
    const anonymous = await postForm("/services", FORM, HTMX);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("hx-redirect")).toBe("/login?next=%2Fservices");
    const reader = await postForm("/services", FORM, { cookie: `${SESSION_COOKIE}=${READ_TOKEN}`, ...HTMX });
    expect(reader.status).toBe(403);
    expect((await postForm("/services", FORM, { ...ADMIN, origin: "http://evil.test" })).status).toBe(403);
    expect((await getJson(s.app, "/api/v1/services")).body.services).toEqual([]);
  });
});

describe("/services: the gateway's fields (type, NodePort, external IPs) in the form", () => {
  const services = async () =>
    (await getJson(s.app, "/api/v1/services")).body.services as Array<Record<string, unknown>>;
  const gatewayOf = (v: Record<string, unknown>) => ({
    name: v.name,
    type: v.type,
    nodePort: v.nodePort,
    externalIPs: v.externalIPs,
  });
  /** What the API shows of every service, to compare before and after a refused write. */
  const stored = async () =>
    (await services()).map(({ updatedAt: _u, gateway: _g, connections: _c, health: _h, ...v }) => v);

  it("creates a NodePort and a LoadBalancer service; the API reads them back, the list and the flash line say how they are reached", async () => {
    const nodePort = await postForm("/services", { ...FORM, type: "NodePort", nodePort: "30080" });
    const html = await nodePort.text();
    expect(nodePort.status, html).toBe(200);
    expect(html).toContain(
      "Created default/api (unnamed port): 10.96.0.20:8080/TCP (NodePort: any node :30080) with 2 backends. Nodes apply it within seconds.",
    );
    expect(html).toContain('<code>10.96.0.20:8080/TCP</code><span class="sub">NodePort: any node :30080</span>');
    // The blank form again: ClusterIP, no NodePort, no external IPs.
    expect(html).toContain('<option value="ClusterIP" selected="">ClusterIP</option>');
    expect(html).toContain('<input name="nodePort" id="f-nodePort" value="" inputmode="numeric" placeholder="30000"/>');

    const lb = await postForm("/services", {
      ...FORM,
      name: "lb",
      vip: "10.96.0.21",
      type: "LoadBalancer",
      nodePort: " 32767 ",
      externalIPs: "203.0.113.7, 203.0.113.8\n 203.0.113.9,,198.51.100.1 ",
    });
    expect(lb.status).toBe(200);
    expect(await lb.text()).toContain(
      "(LoadBalancer: 203.0.113.7:8080, 203.0.113.8:8080, 203.0.113.9:8080, 198.51.100.1:8080, any node :32767)",
    );
    // External IPs on a ClusterIP service, as Kubernetes allows.
    expect((await postForm("/services", { ...FORM, name: "cip", vip: "10.96.0.22", externalIPs: "192.0.2.10" })).status)
      .toBe(200);

    expect((await services()).map(gatewayOf)).toEqual([
      { name: "api", type: "NodePort", nodePort: 30080, externalIPs: [] },
      { name: "cip", type: "ClusterIP", nodePort: undefined, externalIPs: ["192.0.2.10"] },
      {
        name: "lb",
        type: "LoadBalancer",
        nodePort: 32767,
        externalIPs: ["203.0.113.7", "203.0.113.8", "203.0.113.9", "198.51.100.1"],
      },
    ]);
    expect(await page("/services/default/lb")).toContain(
      '<dt>Type</dt><dd>LoadBalancer<span class="meta"> (from outside through the gateway: 203.0.113.7:8080, 203.0.113.8:8080, 203.0.113.9:8080, 198.51.100.1:8080, any node :32767)</span></dd>',
    );
    expect(await page("/services/default/api")).toContain(
      '<dt>Type</dt><dd>NodePort<span class="meta"> (from outside through the gateway: any node :30080)</span></dd>',
    );
    expect(await page("/services")).toContain(
      '<code>10.96.0.22:8080/TCP</code><span class="sub">ClusterIP: 192.0.2.10:8080</span>',
    );
  });

  it("422 next to the field for a bad external IP, a missing or out-of-range NodePort, a NodePort on ClusterIP; what was typed kept, nothing written", async () => {
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ externalIPs: "203.0.113.7, 203.0.113" }, "externalIPs", "203.0.113: must be an IPv4 address"],
      [{ externalIPs: "203.0.113.7 203.0.113.7" }, "externalIPs", "must not list an address twice"],
      [{ type: "NodePort" }, "nodePort", "a NodePort service needs a nodePort"],
      [{ type: "LoadBalancer", externalIPs: "203.0.113.7" }, "nodePort", "a LoadBalancer service needs a nodePort"],
      [{ type: "NodePort", nodePort: "29999" }, "nodePort", "must be a port from 30000 to 32767"],
      [{ type: "LoadBalancer", nodePort: "32768" }, "nodePort", "must be a port from 30000 to 32767"],
      [{ type: "NodePort", nodePort: "port" }, "nodePort", "Invalid input: expected number, received string"],
      [{ type: "ClusterIP", nodePort: "30080" }, "nodePort", "only a NodePort or LoadBalancer service has a nodePort"],
      [
        { type: "ExternalName" },
        "type",
        "Invalid option: expected one of &quot;ClusterIP&quot;|&quot;NodePort&quot;|&quot;LoadBalancer&quot;",
      ],
    ];
    for (const [fields, field, message] of cases) {
      const res = await postForm("/services", { ...FORM, ...fields });
      const html = await res.text();
      expect(res.status, html).toBe(422);
      expect(html).toContain(`<span class="field-error" id="f-${field}-error">${message}</span>`);
      expect(html.match(/class="field-error"/g), html).toHaveLength(1);
      expect(html).not.toContain("hx-swap-oob");
      if (fields.externalIPs !== undefined) {
        expect(html).toContain(`<input name="externalIPs" id="f-externalIPs" value="${fields.externalIPs}"`);
      }
    }
    expect(await services()).toEqual([]);
  });

  it("a NodePort or external IP:port another service has is a 422 next to that field (the model's frontend conflict); nothing written", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    const before = await stored();

    const nodePort = await postForm("/services", { ...FORM, type: "NodePort", nodePort: "30080" });
    expect(nodePort.status).toBe(422);
    expect(await nodePort.text()).toContain(
      '<span class="field-error" id="f-nodePort-error">*:30080/TCP is already the frontend of default/web port &quot;http&quot;</span>',
    );

    const external = await postForm("/services", { ...FORM, port: "80", externalIPs: "198.51.100.1, 203.0.113.7" });
    const html = await external.text();
    expect(external.status).toBe(422);
    expect(html).toContain(
      '<span class="field-error" id="f-externalIPs-error">203.0.113.7:80/TCP is already the frontend of default/web port &quot;http&quot;</span>',
    );
    expect(html).not.toContain('id="f-vip-error"');
    // Its VIP as another's external IP: the VIP is what is taken.
    const vip = await (await postForm("/services", { ...FORM, vip: "203.0.113.7", port: "80" })).text();
    expect(vip).toContain(
      '<span class="field-error" id="f-vip-error">203.0.113.7:80/TCP is already the frontend of default/web port &quot;http&quot;</span>',
    );
    // Same port numbers over UDP are other frontends.
    expect(
      (await postForm("/services", {
        ...FORM,
        protocol: "UDP",
        port: "80",
        type: "NodePort",
        nodePort: "30080",
        externalIPs: "203.0.113.7",
      })).status,
    ).toBe(200);
    expect((await stored()).filter((v) => v.name === "web")).toEqual(before);
    expect((await services()).map((v) => [v.name, v.protocol])).toEqual([["api", "UDP"], ["web", "TCP"]]);
  });

  it("changes a port through the form filled with what is stored: the round trip keeps every value, backends keep their states", async () => {
    const created = { ...FORM, type: "LoadBalancer", nodePort: "30080", externalIPs: "203.0.113.7 203.0.113.8" };
    expect((await postForm("/services", created)).status).toBe(200);
    await postForm("/services/default/api/-/backends/10.244.2.9:8080/state", { state: "terminating" });

    // The service's page links to the filled form; the form shows what is stored.
    expect(await page("/services/default/api", ADMIN)).toContain(
      '<a href="/services?edit=default/api/-">change this port</a>',
    );
    const form = await page("/services?edit=default/api/-", ADMIN);
    expect(form).toContain(
      '<h3>Change default/api (unnamed port)</h3><form class="threshold-form" hx-post="/services/default/api/-" hx-target="#service-form" hx-swap="outerHTML" novalidate="">',
    );
    expect(form).toContain('<input name="name" id="f-name" value="api" readonly=""/>');
    expect(form).toContain('<input name="vip" id="f-vip" value="10.96.0.20" placeholder="10.96.0.10"/>');
    expect(form).toContain('<option value="LoadBalancer" selected="">LoadBalancer</option>');
    expect(form).toContain(
      '<input name="nodePort" id="f-nodePort" value="30080" inputmode="numeric" placeholder="30000"/>',
    );
    expect(form).toContain(
      '<input name="externalIPs" id="f-externalIPs" value="203.0.113.7, 203.0.113.8" placeholder="203.0.113.7, 203.0.113.8"/>',
    );
    expect(form).toContain(">10.244.1.9:8080\n10.244.2.9:8080 2</textarea>");
    expect(form).toContain('<button type="submit">Save</button><a href="/services/default/api">cancel</a>');

    // Posted back unchanged, the form changes nothing that matters (the name fields are the path's, whatever is posted).
    const before = await stored();
    const same = await postForm("/services/default/api/-", {
      ...formFields(form),
      name: "other",
      namespace: "elsewhere",
    }, { ...ADMIN, ...HTMX, "hx-current-url": "http://control.test/services?edit=default/api/-" });
    const saved = await same.text();
    expect(same.status, saved).toBe(200);
    expect(same.headers.get("hx-push-url")).toBe("/services");
    expect(saved).toContain(
      "Saved default/api (unnamed port): 10.96.0.20:8080/TCP (LoadBalancer: 203.0.113.7:8080, 203.0.113.8:8080, any node :30080) with 2 backends (version 2). Nodes apply it within seconds.",
    );
    expect(saved).toContain('<section class="panel" id="service-form"><h3>New service</h3>');
    expect((await stored()).map(({ version: _v, ...v }) => v)).toEqual(before.map(({ version: _v, ...v }) => v));

    // Each type in turn; the form, read again, shows what was saved.
    for (
      const [type, nodePort, externalIPs] of [["NodePort", "31000", ""], ["ClusterIP", "", "198.51.100.1"], [
        "LoadBalancer",
        "32000",
        "198.51.100.2, 198.51.100.3",
      ]] as const
    ) {
      const res = await postForm("/services/default/api/-", {
        ...created,
        type,
        nodePort,
        externalIPs,
        backends: "10.244.2.9:8080 2\n10.244.3.9:8080",
      });
      expect(res.status, await res.text()).toBe(200);
      const [made] = await services();
      expect(gatewayOf(made!)).toEqual({
        name: "api",
        type,
        nodePort: nodePort === "" ? undefined : Number(nodePort),
        externalIPs: externalIPs === "" ? [] : externalIPs.split(", "),
      });
      // The backend kept keeps its state; the new one starts active; the one left out is gone.
      const backends = (made!.backends as Array<{ ip: string; state: string; weight: number }>).map((
        b,
      ) => [b.ip, b.state, b.weight]);
      expect(backends.sort()).toEqual([["10.244.2.9", "terminating", 2], ["10.244.3.9", "active", 1]]);
      const again = await page("/services?edit=default/api/-", ADMIN);
      expect(again).toContain(`<option value="${type}" selected="">${type}</option>`);
      expect(again).toContain(`<input name="nodePort" id="f-nodePort" value="${nodePort}"`);
      expect(again).toContain(`<input name="externalIPs" id="f-externalIPs" value="${externalIPs}"`);
    }
    expect(await services()).toHaveLength(1);
  });

  it("a change that is refused is a 422 next to the field and leaves the stored port as it was; unknown, managed and badly named ports are refused", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    expect((await postForm("/services", { ...FORM, type: "NodePort", nodePort: "30090" })).status).toBe(200);
    const before = await stored();
    const change = (fields: Record<string, string>) =>
      postForm("/services/default/api/-", { ...FORM, type: "NodePort", nodePort: "30090", ...fields });

    const cases: Array<[Record<string, string>, string, string]> = [
      [{ nodePort: "" }, "nodePort", "a NodePort service needs a nodePort"],
      [{ nodePort: "40000" }, "nodePort", "must be a port from 30000 to 32767"],
      [{ type: "ClusterIP" }, "nodePort", "only a NodePort or LoadBalancer service has a nodePort"],
      [{ externalIPs: "203.0.113.300" }, "externalIPs", "203.0.113.300: must be an IPv4 address"],
      [{ nodePort: "30080" }, "nodePort", "*:30080/TCP is already the frontend of default/web port &quot;http&quot;"],
      [
        { port: "80", externalIPs: "203.0.113.7" },
        "externalIPs",
        "203.0.113.7:80/TCP is already the frontend of default/web port &quot;http&quot;",
      ],
    ];
    for (const [fields, field, message] of cases) {
      const res = await change(fields);
      const html = await res.text();
      expect(res.status, html).toBe(422);
      expect(html).toContain(`<span class="field-error" id="f-${field}-error">${message}</span>`);
      expect(html).toContain("<h3>Change default/api (unnamed port)</h3>");
    }
    expect(await stored()).toEqual(before);

    expect((await change({})).status).toBe(200);
    const gone = await postForm("/services/default/nope/-", FORM);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe("default/nope (unnamed port) no longer exists.");
    expect(await page("/services?edit=default/nope/-", ADMIN, 404)).toContain(
      "There is no default/nope (unnamed port)",
    );
    expect(await page("/services?edit=default", ADMIN, 400)).toContain("The parameter &#39;edit&#39; must name a port");
    expect(await page("/services?edit=a/b/c/d", ADMIN, 400)).toContain("The parameter &#39;edit&#39; must name a port");

    await syncServices(s.db, "kubernetes", [{ ...WEB, name: "k8s", vip: "10.96.0.30", portName: "" }], T0);
    expect(await page("/services?edit=default/k8s/-", ADMIN, 409)).toContain(
      "default/k8s (unnamed port) comes from Kubernetes and is read-only here",
    );
    expect(await page("/services/default/k8s", ADMIN)).not.toContain("change this port");
    const managed = await postForm("/services/default/k8s/-", { ...FORM, vip: "10.96.0.30" });
    expect(managed.status).toBe(422);
    expect(await managed.text()).toContain(
      '<p class="field-error">default/k8s (unnamed port) is managed by Kubernetes: change its Service or EndpointSlices instead</p>',
    );
    expect((await services()).find((v) => v.name === "k8s")!.vip).toBe("10.96.0.30");
    expect((await postForm("/services/default/api/-", FORM, HTMX)).status).toBe(401);
  });
});

/** The fields of the form in `html` as the browser would post them. */
function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  const unescape = (v: string) =>
    v.replaceAll("&quot;", '"').replaceAll("&#39;", "'").replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll(
      "&amp;",
      "&",
    );
  for (const [, name, value] of html.matchAll(/<input name="([^"]+)" id="f-[^"]+" value="([^"]*)"/g)) {
    fields[name!] = unescape(value!);
  }
  for (const [, name, options] of html.matchAll(/<select name="([^"]+)"[^>]*>(.*?)<\/select>/gs)) {
    fields[name!] = /<option value="([^"]*)" selected="">/.exec(options!)?.[1] ?? "";
  }
  for (const [, name, text] of html.matchAll(/<textarea name="([^"]+)"[^>]*>([^<]*)<\/textarea>/g)) {
    fields[name!] = unescape(text!);
  }
  return fields;
}

describe("/services/:namespace/:name", () => {
  it("shows each port's backends with state, weight, connections and the share taken next to the share asked", async () => {
    await createService(s.db, WEB, T0);
    await postBatch(
      s.app,
      batch({ ts: T0 + 1_000, lb: { version: 1, services: [[1, 40, 0]], backends: [[1, 24], [2, 16]] } }),
    );
    const html = await page("/services/default/web");
    expect(html).toMatch(
      /<div id="service-detail" hx-get="\/fragments\/services\/default\/web\?since=1h" hx-trigger="every 5s" hx-swap="innerHTML">/,
    );
    expect(html).toContain('<h3>10.96.0.10:80/TCP<span class="meta">port http</span></h3>');
    expect(html).toContain("<dt>Affinity</dt><dd>client, 3 h</dd><dt>Defined by</dt><dd>the admin API</dd>");
    expect(html).toContain('<span class="na">no node polling</span>');
    expect(html).toContain("40 connections");
    expect(html).toContain(
      '<td><code>10.244.1.5:8080</code><span class="sub">pod default/web-1</span></td><td><span class="state state-on">active</span></td><td>3</td><td>24</td>' +
        '<td><span class="share-cell" title="took 60 % of the connections; its weight asks for 75 %"><span class="fill share"><span class="bar bar-ok" style="width: 60.0%"></span>' +
        '<span class="expected" style="left: 75.0%"></span></span> 60 % / 75 %</span></td>',
    );
    // Read-only without the admin token: no switch, no delete.
    expect(html).not.toContain("<select");
    expect(html).not.toContain("delete this port");
    expect(await page("/fragments/services/default/web?since=5m")).not.toContain("<html");
  });

  it("a LoadBalancer shows its external IPs and NodePort, on the list too, and the gateway's packets and bytes both ways", async () => {
    await createService(s.db, { ...WEB, type: "LoadBalancer", nodePort: 30080, externalIPs: ["203.0.113.7"] }, T0);
    await postBatch(
      s.app,
      batch({
        ts: T0 + 1_000,
        gateway: { version: 1, services: [[1, 12, 3000, 10, 2048]], flows: 2, evicted: 0, noBackend: 0 },
      }),
    );
    const html = await page("/services/default/web");
    expect(html).toContain(
      '<dt>Type</dt><dd>LoadBalancer<span class="meta"> (from outside through the gateway: 203.0.113.7:80, any node :30080)</span></dd>',
    );
    expect(html).toMatch(/<dt>Gateway since [^<]*<\/dt><dd>in 12 packets, 2\.93 KiB; out 10 packets, 2\.00 KiB<\/dd>/);
    expect(await page("/services")).toContain(
      '<code>10.96.0.10:80/TCP</code><span class="sub">LoadBalancer: 203.0.113.7:80, any node :30080</span>',
    );
  });

  it("shows what the acceleration rules naming a port accelerated over the window, with links to the rules; a port no rule names says so", async () => {
    await createService(s.db, WEB, T0);
    await createService(s.db, { ...WEB, portName: "admin", port: 81 }, T0);
    await createRule(s.db, { kind: "service", namespace: "default", name: "web" }, T0);
    await createRule(s.db, { kind: "service", namespace: "default", name: "web", portName: "http" }, T0);
    await createRule(s.db, { kind: "service", namespace: "default", name: "web", portName: "none" }, T0);
    await deleteRule(s.db, 1, T0);
    const version = await readVersion(s.db);
    await postBatch(s.app, batch({ ts: T0 + 1_000, accel: { version, rules: [[2, 21, 3 * 1024 * 1024], [3, 5, 5]] } }));
    const html = await page("/services/default/web");
    expect(html).toMatch(
      /<dt>Accelerated since [^<]*<\/dt><dd>21 connections, 3\.00 MiB <span class="meta">\(same-node connections to its backends, by rule <a href="\/accel#accel-rule-2">2<\/a>\)<\/span><\/dd>/,
    );
    expect(html).toMatch(
      /<dt>Accelerated since [^<]*<\/dt><dd><span class="meta">no <a href="\/accel">acceleration rule<\/a> names this port<\/span><\/dd>/,
    );
  });

  it("an admin switches a backend's state and deletes a port; Kubernetes' services stay read-only", async () => {
    await createService(s.db, WEB, T0);
    await createService(s.db, { ...WEB, portName: "", port: 81, backends: [] }, T0);
    const html = await page("/services/default/web?since=5m", ADMIN);
    expect(html).toContain(
      '<form class="inline" hx-post="/services/default/web/http/backends/10.244.2.7:8080/state" hx-target="#service-detail" hx-swap="innerHTML">',
    );
    expect(html).toContain('hx-post="/services/default/web/-/delete"');
    expect(html).toContain("No backends: connections to 10.96.0.10:81/TCP are refused at once.");

    const res = await postForm("/services/default/web/http/backends/10.244.2.7:8080/state", { state: "terminating" }, {
      ...ADMIN,
      ...HTMX,
      "hx-current-url": "http://control.test/services/default/web?since=5m",
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    expect(body).toContain(
      "10.244.2.7:8080 of default/web port &quot;http&quot; is now terminating: it gets no new connections and keeps the ones it has (version 3).",
    );
    expect(body).toContain('<option value="terminating" selected="">terminating</option>');
    expect(body).toContain("Since 5 min ago");
    expect((await getJson(s.app, "/api/v1/services/default/web/http")).body.backends[1].state).toBe("terminating");

    const deleted = await (await postForm("/services/default/web/-/delete", {})).text();
    expect(deleted).toContain("Deleted default/web (unnamed port) (version 4)");
    expect(deleted).not.toContain("10.96.0.10:81/TCP");
    expect((await postForm("/services/default/web/-/delete", {})).status).toBe(404);
    const last = await (await postForm("/services/default/web/http/delete", {})).text();
    expect(last).toContain("default/web has no ports any more: it was deleted.");

    await syncServices(s.db, "kubernetes", [WEB], T0);
    const managed = await page("/services/default/web", ADMIN);
    expect(managed).toContain("Kubernetes (its Service and EndpointSlices; read-only here)");
    expect(managed).not.toContain("<select");
    const refused = await postForm("/services/default/web/http/backends/10.244.2.7:8080/state", { state: "unhealthy" });
    expect(refused.status).toBe(409);
    expect(refused.headers.get("hx-retarget")).toBe("#flash");
    expect(await refused.text()).toBe(
      "default/web port &quot;http&quot; is managed by Kubernetes: change its Service or EndpointSlices instead",
    );
  });

  it("an unknown service is a 404 page in words, a bad name a 400; a bad state is said in #flash", async () => {
    expect(await page("/services/default/nope", {}, 404)).toContain(
      "No service is named default/nope: it was never made, or it was deleted.",
    );
    expect(await page("/services/Default/web", {}, 400)).toContain("Not a service name");
    await createService(s.db, WEB, T0);
    const bad = await postForm("/services/default/web/http/backends/10.244.2.7:8080/state", { state: "gone" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toBe("The state must be active, terminating or unhealthy.");
    const missing = await postForm("/services/default/web/http/backends/10.244.9.9:8080/state", { state: "active" });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("default/web port &quot;http&quot; has no backend 10.244.9.9:8080 any more.");
  });
});
