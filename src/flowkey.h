/*
 * flowkey.h: the key a packet is tracked by in the flow table (flow.h):
 * both directions of a connection to one key, or each direction its own
 * (directional), with or without VLAN tags and input interface.
 */
#ifndef TRACEFLOW_FLOWKEY_H
#define TRACEFLOW_FLOWKEY_H

#include <stdint.h>

#include "decode.h"

/*
 * Connection: both directions in one flow, side a the lower endpoint.
 * Directional (pcapkit): each direction its own flow, side a its sender (so
 * init is always 0); teardown then means this direction's FIN or an RST,
 * then linger, since the peer's FIN is another flow's.
 */
enum flow_key_mode { FLOW_KEY_CONNECTION = 0, FLOW_KEY_DIRECTIONAL };

/*
 * Canonical key: side a is the lower (address, port), or the sender with a
 * directional key; no padding holes. VLAN tags and interface are zero in a
 * bare key (pcapkit's, which has neither).
 */
struct flow_key {
	uint8_t a[16];
	uint8_t b[16];
	uint16_t aport;
	uint16_t bport;
	uint16_t vlan[DECODE_MAX_VLAN];
	uint32_t iface;
	uint8_t af;
	uint8_t nvlan;
	uint8_t pad[2];
};

/*
 * The canonical key of a packet and its direction (dir 0: it comes from
 * side a), as the flow table makes it: key_mode an enum flow_key_mode,
 * key_bare without VLAN tags and interface (pcapkit's key).
 */
void flow_key_of(int key_mode, int key_bare, const struct packet *p, uint32_t iface,
    struct flow_key *k, uint8_t *dir);

/* The initiator's (init: side b started it) and the responder's address and port. */
const uint8_t *flow_key_src(const struct flow_key *k, uint8_t init, uint16_t *port);
const uint8_t *flow_key_dst(const struct flow_key *k, uint8_t init, uint16_t *port);

#endif
