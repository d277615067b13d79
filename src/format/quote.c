/*
 * quote.c - adyton quotes (adyton/quote.h): encoding and a strict,
 * cursor-based decoder.  Signatures are checked in src/verify/.
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"

const uint8_t ady_quote_vendor_id[16] = "adyton-quote-v1";

_Static_assert(sizeof(ady_sgx_report_body) == 384, "REPORTBODY size");
_Static_assert(ADY_QUOTE_HEADER + sizeof(ady_sgx_report_body) == ADY_QUOTE_TBS, "tbs");
_Static_assert(ADY_QUOTE_TBS + 4 + 64 + 64 + 2 + 4 == ADY_QUOTE_FIXED, "fixed part");

static int known_cert(uint16_t t)
{
	switch (t) {
	case ADY_QUOTE_CERT_ENROLLED:
	case ADY_QUOTE_CERT_TPM:
	case ADY_QUOTE_CERT_SIM:
		return 1;
	default:
		return 0;
	}
}

/* The REPORTBODY field by field, reserved bytes zero (the mirror of
 * decode_body below). */
static void encode_body(ady_wr *w, const ady_sgx_report_body *b)
{
	ady_wr_bytes(w, b->cpusvn, 16);
	ady_wr_u32le(w, b->miscselect);
	ady_wr_zero(w, 12);
	ady_wr_bytes(w, b->isvextprodid, 16);
	ady_wr_u64le(w, b->attributes.flags);
	ady_wr_u64le(w, b->attributes.xfrm);
	ady_wr_bytes(w, b->mrenclave, 32);
	ady_wr_zero(w, 32);
	ady_wr_bytes(w, b->mrsigner, 32);
	ady_wr_zero(w, 32);
	ady_wr_bytes(w, b->configid, 64);
	ady_wr_u16le(w, b->isvprodid);
	ady_wr_u16le(w, b->isvsvn);
	ady_wr_u16le(w, b->configsvn);
	ady_wr_zero(w, 42);
	ady_wr_bytes(w, b->isvfamilyid, 16);
	ady_wr_bytes(w, b->reportdata, 64);
}

/* see adyton/quote.h */
ady_err ady_quote_encode(const ady_quote *q, uint8_t *buf, size_t cap, size_t *len)
{
	size_t need;
	ady_wr w;

	if (!q || !len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (!known_cert(q->cert_type) || q->cert_len > ADY_QUOTE_MAX_CERT ||
	    (q->cert_type != ADY_QUOTE_CERT_TPM && q->cert_len != 0))
		return ADY_ERR_INVALID_ARG;
	need = ADY_QUOTE_FIXED + q->cert_len;
	*len = need;
	if (!buf || cap < need)
		return ADY_ERR_SHORT_BUFFER;
	/* Layout: adyton/quote.h. */
	ady_wr_init(&w, buf, need);
	ady_wr_u16le(&w, ADY_QUOTE_VERSION);
	ady_wr_u16le(&w, ADY_QUOTE_ATT_KEY_ECDSA_P256);
	ady_wr_u32le(&w, ADY_QUOTE_TEE_TYPE);
	ady_wr_zero(&w, 4);
	ady_wr_bytes(&w, ady_quote_vendor_id, 16);
	ady_wr_bytes(&w, q->user_data, 20);
	encode_body(&w, &q->body);
	ady_wr_u32le(&w, (uint32_t)(need - ADY_QUOTE_TBS - 4));
	ady_wr_bytes(&w, q->signature, 64);
	ady_wr_bytes(&w, q->attest_pub, 64);
	ady_wr_u16le(&w, q->cert_type);
	ady_wr_u32le(&w, q->cert_len);
	ady_wr_bytes(&w, q->cert, q->cert_len);
	if (ady_wr_err(&w) || ady_wr_len(&w) != need)
		return ADY_ERR_RANGE; /* a layout mistake here, not the caller's */
	return ADY_OK;
}

/* The REPORTBODY: every reserved byte must be zero (SDM 38.15.1).  The
 * struct is packed: integers go through locals. */
static ady_err decode_body(ady_cur *c, ady_sgx_report_body *b)
{
	uint64_t flags, xfrm;
	uint32_t misc;
	uint16_t prod, svn, csvn;

	if (ady_cur_bytes(c, b->cpusvn, 16) || ady_cur_u32le(c, &misc) || ady_cur_zeros(c, 12) ||
	    ady_cur_bytes(c, b->isvextprodid, 16) || ady_cur_u64le(c, &flags) || ady_cur_u64le(c, &xfrm) ||
	    ady_cur_bytes(c, b->mrenclave, 32) || ady_cur_zeros(c, 32) || ady_cur_bytes(c, b->mrsigner, 32) ||
	    ady_cur_zeros(c, 32) || ady_cur_bytes(c, b->configid, 64) || ady_cur_u16le(c, &prod) ||
	    ady_cur_u16le(c, &svn) || ady_cur_u16le(c, &csvn) || ady_cur_zeros(c, 42) ||
	    ady_cur_bytes(c, b->isvfamilyid, 16) || ady_cur_bytes(c, b->reportdata, 64))
		return ady_cur_err(c);
	b->miscselect = misc;
	b->attributes.flags = flags;
	b->attributes.xfrm = xfrm;
	b->isvprodid = prod;
	b->isvsvn = svn;
	b->configsvn = csvn;
	return ADY_OK;
}

/* see adyton/quote.h */
ady_err ady_quote_decode(const uint8_t *buf, size_t len, ady_quote *q)
{
	uint16_t version, key_type;
	uint32_t tee, sig_len;
	uint8_t vendor[16];
	ady_quote_tpm tpm;
	ady_cur c;
	ady_err err;

	if (!q)
		return ADY_ERR_INVALID_ARG;
	memset(q, 0, sizeof(*q));
	if (!buf)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, buf, len);
	if (ady_cur_u16le(&c, &version) || ady_cur_u16le(&c, &key_type) || ady_cur_u32le(&c, &tee))
		goto fail_cur;
	if (version != ADY_QUOTE_VERSION || key_type != ADY_QUOTE_ATT_KEY_ECDSA_P256 || tee != ADY_QUOTE_TEE_TYPE) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	if (ady_cur_zeros(&c, 4) || ady_cur_bytes(&c, vendor, 16) || ady_cur_bytes(&c, q->user_data, 20))
		goto fail_cur;
	if (memcmp(vendor, ady_quote_vendor_id, 16) != 0) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	err = decode_body(&c, &q->body);
	if (err)
		goto fail;
	if (ady_cur_u32le(&c, &sig_len))
		goto fail_cur;
	/* The signature data is exactly the rest: nothing may trail. */
	if (sig_len != ady_cur_left(&c)) {
		err = ady_cur_left(&c) < sig_len ? ADY_ERR_TRUNCATED : ADY_ERR_MALFORMED;
		goto fail;
	}
	if (ady_cur_bytes(&c, q->signature, 64) || ady_cur_bytes(&c, q->attest_pub, 64) ||
	    ady_cur_u16le(&c, &q->cert_type) || ady_cur_u32le(&c, &q->cert_len))
		goto fail_cur;
	if (!known_cert(q->cert_type) || q->cert_len > ADY_QUOTE_MAX_CERT || q->cert_len != ady_cur_left(&c) ||
	    (q->cert_type != ADY_QUOTE_CERT_TPM && q->cert_len != 0)) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	if (ady_cur_bytes(&c, q->cert, q->cert_len))
		goto fail_cur;
	if (q->cert_type == ADY_QUOTE_CERT_TPM) {
		err = ady_quote_decode_tpm(q, &tpm);
		if (err)
			goto fail;
	}
	return ADY_OK;

fail_cur:
	err = ady_cur_err(&c);
fail:
	memset(q, 0, sizeof(*q));
	return err;
}

