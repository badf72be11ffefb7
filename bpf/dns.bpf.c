/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * DNS at tc (clsact) on the pods' host-side veths: queries by type, answers by
 * rcode, truncated answers, latency (each answer matched to its query by DNS
 * id and 5-tuple) and per-pod names, aggregated in fixed-size maps that the
 * agent reads on its timer (agent/modules/dns). Layout and every limit:
 * bpf/include/dns.h.
 *
 * Recognised: UDP and TCP to or from port 53 or a port of dns_config. Over
 * TCP, a segment is parsed only when its payload starts with the 2-byte
 * length and a DNS header (how dig, resolvers and dnsmasq send a message of
 * one segment); a segment with no payload is ignored, and one that carries
 * the middle of a message, or a second message after the first, is not
 * followed (its first bytes are parsed as a header: counted as skipped or
 * malformed by what they hold). Only the first IP fragment has ports; IPv6
 * extension headers are not walked (like flows.bpf.c).
 *
 * Every read of the DNS message goes through bpf_skb_load_bytes (bounded by
 * the packet's length); the name is walked by bpf_loop from label to label
 * (at most DNS_NAME_MAX bytes), then lowercased and hashed a word at a time
 * up to its end; a compression pointer in it is never followed. The question is parsed in queries and NXDOMAIN answers,
 * the two that count a name; any other answer is matched to its query by id
 * and 5-tuple and counted by its rcode without reading its question (one with none, QDCOUNT 0, or a
 * malformed one included). A packet is counted as a query, an answer, or
 * under one reason in dns_stats (malformed or skipped), never two of them.
 *
 * Cost (agent/bench/dns.ts): a packet that is not DNS pays the frame parse,
 * one array lookup and a few compares; a query pays the name walk (and its
 * hash) and three hash operations (server, name, pending); an answer two
 * (pending, server), and an NXDOMAIN one the walk and the name's too.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "dns.h"
#include "packet.bpf.h"

#define TC_ACT_UNSPEC (-1)
#define DNS_HDR_LEN 12
#define DNS_OPCODE_QUERY 0

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_config);
} dns_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_SERVERS_DEFAULT_ENTRIES);
	__type(key, struct dns_server_key);
	__type(value, struct dns_server_stats);
} dns_servers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DNS_PENDING_DEFAULT_ENTRIES);
	__type(key, struct dns_pending_key);
	__type(value, struct dns_pending_value);
} dns_pending SEC(".maps");

/* A plain hash, not an LRU: a full table sends new names to the pod's "other"
 * entry instead of evicting counted ones; the agent removes idle names. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DNS_NAMES_DEFAULT_ENTRIES);
	__type(key, struct dns_name_key);
	__type(value, struct dns_name_value);
} dns_names SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DNS_PODS_DEFAULT_ENTRIES);
	__type(key, __u32);
	__type(value, struct dns_name_stats);
} dns_names_other SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DNS_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} dns_stats SEC(".maps");

/*
 * A name's key and value (272 bytes) and a new server entry (288) are built
 * here: the stack has 512 bytes. `fresh` is only ever given its created_ns,
 * so its counters stay zero.
 */
struct dns_scratch {
	struct dns_name_key key;
	struct dns_name_value name;
	struct dns_server_stats fresh;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dns_scratch);
} dns_scratch SEC(".maps");

/* Never read: they keep dns.h's enums in the object's BTF for the layout test (agent/modules/dns/layout_test.ts). */
const volatile enum ek8s_dns_limits dns_limits_btf;
const volatile enum ek8s_dns_qtype_slot dns_qtype_btf;
const volatile enum ek8s_dns_rcode_slot dns_rcode_btf;
const volatile enum ek8s_dns_latency_bounds_us dns_latency_bounds_btf;
const volatile enum ek8s_dns_latency dns_latency_btf;
const volatile enum ek8s_dns_stat dns_stat_btf;

static const __u32 latency_bounds_us[DNS_LAT_BOUNDS] = {
	DNS_LAT_LE_0, DNS_LAT_LE_1, DNS_LAT_LE_2, DNS_LAT_LE_3, DNS_LAT_LE_4, DNS_LAT_LE_5, DNS_LAT_LE_6,
	DNS_LAT_LE_7, DNS_LAT_LE_8, DNS_LAT_LE_9, DNS_LAT_LE_10, DNS_LAT_LE_11, DNS_LAT_LE_12, DNS_LAT_LE_13,
};

