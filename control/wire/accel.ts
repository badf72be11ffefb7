// SPDX-License-Identifier: Apache-2.0
/**
 * Socket acceleration of same-node traffic (the agents' accel module,
 * bpf/sock_accel.bpf.c): the opt-in rules as the admin API takes them and as
 * agents get them (with the services, in GET /api/v1/lb/state), and the
 * counters agents report back per rule.
 *
 * A rule opts in either the backends of a service (every port, or the port
 * named) or the pods of a namespace that carry every label of a selector. A
 * TCP connection is accelerated when both of its ends are pods of the same
 * node and a rule covers its server end (the backend ip:port, or a matching
 * pod) or its client pod. Ids are small integers (the smallest free), used by
 * agents as indexes into a kernel array, bounded by ACCEL_MAX_RULES (mirrored
 * in bpf/include/accel.h).
 */
import { z } from "zod";
import { Counter, PortName, Rfc1123Name } from "./scalars.ts";

/** Largest rule id (the kernel's counter array has ACCEL_MAX_RULES + 1 slots, id 0 unused). */
export const ACCEL_MAX_RULES = 1023;
export const MAX_SELECTOR_LABELS = 16;

/** Kubernetes label keys: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const LabelKey = z.string().min(1).max(317).regex(
  /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/,
  "must be a label key",
);
const LabelValue = z.string().max(63).regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, "must be a label value");

const Description = z.string().max(256).optional();

export const ServiceRuleInput = z.strictObject({
  kind: z.literal("service"),
  namespace: Rfc1123Name,
  name: Rfc1123Name,
  /** The port of the service (its name, "" for the unnamed one); absent: every port. */
  portName: PortName.optional(),
  description: Description,
});

export const PodsRuleInput = z.strictObject({
  kind: z.literal("pods"),
  namespace: Rfc1123Name,
  /** Pods that carry every one of these labels. */
  selector: z.record(LabelKey, LabelValue).refine((r) => {
    const n = Object.keys(r).length;
    return n >= 1 && n <= MAX_SELECTOR_LABELS;
  }, `must have 1 to ${MAX_SELECTOR_LABELS} labels`),
  description: Description,
});

/** POST /api/v1/accel/rules, PUT /api/v1/accel/rules/:id. */
export const AccelRuleInput = z.discriminatedUnion("kind", [ServiceRuleInput, PodsRuleInput]);
export type AccelRuleInput = z.infer<typeof AccelRuleInput>;

export const AccelRuleId = z.number().int().min(1).max(ACCEL_MAX_RULES);

export const AccelRule = z.discriminatedUnion("kind", [
  ServiceRuleInput.extend({ id: AccelRuleId }),
  PodsRuleInput.extend({ id: AccelRuleId }),
]);
export type AccelRule = z.infer<typeof AccelRule>;

/**
 * What a node's accel module counted over one batch interval (deltas), per
 * rule: [ruleId, connections accelerated, bytes sent through the
 * accelerated path (both directions)].
 */
export const AccelCounters = z.strictObject({
  /** The lb state version the node had applied when it read the counters. */
  version: Counter,
  rules: z.array(z.tuple([AccelRuleId, Counter, Counter])).max(ACCEL_MAX_RULES),
});
export type AccelCounters = z.infer<typeof AccelCounters>;