static ady_err span(ady_cur *c, ady_quote_span *s)
{
	uint32_t n;

	if (ady_cur_u32le(c, &n))
		return ady_cur_err(c);
	s->off = (uint32_t)c->off;
	s->len = n;
	return ady_cur_skip(c, n);
}

/* see adyton/quote.h */
ady_err ady_quote_decode_tpm(const ady_quote *q, ady_quote_tpm *out)
{
	ady_quote_span sig = {0, 0}, pub = {0, 0}, pcrs = {0, 0};
	ady_cur c, pc;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!q || q->cert_type != ADY_QUOTE_CERT_TPM || q->cert_len > ADY_QUOTE_MAX_CERT)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, q->cert, q->cert_len);
	if ((err = span(&c, &out->attest)) || (err = span(&c, &sig)) || (err = span(&c, &pub)) ||
	    (err = span(&c, &pcrs)) || (err = span(&c, &out->ek_cert)) || (err = span(&c, &out->binding)))
		goto fail;
	if (ady_cur_left(&c) != 0 || sig.len != 64 || pub.len != 64 || pcrs.len < 4 || out->attest.len == 0 ||
	    out->ek_cert.len == 0) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	memcpy(out->ak_sig, q->cert + sig.off, 64);
	memcpy(out->ak_pub, q->cert + pub.off, 64);
	ady_cur_init(&pc, q->cert + pcrs.off, pcrs.len);
	if (ady_cur_u32le(&pc, &out->pcr_mask)) {
		err = ady_cur_err(&pc);
		goto fail;
	}
	if (out->pcr_mask >> ADY_QUOTE_MAX_PCRS) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	for (uint32_t i = 0; i < ADY_QUOTE_MAX_PCRS; i++) {
		if ((out->pcr_mask >> i & 1u) && ady_cur_bytes(&pc, out->pcr[i], 32)) {
			err = ady_cur_err(&pc);
			goto fail;
		}
	}
	if (ady_cur_left(&pc) != 0) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	return ADY_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

