// SPDX-License-Identifier: Apache-2.0
/**
 * npm run demo: the control plane, a lab cluster with traffic and an agent per
 * node, joined with a join token made through the admin API. Ctrl-C stops the
 * agents (which detach everything), then the lab and the control plane.
 */
import { Cluster } from "./cluster.ts";
import { DEMO_SHAPE, startDemoService } from "./demo-service.ts";
import { startTraffic } from "./lab/lab.ts";

const PORT = Number(process.env.PORT ?? 8080);
const c = new Cluster({
  name: "demo",
  index: 0,
  nodes: Number(process.env.DEMO_NODES ?? DEMO_SHAPE.nodes),
  pods: Number(process.env.DEMO_PODS ?? DEMO_SHAPE.pods),
  port: PORT,
  interval: DEMO_SHAPE.interval,
  echo: true,
});
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log("\ndemo: stopping agents, lab and control plane ...");
  await c.down();
  console.log("demo: everything cleaned up");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

try {
  const inUse = await fetch(`http://127.0.0.1:${PORT}/`).then(() => true, () => false);
  if (inUse) throw new Error(`port ${PORT} is already in use; stop what runs there or set PORT=...`);
  await c.startControl();
  await c.createJoinToken();
  startTraffic(c.lab);
  for (const node of c.lab.topology.nodes) c.startAgent(node);
  await startDemoService(c);
  console.log(`\ndemo: dashboard at http://localhost:${PORT}/  (Ctrl-C to stop and clean up)`);
  console.log(
    `demo: admin token for this run: ${c.adminToken}  (log in at http://localhost:${PORT}/login to switch modules)\n`,
  );
  for (const p of [c.control!, ...c.agents.values()]) {
    p.child.on("exit", (code) => {
      if (!stopping) {
        console.error(`demo: ${p.name} exited (${code})`);
        void shutdown(1);
      }
    });
  }
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  await shutdown(1);
}
