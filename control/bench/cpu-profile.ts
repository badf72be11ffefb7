// SPDX-License-Identifier: Apache-2.0
/**
 * A CPU profile of the bench's control plane over the measured part of a scenario only (the joins before it and
 * the drain after it left out): BENCH_PROFILE_DIR=dir writes `dir/<scenario>.cpuprofile` (Chrome DevTools or
 * speedscope read it). Node only: Deno's node:inspector does not profile; there the variable is ignored, said once.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

type Post = (method: string, params?: object, done?: (err: Error | null, result?: { profile: object }) => void) => void;

/** Starts profiling when BENCH_PROFILE_DIR is set; the function returned stops it and writes the file. */
export async function startCpuProfile(name: string): Promise<() => void> {
  const dir = process.env.BENCH_PROFILE_DIR;
  if (!dir) return () => {};
  if ("Deno" in globalThis) {
    console.error("BENCH_PROFILE_DIR: ignored under Deno (node:inspector cannot profile there)");
    return () => {};
  }
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = session.post.bind(session) as Post;
  post("Profiler.enable");
  post("Profiler.start");
  return () =>
    post("Profiler.stop", {}, (err, result) => {
      if (err === null && result) writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(result.profile));
      session.disconnect();
    });
}
