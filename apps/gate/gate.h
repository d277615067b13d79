/*
 * gate.h - the gate's host-integrity check (issue 14): replay of an IMA
 * measurement list into PCR 10, a Keylime runtime policy over its entries,
 * and the host's TPM2_Quote that vouches for the PCRs.  Library of
 * apps/gate (libadyton-gate-host), used by adyton-gate, its tests and
 * bench/gate.  The IMA bytes are decoded by the format layer
 * (adyton/ima.h); this adds the hashing (OpenSSL), the policy (jansson,
 * PCRE2) and the decisions.
 *
 * Errors are ady_err; every refusal also fills a caller-owned reason
 * (gate_why) that names the entry, the file and the digest at fault.
 */
#ifndef ADY_GATE_H
#define ADY_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/ima.h"
#include "adyton/vpolicy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GATE_IMA_PCR 10

typedef struct gate_why {
	char text[512];
} gate_why;

/* ---- replay ------------------------------------------------------------ */

/* Banks to replay (the kernel extends every allocated bank). */
enum { GATE_BANK_SHA1 = 1, GATE_BANK_SHA256 = 2 };

/*
 * PCR 10 after the first count entries of a log, which end at byte offset
 * offset.  A fresh state (gate_pcr10_init) is the PCR after reset: zeros.
 * This is what the gate keeps per host between rounds.
 */
typedef struct gate_pcr10 {
	uint64_t count;
	uint64_t offset;
	uint8_t sha1[20];
	uint8_t sha256[32];
} gate_pcr10;

void gate_pcr10_init(gate_pcr10 *s);

/* A replayer: hashing contexts fetched once (the replay is the hot path). */
typedef struct gate_replay gate_replay;

/* banks: GATE_BANK_* bits.  With GATE_BANK_SHA1 each entry's logged
 * template hash is also checked against SHA-1 of its template data. */
ADY_MUST_CHECK ady_err gate_replay_new(unsigned banks, gate_replay **out);
void gate_replay_free(gate_replay *r);

/*
 * Extends s by one decoded entry, as the kernel does (ima_pcr_extend):
 * SHA-1 bank with the logged template hash, SHA-256 bank with SHA-256 of
 * the template data (it is not in the log), a violation (all-zero template
 * hash) with all ones in every bank.  Refuses (ADY_ERR_MALFORMED, reason
 * in why) an entry for another PCR and, with the SHA-1 bank, a template
 * hash that does not match the data (an entry edited in the log).
 * s->count and s->offset advance (offset to e->end + base, where base is
 * the byte offset of the buffer e was decoded from).
 */
ADY_MUST_CHECK ady_err gate_replay_entry(gate_replay *r, gate_pcr10 *s, const ady_ima_entry *e, uint64_t base,
					 gate_why *why);

/* The template hash (SHA-256 of the data as the kernel hashes it) of e. */
ADY_MUST_CHECK ady_err gate_template_sha256(gate_replay *r, const ady_ima_entry *e, uint8_t out[static 32]);

/* ---- Keylime runtime policy -------------------------------------------- */

typedef struct gate_policy gate_policy;

/*
 * Loads a Keylime runtime policy (JSON, meta.version 1) from len bytes.
 * Every part is checked at load: digests/keyrings/ima-buf map names to
 * arrays of digest strings ("hex" or "alg:hex", hex of a known digest
 * length); excludes are regular expressions compiled with PCRE2 (see
 * README.md for the subset of Python's re that means the same);
 * ima.ignored_keyrings is an array of names or "*"; ima.log_hash_alg must
 * be "sha1" (the template hash of every kernel log in
 * binary_runtime_measurements); ima.dm_policy must be null (device-mapper
 * policies are not supported); verification-keys is "" or Keylime's
 * ImaKeyrings JSON (keyrings of base64 DER public keys).  Unknown
 * top-level keys other than meta/release are refused.
 * Errors: ADY_ERR_MALFORMED (not JSON, wrong shape; why says where),
 * ADY_ERR_UNSUPPORTED (a feature named above as unsupported),
 * ADY_ERR_NOMEM.  *out is NULL on failure.
 */
ADY_MUST_CHECK ady_err gate_policy_load(const char *json, size_t len, gate_policy **out, gate_why *why);
void gate_policy_free(gate_policy *p);
size_t gate_policy_ndigests(const gate_policy *p);

/*
 * Checks one entry against the policy, as Keylime's verifier does
 * (keylime/ima/ima.py: _validate_ima_ng, _validate_ima_sig,
 * _validate_ima_buf): an excluded path (match anchored at the start, like
 * Python's re.match) passes; otherwise the path must be in digests with
 * the entry's digest; ima-sig with a signature that verifies under one of
 * verification-keys passes (and, if the path is also in digests, its
 * digest must be listed); ima-buf of a key is checked against keyrings
 * unless the keyring is ignored, other ima-buf against ima-buf.
 * boot_aggregate and violations are not checked here (gate_host_check
 * does).  1 = allowed; 0 = refused with the reason in why.
 */
int gate_policy_check(const gate_policy *p, const ady_ima_entry *e, gate_why *why);

/*
 * gate_policy_check in steps, so that its memory reads overlap other work
 * (gate_host_check replays the next entry meanwhile): _start hashes e's
 * path and prefetches its slot in the digests index, _fetch (once the slot
 * is likely cached) prefetches the path's record, _check_probed is
 * gate_policy_check with that hash.  The steps only prefetch: skipping
 * _fetch, or calling it early, changes the speed, never the answer.  pr is
 * the caller's and only valid for this p and e.
 */
typedef struct gate_policy_probe {
	uint64_t h;
} gate_policy_probe;