/* see adyton/quote.h */
ady_err ady_quote_encode_tpm(const uint8_t *attest, uint32_t attest_len, const uint8_t ak_sig[static 64],
			     const uint8_t ak_pub[static 64], uint32_t pcr_mask, const uint8_t (*pcr)[32],
			     const uint8_t *ek_cert, uint32_t ek_cert_len, const uint8_t *binding, uint32_t binding_len,
			     uint8_t *out, size_t cap, size_t *len)
{
	uint32_t npcr = 0;
	ady_wr w;

	if (!len || !attest || !attest_len || !ak_sig || !ak_pub || !ek_cert || !ek_cert_len ||
	    (binding_len && !binding) || (pcr_mask >> ADY_QUOTE_MAX_PCRS) || (pcr_mask && !pcr))
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	for (uint32_t i = 0; i < ADY_QUOTE_MAX_PCRS; i++)
		npcr += pcr_mask >> i & 1u;
	/* Each field: u32 length, then the bytes (layout: adyton/quote.h). */
	ady_wr_init(&w, out, out ? cap : 0);
	ady_wr_u32le(&w, attest_len);
	ady_wr_bytes(&w, attest, attest_len);
	ady_wr_u32le(&w, 64);
	ady_wr_bytes(&w, ak_sig, 64);
	ady_wr_u32le(&w, 64);
	ady_wr_bytes(&w, ak_pub, 64);
	ady_wr_u32le(&w, 4 + 32 * npcr);
	ady_wr_u32le(&w, pcr_mask);
	for (uint32_t i = 0; i < ADY_QUOTE_MAX_PCRS; i++)
		if (pcr_mask >> i & 1u)
			ady_wr_bytes(&w, pcr[i], 32);
	ady_wr_u32le(&w, ek_cert_len);
	ady_wr_bytes(&w, ek_cert, ek_cert_len);
	ady_wr_u32le(&w, binding_len);
	ady_wr_bytes(&w, binding, binding_len);
	if (ady_wr_err(&w) == ADY_ERR_OVERFLOW)
		return ADY_ERR_OVERFLOW;
	*len = ady_wr_len(&w);
	return ady_wr_err(&w);
}

/* Big-endian reads for TPM structures (TPM 2.0 Part 1, 9: canonical form). */
static ady_err be16(ady_cur *c, uint16_t *v)
{
	uint8_t b[2];

	*v = 0;
	if (ady_cur_bytes(c, b, 2))
		return ady_cur_err(c);
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return ADY_OK;
}

static ady_err be32(ady_cur *c, uint32_t *v)
{
	uint8_t b[4];

	*v = 0;
	if (ady_cur_bytes(c, b, 4))
		return ady_cur_err(c);
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return ADY_OK;
}

/* A TPM2B: u16 size then size bytes, at most cap of them kept. */
static ady_err tpm2b(ady_cur *c, uint8_t *out, size_t cap, uint16_t *n)
{
	ady_err err = be16(c, n);

	if (err)
		return err;
	if (*n > cap)
		return ADY_ERR_MALFORMED;
	if (out)
		return ady_cur_bytes(c, out, *n);
	return ady_cur_skip(c, *n);
}

#define TPM_GENERATED_VALUE 0xff544347u
#define TPM_ST_ATTEST_QUOTE 0x8018u
#define TPM_ALG_SHA256 0x000bu

/* see adyton/quote.h */
ady_err ady_tpms_quote_decode(const uint8_t *buf, size_t len, ady_tpms_quote *out)
{
	uint32_t magic, count, clock_hi, clock_lo;
	uint16_t type, n, hash;
	uint8_t sel_size, sel[3];
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if (!buf)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, buf, len);
	if ((err = be32(&c, &magic)) || (err = be16(&c, &type)))
		goto fail;
	if (magic != TPM_GENERATED_VALUE || type != TPM_ST_ATTEST_QUOTE) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	/* qualifiedSigner (TPM2B_NAME, <= 2 + 64), extraData (TPM2B_DATA),
	 * clockInfo (u64 clock, u32 resetCount, u32 restartCount, u8 safe),
	 * firmwareVersion u64, then TPMS_QUOTE_INFO. */
	if ((err = tpm2b(&c, NULL, 66, &n)) || (err = tpm2b(&c, out->extra, sizeof(out->extra), &out->extra_len)) ||
	    (err = be32(&c, &clock_hi)) || (err = be32(&c, &clock_lo)) || (err = be32(&c, &out->reset_count)) ||
	    (err = be32(&c, &out->restart_count)) || (err = ady_cur_u8(&c, &out->safe)) ||
	    (err = ady_cur_skip(&c, 8)) || (err = be32(&c, &count)))
		goto fail;
	out->clock = (uint64_t)clock_hi << 32 | clock_lo;
	if (count != 1) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	if ((err = be16(&c, &hash)) || (err = ady_cur_u8(&c, &sel_size)))
		goto fail;
	if (hash != TPM_ALG_SHA256 || sel_size != 3) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	if ((err = ady_cur_bytes(&c, sel, 3)) || (err = tpm2b(&c, out->pcr_digest, 32, &n)))
		goto fail;
	if (n != 32 || ady_cur_left(&c) != 0) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	/* TPMS_PCR_SELECTION: bit j of octet i selects PCR 8i + j. */
	out->pcr_mask = (uint32_t)sel[0] | (uint32_t)sel[1] << 8 | (uint32_t)sel[2] << 16;
	return ADY_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}
