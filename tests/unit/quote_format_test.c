/*
 * The quote format (src/format/quote.c), the verifier policy
 * (src/format/vpolicy.c) and the QUOTE/QUOTED messages (src/format/proto.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "adyton/cursor.h"
#include "adyton/proto.h"
#include "adyton/quote.h"
#include "adyton/vpolicy.h"

static ady_quote q, d;
static uint8_t buf[ADY_QUOTE_MAX + 16];

static size_t sample(uint16_t cert_type)
{
	size_t len = 0;

	memset(&q, 0, sizeof(q));
	memset(q.user_data, 0x11, sizeof(q.user_data));
	memset(q.body.mrenclave, 0xaa, 32);
	memset(q.body.mrsigner, 0xbb, 32);
	q.body.isvprodid = 21;
	q.body.isvsvn = 5;
	q.body.attributes.flags = 0x5;
	memset(q.body.reportdata, 0x33, 64);
	memset(q.signature, 0x44, 64);
	memset(q.attest_pub, 0x55, 64);
	q.cert_type = cert_type;
	assert_int_equal(ady_quote_encode(&q, buf, sizeof(buf), &len), ADY_OK);
	return len;
}

static void test_roundtrip(void **state)
{
	size_t len = sample(ADY_QUOTE_CERT_ENROLLED), need = 0;

	(void)state;
	assert_int_equal(len, ADY_QUOTE_FIXED);
	assert_int_equal(ady_quote_decode(buf, len, &d), ADY_OK);
	assert_memory_equal(&d.body, &q.body, sizeof(q.body));
	assert_memory_equal(d.signature, q.signature, 64);
	assert_memory_equal(d.attest_pub, q.attest_pub, 64);
	assert_memory_equal(d.user_data, q.user_data, 20);
	assert_int_equal(d.cert_type, ADY_QUOTE_CERT_ENROLLED);
	/* DCAP v3 shape: version 3, key type 2, then adyton's own tee_type */
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[2], 2);
	assert_int_not_equal(buf[4] | buf[5] << 8, 0);
	assert_int_equal(ady_quote_encode(&q, buf, 10, &need), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(need, ADY_QUOTE_FIXED);
}

