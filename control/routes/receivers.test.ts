// SPDX-License-Identifier: Apache-2.0
/** /api/v1/receivers and /api/v1/notifications: validation, secrets never shown back, admin only. */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { AS_ADMIN, bearer, READ_TOKEN, useTestApp } from "../test-support.ts";

const s = useTestApp();

const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = AS_ADMIN) =>
  s.app.request(path, {
    method,
    headers: { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";

describe("notification receivers API", () => {
  it("creates one, shows no secret back, keeps or removes secrets on PATCH", async () => {
    const res = await call("POST", "/api/v1/receivers", {
      name: "slack-net",
      url: SLACK,
      bearerToken: "tok-123456",
      header: { name: "X-Api-Key", value: "key-abcdef" },
    });
    expect(res.status).toBe(201);
    const made = await res.json();
    expect(made).toMatchObject({
      name: "slack-net",
      url: "https://hooks.slack.com/services/…",
      bearerToken: true,
      header: "X-Api-Key",
      enabled: true,
      pending: 0,
      delivered: 0,
    });
    const shown = JSON.stringify(await (await call("GET", "/api/v1/receivers")).json());
    for (const secret of ["tok-123456", "key-abcdef", "XXXXSECRET"]) expect(shown).not.toContain(secret);

    const kept = await (await call("PATCH", `/api/v1/receivers/${made.id}`, { enabled: false })).json();
    expect(kept).toMatchObject({ enabled: false, bearerToken: true, header: "X-Api-Key" });
    const removed = await (await call("PATCH", `/api/v1/receivers/${made.id}`, { bearerToken: null })).json();
    expect(removed).toMatchObject({ bearerToken: false, header: "X-Api-Key" });

    expect((await call("DELETE", `/api/v1/receivers/${made.id}`)).status).toBe(200);
    expect((await call("GET", `/api/v1/receivers/${made.id}`)).status).toBe(404);
  });

  it("400 naming each bad field; 409 for a name taken; nothing written", async () => {
    const bad = await call("POST", "/api/v1/receivers", {
      name: "Bad Name",
      url: "ftp://x",
      header: { name: "Content-Type", value: "a\nb" },
    });
    expect(bad.status).toBe(400);
    const paths = (await bad.json()).issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "url", "header.name", "header.value"]));
    const both = await call("POST", "/api/v1/receivers", {
      name: "a",
      url: "http://127.0.0.1:9/",
      bearerToken: "t",
      header: { name: "authorization", value: "x" },
    });
    expect((await both.json()).issues).toEqual([{ path: "header.name", message: expect.stringMatching(/bearer/) }]);
    const userinfo = await call("POST", "/api/v1/receivers", { name: "a", url: "https://u:p4ss@hooks.example/x" });
    expect((await userinfo.json()).issues).toEqual([{ path: "url", message: expect.stringMatching(/user:password/) }]);
    expect(await (await call("GET", "/api/v1/receivers")).json()).toEqual([]);

    expect((await call("POST", "/api/v1/receivers", { name: "a", url: "http://127.0.0.1:9/" })).status).toBe(201);
    const dup = await call("POST", "/api/v1/receivers", { name: "a", url: "http://127.0.0.1:10/" });
    expect(dup.status).toBe(409);
    expect(await dup.json()).toMatchObject({ conflict: "name" });
  });

  it("a database failure while saving one is answered 500 and logged without the receiver's secrets", async () => {
    const logged: string[] = [];
    s.rebuild({ logError: (message, err) => logged.push(`${message} ${inspect(err, { depth: 8 })}`) });
    const made = await (await call("POST", "/api/v1/receivers", { name: "a", url: SLACK })).json();
    for (const when of ["INSERT", "UPDATE"]) {
      await s.db.$client.execute(
        `CREATE TRIGGER refuse_${when} BEFORE ${when} ON alert_receivers BEGIN SELECT RAISE(ABORT, 'storage refused'); END`,
      );
    }
    const secrets = { bearerToken: "tok-123456", header: { name: "X-Api-Key", value: "key-abcdef" } };
    expect((await call("POST", "/api/v1/receivers", { name: "b", url: SLACK, ...secrets })).status).toBe(500);
    expect((await call("PATCH", `/api/v1/receivers/${made.id}`, { url: `${SLACK}2`, ...secrets })).status).toBe(500);
    expect(logged).toHaveLength(2);
    for (const line of logged) {
      expect(line).toContain("storage refused");
      for (const secret of ["tok-123456", "key-abcdef", "XXXXSECRET"]) expect(line).not.toContain(secret);
    }
  });

  it("receivers are admin only; delivery records are readable with the read token", async () => {
    expect((await call("GET", "/api/v1/receivers", undefined, {})).status).toBe(401);
    expect((await call("GET", "/api/v1/receivers", undefined, bearer(READ_TOKEN))).status).toBe(403);
    const list = await call("GET", "/api/v1/notifications?state=pending", undefined, bearer(READ_TOKEN));
    expect(list.status).toBe(200);
    expect(await list.json()).toEqual([]);
    expect((await call("GET", "/api/v1/notifications?state=lost")).status).toBe(400);
  });
});