/* Where the packet is and what it carries, from the parse. */
struct dns_packet {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
};

/* The DNS header as on the wire. */
struct dns_hdr {
	__be16 id;
	__u8 flags1; /* QR(1) OPCODE(4) AA TC RD */
	__u8 flags2; /* RA Z AD CD RCODE(4) */
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

static __always_inline void stat_inc(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&dns_stats, &slot);

	if (v)
		(*v)++;
}

static __always_inline int is_dns_port(__u16 port, const struct dns_config *cfg)
{
	if (port == DNS_PORT)
		return 1;
	if (!cfg || !port)
		return 0;
#pragma unroll
	for (int i = 0; i < DNS_PORT_SLOTS; i++)
		if (cfg->ports[i] == port)
			return 1;
	return 0;
}

/* Addresses, ports and protocol, by packet.bpf.h's parse; -1 unless UDP or TCP. */
static __always_inline int parse_l4(struct __sk_buff *skb, struct dns_packet *p)
{
	struct parsed pp = { .saddr = p->saddr, .daddr = p->daddr, .sport = &p->sport, .dport = &p->dport, .proto = &p->proto };

	if (parse_frame(skb, &pp) < 0 || (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP))
		return -1;
	return 0; /* ports 0 (a later fragment, a cut header) never match a DNS port */
}

