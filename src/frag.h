/*
 * frag.h: the IP fragment table. The first fragment of a datagram carries
 * the TCP header; later fragments carry none. The table remembers, per
 * datagram (address family, addresses, IP identification, VLAN tags), the
 * ports of its first fragment so that later fragments can join the same
 * flow. Bounded in entries and time; pure (no I/O, no globals).
 */
#ifndef TRACEFLOW_FRAG_H
#define TRACEFLOW_FRAG_H

#include <stdint.h>

#include "decode.h"

struct frag_table;

/* A table of at most max_entries datagrams, each forgotten timeout_ns after its last fragment. */
struct frag_table *frag_new(unsigned max_entries, uint64_t timeout_ns);
void frag_free(struct frag_table *ft);

/*
 * A FRAG_FIRST packet: remember its ports. When the table is full the entry
 * closest to expiry is dropped to make room.
 */
void frag_first(struct frag_table *ft, const struct packet *pkt, uint64_t now);

/*
 * A FRAG_LATER packet: fill srcport/dstport from the datagram's first
 * fragment and return 0, or return -1 when the first fragment is unknown
 * (not seen, or expired). The entry is refreshed; it is dropped after the
 * fragment without frag_more.
 */
int frag_later(struct frag_table *ft, struct packet *pkt, uint64_t now);

/* Forget datagrams idle for timeout_ns. Cheap when nothing is due. */
void frag_expire(struct frag_table *ft, uint64_t now);

/* Datagrams currently remembered. */
unsigned frag_count(const struct frag_table *ft);

/*
 * The hash is SipHash with a secret key (siphash.h); a lookup that walks
 * more than FRAG_CHAIN_MAX entries of a chain gives the table a new key
 * (a rekey, counted here).
 */
#define FRAG_CHAIN_MAX 32
uint64_t frag_rekeys(const struct frag_table *ft);

#endif
