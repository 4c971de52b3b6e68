/* flowkey.c: the flow table's key of a packet (flowkey.h). */
#include <string.h>

#include "flowkey.h"

/*
 * Side a is the lower (address, port) pair, or with a directional key the
 * sender; dir is 0 when the packet comes from a.
 */
void
flow_key_of(int key_mode, int key_bare, const struct packet *p, uint32_t iface, struct flow_key *k,
    uint8_t *dir)
{
	int c = -1;

	memset(k, 0, sizeof *k);
	if (key_mode != FLOW_KEY_DIRECTIONAL) {
		c = memcmp(p->src, p->dst, sizeof p->src);
		if (c == 0)
			c = (p->srcport > p->dstport) - (p->srcport < p->dstport);
	}
	if (c <= 0) {
		memcpy(k->a, p->src, 16);
		memcpy(k->b, p->dst, 16);
		k->aport = p->srcport;
		k->bport = p->dstport;
		*dir = 0;
	} else {
		memcpy(k->a, p->dst, 16);
		memcpy(k->b, p->src, 16);
		k->aport = p->dstport;
		k->bport = p->srcport;
		*dir = 1;
	}
	k->af = p->af;
	if (key_bare)
		return;
	memcpy(k->vlan, p->vlan, sizeof k->vlan);
	k->nvlan = p->nvlan;
	k->iface = iface;
}

const uint8_t *
flow_key_src(const struct flow_key *k, uint8_t init, uint16_t *port)
{
	*port = init ? k->bport : k->aport;
	return init ? k->b : k->a;
}

const uint8_t *
flow_key_dst(const struct flow_key *k, uint8_t init, uint16_t *port)
{
	*port = init ? k->aport : k->bport;
	return init ? k->a : k->b;
}