/* Where the DNS message starts, past TCP's 2-byte length (parse_l4 found the L4 header); -1 when it cannot say. */
static __always_inline int msg_offset(struct __sk_buff *skb, __u8 proto, __u32 *off)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 l4 = ETH_HLEN + sizeof(struct ipv6hdr);
	struct tcphdr *tcp;

	if ((void *)(ip + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		l4 = ETH_HLEN + ip->ihl * 4;
	if (proto == IPPROTO_UDP) {
		*off = l4 + sizeof(struct udphdr);
		return 0;
	}
	tcp = data + l4;
	if ((void *)(tcp + 1) > end)
		return -1;
	*off = l4 + tcp->doff * 4 + 2;
	return 0;
}

static __always_inline __u32 qtype_slot(__u16 qtype)
{
	switch (qtype) {
	case 1: return DNS_Q_A;
	case 28: return DNS_Q_AAAA;
	case 5: return DNS_Q_CNAME;
	case 12: return DNS_Q_PTR;
	case 15: return DNS_Q_MX;
	case 16: return DNS_Q_TXT;
	case 33: return DNS_Q_SRV;
	case 2: return DNS_Q_NS;
	case 6: return DNS_Q_SOA;
	case 65: return DNS_Q_HTTPS;
	case 255: return DNS_Q_ANY;
	default: return DNS_Q_OTHER;
	}
}

static __always_inline __u32 rcode_slot(__u8 rcode)
{
	switch (rcode) {
	case 0: return DNS_R_NOERROR;
	case 3: return DNS_R_NXDOMAIN;
	case 2: return DNS_R_SERVFAIL;
	case 5: return DNS_R_REFUSED;
	default: return DNS_R_OTHER;
	}
}

static __always_inline __u32 latency_bucket(__u64 us)
{
	__u32 b = DNS_LAT_BOUNDS;

#pragma unroll
	for (int i = DNS_LAT_BOUNDS - 1; i >= 0; i--)
		if (us <= latency_bounds_us[i])
			b = i;
	return b;
}

/* parse_question's answer when the question is fine (any other: a DNS_STAT_* reason). */
#define QUESTION_OK DNS_STAT_SLOTS

/* The name's hash and lowercasing go a word at a time. */
#define WORD 8

struct name_walk {
	__u8 *name; /* the loaded bytes, lowercased in place */
	__u64 hash;
	__u32 avail; /* bytes loaded into name */
	__u32 next; /* where the next length byte is */
	__u32 end; /* bytes of the name, the final zero included; 0 until found */
	__u32 error; /* a DNS_STAT_* reason; QUESTION_OK while fine */
};

/*
 * One label: its length byte at w->next; 1 to stop, at the final zero
 * (w->end) or an error (w->error). A name is no further than
 * min(avail, DNS_NAME_MAX): past the bytes loaded it is cut short, past
 * DNS_NAME_MAX too long (avail can be one more).
 */
static long walk_label(__u64 index, void *ctx)
{
	struct name_walk *w = ctx;
	__u32 i = w->next;
	__u8 b;

	if (i >= w->avail || i >= DNS_NAME_MAX) {
		w->error = w->avail <= DNS_NAME_MAX ? DNS_STAT_SHORT_QUESTION : DNS_STAT_NAME_TOO_LONG;
		return 1;
	}
	b = w->name[i & (DNS_NAME_BYTES - 1)];
	if (b == 0) {
		w->end = i + 1;
		return 1;
	}
	if ((b & 0xc0) == 0xc0) {
		w->error = DNS_STAT_POINTER;
		return 1;
	}
	if (b & 0xc0) {
		w->error = DNS_STAT_BAD_LABEL;
		return 1;
	}
	w->next = i + 1 + b;
	return 0;
}

/* One word of the name into the hash (a multiply-xorshift mix: cheap, not cryptographic; see dns.h). */
static __always_inline __u64 mix_word(__u64 h, __u64 word)
{
	h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/*
 * ASCII capitals of a word made small, all eight bytes at once: a byte's
 * high bit in `upper` says 'A' <= byte <= 'Z' (no carry crosses a byte: the
 * sums stay under 0x100). Length bytes (at most 63) are never capitals.
 */
static __always_inline __u64 lowercase_word(__u64 word)
{
	const __u64 low7 = 0x7f7f7f7f7f7f7f7fULL, high = 0x8080808080808080ULL;
	__u64 h7 = word & low7;
	__u64 ge_a = h7 + 0x3f3f3f3f3f3f3f3fULL; /* 0x80 - 'A' */
	__u64 gt_z = h7 + 0x2525252525252525ULL; /* 0x80 - ('Z' + 1) */
	__u64 upper = ge_a & ~gt_z & ~word & high;

	return word | (upper >> 2); /* 0x80 >> 2: the 0x20 between 'A' and 'a' */
}

/* One word of the found name: lowercased in place, the bytes after its end zeroed (equal names, equal hashes), hashed. */
static long hash_word(__u64 index, void *ctx)
{
	struct name_walk *w = ctx;
	__u32 base = (index * WORD) & (DNS_NAME_BYTES - WORD);
	__u64 *p = (__u64 *)&w->name[base];
	__u64 word = lowercase_word(*p);

	if (w->end - base < WORD)
		word &= (1ULL << ((w->end - base) * 8)) - 1;
	*p = word;
	w->hash = mix_word(w->hash, word);
	return 0;
}

/*
 * The question's name into key (length, hash) and value->name, and its
 * type: QUESTION_OK, or the DNS_STAT_* reason it is malformed.
 */
static __always_inline __u32 parse_question(struct __sk_buff *skb, __u32 off, struct dns_scratch *s, __u16 *qtype)
{
	struct name_walk w = { .name = s->name.name, .error = QUESTION_OK };
	__u32 avail = skb->len > off ? skb->len - off : 0;
	__be16 type_class[2];

	if (avail > DNS_NAME_BYTES)
		avail = DNS_NAME_BYTES;
	if (avail < 1 || bpf_skb_load_bytes(skb, off, s->name.name, avail) < 0)
		return DNS_STAT_SHORT_QUESTION;
	w.avail = avail;
	/* labels of one byte and more, then the final zero: at most DNS_NAME_BYTES / 2 length bytes */
	bpf_loop(DNS_NAME_BYTES / 2, walk_label, &w, 0);
	if (w.error != QUESTION_OK)
		return w.error;
	if (!w.end)
		return DNS_STAT_NAME_TOO_LONG;
	bpf_loop((w.end + WORD - 1) / WORD, hash_word, &w, 0);
	s->key.len = w.end;
	s->key.hash = w.hash;
	/* QTYPE and QCLASS follow the name */
	if (bpf_skb_load_bytes(skb, off + w.end, type_class, sizeof(type_class)) < 0)
		return DNS_STAT_SHORT_QUESTION;
	*qtype = bpf_ntohs(type_class[0]);
	return QUESTION_OK;
}

static __always_inline void add(__u64 *counter, __u64 n)
{
	__sync_fetch_and_add(counter, n);
}

/* The (pod, server) counters, made when new; NULL (counted) when the table cannot take it. */
static __always_inline struct dns_server_stats *server_stats(struct dns_server_key *k)
{
	struct dns_server_stats *s = bpf_map_lookup_elem(&dns_servers, k);
	__u32 zero = 0;
	struct dns_scratch *scratch;

	if (s)
		return s;
	scratch = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!scratch) /* never: an array's element */
		return NULL;
	scratch->fresh.created_ns = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&dns_servers, k, &scratch->fresh, BPF_NOEXIST) == 0)
		stat_inc(DNS_STAT_SERVERS_CREATED);
	s = bpf_map_lookup_elem(&dns_servers, k);
	if (!s)
		stat_inc(DNS_STAT_SERVERS_FAILED);
	return s;
}

