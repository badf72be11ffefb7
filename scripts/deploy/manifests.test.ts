// SPDX-License-Identifier: Apache-2.0
/**
 * k8s/: every manifest (base and overlay, as kustomize builds them) validated
 * against the Kubernetes OpenAPI schema of the version the cluster scripts
 * install (k8s/scripts/node-prep.sh's K8S_VERSION, 1.33), not a newer one: the
 * npm package kubernetes-models 4.5, generated from Kubernetes v1.33.0, under
 * the alias kubernetes-models-1.33 (offline: the schema ships in the package)
 * (types, required fields, enums, formats) and type-checked against its
 * TypeScript types (an unknown or misspelt field fails, as `kubectl apply
 * --validate=strict` would); and every env var, port, path, secret, service
 * account and API permission they use exists in the code that reads it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { DaemonSet } from "kubernetes-models-1.33/apps/v1/DaemonSet";
import { Service } from "kubernetes-models-1.33/v1/Service";
import ts from "typescript";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { appSettings, Config as ControlConfig, parseConfig as parseControlConfig } from "../../control/config.ts";
import { sha256Hex } from "../../control/auth/secrets.ts";
import { openTestDb } from "../../control/test-support.ts";
import { createApp } from "../../control/app.ts";
import { READY_TIMEOUT_MS } from "../../control/routes/health.ts";
import { parseConfig as parseAgentConfig, USAGE } from "../../agent/config.ts";
import { REPO } from "../procs.ts";
import { moduleGraph } from "../deps/module-graph.ts";
import { build, containersOf, loadYaml, type Resource, resourceId } from "./kustomize.ts";

const K8S = `${REPO}k8s`;
/** The schema package: the Kubernetes minor version node-prep.sh installs, in its name (checked below). */
const SCHEMA = "kubernetes-models-1.33";
const BASE = build(`${K8S}/base`);
const OVERLAY = build(`${K8S}/overlays/external-libsql`);
/** Applied by hand after the agent is deleted (not part of a kustomization): the agent's uninstall on every node. */
const CLEANUP = loadYaml(`${K8S}/cleanup/agent-uninstall.yaml`);
const BUILDS = { base: BASE, "external-libsql": OVERLAY };

/** apiVersion/kind → the schema package's module and type name. */
const MODELS: Record<string, { module: string; type: string }> = {
  "v1/Namespace": { module: "v1/Namespace", type: "INamespace" },
  "v1/ServiceAccount": { module: "v1/ServiceAccount", type: "IServiceAccount" },
  "v1/Service": { module: "v1/Service", type: "IService" },
  "v1/PersistentVolumeClaim": { module: "v1/PersistentVolumeClaim", type: "IPersistentVolumeClaim" },
  "apps/v1/DaemonSet": { module: "apps/v1/DaemonSet", type: "IDaemonSet" },
  "apps/v1/Deployment": { module: "apps/v1/Deployment", type: "IDeployment" },
  "rbac.authorization.k8s.io/v1/ClusterRole": {
    module: "rbac.authorization.k8s.io/v1/ClusterRole",
    type: "IClusterRole",
  },
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": {
    module: "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
    type: "IClusterRoleBinding",
  },
};
const modelKey = (r: Resource) => `${r.apiVersion}/${r.kind}`;
const one = (rs: Resource[], kind: string, name?: string) => {
  const found = rs.filter((r) => r.kind === kind && (name === undefined || r.metadata.name === name));
  if (found.length !== 1) throw new Error(`${found.length} ${kind} ${name ?? ""}`);
  return found[0]!;
};
const envOf = (c: Resource) => (c.env ?? []) as { name: string; value?: string; valueFrom?: Resource }[];

