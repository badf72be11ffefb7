// SPDX-License-Identifier: Apache-2.0
/**
 * The lb long-poll (ControlApi.lbState + LbSync) against the fake control
 * plane: the first poll has no `after`; a change answers a held poll at
 * once and is applied right away; 204 polls again; errors back off and are
 * logged once; a state that fails to program is asked for again; stop()
 * aborts a held poll.
 */
import type { LbState } from "../../../control/wire/services.ts";
import { ControlApi } from "../../control_api.ts";
import { assert, assertEquals, assertStringIncludes } from "../../testing/assert.ts";
import { FakeControl } from "../../testing/fake_control.ts";
import { testService, waitFor } from "./fixtures.ts";
import { LbSync, type LbSyncOptions } from "./sync.ts";

const service = (id: number) => testService(id, `10.96.0.${id}`, [{ id, ip: "10.244.1.1" }]);

interface Run {
  control: FakeControl;
  sync: LbSync;
  api: ControlApi;
  logs: string[];
}

/** A joined node's poll against a fake control plane serving service 1; `apply` programs (or throws). */
async function withSync(
  apply: (s: LbState) => void,
  options: LbSyncOptions & { waitMs?: number },
  fn: (r: Run) => Promise<void>,
): Promise<void> {
  const control = FakeControl.start();
  if (options.waitMs !== undefined) control.lbWaitMs = options.waitMs;
  const api = new ControlApi(control.url);
  const logs: string[] = [];
  let sync: LbSync | null = null;
  try {
    const j = await api.join(control.token, "n1");
    assert(j.kind === "ok");
    const credential = j.value.credential;
    control.setLbServices([service(1)]);
    sync = new LbSync((after, signal) => api.lbState(credential, after, signal), apply, (m) => logs.push(m), options);
    await fn({ control, sync, api, logs });
  } finally {
    await sync?.stop();
    await control.close();
  }
}

Deno.test("lb poll: no `after` at first, then held polls answered at once by a change, applied within milliseconds", async () => {
  const applied: [LbState, number][] = [];
  await withSync((s) => void applied.push([s, Date.now()]), {}, async ({ control, sync }) => {
    sync.start();
    await waitFor("the first state", () => applied.length === 1);
    assertEquals(control.lbPolls()[0].after, null, "the first poll asks for the state now");
    assertEquals(applied[0][0].services.map((s) => s.id), [1]);
    await waitFor("the version applied", () => sync.applied === 1);
    await new Promise((r) => setTimeout(r, 100)); // the poll with after=1 is held now
    const t0 = Date.now();
    control.setLbServices([service(1), service(2)]);
    await waitFor("the change", () => applied.length === 2);
    assert(applied[1][1] - t0 < 500, `applied ${applied[1][1] - t0} ms after the change`);
    assertEquals([applied[1][0].version, control.lbPolls()[1].after], [2, 1]);
  });
});

Deno.test("lb poll: 204 when nothing changed within the wait, then polls again with the same version", async () => {
  const applied: LbState[] = [];
  await withSync((s) => void applied.push(s), { waitMs: 50 }, async ({ control, sync }) => {
    sync.start();
    await waitFor("three 204s", () => control.lbPolls().filter((p) => p.status === 204).length >= 3);
    assertEquals(applied.length, 1);
    assert(control.lbPolls().slice(1).every((p) => p.after === 1));
  });
});

Deno.test("lb poll: refused credential and server errors back off, logged once, and recover", async () => {
  const applied: LbState[] = [];
  await withSync(
    (s) => void applied.push(s),
    { minBackoffMs: 20, maxBackoffMs: 200 },
    async ({ control, sync, logs }) => {
      control.failLbNext(401);
      control.failLbNext(503, 2);
      sync.start();
      await waitFor("the state after the errors", () => applied.length === 1);
      const polls = control.lbPolls();
      assertEquals(polls.slice(0, 4).map((p) => p.status), [401, 503, 503, 200]);
      assert(polls[2].at! - polls[1].at! >= 10, "backing off between errors");
      assertEquals(logs.length, 2, logs.join("\n"));
      assertStringIncludes(logs[0], "credential was refused");
      assertStringIncludes(logs[1], "following the services again (version 1 programmed)");
    },
  );
});

Deno.test("lb poll: a state that could not be programmed is not taken as applied: asked for again", async () => {
  let calls = 0;
  const apply = () => {
    if (++calls < 3) throw new Error("map full");
  };
  await withSync(apply, { minBackoffMs: 10, maxBackoffMs: 50 }, async ({ control, sync }) => {
    sync.start();
    await waitFor("the third attempt", () => sync.applied === 1);
    assertEquals(calls, 3);
    assertEquals(control.lbPolls().slice(0, 3).map((p) => [p.after, p.status]), [[null, 200], [null, 200], [
      null,
      200,
    ]]);
  });
});

Deno.test("lb poll: stop() ends a held poll at once; a control plane that is away is retried", async () => {
  let api: ControlApi | null = null;
  await withSync(() => {}, {}, async (r) => {
    api = r.api;
    r.sync.start();
    await waitFor("the version applied", () => r.sync.applied === 1);
    await new Promise((res) => setTimeout(res, 50));
    const t0 = Date.now();
    await r.sync.stop();
    assert(Date.now() - t0 < 1000, `stopped in ${Date.now() - t0} ms`);
  });
  assertEquals((await api!.lbState("c", null)).kind, "retry");
});
