// SPDX-License-Identifier: Apache-2.0
/**
 * Real applications in the accel lab (accel_lab.ts): Nginx as an upstream
 * serving files and as a reverse proxy in front of it, Redis, and their
 * clients (curl, wrk, redis-benchmark, redis-cli), each in a lab namespace
 * and the lab's cgroup, with its files in the lab's temp directory. Used by
 * the tests (apps_test.ts) and the bench (agent/bench/accel.ts).
 */
import { run } from "../../testing/run.ts";
import type { AccelLab } from "./accel_lab.ts";
import { CLIENT_IP, SERVER_IP } from "./accel_lab.ts";

export const UPSTREAM_PORT = 8081;
export const PROXY_PORT = 8080;
export const REDIS_PORT = 6379;

function nginxConf(dir: string, body: string): string {
  return `worker_processes 1;
daemon off;
master_process on;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
${body}
}
`;
}

export interface Files {
  /** name -> sha256 hex */
  sums: Map<string, string>;
}

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * Starts the upstream Nginx in the server pod serving random files of the
 * given sizes (name -> bytes; its log counts bytes both ways per
 * connection), and the proxy Nginx in the client pod in front of it
 * (keep-alive to the upstream). Resolves once both answer.
 */
export async function startNginx(
  lab: AccelLab,
  files: Record<string, number>,
  options: { upstreamInCgroup?: boolean } = {},
): Promise<Files> {
  const base = `${lab.tmp()}/nginx-${crypto.randomUUID().slice(0, 8)}`;
  const sums = new Map<string, string>();
  for (const dir of ["up/www", "up/body", "up/proxy", "px/body", "px/proxy"]) {
    await Deno.mkdir(`${base}/${dir}`, { recursive: true });
  }
  for (const [name, size] of Object.entries(files)) {
    const data = new Uint8Array(size);
    for (let o = 0; o < size; o += 65536) crypto.getRandomValues(data.subarray(o, Math.min(size, o + 65536)));
    await Deno.writeFile(`${base}/up/www/${name}`, data);
    sums.set(name, await sha256(data));
  }
  await Deno.writeTextFile(
    `${base}/up/nginx.conf`,
    nginxConf(
      `${base}/up`,
      `
  log_format acc '$connection $request_length $bytes_sent';
  server {
    listen ${SERVER_IP}:${UPSTREAM_PORT} backlog=4096;
    access_log ${base}/up/access.log acc;
    root ${base}/up/www;
    sendfile off;
  }`,
    ),
  );
  await Deno.writeTextFile(
    `${base}/px/nginx.conf`,
    nginxConf(
      `${base}/px`,
      `
  upstream up { server ${SERVER_IP}:${UPSTREAM_PORT}; keepalive 64; keepalive_timeout 1s; }
  server {
    listen ${CLIENT_IP}:${PROXY_PORT} backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 20s;
    }
  }`,
    ),
  );
  lab.spawn("b", ["nginx", "-c", `${base}/up/nginx.conf`, "-p", `${base}/up`], {
    stdout: "null",
    inCgroup: options.upstreamInCgroup ?? true,
  });
  lab.spawn("a", ["nginx", "-c", `${base}/px/nginx.conf`, "-p", `${base}/px`], { stdout: "null" });
  await waitListening(lab, "b", UPSTREAM_PORT);
  await waitListening(lab, "a", PROXY_PORT);
  upstreamLogs.set(lab, `${base}/up/access.log`);
  return { sums };
}

const upstreamLogs = new WeakMap<AccelLab, string>();

/** What the upstream Nginx logged: distinct connections, and bytes both ways (request lengths + bytes sent). */
export async function upstreamTraffic(
  lab: AccelLab,
): Promise<{ connections: number; bytes: number; requests: number }> {
  const text = await Deno.readTextFile(upstreamLogs.get(lab)!).catch(() => "");
  const conns = new Set<string>();
  let bytes = 0, requests = 0;
  for (const line of text.split("\n")) {
    const [c, req, sent] = line.split(" ");
    if (!sent) continue;
    conns.add(c);
    bytes += Number(req) + Number(sent);
    requests++;
  }
  return { connections: conns.size, bytes, requests };
}

