// SPDX-License-Identifier: Apache-2.0
/** Reading a streamed body in tests: whole lines (NDJSON) or events (SSE), with a deadline on each wait. */

/** Reads `body` as text, handing out what arrived; `until` waits for a predicate over everything read so far. */
export function bodyReader(body: ReadableStream<Uint8Array> | null) {
  if (body === null) throw new Error("no body");
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let ended = false;
  let newlines = 0;
  return {
    /** Complete lines read so far. */
    get lineCount() {
      return newlines;
    },
    get text() {
      return text;
    },
    get ended() {
      return ended;
    },
    /** Reads until `done(text)` holds or the stream ends; throws after `ms`. */
    async until(done: (text: string) => boolean, ms = 5_000): Promise<string> {
      const deadline = Date.now() + ms;
      while (!done(text) && !ended) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`stream: waited ${ms} ms; read so far:\n${text}`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`stream: waited ${ms} ms; read so far:\n${text}`)), left);
        });
        try {
          const { done: end, value } = await Promise.race([reader.read(), timeout]);
          if (end) ended = true;
          else {
            const more = decoder.decode(value, { stream: true });
            text += more;
            for (let i = more.indexOf("\n"); i !== -1; i = more.indexOf("\n", i + 1)) newlines++;
          }
        } finally {
          clearTimeout(timer);
        }
      }
      return text;
    },
    /** The first `n` complete NDJSON lines, parsed. */
    async lines(n: number, ms?: number): Promise<Array<Record<string, unknown>>> {
      await this.until(() => newlines >= n, ms);
      return text.split("\n").slice(0, n).map((l) => JSON.parse(l));
    },
    /** Whether more text arrives within `ms` (rows are queued before the ingest answers, so `ms` can be short). */
    async more(ms = 100): Promise<boolean> {
      const before = text.length;
      await this.until(() => text.length > before, ms).catch(() => {});
      return text.length > before;
    },
    cancel: () => reader.cancel(),
  };
}
export type BodyReader = ReturnType<typeof bodyReader>;
