/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * TCP health: the layout shared by bpf/tcp.bpf.c and the agent
 * (agent/modules/tcp/layout.ts mirrors it; a test checks it against BTF).
 * Aggregated per (network namespace, local address, remote address, service
 * port, role): the local side is a pod (found by its netns), the service port
 * is the remote port for a client and the local port for a server.
 */
#ifndef EBPF_K8S_TCP_H
#define EBPF_K8S_TCP_H

#define TCP_ROLE_CLIENT 0 /* connect()ed */
#define TCP_ROLE_SERVER 1 /* accept()ed */
#define TCP_ROLE_UNKNOWN 2 /* seen first in the middle of its life (existed before we attached) */

struct ek8s_tcp_key {
	__u32 netns_ino;
	__u8 laddr[16]; /* IPv4 as ::ffff:a.b.c.d */
	__u8 raddr[16];
	__u16 port;
	__u8 role;
	__u8 pad;
};

struct ek8s_tcp_stats {
	__u64 opened; /* reached ESTABLISHED */
	__u64 failed_refused; /* SYN_SENT -> CLOSE with ECONNREFUSED (RST to our SYN) */
	__u64 failed_timeout; /* SYN_SENT -> CLOSE with ETIMEDOUT */
	__u64 failed_other; /* SYN_SENT -> CLOSE otherwise (e.g. aborted by the application) */
	__u64 closed; /* an established connection reached CLOSE */
	__u64 duration_ns; /* sum over closed connections, from ESTABLISHED to CLOSE */
	__u64 retransmits;
	__u64 resets_rx;
	__u64 resets_tx;
	__u64 srtt_us_sum; /* smoothed RTT (tcp_sock.srtt_us >> 3) sampled when a connection closes or retransmits */
	__u64 srtt_samples;
};

/* Per-socket state between tracepoints, keyed by the socket's address. */
struct ek8s_tcp_sock_info {
	__u64 established_ns;
	__u8 role;
	__u8 pad[7];
};

#define TCP_DEFAULT_ENTRIES 16384
#define TCP_SOCKS_DEFAULT_ENTRIES 65536

#endif
