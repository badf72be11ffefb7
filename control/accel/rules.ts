// SPDX-License-Identifier: Apache-2.0
/**
 * Socket acceleration rules (control/wire/accel.ts) and their counters.
 * Every change raises the lb version in its transaction, so agents get the
 * rules with the services (GET /api/v1/lb/state, `accel`), and wakes the
 * agents waiting for a change. Counters come with the batches (`accel`),
 * summed per rule and minute over nodes, kept as long as the lb counters.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { and, asc, eq, gte, lt } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { addExcluded, sumCounters, sumOf } from "../db/counter-sums.ts";
import { accelRules, accelStats } from "../db/schema.ts";
import { rawWriteTransaction, writeTransaction } from "../db/write-queue.ts";
import { bucketOfReport, expiredBuckets, type RetentionSettings } from "../monitoring/rollup.ts";
import { idAllocator } from "../services/ids.ts";
import { bumpVersion } from "../services/version.ts";
import { announceVersion } from "../services/watch.ts";
import { ACCEL_MAX_RULES, type AccelRule, type AccelRuleInput } from "../wire/accel.ts";
import type { Batch } from "../wire/batch.ts";

export class RulesFull extends Error {}

function ruleOf(row: { id: number; rule: Omit<AccelRule, "id"> }): AccelRule {
  return { ...row.rule, id: row.id } as AccelRule;
}

/** Every rule, by id. */
export async function listRules(db: Queryable): Promise<AccelRule[]> {
  const rows = await db.select({ id: accelRules.id, rule: accelRules.rule }).from(accelRules).orderBy(
    asc(accelRules.id),
  );
  return rows.map(ruleOf);
}

export async function getRule(db: Queryable, id: number): Promise<AccelRule | undefined> {
  const row = await db.select({ id: accelRules.id, rule: accelRules.rule }).from(accelRules).where(
    eq(accelRules.id, id),
  ).get();
  return row ? ruleOf(row) : undefined;
}

/** Adds a rule under the smallest free id; throws RulesFull when none is. */
export async function createRule(db: Db, input: AccelRuleInput, now: number): Promise<AccelRule> {
  const { rule, version } = await writeTransaction(db, async (tx) => {
    const used = await tx.select({ id: accelRules.id }).from(accelRules);
    const id = idAllocator(used.map((r) => r.id), ACCEL_MAX_RULES)();
    if (id === undefined) throw new RulesFull(`no rule id is free (at most ${ACCEL_MAX_RULES} rules)`);
    const version = await bumpVersion(tx, now);
    await tx.insert(accelRules).values({ id, rule: input, assignedVersion: version, createdAt: now, updatedAt: now });
    return { rule: { ...input, id } as AccelRule, version };
  });
  announceVersion(db, version);
  return rule;
}

/** Replaces rule `id` (keeping its id and counters); undefined when there is none. */
export async function replaceRule(
  db: Db,
  id: number,
  input: AccelRuleInput,
  now: number,
): Promise<AccelRule | undefined> {
  const version = await writeTransaction(db, async (tx) => {
    const had = await tx.select({ id: accelRules.id }).from(accelRules).where(eq(accelRules.id, id)).get();
    if (!had) return undefined;
    const version = await bumpVersion(tx, now);
    await tx.update(accelRules).set({ rule: input, updatedAt: now }).where(eq(accelRules.id, id));
    return version;
  });
  if (version === undefined) return undefined;
  announceVersion(db, version);
  return { ...input, id } as AccelRule;
}

/** Deletes rule `id` and its counters (the id may be reused); the rule as it was, or undefined. */
export async function deleteRule(db: Db, id: number, now: number): Promise<AccelRule | undefined> {
  const done = await writeTransaction(db, async (tx) => {
    const row = await tx.select({ id: accelRules.id, rule: accelRules.rule }).from(accelRules).where(
      eq(accelRules.id, id),
    ).get();
    if (!row) return undefined;
    const version = await bumpVersion(tx, now);
    await tx.delete(accelRules).where(eq(accelRules.id, id));
    await tx.delete(accelStats).where(eq(accelStats.ruleId, id));
    return { rule: ruleOf(row), version };
  });
  if (done === undefined) return undefined;
  announceVersion(db, done.version);
  return done.rule;
}

