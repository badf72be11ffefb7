// SPDX-License-Identifier: Apache-2.0
/**
 * Every command quoted in the documentation (README.md, CONTRIBUTING.md,
 * docs/*.md, k8s/README.md: scripts/docs/files.ts), as scripts/readme/parse.ts reads it:
 * either how it is run and what its answer must be, or why it cannot run on
 * a test machine. The runnable ones run in this order, as one session: set-up,
 * control plane, join token, lab, an agent on a lab node, then the API examples
 * against what that agent reported.
 */
import { existsSync } from "node:fs";
import { expect } from "vitest";
import { REPO, waitFor } from "../procs.ts";
import { labProcesses, readRecord } from "../lab/records.ts";
import { type Json, LAB, labObjects, type Session } from "./session.ts";

export interface Step {
  /** The command as the README has it (comments dropped, whitespace collapsed). */
  cmd: string;
  /** Why it is not run here. */
  skip?: string;
  /** Runs the command (placeholders already substituted) and checks what it did. */
  run?: (s: Session, cmd: string) => Promise<void>;
}

/** The README's `{…the whole …}` bodies: a changed copy of what was created, so the change shows in the answer. */
const WHOLE_THRESHOLD = {
  metric: "heartbeatAgeSeconds",
  scope: { kind: "all" },
  upper: 90,
  holdSeconds: 0,
  description: "agent silent for 90 s",
};
const WEB_HTTP = { namespace: "default", name: "web", portName: "http", vip: "10.96.0.10", port: 80 };
const WHOLE_SERVICE = {
  ...WEB_HTTP,
  protocol: "TCP",
  affinity: "none",
  backends: [{ ip: "10.244.1.5", port: 8080, weight: 1 }, { ip: "10.244.2.7", port: 8080, weight: 1 }],
};
const WHOLE_RULE = { kind: "pods", namespace: "ingress", selector: { app: "nginx", tier: "edge" } };

export const BODIES: Record<string, unknown> = {
  "'{…the whole threshold…}'": WHOLE_THRESHOLD,
  "'{…the whole service…}'": WHOLE_SERVICE,
  "'{…the whole rule…}'": WHOLE_RULE,
};

const K8S_SCRIPTS = "shellcheck-clean and their argument checks run in scripts/deploy/scripts.test.ts";

