// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { MAX_BACKENDS_PER_SERVICE } from "../wire/services.ts";
import {
  endpoint,
  kubeService,
  NOT_READY,
  slice,
  TERMINATING_GONE,
  TERMINATING_SERVING,
} from "./fixtures.test-support.ts";
import {
  endpointState,
  type KubeEndpointSlice,
  type KubeService,
  translate,
  trimService,
  trimSlice,
} from "./translate.ts";

const HTTP = { name: "http", protocol: "TCP", port: 80, targetPort: "web" };
const DNS = { name: "dns", protocol: "UDP", port: 53, targetPort: 5353 };
const SLICE_PORTS = [
  { name: "http", protocol: "TCP", port: 8080 },
  { name: "dns", protocol: "UDP", port: 5353 },
];

describe("translate: services", () => {
  it("makes one service per TCP/UDP port of a ClusterIP service, with backends from its slices", () => {
    const { services, skipped } = translate(
      [kubeService("shop", "web", "10.96.0.10", [HTTP, DNS, { name: "sctp", protocol: "SCTP", port: 9 }])],
      [
        slice("shop", "web", "web-abc", SLICE_PORTS, [
          endpoint("10.244.1.5", "web-1"),
          endpoint("10.244.0.7", "web-2"),
        ]),
        slice("shop", "web", "web-def", SLICE_PORTS, [endpoint("10.244.2.9", "web-3")]),
      ],
    );
    const backends = (port: number) => [
      { ip: "10.244.0.7", port, weight: 1, state: "active", pod: { namespace: "shop", name: "web-2" } },
      { ip: "10.244.1.5", port, weight: 1, state: "active", pod: { namespace: "shop", name: "web-1" } },
      { ip: "10.244.2.9", port, weight: 1, state: "active", pod: { namespace: "shop", name: "web-3" } },
    ];
    expect(services).toEqual([
      {
        namespace: "shop",
        name: "web",
        portName: "dns",
        vip: "10.96.0.10",
        port: 53,
        protocol: "UDP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends: backends(5353),
        type: "ClusterIP",
        externalIPs: [],
      },
      {
        namespace: "shop",
        name: "web",
        portName: "http",
        vip: "10.96.0.10",
        port: 80,
        protocol: "TCP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends: backends(8080),
        type: "ClusterIP",
        externalIPs: [],
      },
    ]);
    expect(skipped).toEqual([{ key: "shop/web:sctp", reason: "protocol SCTP (only TCP and UDP are balanced)" }]);
  });

  it('takes an unnamed port as portName "" and a missing protocol as TCP', () => {
    const { services } = translate(
      [kubeService("default", "redis", "10.96.0.20", [{ port: 6379 }])],
      [slice("default", "redis", "redis-1", [{ port: 6380 }], [endpoint("10.244.0.3", null)])],
    );
    expect(services).toEqual([
      {
        namespace: "default",
        name: "redis",
        portName: "",
        vip: "10.96.0.20",
        port: 6379,
        protocol: "TCP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends: [{ ip: "10.244.0.3", port: 6380, weight: 1, state: "active" }],
        type: "ClusterIP",
        externalIPs: [],
      },
    ]);
  });

  it("maps NodePort and LoadBalancer with their nodePorts, external IPs and the load balancer's IPv4 ingress; a nodePort not yet allocated leaves a ClusterIP", () => {
    const lb = {
      ...kubeService("shop", "web", "10.96.0.10", [{ ...HTTP, nodePort: 30080 }], {
        type: "LoadBalancer",
        externalIPs: ["203.0.113.7", "2001:db8::1"],
      }),
      status: { loadBalancer: { ingress: [{ ip: "198.51.100.9" }, { hostname: "lb.example" }] } },
    };
    const np = kubeService("shop", "api", "10.96.0.11", [{ port: 8443, nodePort: 31443 }, { name: "x", port: 9000 }], {
      type: "NodePort",
    });
    const pick = (l: ReturnType<typeof translate>) =>
      l.services.map(({ name, portName, type, nodePort, externalIPs }) => ({
        name,
        portName,
        type,
        nodePort,
        externalIPs,
      }));
    const t = translate([lb, np], []);
    expect(pick(t)).toEqual([
      { name: "api", portName: "", type: "NodePort", nodePort: 31443, externalIPs: [] },
      { name: "api", portName: "x", type: "ClusterIP", nodePort: undefined, externalIPs: [] },
      {
        name: "web",
        portName: "http",
        type: "LoadBalancer",
        nodePort: 30080,
        externalIPs: ["203.0.113.7", "198.51.100.9"],
      },
    ]);
    expect(pick(translate([trimService(lb), trimService(np)], []))).toEqual(pick(t));
  });

  it("leaves out headless and ExternalName services without a word, and IPv6-only ones with one", () => {
    const { services, skipped } = translate(
      [
        kubeService("a", "headless", "None", [HTTP]),
        { metadata: { namespace: "a", name: "ext" }, spec: { type: "ExternalName", ports: [HTTP] } },
        kubeService("a", "v6", "fd00::10", [HTTP]),
      ],
      [],
    );
    expect(services).toEqual([]);
    expect(skipped).toEqual([{ key: "a/v6", reason: "IPv6-only cluster IP fd00::10 (only IPv4 is balanced)" }]);
  });

  it("takes the IPv4 cluster IP of a dual-stack service whose primary is IPv6", () => {
    const { services } = translate([
      kubeService("a", "dual", "fd00::10", [HTTP], { clusterIPs: ["fd00::10", "10.96.0.30"] }),
    ], []);
    expect(services.map((s) => s.vip)).toEqual(["10.96.0.30"]);
  });

  it("maps sessionAffinity ClientIP to client affinity with its timeout, 10800 s by default", () => {
    const { services } = translate(
      [
        kubeService("a", "sticky", "10.96.0.1", [HTTP], {
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
        }),
        kubeService("a", "sticky-default", "10.96.0.2", [HTTP], { sessionAffinity: "ClientIP" }),
        kubeService("a", "loose", "10.96.0.3", [HTTP], { sessionAffinity: "None" }),
      ],
      [],
    );
    expect(services.map((s) => [s.name, s.affinity, s.affinityTimeoutS])).toEqual([
      ["loose", "none", 10800],
      ["sticky", "client", 600],
      ["sticky-default", "client", 10800],
    ]);
  });
});

