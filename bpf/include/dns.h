/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DNS visibility: the layout shared by bpf/dns.bpf.c and the agent
 * (agent/modules/dns/layout.ts mirrors it; layout_test.ts checks the structs
 * and every enum below against the object's BTF, so each constant has one
 * source: this file).
 *
 * A pod is its host veth's ifindex, as in the flows module (the pod directory
 * resolves it). Counted from the pod's point of view as a DNS client: its
 * queries on the veth's tc ingress (what the pod sent), the answers on tc
 * egress (what it received). A pod that serves DNS is not counted as a client
 * for the queries it answers (DNS_STAT_SERVED), so a query between two pods
 * of one node is counted once.
 */
#ifndef EBPF_K8S_DNS_H
#define EBPF_K8S_DNS_H

enum ek8s_dns_limits {
	DNS_PORT = 53, /* always recognised, besides dns_config.ports */
	DNS_PORT_SLOTS = 8, /* dns_config.ports: more DNS ports the agent sets (0: unused) */
	DNS_NAME_MAX = 255, /* a question's name in wire form, labels and final zero (RFC 1035) */
	DNS_NAME_BYTES = 256, /* dns_name_value.name: room for DNS_NAME_MAX */
	DNS_SERVERS_DEFAULT_ENTRIES = 4096, /* dns_servers (LRU): (pod, server, port) */
	DNS_PENDING_DEFAULT_ENTRIES = 16384, /* dns_pending (LRU): queries waiting for their answer */
	DNS_NAMES_DEFAULT_ENTRIES = 8192, /* dns_names (hash): (pod, name); full: the pod's dns_names_other */
	DNS_PODS_DEFAULT_ENTRIES = 1024, /* dns_names_other (hash): one entry per pod */
};

/* Query types counted one by one (dns_server_stats.queries[]); the rest in DNS_Q_OTHER. */
enum ek8s_dns_qtype_slot {
	DNS_Q_A, /* 1 */
	DNS_Q_AAAA, /* 28 */
	DNS_Q_CNAME, /* 5 */
	DNS_Q_PTR, /* 12 */
	DNS_Q_MX, /* 15 */
	DNS_Q_TXT, /* 16 */
	DNS_Q_SRV, /* 33 */
	DNS_Q_NS, /* 2 */
	DNS_Q_SOA, /* 6 */
	DNS_Q_HTTPS, /* 65 */
	DNS_Q_ANY, /* 255 */
	DNS_Q_OTHER,
	DNS_QTYPE_SLOTS,
};

/* Response codes counted one by one (dns_server_stats.responses[]). */
enum ek8s_dns_rcode_slot {
	DNS_R_NOERROR, /* 0 */
	DNS_R_NXDOMAIN, /* 3 */
	DNS_R_SERVFAIL, /* 2 */
	DNS_R_REFUSED, /* 5 */
	DNS_R_OTHER,
	DNS_RCODE_SLOTS,
};

/*
 * Latency histogram: bucket i counts answers within DNS_LAT_LE_<i> µs (and
 * above the bound before); the last bucket, everything slower. The agent
 * reads the bounds from here (layout.ts), never a copy of its own.
 */
enum ek8s_dns_latency_bounds_us {
	DNS_LAT_LE_0 = 100,
	DNS_LAT_LE_1 = 250,
	DNS_LAT_LE_2 = 500,
	DNS_LAT_LE_3 = 1000,
	DNS_LAT_LE_4 = 2500,
	DNS_LAT_LE_5 = 5000,
	DNS_LAT_LE_6 = 10000,
	DNS_LAT_LE_7 = 25000,
	DNS_LAT_LE_8 = 50000,
	DNS_LAT_LE_9 = 100000,
	DNS_LAT_LE_10 = 250000,
	DNS_LAT_LE_11 = 500000,
	DNS_LAT_LE_12 = 1000000,
	DNS_LAT_LE_13 = 2500000,
};
enum ek8s_dns_latency {
	DNS_LAT_BOUNDS = 14,
	DNS_LAT_BUCKETS = 15, /* the bounds and one for slower */
};

/*
 * dns_stats (per-CPU array): what was malformed or skipped, by reason, and the
 * tables' insertions (the agent derives evictions from them).
 */
