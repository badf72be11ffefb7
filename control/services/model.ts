// SPDX-License-Identifier: Apache-2.0
/**
 * Services and their backends: what the admin API and the Kubernetes sync
 * may do to them. Each function is one write transaction (control/db/
 * write-queue.ts): all of it or, on an error, nothing. A change raises the
 * lb version by one and wakes the agents waiting for it (watch.ts).
 *
 * Each service belongs to its source: services made through the API are
 * changed only through the API, those from Kubernetes only by the sync.
 */
import type { Db } from "../db/client.ts";
import type { Fence } from "../lease/lease.ts";
import type { ServiceSource } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { type BackendState, ServiceInput } from "../wire/services.ts";
import { type Applied, applyPlan, loadStored, type Plan, type Stored } from "./apply.ts";
import { ServiceConflict } from "./errors.ts";
import { describeRef, refKey, refOf, type ServiceRef } from "./keys.ts";
import { lbService } from "./state.ts";
import { announceVersion } from "./watch.ts";

export interface Written {
  /** The lb version after the write. */
  version: number;
  /** The service written. */
  id: number;
}

/**
 * Makes the services of `source` exactly `list` in one transaction: new ones
 * are created, missing ones removed, changed ones replaced in place (same
 * id; backends keep theirs by ip and port); unchanged ones are not touched,
 * and a list equal to what is stored changes nothing, not even the version.
 * Throws ServiceConflict (nothing written) when the list names a service
 * twice, claims a service of the other source, or gives two services one
 * frontend (including one of the other source's); throws a ZodError for an
 * entry that is not a valid ServiceInput. `fence` runs first in the
 * transaction (the lease's check: a replica that lost it writes nothing).
 */
export async function syncServices(
  db: Db,
  source: ServiceSource,
  list: ServiceInput[],
  now: number,
  fence?: Fence,
): Promise<{ version: number; changed: number }> {
  const inputs = list.map((s) => ServiceInput.parse(s));
  const applied = await change(db, now, fence, (all) => {
    const byName = new Map(all.map((s) => [refKey(s.row), s]));
    const wanted = new Set<string>();
    const put = inputs.map((input) => {
      const key = refKey(input);
      if (wanted.has(key)) throw new ServiceConflict("name", `${describeRef(input)} is listed twice`, refOf(input));
      wanted.add(key);
      const existing = byName.get(key);
      if (existing !== undefined) ownedBy(existing, source);
      return { input, source, existing };
    });
    return { put, remove: all.filter((s) => s.row.source === source && !wanted.has(refKey(s.row))) };
  });
  return { version: applied.version, changed: applied.changed };
}

/** A new service through the API; ServiceConflict when its name or frontend is taken. */
export async function createService(db: Db, input: ServiceInput, now: number): Promise<Written> {
  const applied = await change(db, now, undefined, (all) => {
    const existing = all.find((s) => refKey(s.row) === refKey(input));
    if (existing !== undefined) {
      throw new ServiceConflict("name", `${describeRef(input)} already exists`, refOf(existing.row));
    }
    return { put: [{ input, source: "api" }], remove: [] };
  });
  return { version: applied.version, id: applied.ids[0]! };
}

/** Replaces the API service `ref` (whose name `input` must carry); undefined when there is none. */
export async function replaceService(
  db: Db,
  ref: ServiceRef,
  input: ServiceInput,
  now: number,
): Promise<Written | undefined> {
  if (refKey(input) !== refKey(ref)) {
    throw new Error(`replaceService: ${describeRef(input)} is not ${describeRef(ref)}`);
  }
  return changeOne(db, ref, now, (existing) => ({ put: [{ input, source: "api", existing }], remove: [] }));
}

/** Deletes the API service `ref` with its backends and counters; undefined when there is none. */
export async function deleteService(db: Db, ref: ServiceRef, now: number): Promise<Written | undefined> {
  return changeOne(db, ref, now, (existing) => ({ put: [], remove: [existing] }));
}

export type BackendChange = Written | { missing: "service" | "backend" };

/** Sets the state of one backend (by ip and port) of the API service `ref`. */
export async function setBackendState(
  db: Db,
  ref: ServiceRef,
  endpoint: { ip: string; port: number },
  state: BackendState,
  now: number,
): Promise<BackendChange> {
  let found = false;
  const written = await changeOne(db, ref, now, (existing) => {
    const input = inputOf(existing);
    const backend = input.backends.find((b) => b.ip === endpoint.ip && b.port === endpoint.port);
    if (backend === undefined) return { put: [], remove: [] };
    found = true;
    backend.state = state;
    return { put: [{ input, source: "api", existing }], remove: [] };
  });
  if (written === undefined) return { missing: "service" };
  return found ? written : { missing: "backend" };
}

/** A stored service as the ServiceInput that would make it. */
export function inputOf(s: Stored): ServiceInput {
  const { id: _id, tableSize: _size, backends, ...service } = lbService(s);
  return { ...service, backends: backends.map(({ id: _, ...backend }) => backend) };
}

/** Refuses a change by `source` to a service of the other source. */
function ownedBy(s: Stored, source: ServiceSource): void {
  if (s.row.source === source) return;
  const what = describeRef(s.row);
  throw s.row.source === "kubernetes"
    ? new ServiceConflict(
      "managed",
      `${what} is managed by Kubernetes: change its Service or EndpointSlices instead`,
      refOf(s.row),
    )
    : new ServiceConflict(
      "managed",
      `${what} was made through the API; Kubernetes cannot define it until it is deleted there`,
      refOf(s.row),
    );
}

/** One transaction: plan against every stored service, apply, and after the commit wake the waiting agents. */
async function change(
  db: Db,
  now: number,
  fence: Fence | undefined,
  plan: (all: Stored[]) => Plan,
): Promise<Applied> {
  const applied = await writeTransaction(db, async (tx) => {
    await fence?.(tx);
    const all = await loadStored(tx);
    return applyPlan(tx, all, plan(all), now);
  });
  if (applied.changed > 0) announceVersion(db, applied.version);
  return applied;
}

/** A change to the API service `ref`; undefined when there is none. */
async function changeOne(
  db: Db,
  ref: ServiceRef,
  now: number,
  plan: (existing: Stored) => Plan,
): Promise<Written | undefined> {
  let id: number | undefined;
  const applied = await change(db, now, undefined, (all) => {
    const existing = all.find((s) => refKey(s.row) === refKey(ref));
    if (existing === undefined) return { put: [], remove: [] };
    ownedBy(existing, "api");
    id = existing.row.id;
    return plan(existing);
  });
  return id === undefined ? undefined : { version: applied.version, id };
}