static void test_strict(void **state)
{
	size_t len = sample(ADY_QUOTE_CERT_SIM);
	/* Offsets that must be zero or exact: reserved header, reserved body
	 * fields (48 + 20, 48 + 96, 48 + 160, 48 + 262), sig_data_len, version,
	 * tee_type, vendor id, cert type. */
	static const size_t must[] = {0, 2, 4, 8, 12, 48 + 20, 48 + 96, 48 + 160, 48 + 262, 432, 564, 566};

	(void)state;
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		buf[must[i]] ^= 1;
		assert_int_not_equal(ady_quote_decode(buf, len, &d), ADY_OK);
		buf[must[i]] ^= 1;
	}
	assert_int_equal(ady_quote_decode(buf, len, &d), ADY_OK);
	/* trailing and missing bytes */
	assert_int_not_equal(ady_quote_decode(buf, len + 1, &d), ADY_OK);
	for (size_t cut = 0; cut < len; cut += 7)
		assert_int_not_equal(ady_quote_decode(buf, cut, &d), ADY_OK);
	/* ENROLLED and SIM carry no certification data */
	q.cert_len = 1;
	assert_int_equal(ady_quote_encode(&q, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	q.cert_len = 0;
	q.cert_type = 0x0005; /* DCAP's PCK cert chain type: never ours */
	assert_int_equal(ady_quote_encode(&q, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
}

static void test_tpm_fields(void **state)
{
	uint8_t attest[40], sig[64], pub[64], pcr[24][32], ek[10], bind[5];
	ady_quote_tpm t;
	size_t len = 0, clen = 0;

	(void)state;
	memset(attest, 1, sizeof(attest));
	memset(sig, 2, 64);
	memset(pub, 3, 64);
	memset(pcr, 4, sizeof(pcr));
	memset(ek, 5, sizeof(ek));
	memset(bind, 6, sizeof(bind));
	sample(ADY_QUOTE_CERT_TPM);
	assert_int_equal(ady_quote_encode_tpm(attest, sizeof(attest), sig, pub, 0x81, (const uint8_t(*)[32])pcr, ek,
					      sizeof(ek), bind, sizeof(bind), q.cert, sizeof(q.cert), &clen),
			 ADY_OK);
	q.cert_len = (uint32_t)clen;
	assert_int_equal(ady_quote_encode(&q, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(ady_quote_decode(buf, len, &d), ADY_OK);
	assert_int_equal(ady_quote_decode_tpm(&d, &t), ADY_OK);
	assert_int_equal(t.pcr_mask, 0x81);
	assert_int_equal(t.attest.len, sizeof(attest));
	assert_int_equal(t.ek_cert.len, sizeof(ek));
	assert_int_equal(t.binding.len, sizeof(bind));
	assert_memory_equal(t.ak_pub, pub, 64);
	/* a wrong inner length anywhere is refused by the outer decoder */
	for (size_t i = 0; i < clen; i++) {
		uint8_t saved = buf[570 + i];
		buf[570 + i] ^= 0x80;
		ady_err err = ady_quote_decode(buf, len, &d);
		buf[570 + i] = saved;
		(void)err; /* content bytes may flip harmlessly; lengths may not: */
	}
	buf[570] ^= 1; /* attest length */
	assert_int_not_equal(ady_quote_decode(buf, len, &d), ADY_OK);
}

static void test_tpms_attest(void **state)
{
	/* magic, ST_ATTEST_QUOTE, signer name (2), extra (4), clock (17), fw (8),
	 * 1 selection (SHA-256, 3 octets), digest (32) */
	static const uint8_t head[] = {0xff, 0x54, 0x43, 0x47, 0x80, 0x18, 0x00, 0x02, 0xaa, 0xbb, 0x00, 0x04, 1, 2, 3, 4};
	static const uint8_t sel[] = {0, 0, 0, 1, 0x00, 0x0b, 3, 0x81, 0x00, 0x00, 0x00, 0x20};
	uint8_t a[sizeof(head) + 25 + sizeof(sel) + 32];

	memcpy(a, head, sizeof(head));
	memset(a + sizeof(head), 0, 25);
	memcpy(a + sizeof(head) + 25, sel, sizeof(sel));
	memset(a + sizeof(head) + 25 + sizeof(sel), 9, 32);
	ady_tpms_quote t;

	(void)state;
	assert_int_equal(ady_tpms_quote_decode(a, sizeof(a), &t), ADY_OK);
	assert_int_equal(t.extra_len, 4);
	assert_int_equal(t.pcr_mask, 0x81);
	assert_int_equal(t.pcr_digest[0], 9);
	assert_int_not_equal(ady_tpms_quote_decode(a, sizeof(a) - 1, &t), ADY_OK);
	a[5] = 0x17; /* TPM_ST_ATTEST_CERTIFY */
	assert_int_not_equal(ady_tpms_quote_decode(a, sizeof(a), &t), ADY_OK);
}

static void test_vpolicy(void **state)
{
	static ady_vpolicy p;
	unsigned line = 0;
	const char *ok = "# verifier\n"
			 "mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
			 "signer = BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB:21:5\n"
			 "allow_debug = no\nallow_sim = yes\n"
			 "platform_key = "
			 "11111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
			 "111111111111111111111111111111111111\n"
			 "tpm_ek_ca = /etc/adyton/ek-ca.pem\n"
			 "tpm_ak_ca = /etc/adyton/enrollment-ca.pem\n"
			 "tpm_ek_ca = ek-ca-2.pem\n"
			 "pcr = 7:0000000000000000000000000000000000000000000000000000000000000000\n";
	static const char *const bad[] = {
		"mrenclave = aa\n",
		"signer = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:21\n",
		"signer = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:21:70000\n",
		"allow_sim = maybe\nmrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"allow_sim = no\nallow_sim = no\nmrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"pcr = 24:0000000000000000000000000000000000000000000000000000000000000000\n",
		"unknown = 1\n",
		"allow_debug = yes\n", /* names no enclave */
		"mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa trailing\n",
		"mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ntpm_ak_ca =\n",
		/* one line of text: five tpm_ek_ca lines, one more than allowed */
		("mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		 "tpm_ek_ca = 1\ntpm_ek_ca = 2\ntpm_ek_ca = 3\ntpm_ek_ca = 4\ntpm_ek_ca = 5\n"),
	};
	/* The retired key: one store for EK and AK anchors let any certificate
	 * of either CA pass as an AK certificate (issue 11).  Refused with its
	 * own code and line, wherever it stands and whatever follows. */
	static const struct {
		const char *text;
		unsigned line;
	} retired[] = {
		{"mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\ntpm_ca = /etc/ca.pem\n", 2},
		{"# old\ntpm_ca = a.pem\nmrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2},
		{"mrenclave = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\n\ntpm_ca =\n", 4},
	};

	(void)state;
	assert_int_equal(ady_vpolicy_parse(ok, strlen(ok), &p, &line), ADY_OK);
	assert_int_equal(p.nmrenclave, 1);
	assert_int_equal(p.nsigner, 1);
	assert_int_equal(p.signer[0].isvprodid, 21);
	assert_int_equal(p.signer[0].min_isvsvn, 5);
	assert_int_equal(p.signer[0].mrsigner[0], 0xbb);
	assert_true(p.allow_sim);
	assert_false(p.allow_debug);
	assert_int_equal(p.nplatform, 1);
	assert_int_equal(p.nek_ca, 2);
	assert_string_equal(p.tpm_ek_ca[0], "/etc/adyton/ek-ca.pem");
	assert_string_equal(p.tpm_ek_ca[1], "ek-ca-2.pem");
	assert_int_equal(p.nak_ca, 1);
	assert_string_equal(p.tpm_ak_ca[0], "/etc/adyton/enrollment-ca.pem");
	assert_int_equal(p.pcr_mask, 1u << 7);
	assert_false(p.want_report_data);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ady_vpolicy_parse(bad[i], strlen(bad[i]), &p, &line) != ADY_ERR_CONFIG)
			fail_msg("accepted: %s", bad[i]);
	}
	for (size_t i = 0; i < sizeof(retired) / sizeof(retired[0]); i++) {
		ady_err err = ady_vpolicy_parse(retired[i].text, strlen(retired[i].text), &p, &line);
		if (err != ADY_ERR_UNSUPPORTED || line != retired[i].line)
			fail_msg("tpm_ca: %s at line %u, wanted UNSUPPORTED at %u: %s", ady_strerror(err), line,
				 retired[i].line, retired[i].text);
	}
}

static void test_messages(void **state)
{
	static ady_proto_quoted m, r;
	ady_proto_quote a = {0}, b;
	uint8_t wire[8 + ADY_PROTO_MAX_QUOTE + 8], hdr[16];
	ady_proto_hdr h;
	size_t len;

	(void)state;
	memset(a.reportdata, 7, 64);
	memset(a.nonce, 8, 32);
	assert_int_equal(ady_proto_encode_quote(&a, wire, sizeof(wire), &len), ADY_OK);
	assert_int_equal(len, 96);
	assert_int_equal(ady_proto_decode_quote(wire, len, &b), ADY_OK);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(ady_proto_decode_quote(wire, len - 1, &b), ADY_ERR_PROTOCOL);

	m.status = ADY_OK;
	m.len = 600;
	memset(m.quote, 9, 600);
	assert_int_equal(ady_proto_encode_quoted(&m, wire, sizeof(wire), &len), ADY_OK);
	assert_int_equal(len, 608);
	assert_int_equal(ady_proto_decode_quoted(wire, len, &r), ADY_OK);
	assert_int_equal(r.len, 600);
	assert_memory_equal(r.quote, m.quote, 600);
	/* the length field and the frame must agree */
	assert_int_equal(ady_proto_decode_quoted(wire, len - 1, &r), ADY_ERR_PROTOCOL);
	assert_int_equal(r.len, 0);
	/* a failure carries no quote */
	m.status = ADY_ERR_PERMISSION;
	assert_int_equal(ady_proto_encode_quoted(&m, wire, sizeof(wire), &len), ADY_ERR_INVALID_ARG);
	m.len = 0;
	assert_int_equal(ady_proto_encode_quoted(&m, wire, sizeof(wire), &len), ADY_OK);
	assert_int_equal(ady_proto_decode_quoted(wire, len, &r), ADY_OK);
	assert_int_equal(r.status, ADY_ERR_PERMISSION);
	/* unknown status */
	ady_put_u32le(wire, 0xffff);
	assert_int_equal(ady_proto_decode_quoted(wire, len, &r), ADY_ERR_PROTOCOL);
	/* framing: QUOTED up to 8 + 8192, QUOTE exactly 96 */
	ady_proto_encode_header(hdr, ADY_PROTO_QUOTED, 8 + ADY_PROTO_MAX_QUOTE);
	assert_int_equal(ady_proto_decode_header(hdr, &h), ADY_OK);
	ady_proto_encode_header(hdr, ADY_PROTO_QUOTED, 8 + ADY_PROTO_MAX_QUOTE + 1);
	assert_int_equal(ady_proto_decode_header(hdr, &h), ADY_ERR_PROTOCOL);
	ady_proto_encode_header(hdr, ADY_PROTO_QUOTE, 95);
	assert_int_equal(ady_proto_decode_header(hdr, &h), ADY_ERR_PROTOCOL);
}

/* ---- the encoders against their form before the shared writer -------- */

/* The quote encoder as it was (offsets and a memcpy of the packed
 * REPORTBODY), kept here as the reference the writer must match. */
static void old_quote_encode(const ady_quote *r, uint8_t *p)
{
	size_t need = ADY_QUOTE_FIXED + r->cert_len;

	memset(p, 0, ADY_QUOTE_HEADER);
	ady_put_u16le(p, ADY_QUOTE_VERSION);
	ady_put_u16le(p + 2, ADY_QUOTE_ATT_KEY_ECDSA_P256);
	ady_put_u32le(p + 4, ADY_QUOTE_TEE_TYPE);
	memcpy(p + 12, ady_quote_vendor_id, 16);
	memcpy(p + 28, r->user_data, 20);
	memcpy(p + 48, &r->body, 384);
	ady_put_u32le(p + 432, (uint32_t)(need - 436));
	memcpy(p + 436, r->signature, 64);
	memcpy(p + 500, r->attest_pub, 64);
	ady_put_u16le(p + 564, r->cert_type);
	ady_put_u32le(p + 566, r->cert_len);
	memcpy(p + 570, r->cert, r->cert_len);
}

static void fill(void *p, size_t n, unsigned seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static void test_encode_as_before(void **state)
{
	static uint8_t want[ADY_QUOTE_MAX], got[ADY_QUOTE_MAX];
	static ady_sgx_report_body zero_body;
	size_t len = 0;

	(void)state;
	for (unsigned seed = 1; seed < 40; seed++) {
		memset(&q, 0, sizeof(q));
		fill(q.user_data, sizeof(q.user_data), seed);
		fill(&q.body, sizeof(q.body), seed + 1);
		/* reserved bytes of a REPORTBODY are zero (the decoder's rule) */
		memcpy(q.body.reserved1, zero_body.reserved1, sizeof(zero_body.reserved1));
		memcpy(q.body.reserved2, zero_body.reserved2, sizeof(zero_body.reserved2));
		memcpy(q.body.reserved3, zero_body.reserved3, sizeof(zero_body.reserved3));
		memcpy(q.body.reserved4, zero_body.reserved4, sizeof(zero_body.reserved4));
		fill(q.signature, 64, seed + 2);
		fill(q.attest_pub, 64, seed + 3);
		q.cert_type = seed % 3 == 0 ? ADY_QUOTE_CERT_TPM : seed % 3 == 1 ? ADY_QUOTE_CERT_ENROLLED
										  : ADY_QUOTE_CERT_SIM;
		q.cert_len = q.cert_type == ADY_QUOTE_CERT_TPM ? (seed * 211) % ADY_QUOTE_MAX_CERT : 0;
		fill(q.cert, q.cert_len, seed + 4);
		memset(want, 0, sizeof(want));
		old_quote_encode(&q, want);
		assert_int_equal(ady_quote_encode(&q, got, sizeof(got), &len), ADY_OK);
		assert_int_equal(len, ADY_QUOTE_FIXED + q.cert_len);
		assert_memory_equal(got, want, len);
	}
}

/* The TPM certification data as it was laid out: u32 length + bytes per
 * field, the PCR block built aside. */
static size_t old_tpm_put(uint8_t *out, size_t pos, const void *p, uint32_t n)
{
	ady_put_u32le(out + pos, n);
	if (n)
		memcpy(out + pos + 4, p, n);
	return pos + 4 + n;
}

static void test_encode_tpm_as_before(void **state)
{
	static uint8_t want[ADY_QUOTE_MAX], got[ADY_QUOTE_MAX];
	uint8_t att[300], sig[64], pub[64], ek[500], bind[120], pcr[ADY_QUOTE_MAX_PCRS][32];
	uint8_t pcrs[4 + 32 * ADY_QUOTE_MAX_PCRS];
	uint32_t masks[] = {0, 1, 0x00800085u, 0x00ffffffu, 0x00010000u};
	size_t len = 0, need = 0;

	(void)state;
	fill(att, sizeof(att), 1);
	fill(sig, sizeof(sig), 2);
	fill(pub, sizeof(pub), 3);
	fill(ek, sizeof(ek), 4);
	fill(bind, sizeof(bind), 5);
	fill(pcr, sizeof(pcr), 6);
	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		uint32_t n = 0, bl = m % 2 ? 0 : (uint32_t)sizeof(bind);
		size_t pos = 0;

		ady_put_u32le(pcrs, masks[m]);
		for (uint32_t i = 0; i < ADY_QUOTE_MAX_PCRS; i++)
			if (masks[m] >> i & 1u)
				memcpy(pcrs + 4 + 32 * n++, pcr[i], 32);
		pos = old_tpm_put(want, pos, att, sizeof(att));
		pos = old_tpm_put(want, pos, sig, 64);
		pos = old_tpm_put(want, pos, pub, 64);
		pos = old_tpm_put(want, pos, pcrs, 4 + 32 * n);
		pos = old_tpm_put(want, pos, ek, sizeof(ek));
		pos = old_tpm_put(want, pos, bind, bl);
		assert_int_equal(ady_quote_encode_tpm(att, sizeof(att), sig, pub, masks[m], (const uint8_t(*)[32])pcr, ek,
						      sizeof(ek), bind, bl, got, sizeof(got), &len),
				 ADY_OK);
		assert_int_equal(len, pos);
		assert_memory_equal(got, want, pos);
		/* short-buffer protocol: the needed size, with or without a buffer */
		assert_int_equal(ady_quote_encode_tpm(att, sizeof(att), sig, pub, masks[m], (const uint8_t(*)[32])pcr, ek,
						      sizeof(ek), bind, bl, NULL, 0, &need),
				 ADY_ERR_SHORT_BUFFER);
		assert_int_equal(need, pos);
		assert_int_equal(ady_quote_encode_tpm(att, sizeof(att), sig, pub, masks[m], (const uint8_t(*)[32])pcr, ek,
						      sizeof(ek), bind, bl, got, pos - 1, &need),
				 ADY_ERR_SHORT_BUFFER);
		assert_int_equal(need, pos);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_strict),     cmocka_unit_test(test_tpm_fields),
		cmocka_unit_test(test_tpms_attest), cmocka_unit_test(test_vpolicy), cmocka_unit_test(test_messages),
		cmocka_unit_test(test_encode_as_before), cmocka_unit_test(test_encode_tpm_as_before),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