async function waitListening(lab: AccelLab, side: "a" | "b", port: number): Promise<void> {
  const ns = side === "a" ? lab.lab.net.nsA : lab.lab.net.nsB;
  const end = Date.now() + 10_000;
  for (;;) {
    const out = (await run(["ip", "netns", "exec", ns, "ss", "-Hltn", `sport = :${port}`])).stdout;
    if (out.trim()) return;
    if (Date.now() > end) throw new Error(`nothing listens on port ${port} in ${ns} after 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** GETs a file through the proxy with curl (in the client pod, at most `maxSeconds`); its sha256, or the failure. */
export async function fetchSum(
  lab: AccelLab,
  name: string,
  maxSeconds: number,
  inCgroup = true,
): Promise<{ sum: string | null; bytes: number; error?: string }> {
  const file = `${lab.tmp()}/got-${crypto.randomUUID()}`;
  const child = lab.spawn("a", [
    "curl",
    "-s",
    "-S",
    "--max-time",
    String(maxSeconds),
    "-o",
    file,
    "-w",
    "%{http_code} %{size_download}",
    `http://${CLIENT_IP}:${PROXY_PORT}/${name}`,
  ], { inCgroup });
  const out = await child.output();
  const [code, size] = new TextDecoder().decode(out.stdout).split(" ");
  try {
    if (out.code !== 0 || code !== "200") {
      return {
        sum: null,
        bytes: Number(size ?? 0),
        error: `curl exit ${out.code}, HTTP ${code}: ${new TextDecoder().decode(out.stderr).trim()}`,
      };
    }
    return { sum: await sha256(await Deno.readFile(file)), bytes: Number(size) };
  } finally {
    await Deno.remove(file).catch(() => {});
  }
}

export interface WrkResult {
  requests: number;
  rps: number;
  /** socket errors (connect, read, write, timeout) and non-2xx answers */
  errors: number;
  raw: string;
}

/** wrk with keep-alive (HTTP/1.1) against the proxy from the client pod. */
export async function wrk(
  lab: AccelLab,
  path: string,
  seconds: number,
  connections = 16,
  threads = 2,
): Promise<WrkResult> {
  const child = lab.spawn("a", [
    "wrk",
    "-t",
    String(threads),
    "-c",
    String(connections),
    "-d",
    `${seconds}s`,
    "--timeout",
    "10s",
    `http://${CLIENT_IP}:${PROXY_PORT}${path}`,
  ]);
  const out = await child.output();
  const raw = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`wrk failed: ${raw} ${new TextDecoder().decode(out.stderr)}`);
  const requests = Number(/(\d+) requests in/.exec(raw)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(raw)?.[1] ?? NaN);
  let errors = 0;
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  if (sock) errors += sock.slice(1).map(Number).reduce((a, b) => a + b, 0);
  errors += Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0);
  return { requests, rps, errors, raw };
}

/** Starts redis-server in the server pod (no persistence); resolves once it answers PING. */
export async function startRedis(lab: AccelLab): Promise<void> {
  const dir = `${lab.tmp()}/redis`;
  await Deno.mkdir(dir, { recursive: true });
  lab.spawn("b", [
    "redis-server",
    "--bind",
    SERVER_IP,
    "--port",
    String(REDIS_PORT),
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--protected-mode",
    "no",
    "--loglevel",
    "warning",
  ], { stdout: "null" });
  await waitListening(lab, "b", REDIS_PORT);
}

export interface RedisBench {
  /** per test name: requests per second, mean and p50 latency (ms) */
  tests: Map<string, { rps: number; avg: number; p50: number }>;
}

/** redis-benchmark from the client pod (CSV output); `dataSize`: bytes of a SET value (-d, redis-benchmark's default 3). */
export async function redisBenchmark(
  lab: AccelLab,
  requests: number,
  tests = "set,get",
  clients = 50,
  pipeline = 1,
  dataSize = 3,
): Promise<RedisBench> {
  const child = lab.spawn("a", [
    "redis-benchmark",
    "-h",
    SERVER_IP,
    "-p",
    String(REDIS_PORT),
    "-n",
    String(requests),
    "-c",
    String(clients),
    "-P",
    String(pipeline),
    "-d",
    String(dataSize),
    "-t",
    tests,
    "--csv",
    "-q",
  ]);
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`redis-benchmark failed: ${text} ${new TextDecoder().decode(out.stderr)}`);
  const tests_ = new Map<string, { rps: number; avg: number; p50: number }>();
  for (const line of text.split("\n").slice(1)) {
    const f = line.split(",").map((x) => x.replace(/"/g, ""));
    if (f.length < 5) continue;
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...
    tests_.set(f[0], { rps: Number(f[1]), avg: Number(f[2]), p50: Number(f[4]) });
  }
  return { tests: tests_ };
}

/** Runs redis-cli in the client pod with `args` and stdin `input`; its stdout. */
export async function redisCli(lab: AccelLab, args: string[], input?: Uint8Array): Promise<Uint8Array> {
  const ns = lab.lab.net.nsA;
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `echo $$ > ${lab.cgroup}/cgroup.procs && exec ip netns exec ${ns} redis-cli -h ${SERVER_IP} -p ${REDIS_PORT} "$@"`,
      "sh",
      ...args,
    ],
    stdin: input ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(input);
    await w.close();
  }
  const out = await child.output();
  if (out.code !== 0) throw new Error(`redis-cli ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  return out.stdout;
}
