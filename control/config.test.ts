// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { appSettings, parseConfig } from "./config.ts";
import { parseLabelSelector } from "./kube/label-selector.ts";

describe("parseConfig", () => {
  it("has defaults for everything", () => {
    expect(parseConfig({})).toEqual({
      PORT: 8080,
      HOST: "0.0.0.0",
      DATABASE_URL: "file:./data/ebpf-k8s.db",
      EBPF_K8S_READ_AUTH: "open",
      EBPF_K8S_STALE_AFTER: 30,
      EBPF_K8S_LOST_AFTER: 120,
      EBPF_K8S_REMOVE_LOST_NODES_AFTER: null,
      EBPF_K8S_INGEST_RATE: 5,
      EBPF_K8S_INGEST_BURST: 20,
      EBPF_K8S_REQUEST_TIMEOUT_MS: 10_000,
      EBPF_K8S_INGEST_MAX_IN_FLIGHT: undefined,
      EBPF_K8S_INGEST_MAX_QUEUED: 16,
      EBPF_K8S_INGEST_MAX_STORING: 2,
      EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS: 50,
      EBPF_K8S_INGEST_RETRY_AFTER: 2,
      EBPF_K8S_INGEST_MAX_RETRY_AFTER: 60,
      EBPF_K8S_RETENTION_RAW: 7200,
      EBPF_K8S_RETENTION_1M: 172_800,
      EBPF_K8S_RETENTION_1H: 2_592_000,
      EBPF_K8S_POD_GRACE: 300,
      EBPF_K8S_MAX_FLOW_KEYS: 2000,
      EBPF_K8S_MAX_TCP_KEYS: 2000,
      EBPF_K8S_MAX_DROP_KEYS: 500,
      EBPF_K8S_MAX_DNS_NAME_KEYS: 2000,
      EBPF_K8S_MAX_DNS_SERVER_KEYS: 2000,
      EBPF_K8S_STREAM_MAX_FOLLOWERS: 100,
      EBPF_K8S_STREAM_MAX_QUEUED: 4096,
      EBPF_K8S_MAINTENANCE_INTERVAL: 60,
      EBPF_K8S_ALERT_INTERVAL: 5,
      EBPF_K8S_NOTIFY_INTERVAL: 1,
      EBPF_K8S_NOTIFY_TIMEOUT: 5,
      EBPF_K8S_NOTIFY_RETRY_MIN: 1,
      EBPF_K8S_NOTIFY_RETRY_MAX: 300,
      EBPF_K8S_NOTIFY_GIVE_UP: 86_400,
      EBPF_K8S_NOTIFY_RETENTION: 604_800,
      EBPF_K8S_NOTIFY_MAX_PENDING: 10_000,
      EBPF_K8S_DEFAULT_THRESHOLDS: "on",
      EBPF_K8S_LEASE: 15,
      EBPF_K8S_LEASE_RENEW: 5,
      EBPF_K8S_KUBE_SYNC: "auto",
      EBPF_K8S_KUBE_SERVICE_SELECTOR: parseLabelSelector("!service.kubernetes.io/service-proxy-name"),
      EBPF_K8S_KUBE_SERVICE_NAMESPACES: [],
      EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: [],
    });
  });

  it("reads the environment, treating empty as unset", () => {
    expect(
      parseConfig({
        PORT: "9000",
        HOST: "",
        DATABASE_URL: "libsql://db.example",
        DATABASE_AUTH_TOKEN: "t",
        EBPF_K8S_ADMIN_TOKEN: "a-long-enough-admin-token",
        EBPF_K8S_READ_AUTH: "token",
        EBPF_K8S_READ_TOKEN: "a-long-enough-read-token",
        EBPF_K8S_STALE_AFTER: "15",
        EBPF_K8S_LOST_AFTER: "",
        EBPF_K8S_INGEST_RATE: "0.5",
        EBPF_K8S_INGEST_BURST: "3",
        EBPF_K8S_REQUEST_TIMEOUT_MS: "2500",
        EBPF_K8S_INGEST_MAX_IN_FLIGHT: "4",
        EBPF_K8S_INGEST_MAX_QUEUED: "0",
        EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS: "",
        EBPF_K8S_INGEST_RETRY_AFTER: "30",
        EBPF_K8S_RETENTION_RAW: "30m",
        EBPF_K8S_RETENTION_1M: "36h",
        EBPF_K8S_RETENTION_1H: "7d",
        EBPF_K8S_POD_GRACE: "90",
        EBPF_K8S_MAX_FLOW_KEYS: "100",
        EBPF_K8S_MAX_TCP_KEYS: "200",
        EBPF_K8S_MAX_DROP_KEYS: "",
        EBPF_K8S_MAX_DNS_NAME_KEYS: "50",
        EBPF_K8S_MAX_DNS_SERVER_KEYS: "",
        EBPF_K8S_STREAM_MAX_FOLLOWERS: "5",
        EBPF_K8S_STREAM_MAX_QUEUED: "",
        EBPF_K8S_MAINTENANCE_INTERVAL: "1.5s",
        EBPF_K8S_ALERT_INTERVAL: "2s",
        EBPF_K8S_NOTIFY_INTERVAL: "0.5s",
        EBPF_K8S_NOTIFY_RETRY_MAX: "1m",
        EBPF_K8S_NOTIFY_MAX_PENDING: "50",
        EBPF_K8S_EXTERNAL_URL: "https://ek8s.example.com/",
        EBPF_K8S_DEFAULT_THRESHOLDS: "off",
        EBPF_K8S_LEASE: "1.5s",
        EBPF_K8S_LEASE_RENEW: "0.5",
        EBPF_K8S_KUBE_SYNC: "off",
        EBPF_K8S_KUBE_API: "https://10.0.0.1:6443/",
        EBPF_K8S_KUBE_TOKEN: "kube-token",
        EBPF_K8S_KUBE_CA: "/etc/kube/ca.crt",
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        KUBERNETES_SERVICE_PORT: "443",
      }),
    ).toEqual({
      PORT: 9000,
      HOST: "0.0.0.0",
      DATABASE_URL: "libsql://db.example",
      DATABASE_AUTH_TOKEN: "t",
      EBPF_K8S_ADMIN_TOKEN: "a-long-enough-admin-token",
      EBPF_K8S_READ_AUTH: "token",
      EBPF_K8S_READ_TOKEN: "a-long-enough-read-token",
      EBPF_K8S_STALE_AFTER: 15,
      EBPF_K8S_LOST_AFTER: 120,
      EBPF_K8S_REMOVE_LOST_NODES_AFTER: null,
      EBPF_K8S_INGEST_RATE: 0.5,
      EBPF_K8S_INGEST_BURST: 3,
      EBPF_K8S_REQUEST_TIMEOUT_MS: 2500,
      EBPF_K8S_INGEST_MAX_IN_FLIGHT: 4,
      EBPF_K8S_INGEST_MAX_QUEUED: 0,
      EBPF_K8S_INGEST_MAX_STORING: 2,
      EBPF_K8S_INGEST_QUEUE_TIMEOUT_MS: 50,
      EBPF_K8S_INGEST_RETRY_AFTER: 30,
      EBPF_K8S_INGEST_MAX_RETRY_AFTER: 60,
      EBPF_K8S_RETENTION_RAW: 1800,
      EBPF_K8S_RETENTION_1M: 129_600,
      EBPF_K8S_RETENTION_1H: 604_800,
      EBPF_K8S_POD_GRACE: 90,
      EBPF_K8S_MAX_FLOW_KEYS: 100,
      EBPF_K8S_MAX_TCP_KEYS: 200,
      EBPF_K8S_MAX_DROP_KEYS: 500,
      EBPF_K8S_MAX_DNS_NAME_KEYS: 50,
      EBPF_K8S_MAX_DNS_SERVER_KEYS: 2000,
      EBPF_K8S_STREAM_MAX_FOLLOWERS: 5,
      EBPF_K8S_STREAM_MAX_QUEUED: 4096,
      EBPF_K8S_MAINTENANCE_INTERVAL: 1.5,
      EBPF_K8S_ALERT_INTERVAL: 2,
      EBPF_K8S_NOTIFY_INTERVAL: 0.5,
      EBPF_K8S_NOTIFY_TIMEOUT: 5,
      EBPF_K8S_NOTIFY_RETRY_MIN: 1,
      EBPF_K8S_NOTIFY_RETRY_MAX: 60,
      EBPF_K8S_NOTIFY_GIVE_UP: 86_400,
      EBPF_K8S_NOTIFY_RETENTION: 604_800,
      EBPF_K8S_NOTIFY_MAX_PENDING: 50,
      EBPF_K8S_EXTERNAL_URL: "https://ek8s.example.com/",
      EBPF_K8S_DEFAULT_THRESHOLDS: "off",
      EBPF_K8S_LEASE: 1.5,
      EBPF_K8S_LEASE_RENEW: 0.5,
      EBPF_K8S_KUBE_SYNC: "off",
      EBPF_K8S_KUBE_API: "https://10.0.0.1:6443/",
      EBPF_K8S_KUBE_TOKEN: "kube-token",
      EBPF_K8S_KUBE_CA: "/etc/kube/ca.crt",
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: 443,
      EBPF_K8S_KUBE_SERVICE_SELECTOR: parseLabelSelector("!service.kubernetes.io/service-proxy-name"),
      EBPF_K8S_KUBE_SERVICE_NAMESPACES: [],
      EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: [],
    });
  });

  it("reads the Kubernetes Service import filter: a label selector, namespaces to take and to leave", () => {
    const c = parseConfig({
      EBPF_K8S_KUBE_SERVICE_SELECTOR: "app in (web, api), !example.com/skip",
      EBPF_K8S_KUBE_SERVICE_NAMESPACES: " shop, web ,",
      EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: "kube-system",
    });
    expect(c.EBPF_K8S_KUBE_SERVICE_SELECTOR).toEqual({
      text: "app in (web, api), !example.com/skip",
      requirements: [{ key: "app", op: "in", values: ["web", "api"] }, { key: "example.com/skip", op: "!exists" }],
    });
    expect(c.EBPF_K8S_KUBE_SERVICE_NAMESPACES).toEqual(["shop", "web"]);
    expect(c.EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES).toEqual(["kube-system"]);
  });

  it.each([
    [{ PORT: "http" }, /PORT/],
    [{ PORT: "70000" }, /PORT/],
    [{ EBPF_K8S_ADMIN_TOKEN: "short" }, /EBPF_K8S_ADMIN_TOKEN: must be at least 16 characters/],
    [{ EBPF_K8S_READ_AUTH: "maybe" }, /EBPF_K8S_READ_AUTH/],
    [
      { EBPF_K8S_NOTIFY_RETRY_MIN: "10m", EBPF_K8S_NOTIFY_RETRY_MAX: "1m" },
      /EBPF_K8S_NOTIFY_RETRY_MAX: must be at least/,
    ],
    [{ EBPF_K8S_EXTERNAL_URL: "ek8s.example.com" }, /EBPF_K8S_EXTERNAL_URL: must be an http/],
    [
      { EBPF_K8S_READ_TOKEN: "a-long-enough-read-token" },
      /EBPF_K8S_READ_TOKEN: is only used with EBPF_K8S_READ_AUTH=token/,
    ],
    [{ EBPF_K8S_STALE_AFTER: "200" }, /EBPF_K8S_LOST_AFTER: must be greater than EBPF_K8S_STALE_AFTER/],
    [
      { EBPF_K8S_REMOVE_LOST_NODES_AFTER: "7 days" },
      /EBPF_K8S_REMOVE_LOST_NODES_AFTER: must be "off" or a duration such as "7d", "12h" or "90m" \(got "7 days"\)/,
    ],
    [{ EBPF_K8S_REMOVE_LOST_NODES_AFTER: "0d" }, /EBPF_K8S_REMOVE_LOST_NODES_AFTER: must be "off" or a duration/],
    [{ EBPF_K8S_INGEST_RATE: "0" }, /EBPF_K8S_INGEST_RATE/],
    [{ EBPF_K8S_INGEST_BURST: "1.5" }, /EBPF_K8S_INGEST_BURST/],
    [{ EBPF_K8S_REQUEST_TIMEOUT_MS: "-1" }, /EBPF_K8S_REQUEST_TIMEOUT_MS/],
    [{ EBPF_K8S_INGEST_MAX_IN_FLIGHT: "0" }, /EBPF_K8S_INGEST_MAX_IN_FLIGHT/],
    [{ EBPF_K8S_INGEST_MAX_QUEUED: "-1" }, /EBPF_K8S_INGEST_MAX_QUEUED/],
    [{ EBPF_K8S_INGEST_RETRY_AFTER: "1.5" }, /EBPF_K8S_INGEST_RETRY_AFTER/],
    [{ EBPF_K8S_POD_GRACE: "5 minutes" }, /EBPF_K8S_POD_GRACE: must be a duration such as "90s"/],
    [{ EBPF_K8S_RETENTION_1H: "0d" }, /EBPF_K8S_RETENTION_1H: must be longer than zero/],
    [{ EBPF_K8S_RETENTION_RAW: "30s" }, /EBPF_K8S_RETENTION_RAW: must be longer than EBPF_K8S_MAINTENANCE_INTERVAL/],
    [{ EBPF_K8S_MAX_FLOW_KEYS: "0" }, /EBPF_K8S_MAX_FLOW_KEYS/],
    [{ EBPF_K8S_MAX_DNS_NAME_KEYS: "0" }, /EBPF_K8S_MAX_DNS_NAME_KEYS/],
    [{ EBPF_K8S_LEASE_RENEW: "6s" }, /EBPF_K8S_LEASE_RENEW: must be at most a third of EBPF_K8S_LEASE/],
    [{ EBPF_K8S_KUBE_SYNC: "on" }, /EBPF_K8S_KUBE_SYNC/],
    [{ EBPF_K8S_KUBE_API: "10.0.0.1:6443" }, /EBPF_K8S_KUBE_API: must be an http:\/\/ or https:\/\/ URL/],
    [{ EBPF_K8S_KUBE_TOKEN: "t" }, /EBPF_K8S_KUBE_API: must be set when EBPF_K8S_KUBE_TOKEN or EBPF_K8S_KUBE_CA is/],
    [
      { EBPF_K8S_KUBE_SERVICE_SELECTOR: "app in web" },
      /EBPF_K8S_KUBE_SERVICE_SELECTOR: not a Kubernetes label selector: "app in web": not key, !key/,
    ],
    [
      { EBPF_K8S_KUBE_SERVICE_SELECTOR: "tier=front end" },
      /EBPF_K8S_KUBE_SERVICE_SELECTOR: not a Kubernetes label selector: "tier=front end"/,
    ],
    [
      { EBPF_K8S_KUBE_SERVICE_NAMESPACES: "shop,Kube_System" },
      /EBPF_K8S_KUBE_SERVICE_NAMESPACES: not namespace names \(lowercase RFC 1123 labels\): Kube_System/,
    ],
    [
      { EBPF_K8S_KUBE_SERVICE_NAMESPACES: "shop,ops", EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: "ops" },
      /EBPF_K8S_KUBE_SERVICE_EXCLUDE_NAMESPACES: names a namespace EBPF_K8S_KUBE_SERVICE_NAMESPACES takes/,
    ],
    [
      { EBPF_K8S_TLS_CERT: "/etc/tls/cert.pem" },
      /EBPF_K8S_TLS_KEY: EBPF_K8S_TLS_CERT and EBPF_K8S_TLS_KEY go together/,
    ],
    [{ EBPF_K8S_TLS_KEY: "/etc/tls/key.pem" }, /EBPF_K8S_TLS_KEY: EBPF_K8S_TLS_CERT and EBPF_K8S_TLS_KEY go together/],
    [{ EBPF_K8S_TLS_CERT: "cert.pem", EBPF_K8S_TLS_KEY: "/k" }, /EBPF_K8S_TLS_CERT: must be an absolute path/],
  ])("names a bad variable: %o", (env, message) => {
    expect(() => parseConfig(env)).toThrow(message);
  });
});