const SKIPPED: Step[] = [
  {
    cmd: "npm run demo",
    skip: "runs until Ctrl-C, on lab 'demo' at index 0 and port 8080, which a person's demo on this machine may " +
      "hold; its parts are the commands below and scripts/cluster.ts, which the e2e tests run",
  },
  { cmd: "npm test", skip: "the whole suite, this test included: it is what CI runs" },
  ...[
    `'{"name":"slack-net","url":"https://bridge.example/hooks/alertmanager","bearerToken":"…"}'`,
    `'{"name":"alertmanager","url":"http://alertmanager.monitoring:9093/api/v2/alerts","format":"alertmanager"}'`,
  ].map((body) => ({
    cmd: `curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" localhost:8080/api/v1/receivers -d ${body}`,
    skip: "docs/alerts.md's examples name a bridge and an Alertmanager that are not here; the same requests run " +
      "against real receivers in control/notify/notifications.process.test.ts and alertmanager.process.test.ts",
  })),
  {
    cmd: "kubectl apply -f k8s/alerts/prometheusrule.yaml",
    skip: "needs a Kubernetes cluster with the Prometheus Operator's CRDs; scripts/dashboards/files.test.ts checks " +
      "the PrometheusRule holds the rule file's groups, and scripts/deploy/prometheus.test.ts runs the rules",
  },
  ...[
    "bash k8s/scripts/build-images.sh --save /tmp/images",
    "bash k8s/scripts/build-images.sh --local-base --save /tmp/images",
  ].map((cmd) => ({
    cmd,
    skip: "minutes of image builds: npm run bench builds both with --local-base and runs them on a lab node " +
      `(scripts/deploy/images.bench.ts); ${K8S_SCRIPTS}`,
  })),
  {
    cmd: "bash k8s/scripts/cluster-init.sh",
    skip: `kubeadm cannot be installed here (no Kubernetes package repository), and it would make this machine a ` +
      `cluster node; ${K8S_SCRIPTS}`,
  },
  {
    cmd: 'bash k8s/scripts/cluster-join.sh "$(cat /root/ebpf-k8s-join.txt)"',
    skip: `needs kubeadm and the join command cluster-init.sh prints on another machine; ${K8S_SCRIPTS}`,
  },
  {
    cmd: "bash k8s/scripts/install.sh",
    skip: "needs a Kubernetes cluster kubectl can reach; the manifests are checked in scripts/deploy/manifests.test.ts",
  },
  {
    cmd: "bash k8s/scripts/install.sh --rotate-join-token",
    skip: "needs a Kubernetes cluster kubectl can reach; the rotation's commands (k8s/scripts/join-token.mjs) run " +
      `against a control plane in scripts/deploy/join-token-rotation.test.ts; ${K8S_SCRIPTS}`,
  },
  ...[
    "kubectl delete -k k8s/base",
    "kubectl apply -f k8s/cleanup/agent-uninstall.yaml",
    "kubectl rollout status -n kube-system daemonset/ebpf-k8s-agent-uninstall",
    "kubectl delete -f k8s/cleanup/agent-uninstall.yaml",
  ].map((cmd) => ({
    cmd,
    skip: "needs a Kubernetes cluster kubectl can reach; the cleanup DaemonSet is checked against the schema and " +
      "the agent's manifest in scripts/deploy/manifests.test.ts, and the uninstall it runs in agent/handover_test.ts",
  })),
  ...["systemctl disable --now ebpf-k8s-agent.service", "systemctl start ebpf-k8s-agent-uninstall.service"].map((
    cmd,
  ) => ({
    cmd,
    skip: "systemd is not PID 1 here; the units pass systemd-analyze verify and the uninstall unit's settings are " +
      "checked against the agent's in scripts/deploy/systemd.test.ts",
  })),
  {
    cmd: "npx vitest run scripts/e2e/browser.test.ts",
    skip: "a test file of npm test, which runs it: from here it would run twice at once on the same lab",
  },
  { cmd: "npx vitest run scripts/browser/", skip: "test files of npm test, which runs them" },
  {
    cmd: "bash scripts/ci-repeat.sh 5",
    skip: "runs CI itself, five times over (about 40 minutes): what a developer runs before landing, not a test",
  },
  {
    cmd: "npm run bench",
    skip: "minutes of timed measurements that need a quiet machine, while test files run in parallel; " +
      "its BENCH_* settings shorten each benchmark by hand",
  },
];