enum ek8s_dns_stat {
	DNS_STAT_SHORT_HEADER, /* malformed: fewer than 12 header bytes (over TCP: 14, with the length) */
	DNS_STAT_NAME_TOO_LONG, /* malformed: no end of the name within DNS_NAME_MAX bytes */
	DNS_STAT_POINTER, /* malformed: a compression pointer in the question (never followed) */
	DNS_STAT_BAD_LABEL, /* malformed: a label type 01 or 10 (RFC 6891 extended labels, reserved) */
	DNS_STAT_SHORT_QUESTION, /* malformed: the packet ends inside the name, type or class */
	DNS_STAT_NOT_TRACKED, /* skipped: to a DNS port but QR=1, from one but QR=0, or opcode not QUERY */
	DNS_STAT_QDCOUNT, /* skipped: a query or NXDOMAIN answer with not exactly one question */
	DNS_STAT_SERVED, /* skipped: the pod is the server (a query it received, an answer it sent) */
	DNS_STAT_PENDING_CREATED, /* dns_pending entries inserted */
	DNS_STAT_MATCHED, /* answers matched to their query (entry removed, latency counted) */
	DNS_STAT_RETRANSMITS, /* queries whose (id, 5-tuple) was pending already: the first one's time is kept */
	DNS_STAT_UNMATCHED, /* answers with no pending query (timed out, evicted, or the query went unseen) */
	DNS_STAT_PENDING_FAILED, /* a query's dns_pending insert failed: its answer goes unmatched */
	DNS_STAT_SERVERS_CREATED, /* dns_servers entries inserted */
	DNS_STAT_SERVERS_FAILED, /* a dns_servers insert failed: counted nowhere but here */
	DNS_STAT_NAMES_CREATED, /* dns_names entries inserted */
	DNS_STAT_NAMES_FULL, /* dns_names was full: counted in the pod's dns_names_other entry */
	DNS_STAT_OTHER_FAILED, /* dns_names_other could not take it either: counted nowhere but here */
	DNS_STAT_SLOTS,
};

/* dns_config, an array of one: ports besides 53 (host byte order, 0: unused). */
struct dns_config {
	__u16 ports[DNS_PORT_SLOTS];
};

/* dns_servers: a pod's queries to one server. Addresses as in flows.h (IPv4 as ::ffff:a.b.c.d). */
struct dns_server_key {
	__u32 ifindex; /* the pod's host veth */
	__u16 port; /* the server's DNS port */
	__u8 pad[2];
	__u8 server[16];
};

struct dns_server_stats {
	__u64 created_ns; /* bpf_ktime_get_ns() at insert: tells an entry made again from the one seen before */
	__u64 queries[DNS_QTYPE_SLOTS];
	__u64 queries_tcp; /* of those, over TCP */
	__u64 responses[DNS_RCODE_SLOTS];
	__u64 truncated; /* answers with the TC bit */
	__u64 latency[DNS_LAT_BUCKETS]; /* answers matched to their query, by latency */
	__u64 latency_sum_us; /* their latencies' sum (each in whole µs, rounded down) */
};

/* dns_pending: a query waiting for its answer, by what the answer carries back. */
struct dns_pending_key {
	__u32 ifindex;
	__u16 id; /* the DNS id, as on the wire */
	__u16 client_port; /* host byte order */
	__u16 server_port;
	__u8 proto; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 pad;
	__u8 client[16];
	__u8 server[16];
};

struct dns_pending_value {
	__u64 sent_ns; /* bpf_ktime_get_ns() when the query went out (CLOCK_MONOTONIC) */
};

/*
 * dns_names: a pod's queries for one name, keyed by the name's hash so the
 * table hashes 16 bytes, not the whole name (the name is in the value, written
 * at insert). The hash is 64 bits over the name in wire form with ASCII
 * letters lowercased (dns.bpf.c's mix_word), not cryptographic: two names of
 * one pod with the same length and hash (by chance about 2^-64 a pair, or
 * crafted by the pod) share one entry, their counts merged under the name
 * that came first; every total stays exact either way.
 */
struct dns_name_key {
	__u32 ifindex;
	__u32 len; /* bytes of the name, the final zero included */
	__u64 hash;
};

/* dns_names values ("stats" only: dns_names_other's, by the pod's ifindex, for what did not fit). */
struct dns_name_stats {
	__u64 queries;
	__u64 nxdomain;
};

struct dns_name_value {
	struct dns_name_stats stats;
	__u8 name[DNS_NAME_BYTES]; /* wire form, lowercased; the key's len bytes of it are the name, the rest undefined */
};

#endif
