// SPDX-License-Identifier: Apache-2.0
/**
 * What the browser tests run against: a real control plane and a two-node
 * lab with one pod per node (n1-p1, n2-p1) and an agent per node, started
 * once all pods are listed; the Chromium sessions the tests open; and
 * failure messages that carry the processes' logs and what the browsers saw
 * go wrong.
 *
 *   const lab = new BrowserLab({ name: "brw", index: 12, port: 19_500 + (process.pid % 400) });
 *   beforeAll(() => lab.start(async () => { b = await lab.browser(); }), 90_000);  // anything more to set up: logs on failure too
 *   afterAll(() => lab.down(), 60_000);                                             // sessions, traffic, agents, control plane, lab
 *   it("…", lab.logged(async () => { … lab.c.get(…) … }));
 */
import { type BrowserSession, openBrowser } from "../browser/browser.ts";
import { Cluster, type ClusterOptions } from "../cluster.ts";
import { killRunning } from "../lab/traffic.ts";
import type { PodSpec } from "../lab/topology.ts";
import { waitFor } from "../procs.ts";

export class BrowserLab {
  #c: Cluster | undefined;
  readonly #sessions: BrowserSession[] = [];

  /** Nothing is made until start(): a test file builds its lab while vitest collects it. */
  constructor(private readonly o: Pick<ClusterOptions, "name" | "index" | "port" | "controlEnv">) {}

  /** The running system (after start()). */
  get c(): Cluster {
    if (this.#c === undefined) throw new Error(`lab ${this.o.name} is not started`);
    return this.#c;
  }

  /** n1-p1 (on the first node) and n2-p1 (on the second). */
  get pods(): [PodSpec, PodSpec] {
    return [this.c.node(0).pods[0], this.c.node(1).pods[0]];
  }

  /** Control plane, join token, an agent per node, both pods listed; then `more`. A failure says what the processes logged. */
  async start(more: () => Promise<void> = async () => {}): Promise<void> {
    const c = (this.#c = new Cluster({ ...this.o, nodes: 2, pods: 1 }));
    try {
      await c.startControl();
      await c.createJoinToken();
      for (const node of c.lab.topology.nodes) c.startAgent(node);
      await waitFor(
        "both pods listed",
        async () =>
          (await c.get<{ pods: { state: string }[] }>("/api/v1/pods")).pods.filter((p) => p.state === "current")
            .length === 2,
        60_000,
      );
      await more();
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${c.logs()}`);
    }
  }

  /** A Chromium session on the control plane, closed by down(). */
  async browser(): Promise<BrowserSession> {
    const session = await openBrowser(this.c.url);
    this.#sessions.push(session);
    return session;
  }

  /** A test body whose failure message carries what every session saw go wrong and the processes' logs. */
  logged(fn: () => Promise<void>): () => Promise<void> {
    return async () => {
      try {
        await fn();
      } catch (e) {
        if (e instanceof Error) {
          e.message += `\nbrowser problems: ${JSON.stringify(this.#sessions.flatMap((s) => s.problems()), null, 1)}\n${
            this.#c?.logs() ?? ""
          }`;
        }
        throw e;
      }
    };
  }

  async down(): Promise<void> {
    await Promise.allSettled(this.#sessions.map((s) => s.close()));
    killRunning();
    await this.#c?.down();
  }
}
