// SPDX-License-Identifier: Apache-2.0
/**
 * The flow stream bench's followers (flow-stream.ts), a process of their own: each follows
 * GET /api/v1/flows/stream with its filter, reads every NDJSON line and takes each record's lag, the time from
 * the batch's commit (the record's storedAt, the control plane's clock, the same machine's) to this read.
 *
 * Protocol (IPC): receives one FollowersJob, answers { following } once every follower has its answer's headers;
 * on { stop } ends them and sends one FollowersResult; exits.
 */
import { quantile } from "./ingest-result.ts";

export interface FollowersJob {
  url: string;
  /** One query string per follower ("node=…", "" for none). */
  queries: string[];
}

export interface FollowersResult {
  records: number;
  keepAlives: number;
  /** Followers dropped by the control plane (a final "dropped" line), refused (not 200), failed (an error). */
  dropped: number;
  refused: number;
  errors: string[];
  lagMs: { p50: number; p99: number; max: number };
  /** Records read per follower, fewest and most. */
  perFollower: { min: number; max: number };
}

const FLOW = '{"type":"flow"';
const KEEPALIVE = '{"type":"keepalive"';
const DROPPED = '{"type":"dropped"';
const STORED_AT = '"storedAt":"';

async function follow(job: FollowersJob) {
  const abort = new AbortController();
  const counts = job.queries.map(() => 0);
  const lags: number[] = [];
  const r = { keepAlives: 0, dropped: 0, refused: 0, errors: [] as string[] };
  const responses = await Promise.all(
    job.queries.map((q) => fetch(`${job.url}/api/v1/flows/stream${q ? `?${q}` : ""}`, { signal: abort.signal })),
  );
  const reading = responses.map(async (res, i) => {
    if (res.status !== 200) {
      r.refused++;
      return;
    }
    const decoder = new TextDecoder();
    let rest = "";
    try {
      for await (const chunk of res.body!) {
        const now = Date.now();
        const lines = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = lines.pop()!;
        // Not parsed whole: these followers share the control plane's cores, and reading a line costs what the
        // record's type and commit time take to find (the stream's tests check the records themselves).
        for (const line of lines) {
          if (line.startsWith(FLOW)) {
            counts[i]!++;
            const at = line.indexOf(STORED_AT) + STORED_AT.length;
            lags.push(now - Date.parse(line.slice(at, line.indexOf('"', at))));
          } else if (line.startsWith(KEEPALIVE)) r.keepAlives++;
          else if (line.startsWith(DROPPED)) r.dropped++;
        }
      }
    } catch (e) {
      if (!abort.signal.aborted) r.errors.push(String(e));
    }
  });
  return {
    stop: async (): Promise<FollowersResult> => {
      abort.abort();
      await Promise.all(reading);
      return {
        records: counts.reduce((a, b) => a + b, 0),
        ...r,
        lagMs: { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: quantile(lags, 1) },
        perFollower: { min: Math.min(...counts), max: Math.max(...counts) },
      };
    },
  };
}

process.once("message", async (job: FollowersJob) => {
  try {
    const following = await follow(job);
    process.send!({ following: true });
    process.once("message", async () => {
      process.send!(await following.stop(), () => process.exit(0));
    });
  } catch (e) {
    process.send!({ fatal: String(e) }, () => process.exit(1));
  }
});