async function ok(s: Session, cmd: string): Promise<string> {
  const r = await s.sh(cmd, {}, 110_000);
  expect(r.code, `${cmd}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r.stdout + r.stderr;
}

/** A curl example: its status, and fields of its answer (toMatchObject); `then` takes values for later commands. */
const curl = (cmd: string, status: number, match?: Json, then?: (body: Json, s: Session) => void): Step => ({
  cmd,
  async run(s, c) {
    const r = await s.curl(c);
    expect(r.status, r.text).toBe(status);
    if (match !== undefined) expect(r.json).toMatchObject(match);
    then?.(r.json, s);
  },
});

const has = (o: Json) => expect.arrayContaining([expect.objectContaining(o)]);
const BEARER = `-H "authorization: Bearer $ADMIN"`;

const SESSION: Step[] = [
  { cmd: "npm run setup", run: async (s, c) => void await ok(s, c) },
  {
    cmd: "promtool check rules k8s/alerts/ebpf-k8s.rules.yaml",
    run: async (s, c) => void expect(await ok(s, c)).toMatch(/SUCCESS: \d+ rules found/),
  },
  {
    cmd: "npx tsx scripts/dashboards/build.ts --check",
    run: async (s, c) => void expect(await ok(s, c)).toBe(""),
  },
  {
    cmd: "export ADMIN=$(openssl rand -hex 24)",
    async run(s, c) {
      s.admin = (await ok(s, `${c}; printenv ADMIN`)).trim();
      expect(s.admin).toMatch(/^[0-9a-f]{48}$/);
    },
  },
  {
    cmd: "EBPF_K8S_ADMIN_TOKEN=$ADMIN npm run control",
    async run(s, c) {
      const control = s.background("control", c, {
        PORT: String(s.port),
        DATABASE_URL: `file:${s.dir}/db.sqlite`,
        EBPF_K8S_KUBE_SYNC: "off", // whatever this machine's environment says
      });
      await s.waitHealthy(control);
      expect(await (await fetch(`${s.url}/healthz`)).json()).toEqual({ ok: true });
      expect(control.output()).toContain("admin token: from EBPF_K8S_ADMIN_TOKEN");
    },
  },
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/join-tokens -d '{"ttlSeconds":86400}'`,
    201,
    { token: expect.stringMatching(/^ek8s_join_/) },
    (b, s) => s.set("--join-token TOKEN", `--join-token ${b.token}`),
  ),
  {
    cmd: "npx deno task agent --help",
    async run(s, c) {
      const help = await ok(s, c);
      // every flag the README gives the agent is one it has
      const flags = s.commands.filter((x) => x.startsWith("npx deno task agent --control"))
        .flatMap((x) => x.match(/--[a-z-]+/g) ?? []);
      expect(flags.length).toBeGreaterThan(0);
      for (const f of flags) expect(help).toContain(`${f} `);
    },
  },
  {
    cmd: "npm run lab -- up --nodes 2 --pods 3 --traffic",
    async run(s, c) {
      const out = await ok(s, `${c} --name ${LAB.name} --index ${LAB.index}`);
      const t = s.lab();
      expect(t.options).toMatchObject({ ...LAB, nodes: 2, podsPerNode: 3 });
      const netns = t.nodes.flatMap((n) => [n.netns, ...n.pods.map((p) => p.netns)]);
      for (const ns of netns) expect(out).toContain(ns);
      const pids = labProcesses(readRecord(LAB.name)!).map((p) => p.pid);
      expect(pids.length).toBeGreaterThan(0);
      expect(out).toContain(`traffic: ${pids.length} of ${pids.length} processes running`);
      expect(labObjects(LAB.name, pids)).toEqual(
        expect.arrayContaining([
          ...netns.map((n) => `netns ${n}`),
          ...[t.subnetBridge, ...t.nodes.map((n) => n.uplinkPeer)].map((l) => `link ${l}`),
          ...pids.map((p) => `process ${p}`),
        ]),
      );
      s.labPids = pids;
      s.set("http://CONTROL:8080", `http://${t.hostIp}:${s.port}`);
    },
  },
  {
    cmd: "npm run lab -- status",
    async run(s, c) {
      const out = await ok(s, `${c} --name ${LAB.name}`);
      expect(out).toContain(`lab '${LAB.name}' (index ${LAB.index}): 2 node(s), 3 pod(s) each`);
      expect(out).toContain(`pod n2-p3: netns ${s.lab().nodes[1].pods[2].netns}`);
    },
  },
  {
    // on the lab's node n1, in its netns: the README's command as it is, state and pins kept in temp dirs
    cmd: "npx deno task agent --control http://CONTROL:8080 --node NAME --join-token TOKEN --interfaces eth0,cni0 " +
      "--interval 10",
    async run(s, c) {
      const agent = s.background("agent", c, s.agentEnv(s.writePodsFile()), s.lab().nodes[0].netns);
      // the first batch has the pods; flows and TCP connections come with the traffic of the next ones
      const rows = async (path: string, key: string) => (await (await fetch(`${s.url}${path}`)).json())[key].length;
      await waitFor(
        "flows of pod default/web and TCP connections on n1 from the agent",
        async () =>
          await rows("/api/v1/flows?pod=default/web", "flows") > 0 &&
          await rows(`/api/v1/tcp?node=${s.node}`, "connections") > 0,
        60_000,
      ).catch((e) => {
        throw new Error(`${e.message}\n${agent.output()}`);
      });
    },
  },
  curl("curl -s localhost:8080/api/v1/openapi.json", 200, { openapi: "3.1.0", paths: { "/api/v1/nodes": {} } }),
  curl("curl -s localhost:8080/api/v1/nodes", 200, has({ name: "n1", status: "Ready" })),
  curl("curl -s localhost:8080/api/v1/nodes/n1", 200, { name: "n1", inventory: { btf: true } }),
  curl("curl -s localhost:8080/api/v1/nodes/n1/interfaces", 200, has({ ifname: "eth0" })),
  curl("curl -s 'localhost:8080/api/v1/nodes/n1/series?since=24h&ifname=eth0'", 200, {
    ifname: "eth0",
    points: has({ rxPackets: expect.any(Number) }),
  }),
  curl("curl -s localhost:8080/api/v1/nodes/n1/modules", 200, has({ name: "ifstats", state: "on" })),
  curl(`curl -s -X PUT ${BEARER} localhost:8080/api/v1/nodes/n1/modules/ifstats -d '{"enabled":false}'`, 200, {
    modules: { ifstats: false, flows: true },
  }),
  curl("curl -s 'localhost:8080/api/v1/pods?node=n1&namespace=default'", 200, { pods: has({ name: "web" }) }),
  curl("curl -s localhost:8080/api/v1/pods/default/web", 200, { namespace: "default", name: "web", node: "n1" }),
  curl("curl -s 'localhost:8080/api/v1/flows?pod=default/web&since=1h'", 200, {
    window: { level: "raw" },
    flows: expect.arrayContaining([expect.anything()]),
  }),
  // the second page of default's failing flows: nothing, or what the lab's traffic failed at; each with its verdict
  curl(
    "curl -s 'localhost:8080/api/v1/flows?namespace=default&failures=true&sort=last_seen&limit=20&offset=20'",
    200,
    { window: { level: "raw" }, total: expect.any(Number), flows: expect.any(Array) },
  ),
  {
    // Streams until Ctrl-C: here until its first flow record (the lab's traffic, reported every 10 s).
    cmd: "curl -sN 'localhost:8080/api/v1/flows/stream?namespace=default'",
    async run(s, c) {
      const line = await ok(s, `timeout 60 ${c} | grep -m1 '"type":"flow"'`);
      expect(JSON.parse(line.split("\n")[0]!)).toMatchObject({ type: "flow", seq: expect.any(Number), node: "n1" });
    },
  },
  curl("curl -s 'localhost:8080/api/v1/tcp?node=n1&since=15m'", 200, {
    connections: expect.arrayContaining([expect.anything()]),
  }),
  curl(
    "curl -s 'localhost:8080/api/v1/drops?since=2024-05-01T12:00:00Z&until=2024-05-01T13:00:00Z'",
    200,
    { window: { level: "1h" }, drops: [] },
  ),
  curl("curl -s 'localhost:8080/api/v1/servicemap?namespace=default&since=2h'", 200, {
    nodes: has({ label: "default/web", kind: "pod" }),
  }),
  curl("curl -s 'localhost:8080/api/v1/toptalkers?by=pods&since=1h'", 200, {
    by: "pods",
    talkers: has({ pod: expect.objectContaining({ label: "default/web" }) }),
  }),
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/thresholds -d '{"metric":"heartbeatAgeSeconds",` +
      `"scope":{"kind":"all"},"upper":60,"holdSeconds":0,"description":"agent silent"}'`,
    201,
    { metric: "heartbeatAgeSeconds", upper: 60 },
    (b, s) => s.set("/thresholds/ID", `/thresholds/${b.id}`),
  ),
  curl("curl -s localhost:8080/api/v1/thresholds", 200, has({ description: "agent silent" })),
  curl(`curl -s -X PUT ${BEARER} localhost:8080/api/v1/thresholds/ID -d '{…the whole threshold…}'`, 200, {
    upper: 90,
    description: WHOLE_THRESHOLD.description,
  }),
  curl(`curl -s -X DELETE ${BEARER} localhost:8080/api/v1/thresholds/ID`, 200, { upper: 90 }),
  curl("curl -s 'localhost:8080/api/v1/alerts?state=active&node=n1'", 200, []),
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/services -d '{"namespace":"default","name":"web",` +
      `"portName":"http","vip":"10.96.0.10","port":80,"protocol":"TCP", "affinity":"none","backends":[` +
      `{"ip":"10.244.1.5","port":8080,"weight":3},{"ip":"10.244.2.7","port":8080}]}'`,
    201,
    { backends: [{ ip: "10.244.1.5", expectedShare: 0.75 }, { ip: "10.244.2.7", expectedShare: 0.25 }] },
  ),
  curl("curl -s 'localhost:8080/api/v1/services?since=1h'", 200, {
    services: has({ name: "web", portName: "http", connections: 0 }),
    nodes: [],
  }),
  curl("curl -s localhost:8080/api/v1/services/default/web", 200, {
    services: [expect.objectContaining({ namespace: "default", name: "web", portName: "http" })],
  }),
  curl(`curl -s -X PUT ${BEARER} localhost:8080/api/v1/services/default/web/http -d '{…the whole service…}'`, 200, {
    backends: [{ expectedShare: 0.5 }, { expectedShare: 0.5 }],
  }),
  curl(
    `curl -s -X PATCH ${BEARER} localhost:8080/api/v1/services/default/web/http/backends/10.244.1.5:8080 ` +
      `-d '{"state":"terminating"}'`,
    200,
    { health: { active: 1, terminating: 1 } },
  ),
  curl(`curl -s -X DELETE ${BEARER} localhost:8080/api/v1/services/default/web/http`, 200, { portName: "http" }),
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/accel/rules -d '{"kind":"service","namespace":"default",` +
      `"name":"redis"}'`,
    201,
    { id: 1, kind: "service", name: "redis" },
  ),
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/accel/rules -d '{"kind":"pods","namespace":"ingress",` +
      `"selector":{"app":"nginx"}}'`,
    201,
    { id: 2, kind: "pods" },
  ),
  curl("curl -s 'localhost:8080/api/v1/accel/rules?since=1h'", 200, {
    rules: [{ rule: { id: 1 } }, { rule: { id: 2 } }],
  }),
  curl(`curl -s -X PUT ${BEARER} localhost:8080/api/v1/accel/rules/2 -d '{…the whole rule…}'`, 200, {
    id: 2,
    selector: WHOLE_RULE.selector,
  }),
  curl(`curl -s -X DELETE ${BEARER} localhost:8080/api/v1/accel/rules/2`, 200, { id: 2 }),
  curl(`curl -s -X PUT ${BEARER} localhost:8080/api/v1/nodes/n1/modules/accel -d '{"enabled":true}'`, 200, {
    modules: { accel: true },
  }),
  // docs/nodes.md: join tokens, module defaults, an override's reset and a node deleted (worker-3, pre-provisioned
  // here: n1 and its agent stay as they are for the steps after)
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/join-tokens -d '{"ttlSeconds":3600,"description":"three new workers"}'`,
    201,
    { token: expect.stringMatching(/^ek8s_join_/), expiresAt: expect.stringMatching(/^\d{4}-/) },
  ),
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/join-tokens -d '{"expires":"never","description":"kubernetes agents"}'`,
    201,
    { token: expect.stringMatching(/^ek8s_join_/), expiresAt: null },
  ),
  curl("curl -s localhost:8080/api/v1/module-defaults", 200, { modules: { ifstats: true, lb: false } }),
  curl(
    `curl -s -X PUT ${BEARER} localhost:8080/api/v1/module-defaults -d '{"modules":{"accel":false,"gateway":false}}'`,
    200,
    { modules: { accel: false, gateway: false }, set: ["accel", "gateway"] },
  ),
  {
    cmd: `curl -s -X DELETE ${BEARER} localhost:8080/api/v1/nodes/worker-3/modules/lb`,
    async run(s, c) {
      const pin = await fetch(`${s.url}/api/v1/nodes/worker-3/modules/lb`, {
        method: "PUT",
        headers: { authorization: `Bearer ${s.admin}` },
        body: JSON.stringify({ enabled: true }),
      });
      expect(pin.status).toBe(200);
      const r = await s.curl(c);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toMatchObject({ modules: { lb: false } });
    },
  },
  curl(`curl -s -X DELETE ${BEARER} localhost:8080/api/v1/nodes/worker-3`, 200, { node: "worker-3", deleted: true }),
  {
    // systemd is not PID 1 here: --root installs into a temp root and implies --no-start (no systemctl)
    cmd: "bash scripts/systemd/install.sh control",
    async run(s, c) {
      const out = await ok(s, `${c} --root ${s.dir}/root --prefix ${REPO.replace(/\/$/, "")} --no-copy`);
      expect(out).toContain("generated an admin token");
    },
  },
  {
    cmd: "bash scripts/systemd/install.sh agent --control http://CONTROL:8080 --join-token TOKEN --interfaces eth0",
    async run(s, c) {
      const out = await ok(s, `${c} --root ${s.dir}/root --prefix ${REPO.replace(/\/$/, "")} --no-copy`);
      expect(out).toContain("ebpf-k8s-agent.service");
    },
  },
  // an approval leaves the credential of the agent running on n1 live (the DELETE below still revokes one)
  curl(
    `curl -s -X POST ${BEARER} localhost:8080/api/v1/nodes/n1/rejoin -d '{"ttlSeconds":900}'`,
    200,
    { node: "n1", approvedUntil: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
  ),
  // last of the API examples: it takes the credential from the agent running on n1
  curl(`curl -s -X DELETE ${BEARER} localhost:8080/api/v1/nodes/n1/credentials`, 200, { node: "n1", revoked: 1 }),
  {
    // SIGTERM leaves the datapath for a successor; the uninstall command removes it, with the agent's environment
    cmd: "npx deno task agent uninstall --node NAME",
    async run(s, c) {
      for (const p of s.procs.filter((p) => p.name === "agent")) {
        await p.stop(); // SIGTERM (bash's code: null)
        // The wrapper (npx, deno task) can exit before the agent under it has pushed its last batch and let go of
        // its state directory's lock; uninstall rightly refuses while it holds it. Wait for the whole group.
        await waitFor("the stopped agent's processes to end", async () => !groupAlive(p.child.pid!), 15_000);
      }
      expect(existsSync(`${s.pinDir}/${s.node}`), "SIGTERM hands the pins over").toBe(true);
      const u = s.background("uninstall", c, s.agentEnv(s.writePodsFile()), s.lab().nodes[0].netns);
      const code = await new Promise<number | null>((r) => u.child.on("exit", r));
      expect(code, u.output()).toBe(0);
      expect(existsSync(`${s.pinDir}/${s.node}`), "no pins of the node left").toBe(false);
    },
  },
  {
    cmd: "npm run lab -- down",
    async run(s, c) {
      for (const p of s.procs.filter((p) => p.name === "agent")) await p.stop(); // the agent runs in the lab's n1
      const out = await ok(s, `${c} --name ${LAB.name}`);
      expect(out).toContain(`lab '${LAB.name}' removed`);
      expect(labObjects(LAB.name, s.labPids)).toEqual([]);
    },
  },
];

export const PLAN: Step[] = [...SKIPPED, ...SESSION];

/** Whether any process of the group `pgid` (a process started detached by scripts/procs.ts) is still running. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
