/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Socket acceleration of same-node traffic (bpf/sock_accel.bpf.c): the
 * layout shared with the agent (agent/modules/accel/layout.ts mirrors it).
 * Addresses are in network byte order, ports in host byte order.
 */
#ifndef EBPF_K8S_ACCEL_H
#define EBPF_K8S_ACCEL_H

enum ek8s_accel_limits {
	ACCEL_MAX_RULES = 1023,       /* = control/wire/accel.ts ACCEL_MAX_RULES */
	ACCEL_LOCAL_ENTRIES = 16384,  /* pod addresses of this node */
	ACCEL_ENDPOINT_ENTRIES = 65536,
	ACCEL_SOCK_ENTRIES = 65536,   /* sockets in the sockhash (two per connection) */
};

/* accel_config index 0 */
struct accel_config {
	__u32 enabled; /* 0: no new socket is inserted, and a socket that sends while off stays on the normal way */
	__u32 pad;
};

/* accel_sockets key: one socket, from its own side. */
struct accel_sock_key {
	__be32 local_ip;
	__be32 remote_ip;
	__u32 local_port;
	__u32 remote_port;
};

/* accel_endpoints key: a server endpoint opted in (port 0: every port of that pod address). */
struct accel_endpoint_key {
	__be32 ip;
	__u16 port;
	__u16 pad;
};

/* accel_stats value (per CPU), indexed by rule id. */
struct accel_stats {
	__u64 connections; /* connections both of whose sockets entered the sockhash */
	__u64 bytes;       /* bytes redirected to the peer socket (both directions) */
	__u64 msgs;        /* messages redirected */
	__u64 passed;      /* messages of inserted sockets sent the normal way (peer not found, or switched off) */
};

/* per-socket storage */
struct accel_sk {
	__u32 rule;
	__u32 plain; /* sent a message the normal way: never redirects again (see accel_msg) */
};
#endif
