// SPDX-License-Identifier: Apache-2.0
/** The drop program's endpoint table from the services (pure: no kernel). */
import type { LbService } from "../../../control/wire/services.ts";
import { assertEquals } from "../../testing/assert.ts";
import { testService } from "../lb/fixtures.ts";
import { decodeSvcKey } from "../lb/layout.ts";
import { endpointValue, planEndpoints } from "./endpoints.ts";

const svc = (id: number, namespace: string, name: string, vip: string, backends: string[], extra = {}): LbService =>
  testService(id, vip, backends.map((ip, i) => ({ id: id * 10 + i, ip })), { namespace, name, ...extra });

/** The plan as readable rows: "ip:port/protocol -> id". */
const rows = (services: LbService[], max = 100) => {
  const ids = new Map<string, number>();
  const plan = planEndpoints(services, max, (name) => ids.get(name) ?? ids.set(name, 100 + ids.size).get(name)!);
  return {
    rows: [...plan.entries.values()].map(([key, id]) => {
      const f = decodeSvcKey(key)!;
      return `${f.vip}:${f.port}/${f.protocol} -> ${[...ids].find(([, i]) => i === id)![0]}`;
    }),
    names: [...plan.names].sort(),
    cut: plan.cut,
  };
};

Deno.test("drop endpoints: VIPs and external IPs at the port, backends at theirs; a shared backend is the first service's by name", () => {
  const a = svc(5, "shop", "zz", "10.96.0.2", ["10.244.0.7", "10.244.0.8"], { externalIPs: ["192.0.2.1"] });
  const b = svc(6, "shop", "web", "10.96.0.1", ["10.244.0.7"], { protocol: "UDP" });
  const c = svc(7, "shop", "api", "10.96.0.3", ["10.244.0.8"]);
  assertEquals(rows([a, b, c]), {
    rows: [
      "10.96.0.3:80/TCP -> shop/api",
      "10.96.0.1:80/UDP -> shop/web",
      "10.96.0.2:80/TCP -> shop/zz",
      "192.0.2.1:80/TCP -> shop/zz",
      "10.244.0.8:8080/TCP -> shop/api", // api before zz
      "10.244.0.7:8080/UDP -> shop/web", // another protocol: another endpoint
      "10.244.0.7:8080/TCP -> shop/zz",
    ],
    names: ["shop/api", "shop/web", "shop/zz"],
    cut: 0,
  });
});

Deno.test("drop endpoints: past the table's size, the rest is counted as cut (the services' names stay)", () => {
  const services = Array.from(
    { length: 1000 },
    (_, i) =>
      svc(i + 1, "ns", `s${String(i).padStart(4, "0")}`, `10.96.${i >> 8}.${i & 255}`, [`10.244.${i >> 8}.${i & 255}`]),
  );
  const plan = planEndpoints(services, 1500, () => 1);
  assertEquals([plan.entries.size, plan.cut, plan.names.size], [1500, 500, 1000]);
  assertEquals(endpointValue(0x01020304), new Uint8Array([4, 3, 2, 1]));
});
