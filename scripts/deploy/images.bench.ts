// SPDX-License-Identifier: Apache-2.0
/**
 * The images built and run here (npm run bench: the builds take minutes). Builds both with
 * k8s/scripts/build-images.sh --local-base (no registry is reachable: the bases come from this
 * machine's Debian packages), reports their sizes, checks what is in them, runs the control image
 * and reaches /healthz and a page, runs the agent image on a lab node (its network namespace) with
 * the capabilities and read-only root of the DaemonSet, and counts exactly the pings it sent.
 * Exits non-zero when a check fails. Everything it makes has its own names (ebpf-k8s-imgbench-*,
 * lab "imgb") and is removed at the end, also after a failure; it builds without a layer cache, so the
 * store keeps only the two base images, for the next run.
 *
 *   tsx scripts/deploy/images.bench.ts
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { parse } from "yaml";
import { type ApiIf, ping } from "../cluster.ts";
import { labDown, labUp } from "../lab/lab.ts";
import { REPO, waitFor } from "../procs.ts";

const NAME = "localhost/ebpf-k8s-imgbench";
const AGENT = `${NAME}/agent:0.2.0`;
const CONTROL = `${NAME}/control:0.1.0`;
const CONTAINER = { control: "ebpf-k8s-imgbench-control", agent: "ebpf-k8s-imgbench-agent" };
const LAB = { name: "imgb", index: 4 };
const PORT = 21_500 + (process.pid % 400);
const ADMIN = "imgbench-admin-token-0123456789abcdef";
const PIN_DIR = "/sys/fs/bpf/ebpf-k8s-imgbench";
const N = 20; // pings, pod 1 to pod 2
const SIZE = 200;
// podman here: runc, and limits it need not raise (crun refuses this machine's hybrid cgroup layout).
const RUN = ["run", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

const podman = (...args: string[]) => execFileSync("podman", args, { encoding: "utf8", stdio: "pipe" }).trim();
const quiet = (...args: string[]) => spawnSync("podman", args, { stdio: "ignore" });
let failures = 0;
function check(what: string, ok: boolean, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${detail ? `: ${detail}` : ""}`);
  if (!ok) failures++;
}

/** The agent container's confinement as the DaemonSet declares it (one source: the manifest). */
function daemonSetSecurity(): { add: string[]; drop: string[]; readOnly: boolean } {
  const ds = parse(readFileSync(`${REPO}k8s/base/agent-daemonset.yaml`, "utf8"));
  const sc = ds.spec.template.spec.containers[0].securityContext;
  return { add: sc.capabilities.add, drop: sc.capabilities.drop, readOnly: sc.readOnlyRootFilesystem === true };
}

function build() {
  // The CA certificates this machine's own Node trusts (a proxy's, here) reach npm in the builds as a secret.
  const ca = process.env.NODE_EXTRA_CA_CERTS ? ["--ca-file", process.env.NODE_EXTRA_CA_CERTS] : [];
  // No layer cache: each run adds nothing to the store but its two images, which it removes.
  const args = ["--local-base", "--no-layer-cache", ...ca, "--name", NAME];
  execFileSync("bash", [`${REPO}k8s/scripts/build-images.sh`, ...args], {
    stdio: "inherit",
  });
  for (const image of [AGENT, CONTROL]) {
    const bytes = Number(podman("image", "inspect", "--format", "{{.Size}}", image));
    console.log(`size ${image}: ${(bytes / 1e6).toFixed(0)} MB`);
  }
}

/** Paths in an image that must be there, and that must not. */
function contents() {
  const exists = (image: string, path: string) =>
    spawnSync("podman", [...RUN, "--rm", "--network=none", "--entrypoint", "test", image, "-e", path]).status === 0;
  for (
    const p of ["node_modules/tsx", "node_modules/typescript", "node_modules/deno", "node_modules/vitest", "agent"]
  ) {
    check(`control image has no ${p}`, !exists(CONTROL, `/opt/ebpf-k8s/${p}`));
  }
  check("control image has no .ts of control/", !exists(CONTROL, "/opt/ebpf-k8s/control/main.ts"));
  check("control image has control/main.js", exists(CONTROL, "/opt/ebpf-k8s/control/main.js"));
  for (const p of ["control/app.ts", "control/routes", "web", "node_modules/hono", "node_modules/drizzle-orm"]) {
    check(`agent image has no ${p}`, !exists(AGENT, `/opt/ebpf-k8s/${p}`));
  }
  for (const p of ["control/wire", "build/bpf/ifstats.bpf.o", "node_modules/zod"]) {
    check(`agent image has ${p}`, exists(AGENT, `/opt/ebpf-k8s/${p}`));
  }
  check("agent image has no clang", !exists(AGENT, "/usr/bin/clang"));
}

