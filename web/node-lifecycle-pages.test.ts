// SPDX-License-Identifier: Apache-2.0
/**
 * The pages of nodes that come and go (web/node-lifecycle-routes.tsx, the node page's module table): the module
 * defaults page and its form, a module's "default"/"overridden" state and its reset, and the delete form, each
 * refused to a reader and answering a bad request in the flash line.
 */
import { describe, expect, it } from "vitest";
import { SESSION_COOKIE } from "../control/auth/access.ts";
import {
  ADMIN_TOKEN,
  AS_ADMIN,
  batch,
  getJson,
  postBatch,
  READ_TOKEN,
  send,
  useTestApp,
} from "../control/test-support.ts";

const s = useTestApp();
const ADMIN = { cookie: `${SESSION_COOKIE}=${ADMIN_TOKEN}`, "hx-request": "true" };
const READER = { cookie: `${SESSION_COOKIE}=${READ_TOKEN}`, "hx-request": "true" };

const form = (path: string, body: string, headers: Record<string, string>) =>
  s.app.request(`http://control.test${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
const page = async (path: string, headers: Record<string, string> = {}) =>
  (await s.app.request(`http://control.test${path}`, { headers })).text();

describe("/module-defaults", () => {
  it("shows every module's default; an admin gets the form, a reader the values", async () => {
    const admin = await page("/module-defaults", ADMIN);
    expect(admin).toContain('<select name="lb" aria-label="lb default">');
    expect(admin).toContain("Save defaults");
    const reader = await page("/module-defaults", READER);
    expect(reader).not.toContain("<select");
    expect(reader).toContain("built in");
  });

  it("changes the defaults that differ and says which; refuses a reader and a bad value", async () => {
    const res = await form("/module-defaults", "lb=on&accel=off&flows=on", ADMIN);
    expect(res.status).toBe(200);
    const answer = await res.text();
    expect(answer).toContain("Defaults changed: lb on (desired state version 1)");
    expect((await getJson(s.app, "/api/v1/module-defaults")).body).toMatchObject({ set: ["lb"] });
    expect(await (await form("/module-defaults", "lb=on", ADMIN)).text()).toContain("Nothing changed.");

    const refused = await form("/module-defaults", "lb=off", READER);
    expect(refused.status).toBe(403);
    const bad = await form("/module-defaults", "lb=maybe", ADMIN);
    expect(bad.status).toBe(400);
    expect(bad.headers.get("hx-retarget")).toBe("#flash");
    expect(await bad.text()).toContain("Each module&#39;s default must be &quot;on&quot; or &quot;off&quot;");
    expect((await getJson(s.app, "/api/v1/module-defaults")).body.modules.lb).toBe(true);
  });
});

describe("the node page", () => {
  it("says per module whether it follows the default or is overridden, with a reset for the override", async () => {
    await postBatch(s.app, batch());
    await send(s.app, "PUT", "/api/v1/nodes/node-a/modules/lb", { enabled: true }, AS_ADMIN);
    const html = await page("/nodes/node-a", ADMIN);
    expect(html).toContain("overridden (on)");
    expect(html).toContain("default (off)");
    expect(html.match(/Reset to default/g)).toHaveLength(1);
    const reset = await form("/nodes/node-a/modules/lb", "enabled=default", ADMIN);
    expect(reset.status).toBe(200);
    expect(await reset.text()).toContain("lb is now off (the cluster default) for node-a");
    expect(await page("/nodes/node-a", ADMIN)).not.toContain("overridden");
  });

  it("has a delete form for an admin only; deleting sends htmx to the overview, an unknown node is said so", async () => {
    await postBatch(s.app, batch());
    expect(await page("/nodes/node-a", ADMIN)).toContain('hx-post="/nodes/node-a/delete"');
    expect(await page("/nodes/node-a", READER)).not.toContain("/delete");

    expect((await form("/nodes/node-a/delete", "", READER)).status).toBe(403);
    const deleted = await form("/nodes/node-a/delete", "", ADMIN);
    expect(deleted.status).toBe(200);
    expect(deleted.headers.get("hx-redirect")).toBe("/");
    expect((await getJson(s.app, "/api/v1/nodes")).body).toEqual([]);

    const again = await form("/nodes/node-a/delete", "", ADMIN);
    expect(again.status).toBe(404);
    expect(await again.text()).toBe("Node node-a is not known (deleted already?).");
    expect((await form("/nodes/Node_A/delete", "", ADMIN)).status).toBe(400);
  });
});
