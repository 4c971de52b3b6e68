/*
 * siphash.c: SipHash-1-3, written here rather than taken from a library:
 * libsodium offers only SipHash-2-4 behind a function that cannot be
 * inlined into the packet path, and the hash is part of the flow table,
 * which is ours. SipHash-1-3 is the variant Python and Rust chose for their
 * tables: a hash table needs collision resistance against those who do not
 * know the key, not a MAC. Checked against the reference test vector in
 * check_flow.c.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "siphash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = ROTL(v1, 13); \
		v1 ^= v0;          \
		v0 = ROTL(v0, 32); \
		v2 += v3;          \
		v3 = ROTL(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = ROTL(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = ROTL(v1, 17); \
		v1 ^= v2;          \
		v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

uint64_t
siphash13(const struct sipkey *key, const void *data, size_t len)
{
	const uint8_t *p = data, *end = p + (len & ~(size_t)7);
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0;
	uint64_t v3 = 0x7465646279746573ULL ^ key->k1;
	uint64_t m, b = (uint64_t)len << 56;
	size_t i;

	for (; p != end; p += 8) {
		m = load_le64(p);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
	for (i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void
sipkey_from_seed(struct sipkey *key, uint64_t seed)
{
	key->k0 = seed;
	key->k1 = seed ^ 0x9e3779b97f4a7c15ULL;
}

void
sipkey_random(struct sipkey *key)
{
	struct sipkey old = *key, mix;
	struct timespec ts;
	uint64_t in[3];
	ssize_t n;

	/* Blocks only until the kernel's pool is first ready (early boot), as a key must. */
	do
		n = getrandom(key, sizeof *key, 0);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof *key)
		return;
	/* No getrandom (an old kernel, a seccomp filter): not the public key at least. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	in[0] = (uint64_t)ts.tv_sec;
	in[1] = (uint64_t)ts.tv_nsec;
	in[2] = (uint64_t)getpid();
	sipkey_from_seed(&mix, old.k0 ^ ROTL(old.k1, 17));
	key->k0 = siphash13(&mix, in, sizeof in);
	in[2] ^= key->k0;
	key->k1 = siphash13(&mix, in, sizeof in);
}
