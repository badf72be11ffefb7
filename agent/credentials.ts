/**
 * This node's credential: loaded from the state directory, or obtained by
 * joining with the join token (and then stored, 0600). The token is used
 * again only when the control plane refuses the credential (revoked, or the
 * control plane lost it); without a token the agent keeps spooling and says
 * what the operator has to do.
 */
import type { DesiredState } from "../control/wire/batch.ts";
import type { ControlApi } from "./control_api.ts";
import type { StateDir } from "./state/state_dir.ts";

export type JoinOutcome =
  | { kind: "joined" }
  | { kind: "refused"; message: string }
  | { kind: "retry"; message: string; retryAfterMs?: number };

export class Credentials {
  #credential: string | null;

  constructor(
    private readonly state: StateDir,
    private readonly api: ControlApi,
    private readonly node: string,
    private readonly token: string | undefined,
    private readonly onDesired: (d: DesiredState) => void,
    private readonly log: (msg: string) => void,
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
   * (401/403/400); "retry": the control plane cannot be asked now. Only
   * success is logged here: callers say the rest once, not at every retry.
   */
  async join(signal?: AbortSignal): Promise<JoinOutcome> {
    if (!this.token) return { kind: "refused", message: "no join token" };
    const a = await this.api.join(this.token, this.node, signal);
    switch (a.kind) {
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
}
