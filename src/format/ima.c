/*
 * ima.c - IMA binary measurement lists, security.ima v2 signatures and
 * TPMT_SIGNATURE (adyton/ima.h).  Untrusted bytes: every read goes through
 * the bounded cursor; decoded fields point into the caller's buffer.
 */
#include <string.h>

#include "adyton/ima.h"

static const struct {
	const char *name;
	ady_ima_alg alg;
	uint32_t len;
} algs[] = {
	{"sha1", ADY_IMA_ALG_SHA1, 20},     {"sha256", ADY_IMA_ALG_SHA256, 32},
	{"sha384", ADY_IMA_ALG_SHA384, 48}, {"sha512", ADY_IMA_ALG_SHA512, 64},
	{"md5", ADY_IMA_ALG_MD5, 16},
};

/* see adyton/ima.h */
uint32_t ady_ima_alg_len(ady_ima_alg a)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == a)
			return algs[i].len;
	return 0;
}

/* see adyton/ima.h */
ady_ima_alg ady_ima_alg_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strlen(algs[i].name) == len && memcmp(algs[i].name, name, len) == 0)
			return algs[i].alg;
	return 0;
}

static const char *alg_name(ady_ima_alg a)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == a)
			return algs[i].name;
	return "?";
}

/* see adyton/ima.h */
const char *ady_ima_template_name(ady_ima_template t)
{
	switch (t) {
	case ADY_IMA_TEMPLATE_IMA:
		return "ima";
	case ADY_IMA_TEMPLATE_NG:
		return "ima-ng";
	case ADY_IMA_TEMPLATE_SIG:
		return "ima-sig";
	case ADY_IMA_TEMPLATE_BUF:
		return "ima-buf";
	default:
		return "?";
	}
}

/* Takes n bytes and returns where they start (in *p); the cursor checked
 * that they are there. */
static ady_err span(ady_cur *c, size_t n, const uint8_t **p)
{
	const uint8_t *start = ady_cur_left(c) ? c->p + c->off : NULL;

	*p = NULL;
	if (ady_cur_skip(c, n))
		return ady_cur_err(c);
	*p = n ? start : (const uint8_t *)"";
	return ADY_OK;
}

