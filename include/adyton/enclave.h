/*
 * adyton/enclave.h - the API of the trusted runtime, for code that runs
 * inside an enclave (linked with libadyton-trts.a by adyton_add_enclave()).
 *
 * An enclave is freestanding: no system calls, no glibc.  The runtime
 * provides memcpy/memmove/memset/memcmp, strlen/strnlen/strcmp/strncmp/
 * strchr, malloc/calloc/realloc/free over the measured heap, and the
 * symbols Debian's libbearssl.a needs, so <string.h>, <stdlib.h> (for
 * those declarations only) and <bearssl.h> can be used as usual.
 *
 * Calls: the application calls ECALL i with an input byte string and an
 * output capacity; the runtime copies the input from the marshalling buffer
 * into enclave memory, calls ecalls[i] with enclave-private in/out buffers,
 * and copies out_len bytes of output back only if the ECALL returned
 * ADY_OK.  Handlers never see application memory.
 */
#ifndef ADYTON_ENCLAVE_H
#define ADYTON_ENCLAVE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An ECALL handler.  in: in_len bytes (enclave copy; NULL when in_len is 0).
 * out: out_cap bytes of enclave memory, zero-filled.  Set *out_len (<=
 * out_cap; else the call fails with ADY_ERR_SHORT_BUFFER) and return
 * ADY_OK, or return an error: then no output is copied back.
 */
typedef ady_err (*ady_ecall_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
				size_t *out_len);

typedef struct ady_ecall_table {
	uint32_t count;
	const ady_ecall_fn *fns;
} ady_ecall_table;

/* Every enclave defines its ECALL table once, in index order:
 *     ADY_ECALLS(greet, add);
 * The runtime refuses indices >= count (ADY_ERR_ECALL_INDEX). */
#define ADY_ECALLS(...)                                                                        \
	static const ady_ecall_fn ady_ecall_fns_[] = {__VA_ARGS__};                            \
	const ady_ecall_table ady_ecall_table_ = {                                             \
		(uint32_t)(sizeof(ady_ecall_fns_) / sizeof(ady_ecall_fns_[0])), ady_ecall_fns_}

/*
 * Bulk ECALLs (opt-in, for data paths where the copy is the cost): the
 * handler works in place in the marshalling slot instead of on private
 * copies.  The input is data || ctl: the last ctl_len bytes (ctl_len <=
 * ADY_BULK_CTL_MAX) are copied into enclave memory and passed as ctl; the
 * first in_len - ctl_len bytes stay in application memory at io, and the
 * output goes to io[0, *out_len) with *out_len <= out_cap (io has room for
 * max(in_len, out_cap) bytes, both within the slot's data area).  Input
 * shorter than ctl_len: ADY_ERR_TRUNCATED, the handler is not called.
 *
 * The contract a bulk handler must keep, because the application can
 * change io at any moment:
 *   - read every input byte of io at most once, and never let it decide a
 *     length, an index, a branch or a loop bound (those come from ctl and
 *     io_len only);
 *   - write every output byte once, and write nothing there that is not
 *     meant to leave the enclave (never keys, never intermediate state);
 *   - on an error return, io holds unspecified bytes (the application
 *     receives no output).
 * A bulk index shadows the same index in the ordinary table.  Declare
 * them once, next to ADY_ECALLS:
 *     ADY_BULK_ECALLS({KG_CRYPT, 16, crypt});
 */
#define ADY_BULK_CTL_MAX 256u

typedef ady_err (*ady_bulk_ecall_fn)(const uint8_t *ctl, uint8_t *io, size_t io_len, size_t out_cap,
				     size_t *out_len);

typedef struct ady_bulk_ecall {
	uint32_t index;
	uint32_t ctl_len;
	ady_bulk_ecall_fn fn;
} ady_bulk_ecall;

typedef struct ady_bulk_ecall_table {
	uint32_t count;
	const ady_bulk_ecall *entries;
} ady_bulk_ecall_table;

/* Overrides the runtime's empty (weak) table. */
#define ADY_BULK_ECALLS(...)                                                                   \
	static const ady_bulk_ecall ady_bulk_ecalls_[] = {__VA_ARGS__};                        \
	const ady_bulk_ecall_table ady_bulk_ecall_table_ = {                                   \
		(uint32_t)(sizeof(ady_bulk_ecalls_) / sizeof(ady_bulk_ecalls_[0])), ady_bulk_ecalls_}

/*
 * Calls OCALL index in the application with in_len bytes of input and up
 * to out_cap bytes of output; *out_len gets the output length (may be
 * NULL if out_cap is 0).  Valid only while an ECALL runs on this thread
 * (ADY_ERR_NOT_IN_ECALL).  The application's answer is validated: an
 * out_len above out_cap is refused (ADY_ERR_PROTOCOL) and nothing is
 * copied.  Data above the marshalling slot: ADY_ERR_TOO_LARGE.
 */
ADY_MUST_CHECK ady_err ady_ocall(uint32_t index, const void *in, size_t in_len, void *out,
				 size_t out_cap, size_t *out_len);

/* Bounded formatter: %d %i %u %x %X %p %s %c %% with l/ll/z modifiers,
 * field width and '0' flag.  Always NUL-terminates when cap > 0; returns
 * the length the full output would have had. */
int ady_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int ady_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sends one formatted line (at most 1 KiB) to the application's log
 * (stderr by default).  For debugging: whatever is logged leaves the
 * enclave in the clear. */
