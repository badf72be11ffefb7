/**
 * The wire format between agent and control plane: defined once here and
 * imported by both sides (agent/ under Deno, control/ under Node or Deno).
 *
 * A batch carries cumulative counters since the agent attached (not deltas):
 * a batch that is resent or arrives twice changes nothing, and the control
 * plane derives rates from two consecutive batches of the same boot.
 */
import { z } from "zod";

/** Bump when a change is not backwards compatible; the control plane rejects others. */
export const WIRE_VERSION = 1;

/** Largest batch the control plane accepts, in bytes of JSON. */
export const MAX_BATCH_BYTES = 1 << 20;

/** A counter as the kernel keeps it: a non-negative integer that fits a JS number exactly. */
export const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Kubernetes node names are DNS subdomains (RFC 1123). */
export const NodeName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a lowercase RFC 1123 name");

/** Linux interface names: at most 15 bytes, no '/' or whitespace. */
export const IfName = z
  .string()
  .min(1)
  .max(15)
  .regex(/^[^/\s:]+$/, "must be a Linux interface name");

export const InterfaceCounters = z.strictObject({
  ifname: IfName,
  ifindex: z.number().int().positive(),
  rxPackets: Counter,
  rxBytes: Counter,
  txPackets: Counter,
  txBytes: Counter,
  drops: Counter,
});
export type InterfaceCounters = z.infer<typeof InterfaceCounters>;

export const Batch = z.strictObject({
  v: z.literal(WIRE_VERSION),
  node: NodeName,
  /** Random per agent start: counters restart from zero when it changes. */
  bootId: z.uuid(),
  /** Increases by one per batch within a boot. */
  seq: Counter,
  /** When the counters were read, ms since the epoch (agent clock). */
  ts: z.number().int().positive(),
  /** Seconds between reads. */
  interval: z.number().positive().max(3600),
  interfaces: z.array(InterfaceCounters).max(4096),
});
export type Batch = z.infer<typeof Batch>;

/** What the control plane answers to an accepted batch. */
export const BatchAck = z.strictObject({
  ok: z.literal(true),
  /** Highest sequence stored for this (node, bootId); a duplicate answers the same. */
  seq: Counter,
  duplicate: z.boolean(),
});
export type BatchAck = z.infer<typeof BatchAck>;
