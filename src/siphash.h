/*
 * siphash.h: the keyed hash of every table whose keys come from packets
 * (the flow table, the fragment table). A remote host picks addresses and
 * ports; with a public, unkeyed or weakly keyed hash it can aim every
 * connection at one chain and make each packet cost a walk of it. SipHash
 * (Aumasson and Bernstein) with a secret 128-bit key drawn at start makes
 * such keys unfindable without the key; it is what Linux, Python, Rust and
 * redis key their tables with against the same attack.
 */
#ifndef TRACEFLOW_SIPHASH_H
#define TRACEFLOW_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct sipkey {
	uint64_t k0, k1;
};

/*
 * A secret key from getrandom(). Where the kernel gives none (no
 * getrandom, or it fails), a key derived from the previous key, the clock
 * and the process: weaker, still not the public constant. Never fails.
 */
void sipkey_random(struct sipkey *key);

/* A fixed key from a 64-bit seed: for tests that must know the table's layout. */
void sipkey_from_seed(struct sipkey *key, uint64_t seed);

/* SipHash-1-3 (one compression round, three finalization rounds) of len bytes. */
uint64_t siphash13(const struct sipkey *key, const void *data, size_t len);

#endif
