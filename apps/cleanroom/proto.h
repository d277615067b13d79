/*
 * The clean room's protocol, inside the TLS channel that ends in the
 * enclave.  Request: u8 type | u32le length | payload; reply: u8 status
 * (0 done, 1 refused) | u32le length | payload.  A request the enclave
 * cannot frame (unknown type, length over the cap) gets a refusal and
 * ends the connection.
 *
 *   ATTEST  payload: a 32-byte nonce.  Reply: u32le n | the canonical query
 *           policy (n bytes) | a quote with that nonce and report_data =
 *           SHA-256(the certificate's P-256 point, 65 bytes 04||x||y) ||
 *           SHA-256(the canonical query policy).
 *   UPLOAD  payload: u8 n | provider name (n bytes) | CSV.  Reply: a line.
 *   QUERY   payload: the query text.  Reply: "key: value" lines (or the
 *           reason of a refusal), then zero bytes up to CR_ANSWER_PAD.
 * Refusals carry the reason as text.
 */
#ifndef CLEANROOM_PROTO_H
#define CLEANROOM_PROTO_H

#include "engine.h"

enum { CR_MSG_ATTEST = 1, CR_MSG_UPLOAD = 2, CR_MSG_QUERY = 3 };
enum { CR_ST_OK = 0, CR_ST_REFUSED = 1 };

#define CR_HDR 5u
#define CR_NONCE 32u
#define CR_REQ_MAX (CR_UPLOAD_MAX + 1u + CR_NAME_MAX)
#define CR_REPLY_MAX 16384u
#define CR_ANSWER_PAD 1024u

#endif
