/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Reading services, Maglev tables and backends in the layout of lb.h, from
 * whichever maps hold them (sock_lb.bpf.c's lb_*, gateway.bpf.c's gw_*):
 * the maps are arguments of always-inline functions, so each call site
 * names its own map to the verifier.
 */
#ifndef EBPF_K8S_LB_TABLES_BPF_H
#define EBPF_K8S_LB_TABLES_BPF_H
#include "lb.h"

#define LB_SVC_READ_TRIES 4

/* x mixed with y (times the 64-bit golden ratio) through murmur3's 64-bit finalizer (fmix64), low 32 bits. */
static __always_inline __u32 lb_hash64(__u64 x, __u64 y)
{
	__u64 h = x ^ (y * 0x9e3779b97f4a7c15ULL);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (__u32)h;
}

/*
 * The maps of one set of tables: <p>_services (frontends; not preallocated:
 * memory follows the services there are, values checked, see lb.h),
 * <p>_backends (index = backend slot) and <p>_maglev (the table pool).
 */
#define LB_TABLE_MAPS(p)                                      \
	struct {                                              \
		__uint(type, BPF_MAP_TYPE_HASH);              \
		__uint(map_flags, BPF_F_NO_PREALLOC);         \
		__uint(max_entries, LB_MAX_SERVICES);         \
		__type(key, struct lb_svc_key);               \
		__type(value, struct lb_svc);                 \
	} p##_services SEC(".maps");                          \
	struct {                                              \
		__uint(type, BPF_MAP_TYPE_ARRAY);             \
		__uint(max_entries, LB_MAX_BACKENDS + 1);     \
		__type(key, __u32);                           \
		__type(value, struct lb_backend);             \
	} p##_backends SEC(".maps");                          \
	struct {                                              \
		__uint(type, BPF_MAP_TYPE_ARRAY);             \
		__uint(max_entries, LB_MAGLEV_DEFAULT_CHUNKS); \
		__type(key, __u32);                           \
		__type(value, struct lb_maglev_chunk);        \
	} p##_maglev SEC(".maps")

/* service_of(), table_slot(), backend_of() on the maps of LB_TABLE_MAPS(p). */
#define LB_TABLE_READERS(p)                                                         \
	static __always_inline bool service_of(const struct lb_svc_key *key, struct lb_svc *out) \
	{                                                                           \
		return lb_read_service(&p##_services, key, out);                   \
	}                                                                           \
	static __always_inline __u32 table_slot(const struct lb_svc *s, __u32 slot) \
	{                                                                           \
		return lb_table_slot(&p##_maglev, s, slot);                         \
	}                                                                           \
	static __always_inline bool backend_of(__u32 id, struct lb_backend *out)    \
	{                                                                           \
		return lb_backend_of(&p##_backends, id, out);                      \
	}

/*
 * Copies the service of a frontend into *out; false when there is none. A
 * copy that does not repeat the key or fails its check was torn by a
 * concurrent update of a recycled element: looked up again.
 */
static __always_inline bool lb_read_service(void *services, const struct lb_svc_key *key, struct lb_svc *out)
{
	for (int i = 0; i < LB_SVC_READ_TRIES; i++) {
		struct lb_svc *v = bpf_map_lookup_elem(services, key);

		if (!v)
			return false;
		__builtin_memcpy(out, v, sizeof(*out));
		if (out->vip == key->vip && out->port == key->port && out->proto == key->proto && out->check == lb_svc_check(out))
			return true;
	}
	return false;
}

/* The backend at slot `slot` of a service's table (0 when the pool has no such slot). */
static __always_inline __u32 lb_table_slot(void *maglev, const struct lb_svc *s, __u32 slot)
{
	__u32 index = s->table_offset + slot;
	__u32 chunk = index / LB_MAGLEV_CHUNK;
	struct lb_maglev_chunk *c = bpf_map_lookup_elem(maglev, &chunk);

	if (!c)
		return 0;
	return c->ids[index & (LB_MAGLEV_CHUNK - 1)];
}

/* A backend as one 8-byte read (an entry's address is rewritten only when no table names it). */
static __always_inline bool lb_backend_of(void *backends, __u32 id, struct lb_backend *out)
{
	struct lb_backend *b;

	if (!id)
		return false;
	b = bpf_map_lookup_elem(backends, &id);
	if (!b)
		return false;
	*(__u64 *)out = *(volatile __u64 *)b;
	return out->ip != 0;
}

#endif