describe("appSettings", () => {
  it("stores one batch at a time on an embedded database, four on a libSQL server, unless told", () => {
    const inFlight = (env: Record<string, string>) => appSettings(parseConfig(env)).ingestAdmission.maxInFlight;
    expect(inFlight({})).toBe(1);
    expect(inFlight({ DATABASE_URL: "file:/var/lib/ebpf-k8s/control.db" })).toBe(1);
    expect(inFlight({ DATABASE_URL: ":memory:" })).toBe(1);
    expect(inFlight({ DATABASE_URL: "libsql://db.example:8080" })).toBe(4);
    expect(inFlight({ DATABASE_URL: "http://127.0.0.1:8080" })).toBe(4);
    expect(inFlight({ DATABASE_URL: "libsql://db.example:8080", EBPF_K8S_INGEST_MAX_IN_FLIGHT: "2" })).toBe(2);
  });

  it("bounds live flows per replica as configured, keep-alive and grace as built in", () => {
    const env = { EBPF_K8S_STREAM_MAX_FOLLOWERS: "7", EBPF_K8S_STREAM_MAX_QUEUED: "300" };
    expect(appSettings(parseConfig(env)).flowStream).toEqual({
      maxFollowers: 7,
      maxQueued: 300,
      keepAliveMs: 15_000,
      dropGraceMs: 5_000,
    });
    expect(() => parseConfig({ EBPF_K8S_STREAM_MAX_QUEUED: "0" })).toThrow(/EBPF_K8S_STREAM_MAX_QUEUED/);
  });

  it("caps distinct keys per node and bucket as configured", () => {
    const env = { EBPF_K8S_MAX_FLOW_KEYS: "10", EBPF_K8S_MAX_DNS_NAME_KEYS: "7", EBPF_K8S_MAX_DNS_SERVER_KEYS: "3" };
    expect(appSettings(parseConfig(env)).monitoring.caps).toEqual({
      flows: 10,
      tcp: 2000,
      drops: 500,
      dnsNames: 7,
      dnsServers: 3,
    });
  });

  it("removes Lost nodes only when asked to, after the duration given", () => {
    expect(appSettings(parseConfig({})).removeLostNodesAfterMs).toBeNull();
    expect(appSettings(parseConfig({ EBPF_K8S_REMOVE_LOST_NODES_AFTER: "off" })).removeLostNodesAfterMs).toBeNull();
    expect(appSettings(parseConfig({ EBPF_K8S_REMOVE_LOST_NODES_AFTER: "7d" })).removeLostNodesAfterMs).toBe(
      7 * 86_400_000,
    );
    expect(appSettings(parseConfig({ EBPF_K8S_REMOVE_LOST_NODES_AFTER: "90" })).removeLostNodesAfterMs).toBe(90_000);
  });

  it("converts to the app's units", () => {
    expect(appSettings(parseConfig({ EBPF_K8S_STALE_AFTER: "10", EBPF_K8S_LOST_AFTER: "60" }))).toMatchObject({
      readAuth: "open",
      staleAfterMs: 10_000,
      lostAfterMs: 60_000,
      ingestRatePerSec: 5,
      ingestBurst: 20,
      requestTimeoutMs: 10_000,
      // The longest Retry-After, 60, with the agent's jitter would outlast EBPF_K8S_LOST_AFTER=60: 60 / 1.5 - 1.
      ingestAdmission: {
        maxInFlight: 1,
        maxStoring: 2,
        maxQueued: 16,
        maxQueueMs: 50,
        retryAfterSeconds: 2,
        maxRetryAfterSeconds: 39,
      },
      alertIntervalMs: 5_000,
    });
  });
});