const [CONNECTIONS, BYTES] = [sumCounters("j.value ->> 1"), sumCounters("j.value ->> 2")];

/**
 * Adds a batch's accel counters into the minute its interval ends in
 * (saturating: db/counter-sums.ts).
 * Rows of an id no rule has, or that a rule got after the version the node
 * counted under, are ignored (they belong to no rule shown).
 */
export async function storeAccelCounters(tx: SqlTransaction, batch: Batch): Promise<void> {
  const accel = batch.accel;
  if (accel === undefined || accel.rules.length === 0) return;
  await tx.execute({
    sql: "INSERT INTO accel_stats (bucket, rule_id, connections, bytes) " +
      `SELECT ?1, r.id, ${CONNECTIONS}, ${BYTES} FROM json_each(?2) AS j ` +
      "JOIN accel_rules AS r ON r.id = j.value ->> 0 AND r.assigned_version <= ?3 " +
      `GROUP BY r.id HAVING ${CONNECTIONS} + ${BYTES} > 0 ` +
      `ON CONFLICT (rule_id, bucket) DO UPDATE SET ${addExcluded("connections", "bytes")}`,
    args: [bucketOfReport("1m", batch.ts), JSON.stringify(accel.rules), accel.version],
  });
}

/** Over a window: connections accelerated and bytes sent through the accelerated path, summed over nodes. */
export interface AccelCounts {
  connections: number;
  bytes: number;
}

export interface RuleView extends AccelCounts {
  rule: AccelRule;
}

const NO_COUNTS: AccelCounts = { connections: 0, bytes: 0 };

/** Counters per rule id over the minute buckets from `from` up to `to` (exclusive; open without). */
export async function ruleCounts(db: Queryable, from: number, to?: number): Promise<Map<number, AccelCounts>> {
  const since = gte(accelStats.bucket, from);
  const sums = await db
    .select({
      ruleId: accelStats.ruleId,
      connections: sumOf(accelStats.connections),
      bytes: sumOf(accelStats.bytes),
    })
    .from(accelStats)
    .where(to === undefined ? since : and(since, lt(accelStats.bucket, to)))
    .groupBy(accelStats.ruleId);
  return new Map(sums.map((s) => [s.ruleId, { connections: Number(s.connections), bytes: Number(s.bytes) }]));
}

/** Every rule with its counters since `since` (ms, agent clock of the minutes). */
export async function ruleViews(db: Queryable, since: number): Promise<RuleView[]> {
  const [rules, counts] = await Promise.all([listRules(db), ruleCounts(db, bucketOfReport("1m", since))]);
  return rules.map((rule) => ({ rule, ...(counts.get(rule.id) ?? NO_COUNTS) }));
}

/** What a service's port got accelerated: the service rules that cover it, and their counters summed. */
export interface ServiceAccel extends AccelCounts {
  /** Ids of the rules of kind service that cover the port (naming it, or no port: every port of the service). */
  rules: number[];
}

/**
 * The counters of the rules that name the service and cover `portName`. A
 * rule naming no port covers every port of the service and its counters are
 * not kept per port: they show on each port it covers. Pods rules are not
 * attributed to services (they opt pods in, whoever connects to them).
 */
export function serviceAccel(
  rules: readonly AccelRule[],
  counts: ReadonlyMap<number, AccelCounts>,
  port: { namespace: string; name: string; portName: string },
): ServiceAccel {
  const out: ServiceAccel = { connections: 0, bytes: 0, rules: [] };
  for (const r of rules) {
    if (r.kind !== "service" || r.namespace !== port.namespace || r.name !== port.name) continue;
    if (r.portName !== undefined && r.portName !== port.portName) continue;
    const c = counts.get(r.id) ?? NO_COUNTS;
    out.rules.push(r.id);
    out.connections += c.connections;
    out.bytes += c.bytes;
  }
  return out;
}

/** Retention with the lb counters (EBPF_K8S_RETENTION_1M). */
export function pruneAccel(db: Db, now: number, retention: RetentionSettings): Promise<number> {
  return rawWriteTransaction(db, async (tx) => {
    const r = await tx.execute({
      sql: "DELETE FROM accel_stats WHERE bucket <= ?",
      args: [expiredBuckets(now, retention)["1m"]],
    });
    return r.rowsAffected;
  });
}
