// SPDX-License-Identifier: Apache-2.0
/**
 * Pods as agents report them: Kubernetes metadata plus where the pod sits on
 * its node (host-side veth, network namespace, cgroup), so that flows, TCP
 * health and drops counted in the kernel can be charged to a pod.
 */
import { z } from "zod";
import { Ip, Rfc1123Name as K8sName } from "./scalars.ts";

/** At most this many labels per pod are kept: label cardinality is bounded by design. */
export const MAX_POD_LABELS = 32;

export const PodInfo = z.strictObject({
  uid: z.string().min(1).max(64),
  namespace: K8sName,
  name: K8sName,
  labels: z.record(z.string().max(317), z.string().max(63)).refine(
    (r) => Object.keys(r).length <= MAX_POD_LABELS,
    `at most ${MAX_POD_LABELS} labels`,
  ),
  /** Controller, e.g. { kind: "ReplicaSet", name: "web-7d9f" }. */
  owner: z.strictObject({ kind: z.string().max(63), name: z.string().max(253) }).optional(),
  ips: z.array(Ip).max(8),
  /** Host-side veth of the pod, on its node. */
  hostVeth: z.string().max(15).optional(),
  ifindex: z.number().int().positive().optional(),
  /** Inode of the pod's network namespace (what the kernel programs see). */
  netnsIno: z.number().int().positive().optional(),
  /** cgroup v2 path of the pod, relative to the cgroup2 mount. */
  cgroup: z.string().max(512).optional(),
  hostNetwork: z.boolean().default(false),
});
export type PodInfo = z.infer<typeof PodInfo>;