describe("k8s manifests against the Kubernetes OpenAPI schema", () => {
  it("every YAML file of k8s/base is a resource of the kustomization, or the kustomization itself", () => {
    const files = readdirSync(`${K8S}/base`).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").sort();
    const listed = (loadYaml(`${K8S}/base/kustomization.yaml`)[0]!.resources as string[]).slice().sort();
    expect(listed).toEqual(files);
    expect(BASE.map(resourceId)).toContain("DaemonSet/ebpf-k8s/ebpf-k8s-agent");
    // the overlay drops the volume claim and keeps everything else
    expect(OVERLAY.map(resourceId)).toEqual(
      BASE.map(resourceId).filter((id) => !id.startsWith("PersistentVolumeClaim/")),
    );
  });

  for (const [name, resources] of Object.entries({ ...BUILDS, cleanup: CLEANUP })) {
    it(`${name}: every resource passes the schema's validation`, async () => {
      for (const r of resources) {
        const m = MODELS[modelKey(r)];
        expect(m, `no model for ${modelKey(r)}`).toBeDefined();
        const Model = (await import(`${SCHEMA}/${m!.module}`))[r.kind] as new (
          d: unknown,
        ) => { validate(): void };
        expect(Model, r.kind).toBeTypeOf("function");
        expect(() => new Model(structuredClone(r)).validate(), resourceId(r)).not.toThrow();
      }
    });
  }

  const kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));
  it.skipIf(!kubectl)("kubectl's own kustomize builds the same resources (where kubectl is installed)", () => {
    const sortNamed = (v: unknown): unknown => {
      if (Array.isArray(v)) {
        const items = v.map(sortNamed);
        return items.every((x) => typeof x === "object" && x !== null && "name" in x)
          ? [...items].sort((a, b) => String((a as Resource).name).localeCompare(String((b as Resource).name)))
          : items;
      }
      if (typeof v === "object" && v !== null) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sortNamed(x)]));
      }
      return v;
    };
    for (const [dir, ours] of [["base", BASE], ["overlays/external-libsql", OVERLAY]] as const) {
      const out = execFileSync(kubectl!, ["kustomize", `${K8S}/${dir}`], { encoding: "utf8", timeout: 60_000 });
      const theirs = parseAllDocuments(out).map((d) => d.toJS() as Resource);
      const byId = (rs: Resource[]) => Object.fromEntries(rs.map((r) => [resourceId(r), sortNamed(r)]));
      expect(byId(ours)).toEqual(byId(theirs));
    }
  }, 120_000);

  it("the schema is the Kubernetes version the cluster scripts install", () => {
    const nodePrep = readFileSync(`${K8S}/scripts/node-prep.sh`, "utf8");
    const installed = /^K8S_VERSION=\$\{K8S_VERSION:-v(\d+\.\d+)\}$/m.exec(nodePrep)?.[1];
    expect(SCHEMA).toBe(`kubernetes-models-${installed}`);
    // kubernetes-models 4.5.x is the release generated from v1.33.0 (its changelog); 5.x is v1.36
    const pkg = JSON.parse(readFileSync(`${REPO}node_modules/${SCHEMA}/package.json`, "utf8")) as { version: string };
    expect(pkg.version).toMatch(/^4\.5\./);
  });

  it("the schema check itself catches a wrong type and a missing required field", () => {
    const ds = structuredClone(one(BASE, "DaemonSet"));
    ds.spec.template.spec.containers[0].ports[0].containerPort = "nine";
    expect(() => new DaemonSet(ds).validate()).toThrow();
    const svc = structuredClone(one(BASE, "Service"));
    delete svc.spec.ports[0].port;
    expect(() => new Service(svc).validate()).toThrow();
  });

  describe("strict fields: the schema's TypeScript types, no unknown field", () => {
    const dir = `${REPO}node_modules/.ek8s-manifest-check-${process.pid}`;
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const typeCheck = (resources: Resource[]): string[] => {
      mkdirSync(dir, { recursive: true });
      const lines = resources.map((r, i) => {
        const m = MODELS[modelKey(r)]!;
        return `import type { ${m.type} as T${i} } from "${SCHEMA}/${m.module}";\nexport const r${i}: T${i} = ${
          JSON.stringify(r, null, 1)
        };`;
      });
      writeFileSync(`${dir}/check.ts`, lines.join("\n"));
      const program = ts.createProgram([`${dir}/check.ts`], {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: [],
      });
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    };

    it("base, overlay and cleanup type-check", () => {
      expect(typeCheck([...BASE, ...OVERLAY, ...CLEANUP])).toEqual([]);
    }, 60_000);

    it("and a field newer than 1.33 fails: PodSpec.hostnameOverride (1.34)", () => {
      const ds = structuredClone(one(BASE, "DaemonSet"));
      ds.spec.template.spec.hostnameOverride = "node";
      expect(typeCheck([ds]).join("\n")).toMatch(/hostnameOverride/);
    }, 60_000);

    it("and a misspelt field fails", () => {
      const ds = structuredClone(one(BASE, "DaemonSet"));
      ds.spec.template.spec.containers[0].readinessprobe = ds.spec.template.spec.containers[0].readinessProbe;
      expect(typeCheck([ds]).join("\n")).toMatch(/readinessprobe/);
    }, 60_000);
  });
});

