// SPDX-License-Identifier: Apache-2.0
/** Why a change to services was refused; the API answers each with 409 and this message. */
import type { ServiceRef } from "./keys.ts";

export type ConflictKind =
  /** Another service has this namespace, name and port name. */
  | "name"
  /** Another service has this VIP, port and protocol. */
  | "frontend"
  /** The service comes from another source (Kubernetes, or the API) and only that source may change it. */
  | "managed"
  /** Every id is in use (LB_MAX_SERVICES or LB_MAX_BACKENDS). */
  | "full";

export class ServiceConflict extends Error {
  constructor(
    readonly conflict: ConflictKind,
    message: string,
    /** The other service concerned, when there is one. */
    readonly service?: ServiceRef,
    /** "frontend": the frontend taken, as frontendKeys() names it (e.g. "*:30080/TCP" for a NodePort). */
    readonly frontend?: string,
  ) {
    super(message);
    this.name = "ServiceConflict";
  }
}
