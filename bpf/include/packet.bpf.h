/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Parsing an Ethernet frame at the tc hook into addresses, ports and TCP
 * flags, with the bounds checks the verifier wants. IPv4 addresses become
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) so one key layout serves both families.
 */
#ifndef EBPF_K8S_PACKET_BPF_H
#define EBPF_K8S_PACKET_BPF_H
#include <bpf/bpf_endian.h>
#include "addr.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_HLEN 14

/* Where parse_frame writes (the caller's own key, zeroed: no copy in between). */
struct parsed {
	__u8 *saddr; /* 16 bytes */
	__u8 *daddr; /* 16 bytes */
	__u16 *sport;
	__u16 *dport;
	__u8 *proto;
	__u8 tcp_flags;
};

/* Returns 0 when the frame is IPv4 or IPv6 (ports stay 0 when the L4 header
 * is missing, truncated, a later fragment or not TCP/UDP/SCTP), -1 otherwise. */
static __always_inline int parse_frame(struct __sk_buff *skb, struct parsed *p)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	void *l4;

	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return -1;
		map_v4(p->saddr, ip->saddr);
		map_v4(p->daddr, ip->daddr);
		*p->proto = ip->protocol;
		if (ip->frag_off & bpf_htons(0x1fff)) /* not the first fragment: no L4 header */
			return 0;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return -1;
		__builtin_memcpy(p->saddr, &ip6->saddr, 16);
		__builtin_memcpy(p->daddr, &ip6->daddr, 16);
		*p->proto = ip6->nexthdr; /* extension headers are not walked: such flows have no ports */
		l4 = ip6 + 1;
	} else {
		return -1;
	}
	if (*p->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > end)
			return 0;
		*p->sport = bpf_ntohs(tcp->source);
		*p->dport = bpf_ntohs(tcp->dest);
		p->tcp_flags = ((__u8 *)tcp)[13];
	} else if (*p->proto == IPPROTO_UDP || *p->proto == IPPROTO_SCTP) {
		struct udphdr *udp = l4; /* SCTP's ports sit where UDP's do */

		if ((void *)(udp + 1) > end)
			return 0;
		*p->sport = bpf_ntohs(udp->source);
		*p->dport = bpf_ntohs(udp->dest);
	}
	return 0;
}
#endif