describe("k8s manifests against the code", () => {
  const agentEnvNames = new Set([...USAGE.matchAll(/\((EBPF_K8S_[A-Z_]+)/g)].map((m) => m[1]!));
  const controlEnvNames = new Set(Object.keys(ControlConfig.shape));
  const ds = one(BASE, "DaemonSet", "ebpf-k8s-agent");
  const [agent] = containersOf(ds);
  const tokens = {
    admin: "k8s-test-admin-token-0123456789",
    read: "k8s-test-read-token-0123456789",
    join: "ek8s_join_0123456789abcdef0123456789abcdef",
  };
  /** The pod's environment as kubelet makes it, with stand-ins for secrets and the node name. */
  const materialize = (env: ReturnType<typeof envOf>): Record<string, string> =>
    Object.fromEntries(env.map((e) => {
      if (e.value !== undefined) return [e.name, e.value];
      if (e.valueFrom?.fieldRef?.fieldPath === "spec.nodeName") return [e.name, "worker-1"];
      const key = e.valueFrom?.secretKeyRef?.key;
      const stand: Record<string, string> = {
        "admin-token": tokens.admin,
        "read-token": tokens.read,
        "join-token": tokens.join,
        url: "libsql://db.example:8080",
        "auth-token": "t",
      };
      if (key && stand[key]) return [e.name, stand[key]!];
      throw new Error(`cannot stand in for ${e.name}`);
    }));

  it("the agent's env vars are all the agent's, and its configuration parses", () => {
    for (const e of envOf(agent!)) expect(agentEnvNames, e.name).toContain(e.name);
    const env = materialize(envOf(agent!));
    const cfg = parseAgentConfig([], (k) => env[k]);
    expect(cfg.node).toBe("worker-1");
    expect(cfg.control).toBe("http://ebpf-k8s-control.ebpf-k8s.svc:8080");

    // its port serves the probes and is the one Prometheus is told about
    expect(agent!.ports).toEqual([{ name: "metrics", containerPort: cfg.metricsPort, protocol: "TCP" }]);
    expect(agent!.livenessProbe.httpGet).toEqual({ path: "/healthz", port: cfg.metricsPort });
    expect(agent!.readinessProbe.httpGet).toEqual({ path: "/readyz", port: cfg.metricsPort });
    expect(ds.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(cfg.metricsPort));
    const metricsSource = readFileSync(`${REPO}agent/metrics.ts`, "utf8");
    for (const path of ["/healthz", "/readyz", "/metrics"]) expect(metricsSource).toContain(`path === "${path}"`);

    // its paths lie on the volumes that hold them, or in the image
    const mounts = agent!.volumeMounts as { name: string; mountPath: string }[];
    const volumes = ds.spec.template.spec.volumes as { name: string; hostPath?: { path: string } }[];
    const mountOf = (path: string) => mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`));
    const hostPathOf = (path: string) => volumes.find((v) => v.name === mountOf(path)?.name)?.hostPath?.path;
    expect(hostPathOf(cfg.stateDir)).toBe("/var/lib/ebpf-k8s");
    expect(hostPathOf(cfg.bpfPinDir)).toBe("/sys/fs/bpf");
    expect(hostPathOf(cfg.lbCgroup!)).toBe("/sys/fs/cgroup");
    expect(mountOf("/sys/kernel/btf/vmlinux")?.name).toBe("btf");
    expect(mountOf("/sys/kernel/tracing/events")?.name).toBe("tracefs");
    const containerfile = readFileSync(`${K8S}/images/agent.Containerfile`, "utf8");
    expect(containerfile).toMatch(/^WORKDIR \/opt\/ebpf-k8s$/m);
    expect(containerfile).toMatch(/^COPY --from=bpf \/src\/build\/bpf \.\/build\/bpf$/m);
    expect(cfg.bpfDir).toBe("/opt/ebpf-k8s/build/bpf");
    // every volume is mounted, every mount has a volume
    expect(mounts.map((m) => m.name).sort()).toEqual(volumes.map((v) => v.name).sort());
  });

  it("the cleanup DaemonSet runs the agent's uninstall with the agent's image, settings, mounts and capabilities", () => {
    const cleanup = one(CLEANUP, "DaemonSet", "ebpf-k8s-agent-uninstall");
    const [uninstall] = cleanup.spec.template.spec.initContainers as Resource[];
    expect([uninstall!.image, uninstall!.args]).toEqual([agent!.image, ["uninstall"]]);
    expect(uninstall!.securityContext).toEqual(agent!.securityContext);
    expect(cleanup.spec.template.spec.hostNetwork).toBe(ds.spec.template.spec.hostNetwork);
    for (const e of envOf(uninstall!)) expect(envOf(agent!), e.name).toContainEqual(e);
    // the same node, state directory and pins as the agent's, with no control plane to name
    const cfg = parseAgentConfig([], (k) => materialize(envOf(uninstall!))[k], "uninstall");
    const agentCfg = parseAgentConfig([], (k) => materialize(envOf(agent!))[k]);
    expect([cfg.node, cfg.stateDir, cfg.bpfPinDir, cfg.bpfDir]).toEqual([
      agentCfg.node,
      agentCfg.stateDir,
      agentCfg.bpfPinDir,
      agentCfg.bpfDir,
    ]);
    const hostPaths = (r: Resource, c: Resource) =>
      (c.volumeMounts as { name: string; mountPath: string }[]).map((m) => [
        m.mountPath,
        (r.spec.template.spec.volumes as { name: string; hostPath: { path: string } }[]).find((v) => v.name === m.name)!
          .hostPath.path,
      ]);
    for (const mount of hostPaths(cleanup, uninstall!)) expect(hostPaths(ds, agent!)).toContainEqual(mount);
  });

  it("the agent runs with the capabilities it needs and no more: not privileged, BPF, PERFMON, NET_ADMIN, SYS_ADMIN", () => {
    expect(ds.spec.template.spec.hostNetwork).toBe(true);
    expect(ds.spec.template.spec.hostPID).toBeUndefined();
    expect(ds.spec.template.spec.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(agent!.securityContext).toMatchObject({
      privileged: false,
      capabilities: { drop: ["ALL"], add: ["BPF", "PERFMON", "NET_ADMIN", "SYS_ADMIN"] },
      readOnlyRootFilesystem: true,
      seccompProfile: { type: "RuntimeDefault" },
      // the runtime's default AppArmor profile denies writes under /sys/fs/bpf: its pins (README, Kubernetes)
      appArmorProfile: { type: "Unconfined" },
    });
    // a read-only root: what it writes (state directory, pins) is on writable host mounts
    const cfg = parseAgentConfig([], (k) => materialize(envOf(agent!))[k]);
    const mounts = agent!.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[];
    for (const path of [cfg.stateDir, cfg.bpfPinDir]) {
      const m = mounts.find((x) => path.startsWith(`${x.mountPath}/`));
      expect(m && !m.readOnly, path).toBe(true);
    }
    expect(agent!.resources.requests).toBeDefined();
    expect(agent!.resources.limits.memory).toBeDefined();
  });

  for (const [name, resources] of Object.entries({ ...BUILDS, cleanup: CLEANUP })) {
    it(`${name}: every container has seccomp RuntimeDefault, an explicit AppArmor profile, a read-only root, no privilege escalation`, () => {
      const workloads = resources.filter((r) => containersOf(r).length);
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) {
        const pod = w.spec.template.spec.securityContext ?? {};
        for (const c of containersOf(w)) {
          const sc = c.securityContext ?? {};
          const where = `${resourceId(w)} ${c.name}`;
          expect((sc.seccompProfile ?? pod.seccompProfile)?.type, where).toBe("RuntimeDefault");
          const appArmor = (sc.appArmorProfile ?? pod.appArmorProfile)?.type;
          // Unconfined only where bpffs is written: the agent and its uninstall
          expect(appArmor, where).toBe(sc.capabilities?.add?.includes("BPF") ? "Unconfined" : "RuntimeDefault");
          expect(sc.readOnlyRootFilesystem, where).toBe(true);
          expect(sc.allowPrivilegeEscalation, where).toBe(false);
          expect(sc.capabilities?.drop, where).toEqual(["ALL"]);
        }
      }
    });
  }

  for (const [name, resources] of Object.entries(BUILDS)) {
    it(`${name}: the control plane's env vars are all its own, its configuration parses, and port, probes and Service agree`, async () => {
      const dep = one(resources, "Deployment", "ebpf-k8s-control");
      const [control] = containersOf(dep);
      for (const e of envOf(control!)) expect(controlEnvNames, e.name).toContain(e.name);
      const cfg = parseControlConfig(materialize(envOf(control!)));
      expect(cfg.EBPF_K8S_ADMIN_TOKEN).toBe(tokens.admin);
      // reads are token-protected by default in a cluster
      expect([cfg.EBPF_K8S_READ_AUTH, cfg.EBPF_K8S_READ_TOKEN]).toEqual(["token", tokens.read]);
      expect(control!.ports).toEqual([{ name: "http", containerPort: cfg.PORT, protocol: "TCP" }]);
      const svc = one(resources, "Service", "ebpf-k8s-control");
      expect(svc.spec.ports[0].targetPort).toBe("http");
      expect(svc.spec.selector).toEqual(dep.spec.selector.matchLabels);
      expect(dep.spec.template.metadata.annotations["prometheus.io/port"]).toBe(String(cfg.PORT));
      // the agent's URL names this Service and port
      const url = new URL(parseAgentConfig([], (k) => materialize(envOf(agent!))[k]).control);
      expect([url.hostname, Number(url.port)]).toEqual([
        `${svc.metadata.name}.${svc.metadata.namespace}.svc`,
        svc.spec.ports[0].port,
      ]);

      // probes and /metrics are routes of the app
      const t = await openTestDb();
      try {
        const app = createApp(t.db, {
          settings: appSettings(cfg),
          tokens: { adminTokenHash: await sha256Hex(tokens.admin), readTokenHash: await sha256Hex(tokens.read) },
        });
        for (const probe of [control!.livenessProbe, control!.readinessProbe]) {
          expect(probe.httpGet.port).toBe("http");
          expect((await app.request(probe.httpGet.path)).status).toBe(200); // probes stay open
        }
        const metrics = dep.spec.template.metadata.annotations["prometheus.io/path"];
        expect((await app.request(metrics)).status).toBe(401);
        expect((await app.request(metrics, { headers: { authorization: `Bearer ${tokens.read}` } })).status).toBe(200);
        expect((await app.request("/api/v1/nodes")).status).toBe(401);
      } finally {
        t.close();
      }

      // unprivileged, read-only root: the database file and /tmp on volumes
      expect(dep.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(control!.volumeMounts.map((m: Resource) => m.mountPath).sort()).toEqual(["/data", "/tmp"]);
      if (name === "base") {
        expect(cfg.DATABASE_URL).toBe("file:/data/ebpf-k8s.db");
        const claim = dep.spec.template.spec.volumes.find((v: Resource) =>
          v.name === "data"
        ).persistentVolumeClaim.claimName;
        expect(one(resources, "PersistentVolumeClaim").metadata.name).toBe(claim);
        expect(dep.spec.replicas).toBe(1);
        expect(dep.spec.strategy.type).toBe("Recreate");
      } else {
        expect(cfg.DATABASE_URL).toBe("libsql://db.example:8080");
        expect(dep.spec.replicas).toBeGreaterThan(1);
        expect(dep.spec.template.spec.volumes.find((v: Resource) => v.name === "data")).toEqual({
          name: "data",
          emptyDir: {},
        });
        // Replicas: alive is /healthz, ready (taking traffic) needs the shared database too (control/routes/health.ts).
        expect(control!.livenessProbe.httpGet.path).toBe("/healthz");
        expect(control!.readinessProbe.httpGet.path).toBe("/readyz");
        expect(control!.readinessProbe.timeoutSeconds * 1000).toBeGreaterThan(READY_TIMEOUT_MS);
      }
    });
  }

  it("secrets referenced are the ones the install script makes, with those keys", () => {
    const install = readFileSync(`${K8S}/scripts/install.sh`, "utf8");
    const refs = [...BASE, ...OVERLAY].flatMap(containersOf).flatMap(envOf).map((e) => e.valueFrom?.secretKeyRef)
      .filter(Boolean) as { name: string; key: string }[];
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      expect(install).toContain(`secret generic ${ref.name}`);
      expect(install).toMatch(new RegExp(`(--from-literal=|--from-file=|\\\\"|")${ref.key}[=\\\\"]`));
    }
  });

  it("RBAC grants exactly the list and watch calls the code makes, to the service account that makes them", () => {
    const rules = (role: string) =>
      one(BASE, "ClusterRole", role).rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const grants = (role: string) =>
      rules(role).flatMap((r) =>
        r.resources.map((res) => `${r.apiGroups[0] || "core"}/${res}:${r.verbs.sort().join(",")}`)
      ).sort();
    // the API paths each side lists and watches, from its source
    const paths = (file: string) =>
      [...readFileSync(`${REPO}${file}`, "utf8").matchAll(/path: "(\/apis?\/[^"]+)"/g)].map((m) => m[1]!);
    const asGrant = (path: string) => {
      const core = /^\/api\/v1\/([a-z]+)$/.exec(path);
      const grouped = /^\/apis\/([^/]+)\/[^/]+\/([a-z]+)$/.exec(path);
      return core ? `core/${core[1]}:list,watch` : `${grouped![1]}/${grouped![2]}:list,watch`;
    };
    expect(grants("ebpf-k8s-agent")).toEqual(paths("agent/pods/kube-pods.ts").map(asGrant).sort());
    expect(grants("ebpf-k8s-control")).toEqual(paths("control/kube/services-watch.ts").map(asGrant).sort());
    for (const who of ["agent", "control"]) {
      const binding = one(BASE, "ClusterRoleBinding", `ebpf-k8s-${who}`);
      expect(binding.roleRef.name).toBe(`ebpf-k8s-${who}`);
      expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: `ebpf-k8s-${who}`, namespace: "ebpf-k8s" }]);
      one(BASE, "ServiceAccount", `ebpf-k8s-${who}`);
    }
    expect(ds.spec.template.spec.serviceAccountName).toBe("ebpf-k8s-agent");
    expect(one(BASE, "Deployment").spec.template.spec.serviceAccountName).toBe("ebpf-k8s-control");
  });

  it("the images' entrypoints: the agent with narrow Deno permissions that read the service account, the control plane with its main", () => {
    const agentFile = readFileSync(`${K8S}/images/agent.Containerfile`, "utf8");
    const entry = JSON.parse(/^ENTRYPOINT (\[[\s\S]*?\])$/m.exec(agentFile.replace(/\\\n\s*/g, ""))![1]!) as string[];
    expect(entry.slice(-1)).toEqual(["agent/main.ts"]);
    expect(entry.filter((f) => /^(-A|--allow-all|--allow-run)/.test(f))).toEqual([]);
    const saDir = /SERVICE_ACCOUNT_DIR = "([^"]+)"/.exec(readFileSync(`${REPO}agent/pods/kube-pods.ts`, "utf8"))![1]!;
    const reads = entry.find((f) => f.startsWith("--allow-read="))!.split("=")[1]!.split(",");
    expect(reads).toContain(saDir);
    // --control-ca is read through Deno: where k8s/README.md says to mount it must be readable (else exit 2)
    expect(readFileSync(`${K8S}/README.md`, "utf8")).toContain("EBPF_K8S_CONTROL_CA=/etc/ebpf-k8s/control-ca.pem");
    expect(reads).toContain("/etc/ebpf-k8s/control-ca.pem");
    expect(entry).toContain("--allow-write=/var/lib/ebpf-k8s");
    const controlFile = readFileSync(`${K8S}/images/control.Containerfile`, "utf8");
    expect(controlFile).toMatch(/^ENTRYPOINT \["node", "control\/main\.js"\]$/m);
    expect(controlFile).toMatch(/^USER 1000:1000$/m);
    expect(one(BASE, "Deployment").spec.template.spec.securityContext.runAsUser).toBe(1000);
  });

  it("the agent image holds the agent, the wire contract (control/wire/) and the eBPF objects, and its whole module graph", () => {
    const agentFile = readFileSync(`${K8S}/images/agent.Containerfile`, "utf8");
    // what its final stage copies from the build context (not from the deps stage): sources, each to the same path
    const finalStage = agentFile.slice(agentFile.search(/^FROM (?![\s\S]*^FROM )/m));
    const copied = [...finalStage.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
      const words = m[1]!.trim().split(/\s+/);
      const to = words.pop()!;
      return words.map((from) => ({ from, to }));
    });
    // (the node's package list and its reader go to /tmp/setup/ for apt-get; the objects come from the bpf stage)
    expect(copied.map((c) => c.from).sort()).toEqual([
      "agent",
      "control/wire",
      "deno.json",
      "package.json",
      "scripts/setup/agent-node.list",
      "scripts/setup/lib.sh",
    ]);
    for (const c of copied) expect([`./${c.from}`, "./", "/tmp/setup/"], c.from).toContain(c.to);
    const inImage = (file: string) => copied.some((c) => file === c.from || file.startsWith(`${c.from}/`));
    const graph = moduleGraph(REPO, "agent/main.ts");
    expect(graph).toContain("control/wire/batch.ts");
    expect(graph.filter((f) => !inImage(f))).toEqual([]);
  });
});
