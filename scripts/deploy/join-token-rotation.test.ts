// SPDX-License-Identifier: Apache-2.0
/**
 * The agents' join token as k8s/scripts/install.sh keeps it (k8s/scripts/join-token.mjs): made never to expire at
 * the first install, kept by a second, replaced by --rotate-join-token (new one first, then the old revoked). The
 * script's commands run here against a real control plane app and database, through the fetch the script is given;
 * what is left to install.sh is kubectl (the Secret's patch), which needs a cluster. The command line install.sh
 * builds is run with node too, without a control plane: it must parse and say what is missing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { INSTALL_DESCRIPTION, joinTokenCommand } from "../../k8s/scripts/join-token.mjs";
import {
  ADMIN_TOKEN,
  AS_ADMIN,
  batch,
  bearer,
  getJson,
  newJoinToken,
  postJoin,
  send,
  useTestApp,
} from "../../control/test-support.ts";
import { REPO } from "../procs.ts";

const s = useTestApp();
const env = { EBPF_K8S_ADMIN_TOKEN: ADMIN_TOKEN, EBPF_K8S_URL: "http://control.test" };
const run = (...args: string[]) =>
  joinTokenCommand(args, env, (input, init) => Promise.resolve(s.app.request(String(input), init)));
const DAY = 86_400_000;

/** "new <id> <token>" as its parts. */
function made(answer: string): { id: string; token: string } {
  const [word, id, token] = answer.split(" ");
  expect(word).toBe("new");
  return { id: id!, token: token! };
}

const tokens = async () =>
  (await getJson(s.app, "/api/v1/join-tokens", AS_ADMIN)).body as Array<Record<string, unknown>>;

describe("the install's join token (join-token.mjs)", () => {
  it("is made never to expire at the first install and kept by the next", async () => {
    const first = made(await run("ensure", ""));
    expect(await tokens()).toEqual([
      expect.objectContaining({ id: first.id, description: INSTALL_DESCRIPTION, expiresAt: null, revoked: false }),
    ]);
    expect(await run("ensure", first.id)).toBe("keep");
    s.clock.now += 400 * DAY; // an autoscaled node, more than a year later
    expect((await postJoin(s.app, "node-late", first.token)).status).toBe(200);
  });

  it("replaces a token that expires (a Secret from an older install) or was revoked", async () => {
    const legacy = await newJoinToken(s.app, { ttlSeconds: 30 * 86_400, description: INSTALL_DESCRIPTION });
    const next = made(await run("ensure", legacy.id));
    expect(next.id).not.toBe(legacy.id);
    expect(await run("revoke-others", next.id)).toBe("revoked 1");
    await send(s.app, "DELETE", `/api/v1/join-tokens/${next.id}`, undefined, AS_ADMIN);
    expect(made(await run("ensure", next.id)).id).not.toBe(next.id);
  });

  it("rotates: joined nodes keep working, the old token joins no more, the new one does, an admin's own stays", async () => {
    const old = made(await run("ensure", ""));
    const own = await newJoinToken(s.app, { expires: "never", description: "pool B (by hand)" });
    const joined = await postJoin(s.app, "node-a", old.token);
    const { credential } = await joined.json();

    const next = made(await run("rotate"));
    expect(await run("revoke-others", next.id)).toBe("revoked 1");
    expect(await run("revoke-others", next.id)).toBe("revoked 0");

    expect((await postJoin(s.app, "node-b", old.token)).status).toBe(401);
    expect((await postJoin(s.app, "node-b", next.token)).status).toBe(200);
    expect((await postJoin(s.app, "node-c", own.token)).status).toBe(200);
    const ack = await send(s.app, "POST", "/api/v1/ingest", batch({ node: "node-a" }), bearer(credential));
    expect(ack.status).toBe(200);
    expect((await tokens()).filter((t) => !t.revoked).map((t) => t.id).sort()).toEqual([next.id, own.id].sort());
  });

  it("says what is wrong: no admin token, an unknown command, no id to keep, a refused request", async () => {
    const fetchApp = (input: string | URL | Request, init?: RequestInit) =>
      Promise.resolve(s.app.request(String(input), init));
    await expect(joinTokenCommand(["rotate"], {}, fetchApp)).rejects.toThrow(
      "EBPF_K8S_ADMIN_TOKEN is not set in the control plane's environment",
    );
    await expect(run("renew")).rejects.toThrow("unknown command 'renew' (ensure <id> | rotate | revoke-others <id>)");
    await expect(run("revoke-others", "")).rejects.toThrow("revoke-others needs the id of the token to keep");
    await expect(joinTokenCommand(["rotate"], { ...env, EBPF_K8S_ADMIN_TOKEN: "wrong-token-0123456789" }, fetchApp))
      .rejects.toThrow(/^POST \/api\/v1\/join-tokens: 401 /);
  });

  it("runs as install.sh runs it in the control plane's pod (node, the file and a call of main)", () => {
    const install = readFileSync(`${REPO}k8s/scripts/install.sh`, "utf8");
    const call = "await main(process.argv.slice(1), process.env, fetch);";
    expect(install).toContain(`-e "$(cat "$HERE/join-token.mjs")\n${call}" "$@"`);
    expect(install).toContain("agents_join_token ensure\n");
    expect(install).toContain("agents_join_token rotate\n");
    const code = `${readFileSync(`${REPO}k8s/scripts/join-token.mjs`, "utf8")}\n${call}`;
    const r = spawnSync("node", ["--input-type=module", "-e", code, "rotate"], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
    });
    expect(r.stderr.trim()).toBe("EBPF_K8S_ADMIN_TOKEN is not set in the control plane's environment");
    expect(r.status).toBe(1);
  });
});
