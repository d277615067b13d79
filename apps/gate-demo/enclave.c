/*
 * The gate demo enclave (README.md): a P-256 key pair made here for the
 * gate's challenge (ady_keyquote_new), the client certificate the gate
 * issued for it, the server's CA as the one trust anchor, and a TLS 1.2
 * client on BearSSL's engine that presents the certificate and signs the
 * handshake here.  The application moves opaque record bytes between its
 * socket and the engine (adyton/sockio.edl); the private key and
 * the session keys never leave this enclave.
 */
#include <bearssl.h>
#include <string.h>

#include <adyton/cursor.h>
#include <adyton/enclave.h>
#include <adyton/sockio_enclave.h>
#include <adyton/keyquote.h>

/* The test enclave (tests/enclaves/gate_demo_test_enc.c) includes this
 * file under its own interface, this one plus a ground-truth ECALL. */
#ifndef GATE_DEMO_T_H
#define GATE_DEMO_T_H "gate_demo_t.h"
#endif
#include GATE_DEMO_T_H

/* Larger than a small enclave stack, and kept between ECALLs: static,
 * one connection at a time (threads = 1 in enclave.conf). */
static ady_keyquote key;
static int have_key;

static uint8_t cert_der[4096];
static br_x509_certificate chain;
static int have_cert;

/* The trust anchor: the CA's subject DN and public key, copied out of the
 * decoder (which is gone when ecall_set_server_ca returns). */
static uint8_t ta_dn[1024];
static size_t ta_dn_len;
static int ta_dn_overflow;
static uint8_t ta_key[BR_X509_BUFSIZE_KEY];
static br_x509_trust_anchor ta;
static int have_ta;

static br_ssl_client_context cc;
static br_x509_minimal_context xc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

/* BearSSL's X.509 validator (x509_minimal.o) calls time() when it was
 * given no time; it always is (ecall_https_get), but the symbol must
 * exist in a freestanding image.  The value is the application's word,
 * as the time given to br_x509_minimal_set_time is. */
long time(long *t);
static uint64_t app_time;

long time(long *t)
{
	if (t)
		*t = (long)app_time;
	return (long)app_time;
}

/* BearSSL's DRBG seeder is the runtime's (src/trts/bearseed.c): the
 * enclave's own RNG, never /dev/urandom. */

int ecall_keyquote(const uint8_t nonce[32], uint8_t pub[65], uint8_t *quote, size_t cap)
{
	size_t qlen = 0;
	ady_err err;

	ady_keyquote_fini(&key);
	have_key = 0;
	/* A new key makes the old certificate useless. */
	have_cert = 0;
	err = ady_keyquote_new(nonce, &key, quote, cap, &qlen);
	if (err)
		return -(int)err;
	if (qlen > (size_t)0x7fffffff) {
		ady_keyquote_fini(&key);
		return -(int)ADY_ERR_RANGE;
	}
	memcpy(pub, key.pub, ADY_KEYQUOTE_PUB);
	have_key = 1;
	return (int)qlen;
}

static void dn_append(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	if (len > sizeof(ta_dn) - ta_dn_len) {
		ta_dn_overflow = 1;
		return;
	}
	memcpy(ta_dn + ta_dn_len, buf, len);
	ta_dn_len += len;
}

int ecall_set_cert(const uint8_t *der, size_t len)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	int err;

	have_cert = 0;
	if (!have_key || len == 0 || len > sizeof(cert_der))
		return -1;
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, der, len);
	err = br_x509_decoder_last_error(&dc);
	if (err)
		return err;
	/* The gate certified the key this enclave made, or the application
	 * handed over another certificate: refuse it here rather than let
	 * the handshake fail at the server. */
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != BR_EC_secp256r1 ||
	    pk->key.ec.qlen != ADY_KEYQUOTE_PUB || memcmp(pk->key.ec.q, key.pub, ADY_KEYQUOTE_PUB) != 0)
		return -1;
	memcpy(cert_der, der, len);
	chain.data = cert_der;
	chain.data_len = len;
	have_cert = 1;
	return 0;
}

