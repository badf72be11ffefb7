// SPDX-License-Identifier: Apache-2.0
/**
 * The calls the agent makes to the control plane, each answer sorted into
 * what the agent does next:
 *
 *   POST /api/v1/join    {token, node}        -> 200 credential + desired state
 *   POST /api/v1/ingest  Bearer <credential>  -> 200 BatchAck
 *   GET  /api/v1/lb/state?after=V&wait=S  Bearer <credential>
 *                                             -> 200 LbState, or 204 when the
 *                                                version stayed V for S seconds
 *                                                (long-poll; without `after`:
 *                                                the state now, at once)
 *
 *   200 (204)    acked / joined / the services (unchanged)
 *   401, 403     unauthorized: the credential (or token) is refused; 403 is a
 *                credential of another node. Re-join if a token is configured.
 *   409 (join)   taken: the node name has a live credential on the control
 *                plane; an admin has to approve the re-join or revoke it, or
 *                the node has to turn Lost. Ask again on a slow backoff.
 *   409 (ingest) unsupported: the batch's wire version is not accepted; the
 *                answer says which are (refusals.ts: rewrite it or hold it)
 *   412 (ingest) unknown part: a compact batch named a part by a hash the
 *                control plane does not hold; sent again whole (wire_encoding.ts)
 *   400, 413     rejected: the batch is invalid or too large and would fail
 *                the same way every time: quarantined (refusals.ts), never dropped;
 *                415 (ingest) too: its encoding is not read there (delivery.ts
 *                asks first whether the control plane was rolled back)
 *   429          retry after Retry-After (seconds or an HTTP date)
 *   503          the control plane is at capacity (it sheds): retry after
 *                Retry-After, plus jitter (control/wire/retry.ts)
 *   other, 5xx,
 *   network      retry later with the same batch (same seq)
 */
import { BatchAck, JoinResponse, WIRE_VERSION } from "../control/wire/batch.ts";
import type { CompactBody } from "../control/wire/compact/held-hashes.ts";
import { type HeldPart, UNKNOWN_PART, UNKNOWN_PART_STATUS, UnknownPartAnswer } from "../control/wire/compact/http.ts";
import { LB_POLL_MODULE_HEADER, LbState } from "../control/wire/services.ts";
import {
  JOIN_WIRE_VERSION_HEADER,
  UNSUPPORTED_WIRE_VERSION,
  UNSUPPORTED_WIRE_VERSION_STATUS,
  WIRE_VERSIONS_PATH,
  WireVersions,
} from "../control/wire/version.ts";

/** How long the control plane may hold a long-poll of the lb state, in seconds. */
export const LB_POLL_WAIT_S = 25;

type Schema<T> = { safeParse(x: unknown): { success: true; data: T } | { success: false } };

export type Answer<T> =
  | { kind: "ok"; value: T }
  | { kind: "unauthorized"; status: number; message: string }
  | { kind: "rejected"; status: number; message: string }
  | { kind: "retry"; message: string; retryAfterMs?: number; status?: number; error?: string; body?: string };

/**
 * A batch also learns that its wire version is not accepted (409), and which are; a compact one that the
 * control plane does not hold a part it sent by hash (412), and which.
 */
export type IngestAnswer =
  | Answer<BatchAck>
  | { kind: "unsupported"; message: string; versions: WireVersions }
  | { kind: "unknownPart"; message: string; parts: HeldPart[] };

/** Unsupported media type: a control plane that cannot read the encoding sent (one rolled back, a proxy). */
const UNSUPPORTED_MEDIA_TYPE = 415;

/** A join also learns that the node name is taken: its credential is live (409). `error` is the control plane's explanation. */
export type JoinAnswer = Answer<JoinResponse> | { kind: "taken"; message: string; error?: string };

