// SPDX-License-Identifier: Apache-2.0
/** What the lb tests share: services as the control plane sends them, a seeded PRNG, polling. */
import { maglevSize } from "../../../control/wire/maglev.ts";
import { type BackendState, LbService } from "../../../control/wire/services.ts";

export interface TestBackend {
  id: number;
  ip: string;
  state?: BackendState;
  weight?: number;
}

/** A service as GET /api/v1/lb/state has it (validated), backends on port 8080 unless `port` says otherwise, the table sized for them. */
export function testService(
  id: number,
  vip: string,
  backends: TestBackend[],
  extra: Partial<LbService> = {},
  port = 8080,
): LbService {
  return LbService.parse({
    id,
    namespace: "test",
    name: `s${id}`,
    vip,
    port: 80,
    protocol: "TCP",
    tableSize: maglevSize(Math.max(1, backends.length)),
    backends: backends.map((b) => ({ id: b.id, ip: b.ip, port, state: b.state ?? "active", weight: b.weight ?? 1 })),
    ...extra,
  });
}

/** A small deterministic PRNG (mulberry32), integers in [0, n): seeded runs repeat exactly. */
export function seeded(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 2 ** 32 * n) | 0;
  };
}

/** Polls `fn` every 10 ms until it returns something truthy; throws after `ms`. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
