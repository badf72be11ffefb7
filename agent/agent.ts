/**
 * The agent's loop: read the kernel's counters on a timer (never per event),
 * build a batch, push it. Reading and pushing never overlap: a slow control
 * plane delays the next push instead of piling requests up.
 */
import type { Batch } from "../control/wire/batch.ts";
import { WIRE_VERSION } from "../control/wire/batch.ts";
import type { AgentConfig } from "./config.ts";
import { IfStatsModule } from "./modules/ifstats/module.ts";
import { netnsInode, resolveInterfaces } from "./netif.ts";
import { Pusher } from "./push.ts";

export class Agent {
  private readonly bootId = crypto.randomUUID();
  private seq = 0;
  private running = true;
  private wake?: () => void;
  private loop?: Promise<void>;

  private constructor(private readonly cfg: AgentConfig, private readonly ifstats: IfStatsModule, private readonly pusher: Pusher) {}

  static start(cfg: AgentConfig): Agent {
    const interfaces = resolveInterfaces(cfg.interfaces, cfg.excludeInterfaces);
    const ifstats = IfStatsModule.start(`${cfg.bpfDir}/ifstats.bpf.o`, interfaces, netnsInode());
    console.error(`agent: node ${cfg.node}: counting ${interfaces.map((i) => i.name).join(", ")}; pushing to ${cfg.control} every ${cfg.interval}s`);
    return new Agent(cfg, ifstats, new Pusher(cfg.control));
  }

  /** One read and one push. */
  async tick(): Promise<void> {
    const batch: Batch = {
      v: WIRE_VERSION,
      node: this.cfg.node,
      bootId: this.bootId,
      seq: this.seq++,
      ts: Date.now(),
      interval: this.cfg.interval,
      interfaces: this.ifstats.read(),
    };
    try {
      await this.pusher.push(batch);
    } catch (e) {
      console.error(`agent: push of batch ${batch.seq} failed (the next one carries the same totals): ${(e as Error).message}`);
    }
  }

  run(): Promise<void> {
    this.loop = (async () => {
      while (this.running) {
        await this.tick();
        await new Promise<void>((r) => {
          const t = setTimeout(r, this.cfg.interval * 1000);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    })();
    return this.loop;
  }

  /** Pushes a last batch so the control plane has the final totals, then detaches. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.tick();
    this.ifstats.close();
  }
}
