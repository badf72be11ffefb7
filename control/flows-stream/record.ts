// SPDX-License-Identifier: Apache-2.0
/**
 * A streamed flow record and the lines that carry it: NDJSON (one JSON object
 * a line) or server-sent events. The JSON of a record is made once, however
 * many followers receive it.
 */
import type { StoredEndpoint } from "../monitoring/attribution.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import { protocolKeyword, tcpFlagList } from "../monitoring/names.ts";
import { endpointJson } from "../routes/monitoring-json.ts";

/** Why a follower was dropped (metrics label and the final line's reason). */
export const DROP_REASONS = ["slow_reader", "shutdown"] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** A committed batch as its streamed rows share it: its node, agent time and commit time, and their JSON once. */
export class StreamedBatch {
  /** The JSON members every row of the batch carries, made once per batch. */
  readonly members: string;
  constructor(
    readonly node: string,
    /** The batch's agent time (ms). */
    readonly ts: number,
    /** When this replica committed it (ms). */
    readonly storedAt: number,
  ) {
    const iso = (ms: number) => JSON.stringify(new Date(ms).toISOString());
    this.members = `"node":${JSON.stringify(node)},"ts":${iso(ts)},"storedAt":${iso(storedAt)}`;
  }
}

/** One flow row of a committed batch, numbered by the replica that stored it. */
export class StreamedFlow {
  #json: string | undefined;
  constructor(
    /** Per replica, strictly increasing over every row it published (filtered-out rows leave gaps). */
    readonly seq: number,
    readonly batch: StreamedBatch,
    readonly row: FlowRow,
  ) {}

  /**
   * `{ type: "flow", seq, node, ts, storedAt, source, destination, service, port, … }`: the flows API's Flow
   * (flowJson) but bytesPerSec, since a row is one batch's interval, whose length the control plane does not
   * know. Written out here rather than through flowJson and JSON.stringify: a follower of everything takes
   * every row of the cluster (20,000 a second at 1,000 nodes), and this is ~4× cheaper (record.test.ts holds
   * it equal to flowJson's).
   */
  get json(): string {
    if (this.#json !== undefined) return this.#json;
    const r = this.row;
    this.#json = `{"type":"flow","seq":${this.seq},${this.batch.members},"source":${endpointText(r.client)},` +
      `"destination":${endpointText(r.server)},"service":${
        r.service === undefined ? "null" : endpointText(r.service)
      },` +
      `"port":${r.port},"proto":${r.proto},"protocol":${JSON.stringify(protocolKeyword(r.proto))},` +
      `"forward":{"packets":${r.fwdPackets},"bytes":${r.fwdBytes}},` +
      `"reverse":{"packets":${r.revPackets},"bytes":${r.revBytes}},"tcpFlags":${flagsText(r.tcpFlags)}}`;
    return this.#json;
  }
}

/**
 * Endpoints' JSON, made once per endpoint object: rows share the directory's
 * pod and service objects, so a pod's text is made once per report of its
 * node (and let go with the object).
 */
const endpointTexts = new WeakMap<StoredEndpoint, string>();
function endpointText(e: StoredEndpoint): string {
  let text = endpointTexts.get(e);
  if (text === undefined) endpointTexts.set(e, text = JSON.stringify(endpointJson(e)));
  return text;
}

/** TCP flags' JSON per value (a byte, as the wire bounds them: at most 256 entries). */
const flagTexts = new Map<number, string>();
function flagsText(flags: number): string {
  let text = flagTexts.get(flags);
  if (text === undefined) flagTexts.set(flags, text = JSON.stringify(tcpFlagList(flags)));
  return text;
}

/** How a follower's connection carries records, keep-alives and the final line of a drop. */
export interface StreamFormat {
  contentType: string;
  record(r: StreamedFlow): string;
  /** `seq`: the replica's latest published sequence, so an idle follower knows where the stream is. */
  keepAlive(seq: number): string;
  /** `seq`: the last record handed to this follower's connection (0 for none). */
  dropped(reason: DropReason, seq: number): string;
}

const droppedJson = (reason: DropReason, seq: number) =>
  JSON.stringify({ type: "dropped", reason, seq, message: DROP_MESSAGES[reason] });

const DROP_MESSAGES: Record<DropReason, string> = {
  slow_reader: "this follower read too slowly and its queue of records reached EBPF_K8S_STREAM_MAX_QUEUED",
  shutdown: "this control-plane replica is shutting down; follow again (another replica)",
};

export const NDJSON: StreamFormat = {
  contentType: "application/x-ndjson",
  record: (r) => r.json + "\n",
  keepAlive: (seq) => JSON.stringify({ type: "keepalive", seq }) + "\n",
  dropped: (reason, seq) => droppedJson(reason, seq) + "\n",
};

/** One server-sent event; data of several lines is sent as several `data:` lines, as the format wants. */
export function sseEvent(event: string, data: string, id?: number): string {
  const lines = data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join("");
  return `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}${lines}\n`;
}

/** SSE whose `flow` events carry `data(record)`: the record's JSON, or (the live page) a table row's HTML. */
export function sseFormat(data: (r: StreamedFlow) => string = (r) => r.json): StreamFormat {
  return {
    contentType: "text/event-stream",
    record: (r) => sseEvent("flow", data(r), r.seq),
    // A comment: EventSource ignores it, proxies see bytes.
    keepAlive: (seq) => `: keepalive ${seq}\n\n`,
    dropped: (reason, seq) => sseEvent("dropped", droppedJson(reason, seq)),
  };
}

export const SSE = sseFormat();
