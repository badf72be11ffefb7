/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Service load balancing at the socket (bpf/sock_lb.bpf.c): the layout
 * shared with the agent (agent/modules/lb/layout.ts mirrors it; a test checks
 * the mirror against the object's BTF and the limits against
 * control/wire/services.ts).
 *
 * Addresses and ports are in network byte order, as the socket hooks see
 * them (bpf_sock_addr.user_ip4, user_port).
 */
#ifndef EBPF_K8S_LB_H
#define EBPF_K8S_LB_H

/*
 * Limits, as enum members so that they are in the object's BTF. Ids index
 * the arrays directly (id 0 unused), so the arrays have MAX + 1 slots.
 */
enum ek8s_lb_limits {
	LB_MAX_SERVICES = 65535, /* = control/wire/services.ts LB_MAX_SERVICES */
	LB_MAX_BACKENDS = 262143, /* = control/wire/services.ts LB_MAX_BACKENDS */
	/* Backend ids per Maglev table slot group: lb_maglev holds the tables in
	 * chunks of this many u32 (an array map rounds every value up to 8 bytes,
	 * so one u32 per element would cost twice the memory). */
	LB_MAGLEV_CHUNK = 16,
	/* Default pool size in chunks (4 Mi slots, 16 MiB); the agent sets the real one before load. */
	LB_MAGLEV_DEFAULT_CHUNKS = 262144,
	LB_AFFINITY_DEFAULT_ENTRIES = 65536,
	LB_REVERSE_DEFAULT_ENTRIES = 65536,
};

/* lb_svc.flags */
enum ek8s_lb_svc_flags {
	LB_SVC_F_AFFINITY = 1, /* client affinity: a network namespace sticks to its backend */
};

/* lb_backend.state: only ACTIVE is ever picked, from a table or from affinity. */
enum ek8s_lb_backend_state {
	LB_BACKEND_NONE = 0, /* unused slot, or removed and waiting for its quarantine to end */
	LB_BACKEND_ACTIVE = 1,
	LB_BACKEND_TERMINATING = 2,
	LB_BACKEND_UNHEALTHY = 3,
};

/* lb_services key: a frontend. */
struct lb_svc_key {
	__be32 vip;
	__be16 port;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

/*
 * lb_services value. A hash map hands programs a pointer into an element
 * that a concurrent update may recycle for another key (preallocated
 * elements are reused at once, others as soon as they are freed), so the
 * value repeats its key and carries a check word over all fields: a program
 * copies it, and uses the copy only if key and check agree.
 */
struct lb_svc {
	__be32 vip;
	__be16 port;
	__u8 proto;
	__u8 flags; /* LB_SVC_F_* */
	__u32 id; /* 1..LB_MAX_SERVICES: index of lb_svc_stats and part of the affinity key */
	__u32 table_offset; /* first slot of its Maglev table in lb_maglev (a multiple of LB_MAGLEV_CHUNK) */
	__u32 table_size; /* slots; 0: no usable backend, connections are refused */
	__u32 gen; /* changes when the service loses a backend: older affinity entries no longer count */
	__u32 affinity_timeout_s;
	__u32 check; /* lb_svc_check() of the words before it */
};

/* lb_backends value, index = backend id. Read by programs as one 8-byte word. */
struct lb_backend {
	__be32 ip;
	__be16 port;
	__u8 state; /* LB_BACKEND_* */
	__u8 pad;
};

/* lb_maglev value: LB_MAGLEV_CHUNK consecutive table slots (backend ids). */
struct lb_maglev_chunk {
	__u32 ids[LB_MAGLEV_CHUNK];
};

/* lb_affinity: the backend a client (network namespace) uses for a service. */
struct lb_affinity_key {
	__u64 netns_cookie;
	__u32 service_id;
	__u32 pad;
};

struct lb_affinity {
	__u32 backend_id; /* backend_id and gen are read as one 8-byte word */
	__u32 gen; /* lb_svc.gen when it was chosen */
	__u64 last_use_ns; /* bpf_ktime_get_ns() of the last connection that used it */
};

/* lb_reverse: what the application must see instead of the backend it talks to. */
struct lb_reverse_key {
	__u64 cookie; /* socket cookie */
	__be32 ip; /* backend */
	__be16 port;
	__u16 pad;
};

struct lb_reverse {
	__be32 vip;
	__be16 port;
	__u16 pad;
};

/* lb_svc_stats, index = service id; lb_backend_stats, index = backend id. Cumulative, atomic adds. */
struct lb_svc_stats {
	__u64 connections; /* backend selections: TCP/UDP connect(), unconnected UDP sendmsg() */
	__u64 refused; /* no usable backend: ECONNREFUSED */
};

struct lb_backend_stats {
	__u64 connections;
};

#define LB_CHECK_SEED 0x6c62u /* "lb" */

/* The check word of a service value: FNV-1a over its first seven 32-bit words (the agent computes it the same way). */
static __always_inline __u32 lb_svc_check(const struct lb_svc *s)
{
	const __u32 *w = (const __u32 *)s;
	__u32 h = 2166136261u ^ LB_CHECK_SEED;

#pragma unroll
	for (int i = 0; i < 7; i++) {
		h ^= w[i];
		h *= 16777619u;
	}
	return h;
}

#endif
