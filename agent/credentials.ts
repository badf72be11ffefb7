// SPDX-License-Identifier: Apache-2.0
/**
 * This node's credential: loaded from the state directory, or obtained by
 * joining with the join token (and then stored, 0600). The token is used
 * again only when the control plane refuses the credential (revoked, or the
 * control plane lost it); without a token the agent keeps spooling and says
 * what the operator has to do.
 *
 * A join the control plane refuses because the node name has a live
 * credential (409: another agent holds it, or this node's own state
 * directory was lost) is said once, with what an admin has to do, and asked
 * again on a slow backoff (JOIN_TAKEN_BACKOFF_MS); until then join() answers
 * from memory without a request. The credential in use, if any, is dropped:
 * join() is only called without one or after it was refused.
 */
import type { DesiredState } from "../control/wire/batch.ts";
import type { ControlApi } from "./control_api.ts";
import type { StateDir } from "./state/state_dir.ts";

export type JoinOutcome =
  | { kind: "joined" }
  | { kind: "refused"; message: string }
  | { kind: "retry"; message: string; retryAfterMs?: number }
  | { kind: "taken"; message: string; retryAfterMs: number };

/**
 * After a 409 the join is asked again after the first delay, doubling up to
 * the last: slow enough to never hammer the control plane, quick enough to
 * catch an admin's approval, which lasts 15 min by default.
 */
export const JOIN_TAKEN_BACKOFF_MS = { first: 30_000, max: 5 * 60_000 };

export class Credentials {
  #credential: string | null;
  /** The node name was taken (409) this many times in a row; the next join is asked at `nextAt`. */
  #taken: { message: string; times: number; nextAt: number } | null = null;

  constructor(
    private readonly state: StateDir,
    private readonly api: ControlApi,
    private readonly node: string,
    private readonly token: string | undefined,
    private readonly onDesired: (d: DesiredState) => void,
    private readonly log: (msg: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.#credential = state.loadCredential(node, api.baseUrl);
  }

  get current(): string | null {
    return this.#credential;
  }

  get canJoin(): boolean {
    return this.token !== undefined;
  }

  /**
   * Joins with the token and stores the credential. "refused": the token is
   * (401/403/400); "retry": the control plane cannot be asked now; "taken":
   * the node name has a live credential (409), asked again no sooner than
   * `retryAfterMs`. Success and the first "taken" are logged here; callers
   * say the rest once, not at every retry.
   */
  async join(signal?: AbortSignal): Promise<JoinOutcome> {
    if (!this.token) return { kind: "refused", message: "no join token" };
    const waitMs = this.#taken ? this.#taken.nextAt - this.now() : 0;
    if (this.#taken && waitMs > 0) return { kind: "taken", message: this.#taken.message, retryAfterMs: waitMs };
    const a = await this.api.join(this.token, this.node, signal);
    if (a.kind !== "retry" && a.kind !== "taken") this.#taken = null;
    switch (a.kind) {
      case "taken":
        return this.#nodeTaken(a.error ?? a.message);
      case "ok":
        if (a.value.node !== this.node) {
          return {
            kind: "refused",
            message: `the control plane issued a credential for node ${a.value.node}, not ${this.node}`,
          };
        }
        this.#credential = a.value.credential;
        this.state.saveCredential(this.node, this.api.baseUrl, a.value.credential);
        this.log(
          `joined the control plane at ${this.api.baseUrl} as node ${this.node}; credential stored in ${this.state.path}/credential.json`,
        );
        this.onDesired(a.value.desired);
        return { kind: "joined" };
      case "unauthorized":
      case "rejected":
        return {
          kind: "refused",
          message: `join refused (${a.message}): the join token is invalid, expired or revoked; make a new one`,
        };
      case "retry":
        return { kind: "retry", message: `cannot join yet (${a.message})`, retryAfterMs: a.retryAfterMs };
    }
  }

  #nodeTaken(explanation: string): JoinOutcome {
    this.#credential = null; // refused already, or there was none: do not send it again
    const times = (this.#taken?.times ?? 0) + 1;
    const delayMs = Math.min(JOIN_TAKEN_BACKOFF_MS.first * 2 ** (times - 1), JOIN_TAKEN_BACKOFF_MS.max);
    const message = `join refused: node ${this.node} already has a live credential on the control plane at ` +
      `${this.api.baseUrl} (another agent runs as ${this.node}, or this node's state directory was lost). ` +
      `If this agent is meant to be ${this.node}, an admin approves its re-join ` +
      `(POST /api/v1/nodes/${this.node}/rejoin) or revokes the old credential ` +
      `(DELETE /api/v1/nodes/${this.node}/credentials), or the other agent stays silent until the node is Lost; ` +
      `otherwise give this agent another --node. Batches stay spooled; asking again in ${delayMs / 1000} s, ` +
      `then at most every ${JOIN_TAKEN_BACKOFF_MS.max / 1000} s. (control plane: ${oneLine(explanation)})`;
    if (times === 1) this.log(message);
    this.#taken = { message, times, nextAt: this.now() + delayMs };
    return { kind: "taken", message, retryAfterMs: delayMs };
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").slice(0, 600);
