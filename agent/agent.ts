// SPDX-License-Identifier: Apache-2.0
/**
 * The agent: two loops that never wait for each other.
 *
 *   reader  every interval: apply a new desired state, read the modules'
 *           counters (aggregated in the kernel, never per event), make a
 *           batch with the next seq and spool it (on disk, before sending)
 *   sender  whenever a batch was spooled: send the spool, oldest first
 *           (delivery.ts)
 *
 * Epoch: counters are cumulative per (node, bootId). bootId and the next seq
 * are kept in <state-dir>/epoch.json. A start that finds epoch.json and the
 * pinned maps (the previous agent handed over at SIGTERM, or died) adopts
 * them and continues the same bootId and seq, so the control plane's totals
 * continue exactly. Any other start, and switching a counting module back on, begins
 * a new epoch: a new bootId, seq 0, counters from zero.
 */
import { Batch, type DesiredState, MAX_BATCH_BYTES, type ModuleName, WIRE_VERSION } from "../control/wire/batch.ts";
import { downgradeBatch } from "../control/wire/version.ts";
import { MAX_PODS, type MonitoringStats, type PodReport } from "../control/wire/monitoring.ts";
import { fitBatch, RECORD_OWNER, type RecordKind } from "./batch_fit.ts";
import { type AgentConfig, ConfigError } from "./config.ts";
import { ControlApi } from "./control_api.ts";
import { controlClient } from "./control_client.ts";
import { Credentials } from "./credentials.ts";
import { Delivery } from "./delivery.ts";
import { MonitoringTotals } from "./monitoring_totals.ts";
import { HostFacts, inventory } from "./inventory.ts";
import { releaseFreedMemory, removeEmptyDir } from "./libbpf/mod.ts";
import { DEFAULT_DROPS, DropsModule } from "./modules/drops/module.ts";
import { FlowsModule } from "./modules/flows/module.ts";
import { IfStatsModule } from "./modules/ifstats/module.ts";
import { DEFAULT_LB, LbModule } from "./modules/lb/module.ts";
import { AccelModule, DEFAULT_ACCEL } from "./modules/accel/module.ts";
import { DEFAULT_GATEWAY, GatewayModule } from "./modules/gateway/module.ts";
import { DnsModule } from "./modules/dns/module.ts";
import { DEFAULT_DNS_MODULE } from "./modules/dns/settings.ts";
import type { LbPoll } from "./modules/lb/sync.ts";
import { type Merged, ModuleManager } from "./modules/manager.ts";
import { KernelProbes } from "./modules/requirements.ts";
import type { Module, ModuleEnv } from "./modules/module.ts";
import { TcpModule } from "./modules/tcp/module.ts";
import { netnsInode, resolveInterfaces } from "./netif.ts";
import { PodTable } from "./pods/directory.ts";
import { FilePodSource } from "./pods/file-pods.ts";
import { inClusterOptions, KubePodWatcher } from "./pods/kube-pods.ts";
import { Spool } from "./spool/spool.ts";
import { Quarantine, QUARANTINE_MAX_BATCHES } from "./spool/quarantine.ts";
import { Refusals } from "./refusals.ts";
import { WireEncoding } from "./wire_encoding.ts";
import { StateDir } from "./state/state_dir.ts";

export interface AgentOptions {
  /** Where messages go (default: stderr, prefixed "agent: "). */
  log?: (msg: string) => void;
  /** Budget of the last push at a clean stop, in ms. */
  finalPushMs?: number;
}

interface EpochState {
  bootId: string;
  nextSeq: number;
}

export class Agent {
  #running = false;
  #stopped = false;
  #loops?: Promise<void>;
  readonly #abort = new AbortController();
  readonly #readerWake = new Wakeup();
  readonly #senderWake = new Wakeup();
  readonly delivery: Delivery;
  /** The latest batch made and when (agent clock, ms), and how many since this process started: for /metrics and /readyz. */
  lastBatch?: { at: number; batch: Batch };
  batchesMade = 0;
  /** TCP health and drops of the batches made since this process started (for /metrics). */
  readonly monitoringTotals = new MonitoringTotals();

