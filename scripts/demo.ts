/**
 * npm run demo: control plane + a two-node lab with traffic + an agent per
 * node. Ctrl-C stops the agents (which detach everything), the lab and the
 * control plane.
 */
import { labUp, startTraffic } from "./lab/lab.ts";
import { agentArgv, controlArgv, type Proc, start, waitFor } from "./procs.ts";

const PORT = Number(process.env.PORT ?? 8080);
const NODES = Number(process.env.DEMO_NODES ?? 2);
const PODS = Number(process.env.DEMO_PODS ?? 3);

const procs: Proc[] = [];
let stopping = false;

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  console.log("\ndemo: stopping agents, lab and control plane ...");
  const agents = procs.filter((p) => p.name.startsWith("agent"));
  await Promise.all(agents.map((p) => p.stop()));
  lab?.down();
  await Promise.all(procs.filter((p) => !agents.includes(p)).map((p) => p.stop()));
  console.log("demo: everything cleaned up");
  process.exit(code);
}
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

let lab: ReturnType<typeof labUp> | undefined;
try {
  const inUse = await fetch(`http://127.0.0.1:${PORT}/`).then(() => true, () => false);
  if (inUse) throw new Error(`port ${PORT} is already in use; stop what runs there or set PORT=...`);
  const control = start("control", controlArgv(), { PORT: String(PORT), HOST: "0.0.0.0", DATABASE_URL: "file:data/demo.db" }, true);
  procs.push(control);
  await waitFor("the control plane", async () => (await fetch(`http://127.0.0.1:${PORT}/healthz`)).ok);

  lab = labUp({ name: "demo", index: 0, nodes: NODES, podsPerNode: PODS });
  startTraffic(lab);
  for (const node of lab.topology.nodes) {
    const interfaces = ["eth0", "cni0", ...node.pods.map((p) => p.hostVeth)];
    const control = `http://${lab.topology.hostIp}:${PORT}`;
    procs.push(start(`agent ${node.name}`, agentArgv({ netns: node.netns, control, node: node.name, interfaces, interval: 2 }), {}, true));
  }
  console.log(`\ndemo: dashboard at http://localhost:${PORT}/  (Ctrl-C to stop and clean up)\n`);
  for (const p of procs) p.child.on("exit", (code) => { if (!stopping) { console.error(`demo: ${p.name} exited (${code})`); void shutdown(1); } });
} catch (e) {
  console.error(`demo: ${(e as Error).message}`);
  await shutdown(1);
}
