/*
 * host.c - one host-integrity round (gate.h): quote, boot_aggregate,
 * replay to the quoted PCR 10, policy over the entries the quote covers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/verify.h"
#include "gate.h"

static void fail(gate_host_result *res, const char *check, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(gate_host_result *res, const char *check, const char *fmt, ...)
{
	va_list ap;

	res->failed = check;
	va_start(ap, fmt);
	vsnprintf(res->why.text, sizeof(res->why.text), fmt, ap);
	va_end(ap);
}

/* boot_aggregate (ima_calc_boot_aggregate): for a SHA-256 digest, SHA-256
 * over PCRs 0-9 of the SHA-256 bank (kernel >= 5.8 adds 8 and 9).  A
 * SHA-1 boot_aggregate is over the SHA-1 bank, which the quote does not
 * cover: refused rather than trusted. */
static int boot_aggregate_ok(const ady_ima_entry *e, const gate_host_evidence *ev, gate_why *why)
{
	uint8_t h[32];
	unsigned int n = 0;
	char got[2 * ADY_IMA_MAX_DIGEST + 1], want[65];

	if (e->name_len != 14 || memcmp(e->name, "boot_aggregate", 14) != 0) {
		snprintf(why->text, sizeof(why->text), "the log does not start with boot_aggregate but %.*s",
			 (int)e->name_len, e->name);
		return 0;
	}
	if (e->alg != ADY_IMA_ALG_SHA256 || ev->npcr < 10) {
		snprintf(why->text, sizeof(why->text),
			 "boot_aggregate is %s: only a sha256 one over the quoted PCRs 0-9 can be checked", e->alg_name);
		return 0;
	}
	if (EVP_Digest(ev->pcr, 10 * 32, h, &n, EVP_sha256(), NULL) != 1)
		return 0;
	if (memcmp(h, e->digest, 32) != 0) {
		ady_hex_encode(e->digest, 32, got);
		ady_hex_encode(h, 32, want);
		snprintf(why->text, sizeof(why->text), "boot_aggregate sha256:%s is not SHA-256(PCR 0-9) = %s", got, want);
		return 0;
	}
	return 1;
}

/* The policy over entry i (not boot_aggregate).  A violation is checked
 * like any entry, as Keylime does: its zero digest must be allowed (or its
 * path excluded). */
static int policy_one(const gate_policy *pol, const ady_ima_entry *e, uint64_t i, const gate_policy_probe *pr,
		      gate_host_result *res, gate_why *why)
{
	gate_why tmp;

	tmp.text[0] = '\0';
	res->violations += e->violation ? 1 : 0;
	if (!gate_policy_check_probed(pol, e, pr, &tmp)) {
		snprintf(why->text, sizeof(why->text), "entry %llu: %.480s", (unsigned long long)i, tmp.text);
		return 0;
	}
	res->checked++;
	return 1;
}