/* A name's query or NXDOMAIN (the name parsed into s), into dns_names, or the pod's "other" entry when that is full. */
static __always_inline void count_name(struct dns_scratch *s, int nxdomain)
{
	struct dns_name_value *v = bpf_map_lookup_elem(&dns_names, &s->key);
	struct dns_name_stats *st;

	if (!v) {
		s->name.stats.queries = !nxdomain;
		s->name.stats.nxdomain = !!nxdomain;
		if (bpf_map_update_elem(&dns_names, &s->key, &s->name, BPF_NOEXIST) == 0) {
			stat_inc(DNS_STAT_NAMES_CREATED);
			return;
		}
		v = bpf_map_lookup_elem(&dns_names, &s->key); /* another CPU made it meanwhile */
	}
	if (v) {
		st = &v->stats;
	} else {
		__u32 pod = s->key.ifindex;

		stat_inc(DNS_STAT_NAMES_FULL);
		st = bpf_map_lookup_elem(&dns_names_other, &pod);
		if (!st) {
			struct dns_name_stats zero = {};

			bpf_map_update_elem(&dns_names_other, &pod, &zero, BPF_NOEXIST);
			st = bpf_map_lookup_elem(&dns_names_other, &pod);
		}
		if (!st) {
			stat_inc(DNS_STAT_OTHER_FAILED);
			return;
		}
	}
	add(nxdomain ? &st->nxdomain : &st->queries, 1);
}

static __always_inline void pending_key(struct dns_pending_key *pk, __u32 ifindex, __u16 id, const struct dns_packet *p,
					int query)
{
	pk->ifindex = ifindex;
	pk->id = id;
	pk->proto = p->proto;
	if (query) {
		pk->client_port = p->sport;
		pk->server_port = p->dport;
		__builtin_memcpy(pk->client, p->saddr, 16);
		__builtin_memcpy(pk->server, p->daddr, 16);
	} else {
		pk->client_port = p->dport;
		pk->server_port = p->sport;
		__builtin_memcpy(pk->client, p->daddr, 16);
		__builtin_memcpy(pk->server, p->saddr, 16);
	}
}

/* `parsed`: the query's name, as parse_question left it. */
static __always_inline void on_query(__u32 ifindex, const struct dns_packet *p, const struct dns_hdr *h, __u16 qtype,
				     struct dns_scratch *parsed)
{
	struct dns_server_key sk = { .ifindex = ifindex, .port = p->dport };
	struct dns_pending_key pk = {};
	struct dns_pending_value pv = { .sent_ns = bpf_ktime_get_ns() };
	struct dns_server_stats *s;

	__builtin_memcpy(sk.server, p->daddr, 16);
	s = server_stats(&sk);
	if (s) {
		add(&s->queries[qtype_slot(qtype)], 1);
		if (p->proto == IPPROTO_TCP)
			add(&s->queries_tcp, 1);
	}
	count_name(parsed, 0);
	pending_key(&pk, ifindex, h->id, p, 1);
	if (bpf_map_update_elem(&dns_pending, &pk, &pv, BPF_NOEXIST) == 0)
		stat_inc(DNS_STAT_PENDING_CREATED);
	else if (bpf_map_lookup_elem(&dns_pending, &pk))
		stat_inc(DNS_STAT_RETRANSMITS);
	else
		stat_inc(DNS_STAT_PENDING_FAILED);
}

