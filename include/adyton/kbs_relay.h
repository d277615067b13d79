/*
 * adyton/kbs_relay.h - the application's half of ady_kbs_fetch()
 * (adyton/kbs.h): libadyton-kbs-relay defines the OCALLs of
 * adyton_kbs.edl and relays them to an adyton-kbs broker over its UNIX
 * socket or over TLS.  It sees only the nonce, the enclave's public key, the quote
 * and the encrypted release.
 */
#ifndef ADYTON_KBS_RELAY_H
#define ADYTON_KBS_RELAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The broker: a UNIX socket path (or unix:PATH), or kbs+tls://HOST:PORT;
 * or several separated by commas (brokers sharing one PostgreSQL store:
 * each request goes to the first that answers it, and to the next when
 * one refuses the connection or dies before answering); NULL:
 * $ADYTON_KBS_SOCKET.  The string is copied. */
int ady_kbs_relay_set_socket(const char *path);

/* The PEM file of the CA that must have signed a TLS broker's
 * certificate (the only trust anchor used); NULL: $ADYTON_KBS_CA.  A
 * broker whose certificate does not chain to it, or does not name the
 * URL's host, is refused (ADY_ERR_CRYPTO, the reason in
 * ady_kbs_relay_last_reason()).  The string is copied. */
int ady_kbs_relay_set_ca(const char *path);

/* A tap on every frame the relay moves (to_broker = 1: a request, called
 * before the relay connects; 0: an answer, before it is decoded); it may change the bytes
 * in place (tests use it to play an active attacker).  NULL: none. */
typedef void (*ady_kbs_tap_fn)(void *ctx, int to_broker, uint8_t *frame, size_t len);
void ady_kbs_relay_set_tap(ady_kbs_tap_fn fn, void *ctx);

/* The last refusal reason the broker gave (static buffer; "" if none). */
const char *ady_kbs_relay_last_reason(void);

/* The OCALLs (adyton_kbs.edl), as adyton-edl declares them. */
int kbs_ocall_challenge(const char *name, uint8_t *nonce);
int kbs_ocall_fetch(const char *name, const uint8_t *nonce, const uint8_t *pub, const uint8_t *quote,
			size_t quote_len, uint8_t *release, size_t cap, uint32_t *release_len);

#ifdef __cplusplus
}
#endif
#endif