/* A u32-length-prefixed field of template data. */
static ady_err field(ady_cur *c, const uint8_t **p, uint32_t *n)
{
	ady_err err = ady_cur_u32le(c, n);

	if (err)
		return err;
	return span(c, *n, p);
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* d-ng: "<alg>:\0" then the digest (ima_eventdigest_init_common with
 * DATA_FMT_DIGEST_WITH_ALGO; the NUL is part of the prefix). */
static ady_err digest_ng(const uint8_t *p, uint32_t n, ady_ima_entry *e)
{
	const uint8_t *colon = memchr(p, ':', n < 16 ? n : 16);
	size_t plen;

	if (!colon)
		return ADY_ERR_MALFORMED;
	plen = (size_t)(colon - p);
	if (plen + 2 > n || colon[1] != '\0')
		return ADY_ERR_MALFORMED;
	e->alg = ady_ima_alg_from_name((const char *)p, plen);
	if (!e->alg)
		return ADY_ERR_UNSUPPORTED;
	e->alg_name = alg_name(e->alg);
	e->digest = p + plen + 2;
	e->digest_len = n - (uint32_t)(plen + 2);
	if (e->digest_len != ady_ima_alg_len(e->alg))
		return ADY_ERR_MALFORMED;
	return ADY_OK;
}

/* n-ng: the path and its NUL, no NUL inside (a path with an embedded NUL
 * would read as another file to a C-string consumer). */
static ady_err name_ng(const uint8_t *p, uint32_t n, ady_ima_entry *e)
{
	if (n == 0 || p[n - 1] != '\0' || memchr(p, '\0', n - 1))
		return ADY_ERR_MALFORMED;
	e->name = (const char *)p;
	e->name_len = n - 1;
	return ADY_OK;
}

static ady_err decode_data_ng(const uint8_t *data, uint32_t len, ady_ima_entry *e)
{
	ady_cur c;
	const uint8_t *p;
	uint32_t n;
	ady_err err;

	ady_cur_init(&c, data, len);
	if ((err = field(&c, &p, &n)) || (err = digest_ng(p, n, e)) || (err = field(&c, &p, &n)) ||
	    (err = name_ng(p, n, e)))
		return err;
	if (e->tmpl == ADY_IMA_TEMPLATE_SIG || e->tmpl == ADY_IMA_TEMPLATE_BUF) {
		if ((err = field(&c, &e->extra, &e->extra_len)))
			return err;
	}
	if (ady_cur_left(&c))
		return ADY_ERR_MALFORMED;
	return ADY_OK;
}

/* see adyton/ima.h */
ady_err ady_ima_decode(ady_cur *c, ady_ima_entry *out)
{
	ady_ima_entry e;
	const uint8_t *tname;
	uint32_t tlen, n;
	ady_err err;

	memset(&e, 0, sizeof(e));
	if (!out || !c)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	if ((err = ady_cur_u32le(c, &e.pcr)) || (err = ady_cur_bytes(c, e.template_hash, 20)) ||
	    (err = ady_cur_u32le(c, &tlen)))
		goto fail;
	if (tlen == 0 || tlen > ADY_IMA_TEMPLATE_NAME_MAX) {
		err = tlen ? ADY_ERR_TOO_LARGE : ADY_ERR_MALFORMED;
		goto fail;
	}
	if ((err = span(c, tlen, &tname)))
		goto fail;
	if (tlen == 3 && !memcmp(tname, "ima", 3))
		e.tmpl = ADY_IMA_TEMPLATE_IMA;
	else if (tlen == 6 && !memcmp(tname, "ima-ng", 6))
		e.tmpl = ADY_IMA_TEMPLATE_NG;
	else if (tlen == 7 && !memcmp(tname, "ima-sig", 7))
		e.tmpl = ADY_IMA_TEMPLATE_SIG;
	else if (tlen == 7 && !memcmp(tname, "ima-buf", 7))
		e.tmpl = ADY_IMA_TEMPLATE_BUF;
	else {
		err = ADY_ERR_UNSUPPORTED;
		goto fail;
	}
	e.violation = all_zero(e.template_hash, 20);

	switch (e.tmpl) {
	case ADY_IMA_TEMPLATE_IMA: {
		/* ima_measurements_show: no data length; d without its length,
		 * n as a string (u32 strlen + bytes, no NUL). */
		const uint8_t *start = ady_cur_left(c) ? c->p + c->off : NULL, *np;

		if ((err = span(c, 20, &e.digest)) || (err = field(c, &np, &n)))
			goto fail;
		e.name = (const char *)np;
		if (n > ADY_IMA_EVENT_NAME_MAX) {
			err = ADY_ERR_TOO_LARGE;
			goto fail;
		}
		if (memchr(e.name, '\0', n)) {
			err = ADY_ERR_MALFORMED;
			goto fail;
		}
		e.name_len = n;
		e.digest_len = 20;
		e.alg = ADY_IMA_ALG_SHA1;
		e.alg_name = "sha1";
		e.data = start;
		e.data_len = 20 + 4 + n;
		break;
	}
	case ADY_IMA_TEMPLATE_NG:
	case ADY_IMA_TEMPLATE_SIG:
	case ADY_IMA_TEMPLATE_BUF:
		if ((err = ady_cur_u32le(c, &n)))
			goto fail;
		if (n > ADY_IMA_MAX_DATA) {
			err = ADY_ERR_TOO_LARGE;
			goto fail;
		}
		if ((err = span(c, n, &e.data)))
			goto fail;
		e.data_len = n;
		if ((err = decode_data_ng(e.data, n, &e)))
			goto fail;
		break;
	default:
		err = ADY_ERR_UNSUPPORTED;
		goto fail;
	}
	/* A violation's digest is zero too (ima_add_violation); a zero
	 * template hash over a real digest is a forged "violation" meant to
	 * hide a file from the policy. */
	if (e.violation && !all_zero(e.digest, e.digest_len)) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	e.end = c->off;
	*out = e;
	return ADY_OK;
fail:
	if (!c->err)
		c->err = err;
	return err;
}

static ady_err be16(ady_cur *c, uint16_t *v)
{
	uint8_t b[2];

	if (ady_cur_bytes(c, b, 2)) {
		*v = 0;
		return ady_cur_err(c);
	}
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return ADY_OK;
}

/* see adyton/ima.h */
ady_err ady_ima_sigv2_decode(const uint8_t *p, size_t len, ady_ima_sigv2 *out)
{
	uint8_t type, version, kid[4];
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	ady_cur_init(&c, p, len);
	/* EVM_IMA_XATTR_DIGSIG = 3, DIGSIG_VERSION_2 = 2 */
	if ((err = ady_cur_u8(&c, &type)) || (err = ady_cur_u8(&c, &version)))
		return err;
	if (type != 3 || version != 2)
		return ADY_ERR_UNSUPPORTED;
	if ((err = ady_cur_u8(&c, &out->hash_algo)) || (err = ady_cur_bytes(&c, kid, 4)) ||
	    (err = be16(&c, &out->sig_len)))
		goto fail;
	if (out->sig_len == 0 || out->sig_len != ady_cur_left(&c)) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	out->keyid = (uint32_t)kid[0] << 24 | (uint32_t)kid[1] << 16 | (uint32_t)kid[2] << 8 | kid[3];
	if ((err = span(&c, out->sig_len, &out->sig)))
		goto fail;
	return ADY_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}

/* A TPM2B of 1..1024 bytes (RSA-8192 at most; ECC far less). */
static ady_err tpm2b(ady_cur *c, const uint8_t **p, uint16_t *n)
{
	ady_err err = be16(c, n);

	if (err)
		return err;
	if (*n == 0 || *n > 1024)
		return ADY_ERR_MALFORMED;
	return span(c, *n, p);
}

/* see adyton/ima.h */
ady_err ady_tpmt_signature_decode(const uint8_t *p, size_t len, ady_tpmt_signature *out)
{
	ady_cur c;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	memset(out, 0, sizeof(*out));
	ady_cur_init(&c, p, len);
	if ((err = be16(&c, &out->sig_alg)) || (err = be16(&c, &out->hash_alg)))
		goto fail;
	if (out->hash_alg != ADY_TPM_ALG_SHA256) {
		err = ADY_ERR_UNSUPPORTED;
		goto fail;
	}
	switch (out->sig_alg) {
	case ADY_TPM_ALG_RSASSA:
		err = tpm2b(&c, &out->a, &out->a_len);
		break;
	case ADY_TPM_ALG_ECDSA:
		if (!(err = tpm2b(&c, &out->a, &out->a_len)))
			err = tpm2b(&c, &out->b, &out->b_len);
		break;
	default:
		err = ADY_ERR_UNSUPPORTED;
		break;
	}
	if (err)
		goto fail;
	if (ady_cur_left(&c)) {
		err = ADY_ERR_MALFORMED;
		goto fail;
	}
	return ADY_OK;
fail:
	memset(out, 0, sizeof(*out));
	return err;
}