export class ControlApi {
  /**
   * `wireVersion`: the version this agent writes, named in its joins so the answer is cut for it.
   * `fetchOptions`: added to every request's options; Deno's `client` with the CAs of --control-ca (an https
   * control plane signed by its own CA: control_client.ts). Typed loosely: this file is also compiled with Node's
   * types, which know no Deno.HttpClient.
   */
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 5000,
    private readonly wireVersion = WIRE_VERSION,
    private readonly fetchOptions: object = {},
  ) {}

  async join(token: string, node: string, signal?: AbortSignal): Promise<JoinAnswer> {
    const headers = { [JOIN_WIRE_VERSION_HEADER]: String(this.wireVersion) };
    const a = await this.#post("/api/v1/join", JSON.stringify({ token, node }), headers, JoinResponse, signal);
    return a.kind === "retry" && a.status === 409 ? { kind: "taken", message: a.message, error: a.error } : a;
  }

  /** `body` is the batch's JSON (as spooled, or rewritten into another version), or its compact body. */
  async ingest(body: string | CompactBody, credential: string, signal?: AbortSignal): Promise<IngestAnswer> {
    const auth = { authorization: `Bearer ${credential}` };
    const a = typeof body === "string"
      ? await this.#post("/api/v1/ingest", body, auth, BatchAck, signal)
      : await this.#post(
        "/api/v1/ingest",
        body.body as Uint8Array<ArrayBuffer>,
        { ...body.headers, ...auth },
        BatchAck,
        signal,
      );
    if (a.kind !== "retry" || !a.status) return a;
    if (a.status === UNSUPPORTED_MEDIA_TYPE) return { kind: "rejected", status: a.status, message: a.message };
    // the bodies below are JSON: they had an error
    if (a.status === UNSUPPORTED_WIRE_VERSION_STATUS && a.error === UNSUPPORTED_WIRE_VERSION) {
      const versions = WireVersions.safeParse(JSON.parse(a.body!));
      return versions.success ? { kind: "unsupported", message: a.message, versions: versions.data } : a;
    }
    if (a.status === UNKNOWN_PART_STATUS && a.error === UNKNOWN_PART) {
      const unknown = UnknownPartAnswer.safeParse(JSON.parse(a.body!));
      if (unknown.success) return { kind: "unknownPart", message: a.message, parts: unknown.data.parts };
    }
    return a;
  }

  /** The wire versions the control plane accepts (unauthenticated; a control plane older than the rule answers 404: retry). */
  wireVersions(signal?: AbortSignal): Promise<Answer<WireVersions>> {
    return this.#request("GET", WIRE_VERSIONS_PATH, undefined, {}, WireVersions, signal, this.timeoutMs) as Promise<
      Answer<WireVersions>
    >;
  }

  /**
   * The services to program: the state after version `after` (null: none
   * applied yet, answered at once), or null when it did not change within
   * `waitS` seconds (204). The request may take that long: its own timeout
   * is the wait plus this client's timeout.
   */
  lbState(
    credential: string,
    after: number | null,
    signal?: AbortSignal,
    waitS = LB_POLL_WAIT_S,
    module?: string,
  ): Promise<Answer<LbState | null>> {
    const query = new URLSearchParams({ ...(after === null ? {} : { after: String(after) }), wait: String(waitS) });
    return this.#request(
      "GET",
      `/api/v1/lb/state?${query}`,
      undefined,
      { authorization: `Bearer ${credential}`, ...(module ? { [LB_POLL_MODULE_HEADER]: module } : {}) },
      LbState,
      signal,
      waitS * 1000 + this.timeoutMs,
    );
  }

  #post<T>(
    path: string,
    body: string | Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
    schema: Schema<T>,
    signal?: AbortSignal,
  ): Promise<Answer<T>> {
    // only a GET is answered with null (204)
    return this.#request(
      "POST",
      path,
      body,
      { "content-type": "application/json", ...headers },
      schema,
      signal,
      this.timeoutMs,
    ) as Promise<Answer<T>>;
  }

  async #request<T>(
    method: "GET" | "POST",
    path: string,
    body: string | Uint8Array<ArrayBuffer> | undefined,
    headers: Record<string, string>,
    schema: Schema<T>,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<Answer<T | null>> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        ...this.fetchOptions,
        method,
        headers,
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      text = await res.text();
    } catch (e) {
      return {
        kind: "retry",
        message: `${path}: ${timeout.aborted ? `no answer within ${timeoutMs} ms` : failure(e)}`,
      };
    }
    const message = `${path} answered ${res.status}: ${text.slice(0, 500)}`;
    if (res.status === 204 && method === "GET") return { kind: "ok", value: null };
    if (res.status === 200) {
      let parsed: ReturnType<typeof schema.safeParse> | undefined;
      try {
        parsed = schema.safeParse(JSON.parse(text));
      } catch { /* not JSON */ }
      // an answer we cannot read is a control plane problem (version skew, proxy): retry later
      return parsed?.success
        ? { kind: "ok", value: parsed.data }
        : { kind: "retry", message: `${path} answered 200 with an unexpected body: ${text.slice(0, 500)}` };
    }
    if (res.status === 401 || res.status === 403) return { kind: "unauthorized", status: res.status, message };
    if (res.status === 400 || res.status === 413) return { kind: "rejected", status: res.status, message };
    if (res.status === 429) {
      return { kind: "retry", message, retryAfterMs: retryAfterMs(res.headers.get("retry-after")) ?? 1000 };
    }
    // 503 with Retry-After: the control plane is at capacity and sheds (control/ingest/admission.ts).
    const after = retryAfterMs(res.headers.get("retry-after"));
    return { kind: "retry", message, status: res.status, error: errorOf(text), retryAfterMs: after, body: text };
  }
}

/** The `error` of the control plane's JSON error shape, if the body is one. */
function errorOf(text: string): string | undefined {
  try {
    const error = JSON.parse(text)?.error;
    return typeof error === "string" ? error : undefined;
  } catch {
    return undefined;
  }
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const t = Date.parse(header);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/** A failed fetch's message and its causes ("fetch failed" alone would hide a refused certificate). */
function failure(e: unknown): string {
  const parts: string[] = [];
  for (let c = e, depth = 0; c instanceof Error && depth < 4; c = c.cause, depth++) parts.push(c.message);
  return parts.join(": ") || String(e);
}