async function run(dirs: string[]) {
  const lab = labUp({ name: LAB.name, index: LAB.index, nodes: 1, podsPerNode: 2 });
  const node = lab.topology.nodes[0];
  const [p1, p2] = node.pods;
  const url = `http://${lab.topology.hostIp}:${PORT}`;

  // The control plane as the Deployment runs it: uid 1000, read-only root, /data and /tmp mounted.
  const data = mkdtempSync(`${tmpdir()}/ebpf-k8s-imgbench-data-`);
  dirs.push(data);
  chownSync(data, 1000, 1000);
  podman(
    ...RUN,
    "-d",
    "--name",
    CONTAINER.control,
    "--network=host",
    "--read-only",
    "--tmpfs",
    "/tmp",
    "-v",
    `${data}:/data`,
    "-e",
    `PORT=${PORT}`,
    "-e",
    `HOST=${lab.topology.hostIp}`,
    "-e",
    `EBPF_K8S_ADMIN_TOKEN=${ADMIN}`,
    CONTROL,
  );
  await waitFor("the control container's /healthz", async () => (await fetch(`${url}/healthz`)).ok, 60_000);
  check("control container answers /healthz", true);
  const page = await fetch(`${url}/`);
  check(
    "control container serves the overview page",
    page.status === 200 && /text\/html/.test(page.headers.get("content-type") ?? ""),
    `${page.status}`,
  );
  const stylesheet = (await page.text()).match(/href="(\/[^"]+\.css)"/)?.[1] ?? "/no-stylesheet-linked.css";
  const asset = await fetch(`${url}${stylesheet}`);
  check("control container serves the page's stylesheet", asset.status === 200, `${asset.status}`);
  const tokenRes = await fetch(`${url}/api/v1/join-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ ttlSeconds: 600 }),
  });
  const joinToken = ((await tokenRes.json()) as { token: string }).token;

  // The agent in the lab node's network namespace, with the DaemonSet's capabilities and read-only root.
  const state = mkdtempSync(`${tmpdir()}/ebpf-k8s-imgbench-state-`);
  dirs.push(state);
  const sec = daemonSetSecurity();
  const agentOpts = [
    `--network=ns:/run/netns/${node.netns}`,
    ...sec.drop.map((c) => `--cap-drop=${c}`),
    ...sec.add.map((c) => `--cap-add=${c}`),
    ...(sec.readOnly ? ["--read-only"] : []),
    "-v",
    "/sys/fs/bpf:/sys/fs/bpf",
    "-v",
    "/sys/kernel/tracing:/sys/kernel/tracing",
    "-v",
    `${state}:/var/lib/ebpf-k8s`,
    "-e",
    `EBPF_K8S_CONTROL=${url}`,
    "-e",
    `EBPF_K8S_NODE=${LAB.name}-${node.name}`,
    "-e",
    `EBPF_K8S_INTERFACES=cni0,${p1.hostVeth},${p2.hostVeth}`,
    "-e",
    "EBPF_K8S_INTERVAL=0.5",
    "-e",
    "EBPF_K8S_STATE_DIR=/var/lib/ebpf-k8s/state",
    "-e",
    `EBPF_K8S_BPF_PIN_DIR=${PIN_DIR}`,
  ];
  podman(...RUN, "-d", "--name", CONTAINER.agent, ...agentOpts, "-e", `EBPF_K8S_JOIN_TOKEN=${joinToken}`, AGENT);
  const ifs = async () =>
    Object.fromEntries(
      ((await (await fetch(`${url}/api/v1/nodes/${LAB.name}-${node.name}/interfaces`)).json()) as ApiIf[]).map((
        i,
      ) => [i.ifname, i]),
    );
  try {
    await waitFor(
      "the agent container's first batch",
      async () => (await ifs().catch(() => ({}) as Record<string, ApiIf>))[p1.hostVeth],
      90_000,
    );
  } catch (e) {
    console.log(podman("logs", CONTAINER.agent));
    throw e;
  }
  check("the agent container's batches arrive", true);
  const frame = ping(p1, p2.ip, N, SIZE);
  const got = await waitFor("the pings' counts", async () => {
    const m = (await ifs())[p1.hostVeth];
    return m.rxPackets >= N && m.txPackets >= N ? m : null;
  }, 30_000).catch(() => null);
  check(
    `exactly ${N} pings each way on ${p1.hostVeth}, as counted in the container`,
    got?.rxPackets === N && got.txPackets === N && got.rxBytes === N * frame && got.txBytes === N * frame,
    JSON.stringify(got && { rx: got.rxPackets, tx: got.txPackets, rxBytes: got.rxBytes, txBytes: got.txBytes }),
  );

  // SIGTERM leaves the datapath attached by design; the image's uninstall removes it.
  podman("stop", "--time", "20", CONTAINER.agent);
  const un = spawnSync("podman", [...RUN, "--rm", ...agentOpts, AGENT, "uninstall"], { encoding: "utf8" });
  check(
    "the agent image's uninstall removes what the agent left",
    un.status === 0,
    (un.stdout + un.stderr).trim().slice(-300),
  );
}

function cleanUp(dirs: string[]) {
  for (const c of Object.values(CONTAINER)) quiet("rm", "--force", "--time", "5", c);
  labDown(LAB.name);
  rmSync(PIN_DIR, { recursive: true, force: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const image of [AGENT, CONTROL]) quiet("rmi", "--force", image);
}

const dirs: string[] = [];
try {
  cleanUp(dirs); // what a crashed earlier run left
  build();
  contents();
  await run(dirs);
} catch (e) {
  check("build and run", false, (e as Error).message);
} finally {
  cleanUp(dirs);
}
console.log(failures ? `images: ${failures} check(s) failed` : "images: every check passed");
process.exitCode = failures ? 1 : 0;
