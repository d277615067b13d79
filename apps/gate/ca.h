/*
 * ca.h - the gate's enclave check and its certificate authority
 * (README.md, "Enclave check and certificates").
 *
 * gate_enclave_check() verifies an adyton quote made by ady_keyquote_new()
 * (adyton/keyquote.h) against an application policy (libadyton-verify's
 * policy text) for a public key and a nonce; gate_cert_issue() makes a
 * short-lived client certificate for that key, signed by the gate's CA,
 * with the enclave's identity in the private extension GATE_IDENTITY_OID;
 * gate_crl_make() writes the CRL.  gate_db keeps nonces (the key broker's
 * store layer, apps/kbs/store.h) and the issued certificates (a table
 * beside them, on SQLite or on a PostgreSQL database that several gates
 * share).
 */
#ifndef ADYTON_GATE_CA_H
#define ADYTON_GATE_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "adyton/error.h"

/* 2.25.x: an OID from a UUID (ITU-T X.667), which needs no registration;
 * UUID 0a450ad4-9c66-4f4e-8350-218be132e1ee. */
#define GATE_IDENTITY_OID "2.25.13650768109957897857141291203320537582"
#define GATE_PUB 65u        /* 0x04 || x || y, as the enclave hashed it */
#define GATE_NONCE 32u
#define GATE_NONCE_NAME "gate"  /* the name nonces carry in the store */

/*
 * The extension's value (README.md has the ASN.1):
 *   GateIdentity ::= SEQUENCE { version INTEGER (1), mrenclave OCTET STRING (32),
 *     mrsigner OCTET STRING (32), isvprodid INTEGER, isvsvn INTEGER,
 *     host [0] IMPLICIT UTF8String OPTIONAL, hostPcr10 [1] IMPLICIT OCTET STRING OPTIONAL }
 */
typedef struct GATE_IDENTITY_st {
	ASN1_INTEGER *version;
	ASN1_OCTET_STRING *mrenclave;
	ASN1_OCTET_STRING *mrsigner;
	ASN1_INTEGER *isvprodid;
	ASN1_INTEGER *isvsvn;
	ASN1_UTF8STRING *host;
	ASN1_OCTET_STRING *host_pcr10;
} GATE_IDENTITY;
DECLARE_ASN1_FUNCTIONS(GATE_IDENTITY)

typedef struct gate_identity {
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	char host[129];              /* "" when no host check was given */
	bool have_pcr10;
	uint8_t pcr10[32];           /* the host's verified PCR 10 */
} gate_identity;

typedef struct gate_enclave_result {
	const char *failed;          /* NULL: passed; else the check (libadyton-verify's names) */
	char reason[256];
	gate_identity id;            /* filled when the quote decoded */
} gate_enclave_result;

/*
 * Verifies quote[0, len) for pub and nonce under the policy text (the
 * format of `adyton verify-quote --policy`, adyton/vpolicy.h).  The
 * policy must not allow DEBUG enclaves.  Returns ADY_OK with out->failed
 * NULL (accepted) or naming the refusal; ADY_ERR_CONFIG for a policy that
 * does not parse or allows DEBUG (out->reason says which line);
 * ADY_ERR_NOMEM.
 */
ADY_MUST_CHECK ady_err gate_enclave_check(const uint8_t *quote, size_t len, const char *policy, size_t policy_len,
					  const uint8_t nonce[static GATE_NONCE], const uint8_t pub[static GATE_PUB],
					  gate_enclave_result *out);

/* The P-256 public key for a point (NULL if it is not on the curve). */
EVP_PKEY *gate_pub_from_point(const uint8_t pub[static GATE_PUB]);

/*
 * Makes a client certificate for key (subject CN "adyton-enclave
 * MRENCLAVE-prefix"), valid from now for lifetime seconds, with a fresh
 * 127-bit serial, signed with ca_key (SHA-256) as ca_cert.  *out owned by
 * the caller.  ADY_ERR_CRYPTO if OpenSSL refuses.
 */
ADY_MUST_CHECK ady_err gate_cert_issue(EVP_PKEY *ca_key, X509 *ca_cert, EVP_PKEY *key, const gate_identity *id,
				       long lifetime, X509 **out);

/* Reads the identity extension back (ADY_ERR_MALFORMED if absent or bad). */
ADY_MUST_CHECK ady_err gate_cert_identity(X509 *cert, gate_identity *out);

typedef struct gate_db gate_db;

/*
 * Opens (creating the tables if missing) the state: a SQLite file (PATH
 * or "sqlite:PATH", created mode 0600), or "postgresql:CONNINFO" (a libpq
 * connection string; the database must exist).  Gates that open the same
 * state see each other's nonces, certificates and revocations at once.
 * ADY_ERR_IO when it cannot be opened or its tables created;
 * ADY_ERR_INVALID_ARG for an empty path.
 */
ADY_MUST_CHECK ady_err gate_db_open(const char *where, gate_db **out);
void gate_db_close(gate_db *db);

/* A fresh challenge, valid for ttl seconds, usable once. */
ADY_MUST_CHECK ady_err gate_db_nonce_new(gate_db *db, unsigned ttl, uint8_t nonce[static GATE_NONCE]);
/* Uses the nonce: *why NULL if it was issued, unused and unexpired, else
 * "nonce unknown" / "nonce replayed" / "nonce expired". */
ADY_MUST_CHECK ady_err gate_db_nonce_take(gate_db *db, const uint8_t nonce[static GATE_NONCE], const char **why);

/* Records an issued certificate. */
ADY_MUST_CHECK ady_err gate_db_record(gate_db *db, X509 *cert, const gate_identity *id);

/* Revokes by serial (hex, as `openssl x509 -serial` prints it) or every
 * unrevoked certificate of a host; *n gets how many were revoked now. */
ADY_MUST_CHECK ady_err gate_db_revoke(gate_db *db, const char *serial, const char *host, unsigned *n);

/* The CRL of every revoked certificate that has not expired, valid for
 * ttl seconds, signed with ca_key. */
ADY_MUST_CHECK ady_err gate_crl_make(gate_db *db, EVP_PKEY *ca_key, X509 *ca_cert, long ttl, X509_CRL **out);

/* Calls fn per issued certificate, in issue order. */
ADY_MUST_CHECK ady_err gate_db_list(gate_db *db,
				    void (*fn)(void *ctx, const char *serial, int64_t issued, int64_t not_after,
					       const char *mrenclave, const char *host, int64_t revoked),
				    void *ctx);

#endif
