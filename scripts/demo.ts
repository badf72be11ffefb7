// SPDX-License-Identifier: Apache-2.0
/**
 * npm run demo: the control plane, a lab cluster with traffic and an agent per
 * node, joined with a join token made through the admin API. Ctrl-C stops the
 * agents (which detach everything), then the lab and the control plane.
 */
import { Cluster } from "./cluster.ts";
import { startTraffic } from "./lab/lab.ts";

const LBPROBE = `${process.cwd()}/build/tools/lbprobe`;
const DEMO_VIP = "10.96.0.10";

const PORT = Number(process.env.PORT ?? 8080);
const c = new Cluster({
  name: "demo",
  index: 0,
  nodes: Number(process.env.DEMO_NODES ?? 2),
  pods: Number(process.env.DEMO_PODS ?? 3),
  port: PORT,
  interval: 2,
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

/**
 * Something for the Services page: every pod but the first serves TCP on
 * 8080 (lbprobe answers with its name), the service demo/echo puts them
 * behind ${DEMO_VIP}:80, the lb module runs on every node, and the first pod
 * dials the VIP twenty times a second.
 */
async function demoService(): Promise<void> {
  const [client, ...backends] = c.lab.topology.nodes.flatMap((n) => n.pods);
  for (const b of backends) {
    c.lab.spawnIn(b.netns, [LBPROBE, "serve-tcp", "8080", b.name], `demo backend ${b.name}`, b.cgroup);
  }
  for (const node of c.lab.topology.nodes) {
    await c.admin("PUT", `/api/v1/nodes/${c.nodeName(node)}/modules/lb`, { enabled: true });
  }
  const res = await c.admin("POST", "/api/v1/services", {
    namespace: "demo",
    name: "echo",
    vip: DEMO_VIP,
    port: 80,
    protocol: "TCP",
    backends: backends.map((b) => ({ ip: b.ip, port: 8080, pod: { namespace: "lab", name: b.name } })),
  });
  if (res.status !== 201) throw new Error(`creating the demo service: ${res.status} ${await res.text()}`);
  c.lab.spawnIn(
    client.netns,
    ["sh", "-c", `while :; do ${LBPROBE} tcp ${DEMO_VIP} 80 20 >/dev/null; sleep 1; done`],
    `demo client ${client.name}`,
    client.cgroup,
  );
}

try {
  const inUse = await fetch(`http://127.0.0.1:${PORT}/`).then(() => true, () => false);
  if (inUse) throw new Error(`port ${PORT} is already in use; stop what runs there or set PORT=...`);
  await c.startControl();
  await c.createJoinToken();
  startTraffic(c.lab);
  for (const node of c.lab.topology.nodes) c.startAgent(node);
  await demoService();
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