static __always_inline void on_response(__u32 ifindex, const struct dns_packet *p, const struct dns_hdr *h)
{
	struct dns_server_key sk = { .ifindex = ifindex, .port = p->sport };
	struct dns_pending_key pk = {};
	struct dns_pending_value *pv;
	struct dns_server_stats *s;
	__u32 rslot = rcode_slot(h->flags2 & 0x0f);
	__u64 sent = 0;

	pending_key(&pk, ifindex, h->id, p, 0);
	pv = bpf_map_lookup_elem(&dns_pending, &pk);
	if (pv)
		sent = pv->sent_ns;
	/* only the one that removes the entry counts the latency: never twice, never both latency and timeout */
	if (!pv || bpf_map_delete_elem(&dns_pending, &pk) != 0)
		sent = 0;
	stat_inc(sent ? DNS_STAT_MATCHED : DNS_STAT_UNMATCHED);
	__builtin_memcpy(sk.server, p->saddr, 16);
	s = server_stats(&sk);
	if (s) {
		add(&s->responses[rslot], 1);
		if (h->flags1 & 0x02)
			add(&s->truncated, 1);
		if (sent) {
			__u64 now = bpf_ktime_get_ns();
			__u64 us = now > sent ? (now - sent) / 1000 : 0;

			add(&s->latency[latency_bucket(us)], 1);
			add(&s->latency_sum_us, us);
		}
	}
}

/* pod_sent: tc ingress on the host veth (the pod sent it); else egress (the pod receives it). */
static __always_inline void count_dns(struct __sk_buff *skb, int pod_sent)
{
	struct dns_packet p = {};
	struct dns_hdr h;
	const struct dns_config *cfg;
	struct dns_scratch *scratch;
	__u32 zero = 0, off, err;
	__u16 qtype = 0;
	int to_dns, from_dns;

	if (parse_l4(skb, &p) < 0)
		return;
	cfg = bpf_map_lookup_elem(&dns_config, &zero);
	to_dns = is_dns_port(p.dport, cfg);
	from_dns = !to_dns && is_dns_port(p.sport, cfg);
	if (!to_dns && !from_dns)
		return;
	if (msg_offset(skb, p.proto, &off) < 0)
		return;
	if (p.proto == IPPROTO_TCP && skb->len <= off - 2)
		return; /* no payload: a handshake, an ACK, a FIN */
	/* the pod's own queries go out (to a DNS port) and its answers come in (from one) */
	if (pod_sent != to_dns) {
		stat_inc(DNS_STAT_SERVED);
		return;
	}
	if (bpf_skb_load_bytes(skb, off, &h, sizeof(h)) < 0) {
		stat_inc(DNS_STAT_SHORT_HEADER);
		return;
	}
	if ((h.flags1 >> 7) != !to_dns || ((h.flags1 >> 3) & 0x0f) != DNS_OPCODE_QUERY) {
		stat_inc(DNS_STAT_NOT_TRACKED);
		return;
	}
	/*
	 * an answer's name is counted only for NXDOMAIN (its match is by id and 5-tuple): the others skip the walk,
	 * and need no question at all (FORMERR and REFUSED answers often carry none: QDCOUNT 0)
	 */
	if (!to_dns && rcode_slot(h.flags2 & 0x0f) != DNS_R_NXDOMAIN) {
		on_response(skb->ifindex, &p, &h);
		return;
	}
	if (h.qdcount != bpf_htons(1)) {
		stat_inc(DNS_STAT_QDCOUNT);
		return;
	}
	scratch = bpf_map_lookup_elem(&dns_scratch, &zero);
	if (!scratch)
		return;
	scratch->key.ifindex = skb->ifindex;
	err = parse_question(skb, off + sizeof(h), scratch, &qtype);
	if (err != QUESTION_OK) {
		stat_inc(err);
		return;
	}
	if (to_dns) {
		on_query(skb->ifindex, &p, &h, qtype, scratch);
	} else {
		on_response(skb->ifindex, &p, &h);
		count_name(scratch, 1);
	}
}

SEC("tc")
int dns_ingress(struct __sk_buff *skb)
{
	count_dns(skb, 1);
	return TC_ACT_UNSPEC;
}

SEC("tc")
int dns_egress(struct __sk_buff *skb)
{
	count_dns(skb, 0);
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