  private constructor(
    readonly cfg: AgentConfig,
    private readonly state: StateDir,
    readonly spool: Spool,
    credentials: Credentials,
    private readonly api: ControlApi,
    readonly modules: ModuleManager,
    private readonly host: HostFacts,
    private epoch: EpochState,
    private readonly log: (msg: string) => void,
    private readonly finalPushMs: number,
    readonly pods: PodTable,
  ) {
    // refused batches are kept beside the spool, never deleted (refusals.ts)
    const quarantine = Quarantine.open(`${state.path}/quarantine`, QUARANTINE_MAX_BATCHES, log);
    const refusals = new Refusals(quarantine, api, log);
    const encoding = new WireEncoding(api, cfg.wireEncoding);
    this.delivery = new Delivery(spool, api, credentials, (ack) => this.#offer(ack.desired), log, refusals, encoding);
  }

  /**
   * Checks the interfaces, takes the state directory, makes sure of a
   * credential (joining if needed), then adopts or starts the modules.
   * Throws ConfigError for what the operator must fix.
   */
  static async start(cfg: AgentConfig, options: AgentOptions = {}): Promise<Agent> {
    const log = options.log ?? ((m: string) => console.error(`agent: ${m}`));
    const interfaces = resolveInterfaces(cfg.interfaces, cfg.excludeInterfaces, cfg.netns);
    const pods = podTable(cfg, log);
    const state = StateDir.open(cfg.stateDir, log);
    let modules: ModuleManager | undefined;
    try {
      const spool = Spool.open(state.spoolDir, cfg.spoolMaxBatches, log);
      const client = controlClient(cfg.controlCa);
      const api = new ControlApi(cfg.control, undefined, cfg.wireVersion, client ? { client } : {});
      // A desired state that arrives before the modules exist (with the join) waits here.
      const inbox: { desired: DesiredState | null; agent?: Agent } = {
        desired: state.loadDesired(cfg.node, cfg.control),
      };
      const credentials = new Credentials(state, api, cfg.node, cfg.joinToken, (d) => {
        if (inbox.agent) return inbox.agent.#offer(d);
        inbox.desired = d;
        state.saveDesired(cfg.node, cfg.control, d);
      }, log);
      if (!credentials.current) {
        if (!credentials.canJoin) {
          throw new ConfigError(
            `no credential for node ${cfg.node} at ${cfg.control} in ${cfg.stateDir}/credential.json, and no --join-token ` +
              `(EBPF_K8S_JOIN_TOKEN) to join with: make a join token on the control plane and pass it`,
          );
        }
        const joined = await credentials.join();
        if (joined.kind === "refused") throw new ConfigError(`node ${cfg.node}: ${joined.message}`);
        if (joined.kind === "retry") {
          log(`${joined.message}; starting anyway: batches are spooled until the join succeeds`);
        }
        // "taken" (the node name has a live credential): logged by Credentials with what an admin must do;
        // the agent starts and spools, and delivery asks again on a slow backoff.
      }

      const netnsIno = netnsInode(cfg.netns);
      const env = (name: string): ModuleEnv => ({
        node: cfg.node,
        bpfDir: cfg.bpfDir,
        pinDir: modulePinDir(cfg, name),
        interfaces,
        netns: cfg.netns,
        netnsIno,
        excludeInterfaces: cfg.excludeInterfaces,
        pods,
        log,
      });
      const probes = new KernelProbes();
      modules = new ModuleManager(
        nodeModules(cfg, env, (m) => lbPoll(api, credentials, m)),
        inbox.desired,
        log,
        (name) => probes.missing(cfg.bpfDir, name),
      );
      // the pod list first, so that the flow programs go onto the pods' veths as the module starts
      pods.start();
      const running = modules;
      pods.onChange(() => running.podsChanged());
      const host = HostFacts.gather(log);

      const prev = state.loadEpoch(cfg.node);
      const adopt = prev !== null && modules.canAdopt();
      if (prev && !adopt) {
        log(`epoch.json of a previous run found but not its pins: starting a new epoch and removing its leftovers`);
      }
      let epoch = adopt
        ? { bootId: prev.bootId, nextSeq: Math.max(prev.nextSeq, spool.maxSeq(prev.bootId) + 1) }
        : { bootId: crypto.randomUUID(), nextSeq: 0 };
      // Written before anything is attached (with the predecessor's records, for cleaning up):
      // a crash from here on leaves this epoch, not the previous one, next to the pins.
      state.saveEpoch({ node: cfg.node, ...epoch, modules: prev?.modules ?? {} });
      const failed = modules.startAll(adopt, prev?.modules);
      const adopted = adopt && !failed.length;
      if (adopt && failed.length) {
        // e.g. pins of another agent version whose maps do not fit: nothing to continue from
        epoch = { bootId: crypto.randomUUID(), nextSeq: 0 };
        log(
          `could not adopt ${failed.join(", ")} (see above): starting from zero in a new epoch, boot ${epoch.bootId}`,
        );
        state.saveEpoch({ node: cfg.node, ...epoch, modules: {} });
        modules.startFresh(failed);
      }

      const agent = new Agent(
        cfg,
        state,
        spool,
        credentials,
        api,
        modules,
        host,
        epoch,
        log,
        options.finalPushMs ?? 2000,
        pods,
      );
      inbox.agent = agent;
      agent.#saveEpoch();
      log(
        `node ${cfg.node}: ${
          adopted ? `adopted boot ${epoch.bootId} at seq ${epoch.nextSeq}` : `boot ${epoch.bootId}`
        }; ` +
          `watching ${interfaces.map((i) => i.name).join(", ") || "(no interfaces)"}${
            cfg.netns ? ` in netns ${cfg.netns}` : ""
          }; ` +
          `pods from ${pods.description}; pushing to ${cfg.control} every ${cfg.interval}s; ${spool.pending} batch(es) spooled`,
      );
      return agent;
    } catch (e) {
      try {
        modules?.stopAll();
      } catch (s) {
        log(`cleanup after the failed start: ${(s as Error).message}`);
      }
      await modules?.settled();
      await pods.stop();
      state.close();
      throw e;
    }
  }

  get bootId(): string {
    return this.epoch.bootId;
  }

  get nextSeq(): number {
    return this.epoch.nextSeq;
  }

  /**
   * One read: applies a pending desired state, reads the modules and
   * spools the batch. Returns it (null if it could not be made).
   */
  collect(): Batch | null {
    if (this.modules.apply(() => this.#newEpoch())) this.#saveEpoch();
    const reading = this.modules.read();
    const batch: Batch = {
      v: this.cfg.wireVersion,
      node: this.cfg.node,
      bootId: this.epoch.bootId,
      seq: this.epoch.nextSeq,
      ts: Date.now(),
      interval: this.cfg.interval,
      interfaces: reading.interfaces,
      ...this.#monitoring(reading),
      ...(reading.lb ? { lb: reading.lb } : {}),
      ...(reading.accel ? { accel: reading.accel } : {}),
      ...(reading.gateway ? { gateway: reading.gateway } : {}),
      ...(reading.dns ? { dns: reading.dns } : {}),
      inventory: inventory(this.host, this.modules, this.spool, this.delivery.refusals.quarantine),
    };
    const { cut, bytes: size } = fitBatch(batch, MAX_BATCH_BYTES);
    for (const [kind, n] of Object.entries(cut)) {
      const owner = RECORD_OWNER[kind as RecordKind];
      this.modules.recordsCut(owner.module, n, owner.list);
    }
    const made = Batch.safeParse(this.#asOlderBuild(batch));
    if (!made.success) {
      this.log(
        `batch ${this.epoch.nextSeq} is invalid and not sent: ${
          made.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")
        }`,
      );
      return null;
    }
    if (size > MAX_BATCH_BYTES) {
      this.log(
        `batch ${this.epoch.nextSeq} is ${size} bytes, over the control plane's limit of ${MAX_BATCH_BYTES}: not sent`,
      );
      return null;
    }
    this.spool.add(made.data);
    this.lastBatch = { at: Date.now(), batch: made.data };
    this.batchesMade++;
    this.monitoringTotals.add(made.data);
    this.epoch.nextSeq++;
    this.#saveEpoch();
    releaseFreedMemory(); // what libbpf's loads and this read freed goes back to the kernel, not into the resident size
    return made.data;
  }

  /** Sends what is spooled (see Delivery.drain). */
  deliver(signal?: AbortSignal): Promise<void> {
    return this.delivery.drain(signal);
  }

  /** Runs the reader and sender loops until stop(). */
  run(): Promise<void> {
    if (this.#loops) return this.#loops;
    this.#running = true;
    const reader = (async () => {
      while (this.#running) {
        try {
          this.collect();
        } catch (e) {
          this.log(`reading or spooling a batch failed: ${(e as Error).message}`);
        }
        this.#senderWake.wake();
        await this.#readerWake.wait(this.cfg.interval * 1000);
      }
    })();
    const sender = (async () => {
      while (this.#running) {
        try {
          await this.deliver(this.#abort.signal);
        } catch (e) {
          this.log(`sending failed: ${(e as Error).message}`);
        }
        await this.#senderWake.wait();
      }
    })();
    this.#loops = Promise.all([reader, sender]).then(() => {});
    return this.#loops;
  }

  /**
   * Clean stop: a last batch with the final totals (pushed within
   * finalPushMs), then the modules. `handOver` (main.ts on SIGTERM/SIGINT:
   * an upgrade, a rollout, a restart): the modules with pins stay attached
   * and pinned (ModuleManager.releaseAll) and epoch.json stays, so the next
   * agent adopts them and continues this epoch, as after a crash; the
   * datapath never stops. Otherwise (an agent run in-process, as tests do)
   * detach everything, remove the pins and epoch.json; uninstall.ts is the
   * operator's way. Batches not acknowledged stay spooled for the next start.
   */
  async stop(options: { handOver?: boolean } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#running = false;
    this.#abort.abort();
    this.#readerWake.wake();
    this.#senderWake.wake();
    await this.#loops;
    try {
      this.collect();
      await this.deliver(AbortSignal.timeout(this.finalPushMs));
    } catch (e) {
      this.log(`last push failed: ${(e as Error).message}`);
    }
    try {
      if (options.handOver) {
        this.#saveEpoch(true); // the records of what stays (interfaces hooked, cgroup, counts), for the successor
        try {
          this.modules.releaseAll();
        } finally {
          await this.modules.settled();
        }
        return;
      }
      try {
        this.modules.stopAll();
      } finally {
        await this.modules.settled(); // the lb long-poll in flight, aborted
      }
      // A failed detach keeps epoch.json: the next start then removes what is left.
      this.state.removeEpoch();
      removeEmptyDir(`${this.cfg.bpfPinDir}/${this.cfg.node}`);
      removeEmptyDir(this.cfg.bpfPinDir);
    } finally {
      await this.pods.stop();
      if (this.spool.pending) {
        this.log(`${this.spool.pending} batch(es) not acknowledged stay in ${this.spool.dir} for the next start`);
      }
      this.state.close();
    }
  }

  /**
   * The monitoring part of a batch: pods (listed while a module counts their
   * traffic: flows), records and table statistics.
   */
  #monitoring(r: Merged): Pick<Batch, "pods" | "flows" | "tcp" | "drops" | "monitoring"> {
    const out: Pick<Batch, "pods" | "flows" | "tcp" | "drops" | "monitoring"> = {};
    if (r.podTraffic) {
      const zero = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
      out.pods = this.pods.list().slice(0, MAX_PODS).map((p): PodReport => ({
        ...p,
        ...(r.podTraffic!.get(p.uid) ?? zero),
        drops: r.podDrops?.get(p.uid) ?? 0,
      }));
    }
    if (r.flows) out.flows = r.flows;
    if (r.tcp) out.tcp = r.tcp;
    if (r.drops) out.drops = r.drops;
    if (r.monitoring) out.monitoring = { ...NO_MONITORING, ...r.monitoring };
    return out;
  }

  /**
   * Tests only: an agent standing in for a build of an older wire version (EBPF_K8S_TEST_WIRE_VERSION) writes
   * no field, and no inventory entry of a module, that a later version added (version.ts ADDED_IN), as that
   * build would not.
   */
  #asOlderBuild(batch: Batch): Batch {
    if (this.cfg.wireVersion >= WIRE_VERSION) return batch;
    return (downgradeBatch({ ...batch, v: WIRE_VERSION }, this.cfg.wireVersion) as Batch | undefined) ?? batch;
  }

  #offer(desired: DesiredState): void {
    if (this.modules.offer(desired)) this.state.saveDesired(this.cfg.node, this.cfg.control, desired);
  }

  /** A counting module starts from zero: its totals begin a new epoch on the control plane. */
  #newEpoch(): void {
    this.epoch = { bootId: crypto.randomUUID(), nextSeq: 0 };
    this.#saveEpoch();
    this.log(`new epoch: boot ${this.epoch.bootId} (counters start from zero)`);
  }

  #saveEpoch(handOver = false): void {
    this.state.saveEpoch({ node: this.cfg.node, ...this.epoch, modules: this.modules.records(handOver) });
  }
}

/** A module's pin directory: <bpf pin dir>/<node>/<module>. */
export function modulePinDir(cfg: Pick<AgentConfig, "bpfPinDir" | "node">, name: string): string {
  return `${cfg.bpfPinDir}/${cfg.node}/${name}`;
}

/**
 * The node's modules, in start order (monitoring first: its filters see a
 * packet before the gateway's). `poll`: how a module follows the services
 * (null: none does, e.g. for uninstall).
 */
export function nodeModules(
  cfg: AgentConfig,
  env: (name: string) => ModuleEnv,
  poll: ((module: ModuleName) => LbPoll) | null,
): Module[] {
  const idleSeconds = cfg.flowIdleSeconds;
  const lbPoll = (module: ModuleName) => poll?.(module) ?? null;
  return [
    new IfStatsModule(env("ifstats")),
    new FlowsModule(env("flows"), {
      tableSize: cfg.flowTableSize,
      idleSeconds,
      maxRecords: cfg.maxFlowRecords,
      hostInterfaces: cfg.flowInterfaces,
    }),
    new TcpModule(env("tcp"), {
      tableSize: cfg.tcpTableSize,
      socketTableSize: cfg.tcpSocketTableSize,
      idleSeconds,
      maxRecords: cfg.maxTcpRecords,
    }),
    new DropsModule(env("drops"), {
      ...DEFAULT_DROPS,
      tableSize: cfg.dropTableSize,
      idleSeconds,
      maxRecords: cfg.maxDropRecords,
    }, lbPoll("drops")),
    new LbModule(env("lb"), {
      ...DEFAULT_LB,
      cgroup: cfg.lbCgroup,
      poolSlots: cfg.lbTablePool,
      affinityEntries: cfg.lbAffinityTableSize,
      reverseEntries: cfg.lbReverseTableSize,
    }, lbPoll("lb")),
    new AccelModule(
      env("accel"),
      { ...DEFAULT_ACCEL, cgroup: cfg.lbCgroup, skbVerdict: cfg.accelSockmapWorkaround },
      lbPoll("accel"),
    ),
    new GatewayModule(env("gateway"), {
      ...DEFAULT_GATEWAY,
      interfaces: cfg.gatewayInterfaces,
      addresses: cfg.gatewayAddresses,
      snatIp: cfg.gatewaySnatIp,
      snatPorts: cfg.gatewaySnatPorts,
      flowEntries: cfg.gatewayFlowTableSize,
      hook: cfg.gatewayHook,
      timeouts: {
        synS: cfg.gatewayTimeoutTcpSyn,
        establishedS: cfg.gatewayTimeoutTcpEstablished,
        closingS: cfg.gatewayTimeoutTcpClosing,
        udpS: cfg.gatewayTimeoutUdp,
      },
    }, lbPoll("gateway")),
    new DnsModule(env("dns"), {
      ...DEFAULT_DNS_MODULE,
      ports: cfg.dnsPorts,
      serversTableSize: cfg.dnsServerTableSize,
      pendingTableSize: cfg.dnsPendingTableSize,
      namesTableSize: cfg.dnsNameTableSize,
      timeoutMs: cfg.dnsTimeoutMs,
      idleSeconds,
      maxServerRecords: cfg.maxDnsRecords,
      maxNameRecords: cfg.maxDnsNameRecords,
      hostInterfaces: cfg.flowInterfaces,
    }),
  ];
}

const NO_MONITORING: MonitoringStats = {
  flowEntries: 0,
  flowTableSize: 0,
  flowsCreated: 0,
  flowsEvicted: 0,
  flowCreateFailed: 0,
  flowRecordsCut: 0,
  tcpRecordsCut: 0,
  dropRecordsCut: 0,
};

/** A module's long-poll of the services, with this node's credential (none yet: retried until the join succeeds). */
function lbPoll(api: ControlApi, credentials: Credentials, module: ModuleName): LbPoll {
  return (after, signal) => {
    const credential = credentials.current;
    if (!credential) {
      return Promise.resolve({ kind: "retry", message: "the node has not joined the control plane yet" });
    }
    return api.lbState(credential, after, signal, undefined, module);
  };
}

/**
 * Where the pods of this node come from: the pods file when given (the lab;
 * its records name host veths), else the Kubernetes API when running in a
 * cluster, else nowhere.
 */
function podTable(cfg: AgentConfig, log: (msg: string) => void): PodTable {
  const podLog = (m: string) => log(`pods: ${m}`);
  if (cfg.podsFile) return new PodTable(new FilePodSource(cfg.podsFile, 500, podLog), true);
  let kube;
  try {
    kube = inClusterOptions(cfg.node);
  } catch (e) {
    throw new ConfigError(
      `KUBERNETES_SERVICE_HOST is set but the service account cannot be read: ${(e as Error).message}`,
    );
  }
  if (kube) return new PodTable(new KubePodWatcher({ ...kube, log: podLog }), false);
  return new PodTable(null, true);
}

/** A wait that ends after `ms` or at wake(); a wake() with nobody waiting ends the next wait at once. */
class Wakeup {
  #resolve?: () => void;
  #pending = false;

  wait(ms?: number): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.#resolve = undefined;
        resolve();
      };
      this.#resolve = done;
    });
  }

  wake(): void {
    if (this.#resolve) this.#resolve();
    else this.#pending = true;
  }
}