describe("translate: backends", () => {
  it("maps endpoint conditions to backend states", () => {
    expect(endpointState({ ready: true, serving: true, terminating: false })).toBe("active");
    expect(endpointState(undefined)).toBe("active"); // absent ready means true
    expect(endpointState({})).toBe("active");
    expect(endpointState(TERMINATING_SERVING)).toBe("terminating");
    expect(endpointState(TERMINATING_GONE)).toBe("terminating");
    expect(endpointState(NOT_READY)).toBe("unhealthy");
    expect(endpointState({ ready: false })).toBe("unhealthy");
    // publishNotReadyAddresses: Kubernetes reports ready while terminating because the service asked for it.
    expect(endpointState({ ready: true, serving: true, terminating: true })).toBe("active");
  });

  it("reads only IPv4 slices of the service in its namespace, and only the matching slice port", () => {
    const { services } = translate(
      [kubeService("shop", "web", "10.96.0.10", [HTTP])],
      [
        slice("shop", "web", "web-a", SLICE_PORTS, [
          endpoint("10.244.0.1", "web-1"),
          endpoint("10.244.0.2", "web-2", TERMINATING_SERVING),
          endpoint("10.244.0.3", "web-3", TERMINATING_GONE),
          endpoint("10.244.0.4", "web-4", NOT_READY),
          { addresses: ["10.244.0.5"], targetRef: { kind: "Node", name: "node-a" } },
          {
            addresses: ["10.244.0.6", "10.244.0.66"],
            targetRef: { kind: "Pod", name: "web-6", namespace: "elsewhere" },
          },
        ]),
        slice("other", "web", "web-other-ns", SLICE_PORTS, [endpoint("10.244.9.1", "x")]),
        slice("shop", "web", "web-v6", SLICE_PORTS, [endpoint("fd00::1", "y")], "IPv6"),
        slice("shop", "web", "web-fqdn", SLICE_PORTS, [endpoint("web.example", "z")], "FQDN"),
        slice("shop", "db", "db-a", SLICE_PORTS, [endpoint("10.244.9.2", "db-1")]),
        slice("shop", "web", "web-otherport", [{ name: "metrics", port: 9090 }], [endpoint("10.244.9.3", "web-9")]),
        slice("shop", "web", "web-unrestricted", [{ name: "http" }], [endpoint("10.244.9.4", "web-10")]),
        {
          ...slice("shop", "web", "web-nolabel", SLICE_PORTS, [endpoint("10.244.9.5", "web-11")]),
          metadata: { namespace: "shop", name: "web-nolabel" },
        },
      ],
    );
    expect(services).toHaveLength(1);
    expect(services[0]!.backends).toEqual([
      { ip: "10.244.0.1", port: 8080, weight: 1, state: "active", pod: { namespace: "shop", name: "web-1" } },
      { ip: "10.244.0.2", port: 8080, weight: 1, state: "terminating", pod: { namespace: "shop", name: "web-2" } },
      { ip: "10.244.0.3", port: 8080, weight: 1, state: "terminating", pod: { namespace: "shop", name: "web-3" } },
      { ip: "10.244.0.4", port: 8080, weight: 1, state: "unhealthy", pod: { namespace: "shop", name: "web-4" } },
      { ip: "10.244.0.5", port: 8080, weight: 1, state: "active" },
      { ip: "10.244.0.6", port: 8080, weight: 1, state: "active", pod: { namespace: "elsewhere", name: "web-6" } },
    ]);
  });

  it("makes one backend of an ip:port listed by two slices, in its best state", () => {
    const { services } = translate(
      [kubeService("shop", "web", "10.96.0.10", [HTTP])],
      [
        slice("shop", "web", "web-a", SLICE_PORTS, [
          endpoint("10.244.0.1", "web-1", NOT_READY),
          endpoint("10.244.0.2", "web-2", TERMINATING_SERVING),
        ]),
        slice("shop", "web", "web-b", SLICE_PORTS, [
          endpoint("10.244.0.1", "web-1"),
          endpoint("10.244.0.2", "web-2", NOT_READY),
        ]),
      ],
    );
    expect(services[0]!.backends.map((b) => [b.ip, b.state])).toEqual([
      ["10.244.0.1", "active"],
      ["10.244.0.2", "terminating"],
    ]);
  });
});