int ecall_set_server_ca(const uint8_t *der, size_t len)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;
	int err;

	have_ta = 0;
	ta_dn_len = 0;
	ta_dn_overflow = 0;
	br_x509_decoder_init(&dc, dn_append, NULL);
	br_x509_decoder_push(&dc, der, len);
	err = br_x509_decoder_last_error(&dc);
	if (err)
		return err;
	pk = br_x509_decoder_get_pkey(&dc);
	if (!pk || ta_dn_overflow || !br_x509_decoder_isCA(&dc))
		return -1;
	memset(&ta, 0, sizeof(ta));
	ta.dn.data = ta_dn;
	ta.dn.len = ta_dn_len;
	ta.flags = BR_X509_TA_CA;
	ta.pkey.key_type = pk->key_type;
	switch (pk->key_type) {
	case BR_KEYTYPE_EC:
		if (pk->key.ec.qlen > sizeof(ta_key))
			return -1;
		memcpy(ta_key, pk->key.ec.q, pk->key.ec.qlen);
		ta.pkey.key.ec.curve = pk->key.ec.curve;
		ta.pkey.key.ec.q = ta_key;
		ta.pkey.key.ec.qlen = pk->key.ec.qlen;
		break;
	case BR_KEYTYPE_RSA:
		if (pk->key.rsa.nlen > sizeof(ta_key) || pk->key.rsa.elen > sizeof(ta_key) - pk->key.rsa.nlen)
			return -1;
		memcpy(ta_key, pk->key.rsa.n, pk->key.rsa.nlen);
		memcpy(ta_key + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
		ta.pkey.key.rsa.n = ta_key;
		ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
		ta.pkey.key.rsa.e = ta_key + pk->key.rsa.nlen;
		ta.pkey.key.rsa.elen = pk->key.rsa.elen;
		break;
	default:
		return -1;
	}
	have_ta = 1;
	return 0;
}

static int has_any(const char *s, const char *set)
{
	for (; *s; s++)
		if (strchr(set, *s))
			return 1;
	return 0;
}

static int append(char *req, size_t cap, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (l > cap - *n)
		return 0;
	memcpy(req + *n, s, l);
	*n += l;
	return 1;
}

int ecall_https_get(int fd, const char *server_name, const char *path, uint64_t now, uint8_t *resp, size_t cap,
		    size_t *resp_len)
{
	/* 0000-01-01 to 1970-01-01 in days, as br_x509_minimal_set_time
	 * counts them. */
	static const uint32_t unix_epoch_days = 719528;
	br_sslio_context io;
	char req[1024];
	uint8_t seed[32];
	size_t n = 0, got = 0;
	int err;

	*resp_len = 0;
	if (!have_key || !have_cert || !have_ta || now == 0 || now / 86400 > 0xffffffffu - unix_epoch_days ||
	    !server_name[0] || path[0] != '/')
		return -1;
	/* No CR or LF in the request line or the Host header: the path and
	 * name are the application's, the request is the enclave's. */
	if (has_any(path, "\r\n ") || has_any(server_name, "\r\n /"))
		return -1;
	if (!append(req, sizeof(req), &n, "GET ") || !append(req, sizeof(req), &n, path) ||
	    !append(req, sizeof(req), &n, " HTTP/1.0\r\nHost: ") || !append(req, sizeof(req), &n, server_name) ||
	    !append(req, sizeof(req), &n, "\r\nConnection: close\r\n\r\n"))
		return -1;

	app_time = now;
	br_ssl_client_init_full(&cc, &xc, &ta, 1);
	br_x509_minimal_set_time(&xc, (uint32_t)(now / 86400) + unix_epoch_days, (uint32_t)(now % 86400));
	/* The gate certificate, and the key it is for: CertificateVerify is
	 * signed here, with the key ady_keyquote_new made. */
	br_ssl_client_set_single_ec(&cc, &chain, 1, &key.sk, BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
				    br_ecdsa_sign_asn1_get_default());
	br_ssl_engine_set_buffer(&cc.eng, iobuf, sizeof(iobuf), 1);
	/* The engine's DRBG (ECDHE keys, client random, ECDSA nonces are
	 * RFC 6979): seeded from the enclave's RNG, not from the host. */
	if (ady_random(seed, sizeof(seed)) != ADY_OK)
		return -1;
	br_ssl_engine_inject_entropy(&cc.eng, seed, sizeof(seed));
	ady_wipe(seed, sizeof(seed));
	if (!br_ssl_client_reset(&cc, server_name, 0))
		return br_ssl_engine_last_error(&cc.eng);
	ady_sockio_init(&io, &cc.eng, &fd);
	if (br_sslio_write_all(&io, req, n) == 0 && br_sslio_flush(&io) == 0) {
		while (got < cap) {
			int r = br_sslio_read(&io, resp + got, cap - got);
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (got == cap)
			ady_sockio_close(&io);
	}
	err = br_ssl_engine_last_error(&cc.eng);
	/* A server that closes without close_notify after a complete
	 * HTTP/1.0 response still ends in BR_ERR_IO: the caller sees both
	 * the bytes and the error, and decides. */
	*resp_len = got;
	return err;
}
