// SPDX-License-Identifier: Apache-2.0
/**
 * A TCP load balancer for tests with replicas, standing in for a Kubernetes
 * Service in front of control-plane pods: each connection goes to the
 * backend `pick` names for its client address, or to the next that accepts
 * when that one is down (a killed replica refuses connections, as a pod
 * taken out of the Service would be skipped).
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface Balancer {
  close(): Promise<void>;
}

/** Listens on host:port; `backends` are loopback ports; `pick` returns the preferred backend's index. */
export async function tcpBalancer(
  host: string,
  port: number,
  backends: number[],
  pick: (remoteAddress: string) => number,
): Promise<Balancer> {
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  };
  const server = createServer((client) => {
    track(client);
    client.pause();
    const first = pick(client.remoteAddress ?? "");
    const order = backends.map((_, i) => backends[(first + i) % backends.length]!);
    const attempt = (left: number[]) => {
      if (left.length === 0 || client.destroyed) return void client.destroy();
      const upstream = createConnection({ host: "127.0.0.1", port: left[0]! });
      track(upstream);
      upstream.once("error", () => attempt(left.slice(1)));
      upstream.once("connect", () => {
        upstream.removeAllListeners("error");
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        upstream.on("error", end).on("close", end);
        client.on("error", end).on("close", end);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(order);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    close: () =>
      new Promise((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
