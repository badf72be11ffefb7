// SPDX-License-Identifier: Apache-2.0
/**
 * IngestAdmission's slot accounting with hand-off (admission.ts): a slot passes on once at most, only while
 * fewer than maxStoring batches wait to be stored, and every count is back at zero whatever `work` does.
 */
import { describe, expect, it } from "vitest";
import { IngestAdmission } from "./admission.ts";

const settings = { maxInFlight: 1, maxStoring: 1, maxQueued: 4, maxQueueMs: 1_000, retryAfterSeconds: 1 };
const load = (a: IngestAdmission) => {
  const s = a.snapshot();
  return { inFlight: s.inFlight, storing: s.storing, queued: s.queued };
};
/** run() enters its slot after a turn of microtasks: let it. */
const settle = () => new Promise((done) => setTimeout(done, 0));
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((ok) => (resolve = ok));
  return { promise, resolve };
};

describe("IngestAdmission hand-off", () => {
  it("passes the slot on once, only while the storing bound has room; counts return to zero, also after a throw", async () => {
    const a = new IngestAdmission(settings);
    const first = deferred(), second = deferred();
    const ok = () => new Response("ok");

    const one = a.run(async (handOff) => {
      handOff();
      handOff(); // a second call changes nothing
      await first.promise;
      throw new Error("store failed");
    });
    await settle();
    expect(load(a)).toEqual({ inFlight: 0, storing: 1, queued: 0 });

    const two = a.run(async (handOff) => {
      handOff(); // storing is full: the slot is kept
      await second.promise;
      return ok();
    });
    await settle();
    expect(load(a)).toEqual({ inFlight: 1, storing: 1, queued: 0 });

    const three = a.run(async () => ok());
    await settle();
    expect(load(a)).toEqual({ inFlight: 1, storing: 1, queued: 1 });

    first.resolve();
    await expect(one).rejects.toThrow("store failed");
    expect(load(a)).toEqual({ inFlight: 1, storing: 0, queued: 1 });
    second.resolve();
    expect([(await two).status, (await three).status]).toEqual([200, 200]);
    expect(load(a)).toEqual({ inFlight: 0, storing: 0, queued: 0 });
    expect(a.snapshot().admitted).toBe(3);
  });

  it("with maxStoring 0 a batch keeps its slot to the end", async () => {
    const a = new IngestAdmission({ ...settings, maxStoring: 0 });
    const held = deferred();
    const one = a.run(async (handOff) => {
      handOff();
      await held.promise;
      return new Response("ok");
    });
    await settle();
    expect(load(a)).toEqual({ inFlight: 1, storing: 0, queued: 0 });
    held.resolve();
    await one;
    expect(load(a)).toEqual({ inFlight: 0, storing: 0, queued: 0 });
  });
});