describe("translate: what fails the wire schema", () => {
  it("leaves out one bad service, one bad backend or one bad pod ref, and keeps the rest", () => {
    const { services, skipped } = translate(
      [
        kubeService("a", "good", "10.96.0.1", [HTTP]),
        kubeService("a", "too-sticky", "10.96.0.2", [HTTP], {
          sessionAffinity: "ClientIP",
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 100_000 } },
        }),
        kubeService("a", "zero-port", "10.96.0.3", [{ name: "http", port: 0 }]),
      ],
      [
        slice("a", "good", "good-1", SLICE_PORTS, [
          endpoint("10.244.0.1", "Bad_Pod"),
          endpoint("10.244.0.256", "p2"),
          endpoint("10.244.0.3", "p3"),
        ]),
      ],
    );
    expect(services.map((s) => s.name)).toEqual(["good"]);
    expect(services[0]!.backends).toEqual([
      { ip: "10.244.0.1", port: 8080, weight: 1, state: "active" },
      { ip: "10.244.0.3", port: 8080, weight: 1, state: "active", pod: { namespace: "a", name: "p3" } },
    ]);
    expect(skipped).toEqual([
      {
        key: "a/good:http 10.244.0.1:8080",
        reason: "pod ref a/Bad_Pod left out: pod.name: must be a lowercase RFC 1123 name",
      },
      { key: "a/good:http 10.244.0.256:8080", reason: "ip: must be an IPv4 address" },
      { key: "a/too-sticky:http", reason: "affinityTimeoutS: Too big: expected number to be <=86400" },
      { key: "a/zero-port:http", reason: "port: must be a port from 1 to 65535" },
    ]);
  });

  it("keeps the first of two services with one name or one frontend", () => {
    const { services, skipped } = translate(
      [
        kubeService("a", "twice", "10.96.0.1", [HTTP, { ...HTTP, port: 81 }]),
        kubeService("b", "copy", "10.96.0.1", [{ name: "web", port: 80 }]),
      ],
      [],
    );
    expect(services.map((s) => `${s.namespace}/${s.name}:${s.portName} ${s.vip}:${s.port}`)).toEqual([
      "a/twice:http 10.96.0.1:80",
    ]);
    expect(skipped).toEqual([
      { key: "a/twice:http", reason: "the name is already used by another port of the same Service" },
      { key: "b/copy:web", reason: '10.96.0.1:80/TCP is already the frontend of a/twice port "http"' },
    ]);
  });

  it(`keeps at most ${MAX_BACKENDS_PER_SERVICE} backends a service, active ones first`, () => {
    const eps = Array.from(
      { length: MAX_BACKENDS_PER_SERVICE + 6 },
      (_, i) => endpoint(`10.1.${i >> 8}.${i & 255}`, null, i < 10 ? NOT_READY : undefined),
    );
    const { services, skipped } = translate([kubeService("a", "big", "10.96.0.1", [HTTP])], [
      slice("a", "big", "big-1", SLICE_PORTS, eps),
    ]);
    const backends = services[0]!.backends;
    expect(backends).toHaveLength(MAX_BACKENDS_PER_SERVICE);
    expect(backends.filter((b) => b.state === "unhealthy")).toHaveLength(4);
    expect(skipped).toEqual([{
      key: "a/big:http",
      reason: "6 of 1030 backends cut (at most 1024; active ones kept first)",
    }]);
  });
});