void ady_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stops the enclave for good: the reason reaches the application
 * (ady_enclave_abort_reason) and every later ECALL fails with
 * ADY_ERR_ABORTED.  Never returns. */
_Noreturn void ady_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- keys, sealing, reports, randomness (EGETKEY / EREPORT equivalents) ----
 * Key material comes from the platform (adytond on the process and kvm
 * backends, a fixed, public sim key on sim) and is derived from the
 * identity the platform recorded at launch, never from what the enclave
 * claims.  SGX's rules apply: no ISVSVN above the enclave's own, no CPUSVN
 * above the platform's, PROVISION keys only for enclaves with the
 * PROVISIONKEY attribute that the platform policy allows. */

/* EGETKEY: the 128-bit key described by req (adyton/sgx.h).  Refusals:
 * ADY_ERR_PERMISSION (a key the enclave is not entitled to),
 * ADY_ERR_INVALID_ARG (unknown key name/policy bits, reserved not zero). */
ADY_MUST_CHECK ady_err ady_get_key(const void *keyrequest /* ady_sgx_keyrequest */, uint8_t key[static 16]);

#define ADY_SEAL_MRENCLAVE 0x0001 /* only this exact enclave code unseals */
#define ADY_SEAL_MRSIGNER 0x0002  /* any enclave of this signer and ISVPRODID, ISVSVN >= ours */
#define ADY_SEALED_HEADER 560u    /* sgx_sealed_data_t up to the payload */

/* Size of a sealed blob for text_len bytes of secret and aad_len bytes of
 * additional MAC text (authenticated, not encrypted), or 0 on overflow. */
size_t ady_sealed_size(size_t aad_len, size_t text_len);

/*
 * Seals text under a key only enclaves matching policy (ADY_SEAL_*) can
 * derive, in the SGX SDK's sgx_sealed_data_t layout: AES-128-GCM, zero IV,
 * a fresh random KEYID per blob.  blob_cap < ady_sealed_size():
 * ADY_ERR_SHORT_BUFFER.  *blob_len gets the size written.
 */
ADY_MUST_CHECK ady_err ady_seal(uint16_t policy, const void *aad, size_t aad_len, const void *text, size_t text_len,
				uint8_t *blob, size_t blob_cap, size_t *blob_len);

/*
 * Unseals a blob: parses it (malformed: ADY_ERR_MALFORMED/ADY_ERR_TRUNCATED),
 * derives the key from its key request (a key this enclave may not have:
 * ADY_ERR_PERMISSION), authenticates and decrypts (a changed byte, another
 * platform root, another enclave: ADY_ERR_CRYPTO).  On success text gets
 * *text_len bytes and, if aad is not NULL, aad gets *aad_len bytes; on
 * failure nothing is written to text or aad.  Capacities too small:
 * ADY_ERR_SHORT_BUFFER with the needed lengths in *text_len / *aad_len.
 */
ADY_MUST_CHECK ady_err ady_unseal(const uint8_t *blob, size_t blob_len, void *aad, size_t aad_cap,
				  size_t *aad_len, void *text, size_t text_cap, size_t *text_len);

/* EREPORT: a REPORT (432 bytes, adyton/sgx.h) of this enclave for the
 * enclave described by targetinfo (512 bytes; NULL: for itself), MACed with
 * the target's report key. */
ADY_MUST_CHECK ady_err ady_create_report(const void *targetinfo, const uint8_t reportdata[static 64],
					 uint8_t report[static 432]);

/* Verifies a REPORT addressed to this enclave (its MAC with our report
 * key).  ADY_ERR_CRYPTO when it does not verify. */
ADY_MUST_CHECK ady_err ady_verify_report(const uint8_t report[static 432]);

/* This enclave's TARGETINFO (512 bytes), to hand to another enclave that
 * should create a report for us. */
ADY_MUST_CHECK ady_err ady_self_targetinfo(uint8_t targetinfo[static 512]);

/* A quote of this enclave for a remote verifier (adyton/quote.h,
 * docs/attestation.md): the platform signs a REPORTBODY built from the
 * identity it recorded at launch, carrying report_data, with the
 * verifier's nonce bound in the header.  Writes at most cap bytes to quote
 * and sets *len; ADY_ERR_SHORT_BUFFER (with *len the size needed, when the
 * platform told it) if cap is too small (ADY_QUOTE_MAX always suffices).
 * ADY_ERR_PERMISSION when the platform's policy does not list this
 * enclave's MRSIGNER/ISVPRODID for provisioning; sim quotes are marked as
 * such and no verifier accepts them by default. */
ADY_MUST_CHECK ady_err ady_get_quote(const uint8_t report_data[static 64], const uint8_t nonce[static 32],
				     uint8_t *quote, size_t cap, size_t *len);

/* AES-128-CMAC (RFC 4493) on BearSSL's AES: BearSSL has no CMAC, and
 * SGX reports are MACed with it. */
ADY_MUST_CHECK ady_err ady_cmac_aes128(const uint8_t key[static 16], const void *msg, size_t len,
				       uint8_t mac[static 16]);

/* n random bytes: an HMAC-DRBG seeded from RDRAND (when the CPU has it)
 * and seed material from the platform, reseeded periodically. */
ADY_MUST_CHECK ady_err ady_random(void *buf, size_t n);

/* Whether [p, p+n) lies entirely inside / outside this enclave. */
int ady_is_within_enclave(const void *p, size_t n);
int ady_is_outside_enclave(const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
