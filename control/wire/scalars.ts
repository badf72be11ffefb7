// SPDX-License-Identifier: Apache-2.0
/**
 * The wire's basic values, defined once for batch.ts, pods.ts and
 * monitoring.ts (which batch.ts imports, so they cannot import it back).
 */
import { z } from "zod";

/** A counter as the kernel keeps it: a non-negative integer that fits a JS number exactly. */
export const Counter = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Kubernetes names (nodes, namespaces, pods) are DNS subdomains (RFC 1123). */
export const Rfc1123Name = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a lowercase RFC 1123 name");

/** A service as "namespace/name" (both RFC 1123 names): how a record names the service it was addressed to. */
export const ServiceName = z
  .string()
  .max(507)
  .regex(
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
    "must be namespace/name, both lowercase RFC 1123 names",
  );

export const Ip = z.union([z.ipv4(), z.ipv6()], { error: "must be an IPv4 or IPv6 address" });
export const Port = z.number().int().min(0).max(65535);
/** A Kubernetes port name (IANA_SVC_NAME), or "" for an unnamed port. */
export const PortName = z.string().max(63).regex(
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/,
  "must be a lowercase port name or empty",
);