describe("trimService, trimSlice", () => {
  it("keep what translate reads and nothing else", () => {
    const heavy = {
      managedFields: [{ manager: "kubectl", fieldsV1: { "f:spec": {} } }],
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(4000) },
      uid: "u",
    };
    const svc = kubeService("shop", "web", "10.96.0.10", [HTTP, DNS], {
      sessionAffinity: "ClientIP",
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    });
    const sl = slice("shop", "web", "web-a", SLICE_PORTS, [
      endpoint("10.244.0.1", "web-1"),
      endpoint("10.244.0.2", "web-2", TERMINATING_SERVING),
    ]);
    const fatSvc = { ...svc, metadata: { ...svc.metadata, ...heavy }, status: { loadBalancer: {} } } as KubeService;
    const fatSlice = {
      ...sl,
      metadata: {
        ...sl.metadata,
        ...heavy,
        labels: { ...sl.metadata.labels, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
      },
    } as KubeEndpointSlice;
    expect(translate([trimService(fatSvc)], [trimSlice(fatSlice)])).toEqual(translate([fatSvc], [fatSlice]));
    expect(JSON.stringify(trimService(fatSvc))).not.toMatch(/managedFields|last-applied|status|resourceVersion/);
    expect(JSON.stringify(trimSlice(fatSlice))).not.toMatch(/managedFields|last-applied|managed-by|serving/);
  });
});
