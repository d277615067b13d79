/*
 * src/platform/derive.h - the platform side of EGETKEY and EREPORT (OpenSSL):
 * served through the exit table (platform/platform.h) by adytond for the
 * enclaves it launched and by the sim backend, with its own fixed and
 * public sim root.  Internal; not installed.
 *
 * Keys: HKDF-SHA256 (RFC 5869), IKM = the 32-byte platform root key,
 * salt = "adyton egetkey v1", info = a fixed encoding of the key name and,
 * by SGX's rules, the identity the platform recorded at launch:
 *   keyname u16 | MRENCLAVE if policy has MRENCLAVE else zeros (32) |
 *   MRSIGNER if policy has MRSIGNER else zeros (32) | ISVPRODID u16 |
 *   request ISVSVN u16 | request CPUSVN (16) |
 *   (ATTRIBUTES & (request ATTRIBUTEMASK | INIT | DEBUG)) (16) |
 *   (MISCSELECT & request MISCMASK) u32 | request KEYID (32) | CONFIGSVN u16 |
 *   request ATTRIBUTEMASK as sent (16) | request MISCMASK u32
 * truncated to 16 bytes (offsets in derive.c).  The masks themselves are
 * bound, as SGX's EGETKEY binds them: otherwise flipping a mask bit over an
 * attribute the enclave lacks would leave the key unchanged, and a sealed
 * blob with a changed key request would still open.  REPORT keys always bind MRENCLAVE and the
 * attributes of the enclave that owns them (what EGETKEY(REPORT) does).
 * Refused (ADY_ERR_PERMISSION): request ISVSVN above the enclave's, CPUSVN
 * above the platform's, EINITTOKEN keys, PROVISION/PROVISION_SEAL keys
 * without the PROVISIONKEY attribute or without provision_allowed.
 * Malformed requests (unknown key name, unknown policy bits, reserved
 * bytes not zero): ADY_ERR_INVALID_ARG.
 *
 * Reports: the REPORTBODY from the recorded identity and reportdata, KEYID
 * fresh random, MAC = AES-128-CMAC (RFC 4493) over the 384-byte body with
 * the TARGET's report key for that KEYID, so only the target can verify it
 * (it derives its own report key with the report's KEYID).
 */
#ifndef ADYTON_PLATFORM_DERIVE_H
#define ADYTON_PLATFORM_DERIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/sgx.h"

typedef struct ady_identity {
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	ady_sgx_attributes attributes;
	uint32_t miscselect;
} ady_identity;

typedef struct ady_platform {
	uint8_t root[32];     /* the platform root key (daemon: file or TPM; sim: public constant) */
	uint8_t cpusvn[16];   /* the platform's security version: zeros today */
} ady_platform;

/* The sim platform: a fixed root everyone can compute.  Sealing on sim
 * protects nothing; it exists so that code using it can be debugged. */
void ady_platform_sim(ady_platform *out);

ADY_MUST_CHECK ady_err ady_derive_key(const ady_platform *p, const ady_identity *self,
				      const uint8_t keyrequest[static 512], bool provision_allowed,
				      uint8_t key[static 16]);

ADY_MUST_CHECK ady_err ady_derive_report(const ady_platform *p, const ady_identity *self,
					 const uint8_t targetinfo[static 512], const uint8_t reportdata[static 64],
					 uint8_t report[static 432]);

/* AES-128-CMAC (RFC 4493). */
ADY_MUST_CHECK ady_err ady_cmac_aes128(const uint8_t key[static 16], const void *msg, size_t len,
				       uint8_t mac[static 16]);

#endif