/* see gate.h */
ady_err gate_host_check(const gate_host_evidence *ev, const uint8_t *nonce, size_t nonce_len, const gate_pcr10 *prev,
			const gate_policy *pol, gate_host_result *res)
{
	ady_tpm_quote_check qc;
	gate_replay *rp = NULL;
	gate_pcr10 s, match;
	uint64_t start, pi = 0;
	bool found, checking, pending = false;
	ady_ima_entry pe;
	gate_policy_probe pr_pending;
	const char *pfailed = NULL;
	gate_why pwhy;
	ady_cur c;
	ady_err err;

	if (!res)
		return ADY_ERR_INVALID_ARG;
	memset(res, 0, sizeof(*res));
	if (!ev || !pol || (!ev->log && ev->log_len))
		return ADY_ERR_INVALID_ARG;
	if (prev) {
		s = *prev;
	} else {
		gate_pcr10_init(&s);
	}
	res->verified = s;
	start = s.count;
	if (ev->log_base != s.offset)
		return ADY_ERR_INVALID_ARG;

	err = ady_verify_tpm_quote(ev->attest, ev->attest_len, ev->sig, ev->sig_len, ev->ak_pem, nonce, nonce_len,
				   ev->pcr, ev->npcr, &qc);
	if (err)
		return err;
	if (qc.failed) {
		fail(res, qc.failed, "%s", qc.detail);
		return ADY_OK;
	}
	if (ev->ak_qname && !gate_quote_signer_is(ev->attest, ev->attest_len, ev->ak_qname, ev->ak_qname_len)) {
		fail(res, "quote_signer", "the quote's qualifiedSigner is not the enrolled AK's qualified name");
		return ADY_OK;
	}
	if (!(qc.pcr_mask >> GATE_IMA_PCR & 1u) || (qc.pcr_mask & 0x3ffu) != 0x3ffu) {
		fail(res, "quote_pcrs", "the quote does not cover PCRs 0-10 (mask 0x%06x)", qc.pcr_mask);
		return ADY_OK;
	}

	/* One pass: replay until the PCR equals the quoted one, and the policy
	 * over exactly the entries up to there.  Entries appended after the
	 * quote (IMA appends and extends while the agent reads) are left for
	 * the next round, never counted twice; they are still replayed to the
	 * end of the log, so a log that never reaches the quoted PCR, or does
	 * not parse, is refused for that before any policy verdict.  Only the
	 * SHA-256 bank is quoted, so only it is replayed.  Each entry's policy
	 * lookup is prefetched before its replay and checked one entry later,
	 * so its memory reads overlap two entries' hashing (bench/gate). */
	if ((err = gate_replay_new(GATE_BANK_SHA256, &rp)))
		return err;
	ady_cur_init(&c, ev->log, ev->log_len);
	found = memcmp(s.sha256, ev->pcr[GATE_IMA_PCR], 32) == 0;
	match = s;
	checking = !found;
	while (ady_cur_left(&c)) {
		ady_ima_entry e;
		gate_policy_probe pr = {0};
		uint64_t i = s.count;
		bool check;

		if ((err = ady_ima_decode(&c, &e))) {
			fail(res, "log_parse", "entry %llu at byte %llu: %s", (unsigned long long)s.count,
			     (unsigned long long)(ev->log_base + c.off), ady_strerror(err));
			err = ADY_OK;
			goto replay_failed;
		}
		check = checking && !found && i != 0;
		if (check)
			gate_policy_probe_start(pol, &e, &pr);
		if (checking && !found && i == 0 && !boot_aggregate_ok(&e, ev, &pwhy)) {
			pfailed = "boot_aggregate";
			checking = false;
		}
		if ((err = gate_replay_entry(rp, &s, &e, ev->log_base, &res->why))) {
			if (err == ADY_ERR_MALFORMED) {
				res->failed = "log_parse";
				err = ADY_OK;
			}
			goto replay_failed;
		}
		if (pending && !policy_one(pol, &pe, pi, &pr_pending, res, &pwhy)) {
			pfailed = "policy";
			checking = false;
		}
		pending = false;
		if (check && checking) {
			gate_policy_probe_fetch(pol, &e, &pr);
			pe = e, pi = i, pr_pending = pr, pending = true;
		}
		if (!found && memcmp(s.sha256, ev->pcr[GATE_IMA_PCR], 32) == 0) {
			found = true;
			match = s;
		}
	}
	if (pending && !policy_one(pol, &pe, pi, &pr_pending, res, &pwhy))
		pfailed = "policy";
	if (!found) {
		char want[65], got[65];

		ady_hex_encode(ev->pcr[GATE_IMA_PCR], 32, want);
		ady_hex_encode(s.sha256, 32, got);
		fail(res, "pcr_mismatch",
		     "replaying entries %llu..%llu never gives the quoted PCR 10 %s (end of log: %s): the log was edited, "
		     "an entry removed, or it belongs to another boot",
		     (unsigned long long)start, (unsigned long long)s.count, want, got);
		goto replay_failed;
	}
	res->ahead = s.count - match.count;
	if (pfailed) {
		res->failed = pfailed;
		res->why = pwhy;
		goto out;
	}
	res->verified = match;
	err = ADY_OK;
	goto out;
replay_failed:
	/* the policy verdict is only given over a log that replays */
	res->checked = res->violations = 0;
out:
	gate_replay_free(rp);
	return err;
}

/* see gate.h */
ady_err gate_quote_boot(const uint8_t *attest, size_t len, gate_boot *out)
{
	ady_tpms_quote tq;
	ady_err err;

	memset(out, 0, sizeof(*out));
	if ((err = ady_tpms_quote_decode(attest, len, &tq)))
		return err;
	out->known = true;
	out->reset_count = tq.reset_count;
	out->restart_count = tq.restart_count;
	return ADY_OK;
}

/* see gate.h */
gate_boot_order gate_boot_compare(const gate_boot *kept, const gate_boot *now, gate_why *why)
{
	if (!kept->known || (kept->reset_count == now->reset_count && kept->restart_count == now->restart_count))
		return GATE_BOOT_SAME;
	if (now->reset_count < kept->reset_count ||
	    (now->reset_count == kept->reset_count && now->restart_count < kept->restart_count)) {
		snprintf(why->text, sizeof(why->text),
			 "the quote's TPM boot went backwards: resetCount %u restartCount %u, after %u %u: a quote of "
			 "an older boot (replayed or forged)",
			 now->reset_count, now->restart_count, kept->reset_count, kept->restart_count);
		return GATE_BOOT_OLDER;
	}
	return GATE_BOOT_NEW;
}
