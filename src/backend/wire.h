/*
 * src/backend/wire.h - framed messages (adyton/proto.h) over AF_UNIX
 * SOCK_SEQPACKET sockets, with at most one file descriptor each.  One
 * message is one packet, so a frame is never split or merged.
 */
#ifndef ADY_BACKEND_WIRE_H
#define ADY_BACKEND_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/proto.h"

/* Sends header + payload (len <= ADY_PROTO_MAX_PAYLOAD), and fd when >= 0.
 * On a non-blocking socket whose peer does not read, ADY_ERR_BUSY. */
ADY_MUST_CHECK ady_err ady_wire_send(int sock, uint16_t type, const uint8_t *payload, size_t len, int fd);
/* The same, never blocking: ADY_ERR_BUSY and nothing sent when the peer's
 * buffer is full (a packet is sent whole or not at all). */
ADY_MUST_CHECK ady_err ady_wire_trysend(int sock, uint16_t type, const uint8_t *payload, size_t len, int fd);

/*
 * Receives one message: header checked (ady_proto_decode_header), payload
 * into buf (cap >= the payload, else ADY_ERR_PROTOCOL), its length in
 * h->length.  A passed descriptor lands in *fd (CLOEXEC) when fd is not
 * NULL, else it is closed; more than one descriptor, or a truncated
 * packet, is ADY_ERR_PROTOCOL.  A closed peer: ADY_ERR_IO with errno 0.
 */
ADY_MUST_CHECK ady_err ady_wire_recv(int sock, ady_proto_hdr *h, uint8_t *buf, size_t cap, int *fd);

#endif