void gate_policy_probe_start(const gate_policy *p, const ady_ima_entry *e, gate_policy_probe *pr);
void gate_policy_probe_fetch(const gate_policy *p, const ady_ima_entry *e, const gate_policy_probe *pr);
int gate_policy_check_probed(const gate_policy *p, const ady_ima_entry *e, const gate_policy_probe *pr,
			     gate_why *why);

/* ---- the AK ---------------------------------------------------------------- */

/* The AK's qualified name: every quote it signs carries it. */
typedef struct gate_ak {
	uint8_t qname[34];
	size_t qname_len;
} gate_ak;

/*
 * What binds an AK to a TPM, short of credential activation (which needs
 * the agent: TPM2_MakeCredential to the EK, ActivateCredential on the
 * host; not done here): the EK certificate (DER) chains to one of
 * pol->tpm_ek_ca with the TCG EK EKU (ady_verify_tpm_ek_cert) and
 * certifies the key of ek_pub (TPM2B_PUBLIC); ak_pub (TPM2B_PUBLIC) is a
 * restricted, fixedTPM, fixedParent, TPM-made signing key (not decrypt)
 * whose key is ak_pem; out gets its qualified name under the EK, which the
 * quote's qualifiedSigner must then equal (gate_host_evidence.ak_qname).
 * ADY_OK; ADY_ERR_PERMISSION (a check failed), ADY_ERR_MALFORMED (a
 * TPM2B_PUBLIC does not unmarshal or has no SHA-256 name), reason in why.
 */
ADY_MUST_CHECK ady_err gate_ak_check(const ady_vpolicy *pol, const uint8_t *ek_cert, size_t ek_cert_len,
				     const uint8_t *ek_pub, size_t ek_pub_len, const uint8_t *ak_pub, size_t ak_pub_len,
				     const char *ak_pem, gate_ak *out, gate_why *why);

/* 1 if the TPMS_ATTEST's qualifiedSigner is qname. */
int gate_quote_signer_is(const uint8_t *attest, size_t len, const uint8_t *qname, size_t qlen);

/* ---- the TPM's boot -------------------------------------------------------- */

/* Which boot of the TPM a quote was made in: its clockInfo's resetCount
 * (TPM Resets: a reboot, every PCR cleared) and restartCount (TPM
 * Restarts and Resumes since that reset). */
typedef struct gate_boot {
	bool known;
	uint32_t reset_count;
	uint32_t restart_count;
} gate_boot;

/* The boot of a TPMS_ATTEST (a quote); an error (ady_tpms_quote_decode's) when it does not decode. */
ADY_MUST_CHECK ady_err gate_quote_boot(const uint8_t *attest, size_t len, gate_boot *out);

typedef enum gate_boot_order {
	GATE_BOOT_SAME,  /* the kept boot (or none kept): the replay goes on */
	GATE_BOOT_NEW,   /* a later reset or restart: the log starts over */
	GATE_BOOT_OLDER, /* resetCount (or, same reset, restartCount) went backwards */
} gate_boot_order;

/* The quoted boot now against the one kept for the host; GATE_BOOT_OLDER
 * says why (a replayed or forged quote of an older boot). */
gate_boot_order gate_boot_compare(const gate_boot *kept, const gate_boot *now, gate_why *why);

/* ---- the host check ------------------------------------------------------ */

/* The evidence of one round.  All buffers are the caller's. */
typedef struct gate_host_evidence {
	const uint8_t *attest;      /* TPMS_ATTEST (TPM2_Quote's quoted) */
	size_t attest_len;
	const uint8_t *sig;         /* TPMT_SIGNATURE */
	size_t sig_len;
	const char *ak_pem;         /* AK public key, SubjectPublicKeyInfo PEM */
	const uint8_t *ak_qname;    /* its qualified name (gate_ak_check), or NULL: not checked */
	size_t ak_qname_len;
	const uint8_t (*pcr)[32];   /* SHA-256 PCR values 0..npcr-1 as read */
	uint32_t npcr;
	const uint8_t *log;         /* IMA log bytes ... */
	size_t log_len;
	uint64_t log_base;          /* ... starting at this byte offset of the full log */
} gate_host_evidence;

typedef struct gate_host_result {
	gate_pcr10 verified;        /* the state to keep for the next round */
	uint64_t checked;           /* entries checked against the policy this round */
	uint64_t ahead;             /* entries after the quoted state (next round) */
	uint64_t violations;        /* violation entries seen this round */
	const char *failed;         /* NULL if the host passed, else the check that failed */
	gate_why why;
} gate_host_result;

/*
 * One round: the quote (signature by the AK, extraData == nonce, SHA-256
 * selection of PCRs 0..npcr-1 whose digest is over the given values),
 * boot_aggregate (SHA-256 of PCRs 0-9, first round only), replay from
 * prev (NULL = from reset; the log must then start at its byte
 * prev->offset) until the replayed PCR 10 equals the quoted one (entries
 * after that are left for the next round), and the policy over the
 * entries up to that point.  Returns ADY_OK when the evidence could be
 * judged (then res->failed says the verdict), or an error for unusable
 * arguments.  res->failed names: "quote_signature", "quote_signer", "quote_nonce",
 * "quote_pcrs", "log_parse", "log_shorter", "pcr_mismatch",
 * "boot_aggregate", "policy".
 */
ADY_MUST_CHECK ady_err gate_host_check(const gate_host_evidence *ev, const uint8_t *nonce, size_t nonce_len,
				       const gate_pcr10 *prev, const gate_policy *pol, gate_host_result *res);

#ifdef __cplusplus
}
#endif
#endif
