/*
 * wire.h - the agent protocol (adyton-agent <-> adyton-gate) and its TLS.
 *
 * One request and one answer per TLS connection, each a frame:
 * u32 big-endian length (at most GATE_WIRE_MAX) | that many bytes of
 * JSON (jansson; binary fields base64, digests and nonces hex).  The
 * messages are in README.md ("The agent").  TLS 1.2+ (OpenSSL) in both
 * directions with certificates of the gate's CA: the agent accepts only a
 * client whose certificate chains to the gate CA, has the configured
 * common name and is not an enclave certificate (no GATE_IDENTITY_OID);
 * the gate accepts only an agent whose certificate chains to the gate CA
 * and names the host (SSL_set1_host).
 */
#ifndef ADYTON_GATE_WIRE_H
#define ADYTON_GATE_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/ssl.h>

#define GATE_WIRE_MAX (96u << 20) /* a frame; an IMA log of ~500k entries */
#define GATE_AGENT_NONCE 32u
#define GATE_COLOC_KEY 64u        /* K of the HMAC volume flow */

#define GATE_AGENT_MAX_PCR 24u

/* The answer to "attest" (README.md, "Messages"), decoded: buffers
 * malloc'd (gate_answer_free); pcr[0..npcr) the SHA-256 PCRs; pkey
 * adytond's attestation key x||y.  ak_pem is for the caller (serve.c
 * fills it from the checked AK certificate). */
typedef struct gate_answer {
	uint8_t *attest, *sig, *log, *ak, *chain, *patt, *psig;
	size_t attest_len, sig_len, log_len, ak_len, chain_len, patt_len, psig_len;
	uint8_t pcr[GATE_AGENT_MAX_PCR][32];
	uint32_t npcr;
	uint8_t pkey[64];
	char ak_pem[1024];
} gate_answer;

/* Decodes an answer whose log must start at offset: every field present
 * with its type (base64, 11 to 24 PCR values of 64 hex digits, a 128-hex
 * key; ak_chain optional).  1 on success; 0 with the field at fault in
 * why (e is then partly filled: gate_answer_free it either way). */
int gate_answer_decode(json_t *a, uint64_t offset, gate_answer *e, char *why, size_t cap);
void gate_answer_free(gate_answer *e);

/* Sends o as one frame; 1 on success. */
int gate_wire_send(SSL *ssl, const json_t *o);
/* Receives one frame as a JSON object (new reference), NULL on a short
 * read, an oversized frame or bytes that are not a JSON object; err (may
 * be NULL, cap bytes) says which. */
json_t *gate_wire_recv(SSL *ssl, char *err, size_t cap);

/* Base64 of n bytes (malloc'd string), and back: a malloc'd buffer and
 * its length, NULL if s is not base64 (whitespace not allowed). */
char *gate_b64(const uint8_t *p, size_t n);
uint8_t *gate_unb64(const char *s, size_t *n);

/* "HOST:PORT" -> a connected TCP socket (-1 with errno). */
int gate_tcp_connect(const char *addr, int timeout_s);
/* "HOST:PORT" -> a listening socket (-1). */
int gate_tcp_listen(const char *addr);

/* A TLS context with cert/key (PEM files) that verifies peers against
 * ca (PEM file); server: requires a client certificate.  NULL with the
 * reason on stderr. */
SSL_CTX *gate_tls_ctx(int server, const char *cert, const char *key, const char *ca);

#endif
