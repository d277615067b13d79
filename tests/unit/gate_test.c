/*
 * The gate's host check (apps/gate/gate.h): replay rules on built entries
 * and on Keylime's logs; runtime-policy loading (Keylime's own policies
 * load, malformed ones are refused with the reason); policy decisions
 * (digests, excludes anchored like re.match, ima-buf and keyrings,
 * ima-sig with verification-keys from the real IMA signing key), each
 * decision also through the probed path serve's rounds take; the whole
 * round on the ima-qemu kernel data: both templates, both snapshots, RSA
 * and ECC AKs, the log-ahead case and the refusals; a bad log wins over a
 * policy failure (log_parse); the TPM boot of a quote (clockInfo) against
 * the kept one, a boot going backwards refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gate.h"

#define VEC ADY_TEST_VECTORS

static int have_vectors;

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	p[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return p;
}

static uint8_t *vec(const char *rel, size_t *len)
{
	char path[512];
	uint8_t *p;

	snprintf(path, sizeof(path), "%s/%s", VEC, rel);
	p = slurp(path, len);
	if (!p)
		fail_msg("missing vector %s", path);
	return p;
}

/* ---- entries built like the kernel's ---- */

typedef struct buf {
	uint8_t b[8192];
	size_t n;
} buf;

static void put(buf *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof(b->b));
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put32(buf *b, uint32_t v)
{
	uint8_t x[4];

	ady_put_u32le(x, v);
	put(b, x, 4);
}

static void sha(const EVP_MD *md, const void *p, size_t n, uint8_t *out)
{
	unsigned int l = 0;

	assert_int_equal(EVP_Digest(p, n, out, &l, md, NULL), 1);
}

/* Appends an ima-ng (or ima-buf with extra) entry for path with digest dig
 * (sha256) and a correct SHA-1 template hash (or zeros: zero_th). */
static void add_ng(buf *log, const char *tmpl, const char *path, const uint8_t dig[32], const void *extra, size_t elen,
		   int zero_th)
{
	buf d = {0};
	uint8_t th[20] = {0};

	put32(&d, 7 + 1 + 32);
	put(&d, "sha256:", 7);
	put(&d, "", 1);
	put(&d, dig, 32);
	put32(&d, (uint32_t)strlen(path) + 1);
	put(&d, path, strlen(path) + 1);
	if (strcmp(tmpl, "ima-ng") != 0) {
		put32(&d, (uint32_t)elen);
		put(&d, extra, elen);
	}
	if (!zero_th)
		sha(EVP_sha1(), d.b, d.n, th);
	put32(log, 10);
	put(log, th, 20);
	put32(log, (uint32_t)strlen(tmpl));
	put(log, tmpl, strlen(tmpl));
	put32(log, (uint32_t)d.n);
	put(log, d.b, d.n);
}

static ady_err decode_at(const buf *log, size_t *off, ady_ima_entry *e)
{
	ady_cur c;
	ady_err err;

	ady_cur_init(&c, log->b, log->n);
	assert_int_equal(ady_cur_seek(&c, *off), ADY_OK);
	err = ady_ima_decode(&c, e);
	*off = c.off;
	return err;
}

static void test_replay_rules(void **state)
{
	buf log = {0};
	uint8_t dig[32], zero[32] = {0}, h[32], pcr1[20] = {0}, pcr256[32] = {0}, cat[64];
	gate_replay *r;
	gate_pcr10 s;
	gate_why why;
	ady_ima_entry e;
	size_t off = 0;

	(void)state;
	memset(dig, 0x5a, 32);
	add_ng(&log, "ima-ng", "/usr/bin/true", dig, NULL, 0, 0);
	add_ng(&log, "ima-ng", "/root/w", zero, NULL, 0, 1); /* violation */
	assert_int_equal(gate_replay_new(GATE_BANK_SHA1 | GATE_BANK_SHA256, &r), ADY_OK);
	gate_pcr10_init(&s);

	/* first entry: SHA-1 bank extends the logged hash, SHA-256 bank the
	 * SHA-256 of the template data */
	assert_int_equal(decode_at(&log, &off, &e), ADY_OK);
	assert_int_equal(gate_replay_entry(r, &s, &e, 1000, &why), ADY_OK);
	memcpy(cat, pcr1, 20);
	memcpy(cat + 20, e.template_hash, 20);
	sha(EVP_sha1(), cat, 40, pcr1);
	sha(EVP_sha256(), e.data, e.data_len, h);
	memcpy(cat, pcr256, 32);
	memcpy(cat + 32, h, 32);
	sha(EVP_sha256(), cat, 64, pcr256);
	assert_memory_equal(s.sha1, pcr1, 20);
	assert_memory_equal(s.sha256, pcr256, 32);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.offset, 1000 + off);

	/* the violation: zeros logged, all ones extended in both banks */
	assert_int_equal(decode_at(&log, &off, &e), ADY_OK);
	assert_true(e.violation);
	assert_int_equal(gate_replay_entry(r, &s, &e, 1000, &why), ADY_OK);
	memcpy(cat, pcr1, 20);
	memset(cat + 20, 0xff, 20);
	sha(EVP_sha1(), cat, 40, pcr1);
	memcpy(cat, pcr256, 32);
	memset(cat + 32, 0xff, 32);
	sha(EVP_sha256(), cat, 64, pcr256);
	assert_memory_equal(s.sha1, pcr1, 20);
	assert_memory_equal(s.sha256, pcr256, 32);

	/* an entry whose data was edited after hashing: refused, state kept */
	{
		buf bad = {0};
		gate_pcr10 before = s;
		size_t o = 0;

		add_ng(&bad, "ima-ng", "/usr/bin/true", dig, NULL, 0, 0);
		bad.b[bad.n - 3] ^= 1; /* a byte of the path */
		assert_int_equal(decode_at(&bad, &o, &e), ADY_OK);
		assert_int_equal(gate_replay_entry(r, &s, &e, 0, &why), ADY_ERR_MALFORMED);
		assert_non_null(strstr(why.text, "template hash does not match"));
		assert_memory_equal(&s, &before, sizeof(s));
		/* another PCR */
		o = 0;
		bad.n = 0;
		add_ng(&bad, "ima-ng", "/x", dig, NULL, 0, 0);
		ady_put_u32le(bad.b, 11);
		assert_int_equal(decode_at(&bad, &o, &e), ADY_OK);
		assert_int_equal(gate_replay_entry(r, &s, &e, 0, &why), ADY_ERR_MALFORMED);
		assert_non_null(strstr(why.text, "PCR 11"));
	}
	gate_replay_free(r);
	assert_int_equal(gate_replay_new(0, &r), ADY_ERR_INVALID_ARG);
	assert_null(r);
}

/* The "ima" template hash pads the name to 256 bytes. */
static void test_replay_ima_template(void **state)
{
	buf log = {0};
	uint8_t dig[20], th[20], in[20 + 256] = {0};
	gate_replay *r;
	gate_pcr10 s;
	gate_why why;
	ady_ima_entry e;
	size_t off = 0;

	(void)state;
	memset(dig, 0x33, 20);
	memcpy(in, dig, 20);
	memcpy(in + 20, "/sbin/init", 10);
	sha(EVP_sha1(), in, sizeof(in), th);
	put32(&log, 10);
	put(&log, th, 20);
	put32(&log, 3);
	put(&log, "ima", 3);
	put(&log, dig, 20);
	put32(&log, 10);
	put(&log, "/sbin/init", 10);
	assert_int_equal(decode_at(&log, &off, &e), ADY_OK);
	assert_int_equal(gate_replay_new(GATE_BANK_SHA1, &r), ADY_OK);
	gate_pcr10_init(&s);
	assert_int_equal(gate_replay_entry(r, &s, &e, 0, &why), ADY_OK);
	gate_replay_free(r);
}

/* Keylime's ascii ima-ng logs rebuilt as binary entries: the template
 * hash Keylime's test data carries is SHA-1 of our template data (so the
 * layout is the kernel's), except the synthetic all-zero boot_aggregate. */
static void test_keylime_logs(void **state)
{
	static const char *const logs[] = {"keylime/ima-log-sha256", "keylime/ima-log-sha1"};

	(void)state;
	if (!have_vectors)
		skip();
	for (int i = 0; i < 2; i++) {
		size_t len;
		char *text = (char *)vec(logs[i], &len), *save = NULL;
		gate_replay *r;
		gate_pcr10 s;
		int n = 0;

		assert_int_equal(gate_replay_new(GATE_BANK_SHA1 | GATE_BANK_SHA256, &r), ADY_OK);
		gate_pcr10_init(&s);
		for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char th_hex[41], tmpl[16], ad[200], path[256];
			uint8_t th[20], dig[64];
			buf d = {0}, log = {0};
			ady_ima_entry e;
			gate_why why;
			size_t off = 0, dl;
			char *colon;

			assert_int_equal(sscanf(line, "10 %40s %15s %199s %255s", th_hex, tmpl, ad, path), 4);
			assert_string_equal(tmpl, "ima-ng");
			assert_true(ady_hex_decode(th_hex, 40, th, 20));
			colon = strchr(ad, ':');
			assert_non_null(colon);
			dl = strlen(colon + 1) / 2;
			assert_true(ady_hex_decode(colon + 1, 2 * dl, dig, dl));
			put32(&d, (uint32_t)(colon - ad + 2 + dl));
			put(&d, ad, (size_t)(colon - ad) + 1);
			put(&d, "", 1);
			put(&d, dig, dl);
			put32(&d, (uint32_t)strlen(path) + 1);
			put(&d, path, strlen(path) + 1);
			put32(&log, 10);
			put(&log, th, 20);
			put32(&log, 6);
			put(&log, "ima-ng", 6);
			put32(&log, (uint32_t)d.n);
			put(&log, d.b, d.n);
			assert_int_equal(decode_at(&log, &off, &e), ADY_OK);
			if (e.violation) {
				assert_int_equal(i, 1); /* ima-log-sha1's boot_aggregate */
				assert_string_equal(path, "boot_aggregate");
			}
			assert_int_equal(gate_replay_entry(r, &s, &e, 0, &why), ADY_OK);
			n++;
		}
		assert_int_equal(n, 2);
		gate_replay_free(r);
		free(text);
	}
}

/* ---- policies ---- */

static gate_policy *load_str(const char *json, ady_err want, const char *why_has)
{
	gate_policy *p = NULL;
	gate_why why = {{0}};
	ady_err err = gate_policy_load(json, strlen(json), &p, &why);

	if (err != want)
		fail_msg("policy %.80s: got %s (%s), want %s", json, ady_strerror(err), why.text, ady_strerror(want));
	if (why_has && !strstr(why.text, why_has))
		fail_msg("policy %.80s: reason \"%s\" lacks \"%s\"", json, why.text, why_has);
	if (want)
		assert_null(p);
	return p;
}

#define HEAD "{\"meta\": {\"version\": 1}, "

static void test_policy_refusals(void **state)
{
	(void)state;
	load_str("{\"meta\": {\"version\": 1}, \"digests\": {}", ADY_ERR_MALFORMED, "not JSON");
	load_str("[]", ADY_ERR_MALFORMED, "not a JSON object");
	load_str("{\"meta\": {\"version\": 2}, \"digests\": {}}", ADY_ERR_MALFORMED, "meta.version");
	load_str(HEAD "\"digests\": {}, \"hashes\": {}}", ADY_ERR_MALFORMED, "unknown policy key");
	load_str(HEAD "\"excludes\": []}", ADY_ERR_MALFORMED, "no digests");
	load_str(HEAD "\"digests\": {\"/a\": \"00\"}}", ADY_ERR_MALFORMED, "not an array");
	load_str(HEAD "\"digests\": {\"/a\": [\"abc\"]}}", ADY_ERR_MALFORMED, "no digest length");
	load_str(HEAD "\"digests\": {\"/a\": [\"sha256:" "00112233445566778899aabbccddeeff00112233\"]}}",
		 ADY_ERR_MALFORMED, "alg:hex");
	load_str(HEAD "\"digests\": {\"/a\": [\"zz112233445566778899aabbccddeeff00112233\"]}}", ADY_ERR_MALFORMED,
		 "not hex");
	load_str(HEAD "\"digests\": {\"/a\": [7]}}", ADY_ERR_MALFORMED, "not a string");
	load_str(HEAD "\"digests\": {}, \"excludes\": [\"/tmp/(\"]}", ADY_ERR_MALFORMED, "excludes[0]");
	load_str(HEAD "\"digests\": {}, \"excludes\": \"/tmp\"}", ADY_ERR_MALFORMED, "not an array");
	load_str(HEAD "\"digests\": {}, \"ima\": {\"log_hash_alg\": \"sha256\"}}", ADY_ERR_UNSUPPORTED, "only sha1");
	load_str(HEAD "\"digests\": {}, \"ima\": {\"dm_policy\": {}}}", ADY_ERR_UNSUPPORTED, "device-mapper");
	load_str(HEAD "\"digests\": {}, \"ima\": {\"ignored_keyrings\": [1]}}", ADY_ERR_MALFORMED, "ignored_keyrings[0]");
	load_str(HEAD "\"digests\": {}, \"keyrings\": {\".ima\": [\"x\"]}}", ADY_ERR_MALFORMED, "keyrings");
	load_str(HEAD "\"digests\": {}, \"verification-keys\": \"{}\"}", ADY_ERR_MALFORMED, "ImaKeyrings");
	load_str(HEAD "\"digests\": {}, \"verification-keys\": \"{\\\"keyrings\\\": {\\\"k\\\": {\\\"pubkeys\\\": "
		      "[\\\"AAAA\\\"]}}}\"}",
		 ADY_ERR_MALFORMED, "pubkeys[0]");
	load_str(HEAD "\"digests\": {\"/a\": [], \"/a\": []}}", ADY_ERR_MALFORMED, "not JSON");
}

static void test_keylime_policies(void **state)
{
	static const char *const good[] = {"keylime/runtime-policy.json", "keylime/runtime-policy-test.json",
					   "keylime/policy-sha256", "keylime/policy-sha1"};
	size_t len;
	char *text;
	gate_policy *p;
	gate_why why;

	(void)state;
	if (!have_vectors)
		skip();
	for (int i = 0; i < 4; i++) {
		text = (char *)vec(good[i], &len);
		p = NULL;
		if (gate_policy_load(text, len, &p, &why) != ADY_OK)
			fail_msg("%s: %s", good[i], why.text);
		assert_true(gate_policy_ndigests(p) > 0);
		gate_policy_free(p);
		free(text);
	}
	text = (char *)vec("keylime/runtime-policy-bogus.json", &len);
	assert_int_equal(gate_policy_load(text, len, &p, &why), ADY_ERR_MALFORMED);
	assert_null(p);
	free(text);
}

static ady_ima_entry one(buf *log, const char *tmpl, const char *path, uint8_t fill, const void *extra, size_t elen)
{
	uint8_t dig[32];
	ady_ima_entry e;
	size_t off;

	memset(dig, fill, 32);
	log->n = 0;
	add_ng(log, tmpl, path, dig, extra, elen, 0);
	off = 0;
	assert_int_equal(decode_at(log, &off, &e), ADY_OK);
	return e;
}

#define D5A "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

/* gate_policy_check's verdict, checked against the probed path serve's
 * rounds take (probe_start, probe_fetch, check_probed): the same verdict
 * and, for a refusal, the same reason. */
static int decide(const gate_policy *p, const ady_ima_entry *e, gate_why *why)
{
	gate_policy_probe pr;
	gate_why pwhy;
	int v, pv;

	memset(&pr, 0, sizeof(pr));
	why->text[0] = pwhy.text[0] = '\0';
	v = gate_policy_check(p, e, why);
	gate_policy_probe_start(p, e, &pr);
	gate_policy_probe_fetch(p, e, &pr);
	pv = gate_policy_check_probed(p, e, &pr, &pwhy);
	assert_int_equal(pv, v);
	if (!v)
		assert_string_equal(pwhy.text, why->text);
	/* without the prefetch: the same answer */
	memset(&pr, 0, sizeof(pr));
	pwhy.text[0] = '\0';
	gate_policy_probe_start(p, e, &pr);
	assert_int_equal(gate_policy_check_probed(p, e, &pr, &pwhy), v);
	if (!v)
		assert_string_equal(pwhy.text, why->text);
	return v;
}

static void test_policy_decisions(void **state)
{
	buf log = {0};
	gate_policy *p;
	gate_why why;
	ady_ima_entry e;

	(void)state;
	p = load_str(HEAD "\"digests\": {\"/usr/bin/a\": [\"" D5A "\"], \"/usr/bin/b\": [\"sha256:" D5A "\"], "
			  "\"/usr/bin/C\": [\"5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A5A\"]}, "
			  "\"excludes\": [\"/tmp/.*\", \"boot_aggregate\", \"/var/log/[a-z]+\\\\.log\"], "
			  "\"ima\": {\"ignored_keyrings\": [\".builtin_trusted_keys\"], \"log_hash_alg\": \"sha1\"}, "
			  "\"ima-buf\": {\"kexec-cmdline\": [\"sha256:" D5A "\"]}, \"keyrings\": {\".ima\": [\"" D5A "\"]}}",
		     ADY_OK, NULL);
	e = one(&log, "ima-ng", "/usr/bin/a", 0x5a, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-ng", "/usr/bin/b", 0x5a, NULL, 0); /* alg:hex form */
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-ng", "/usr/bin/C", 0x5a, NULL, 0); /* upper-case hex in the policy */
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-ng", "/usr/bin/a", 0x5b, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 0);
	assert_non_null(strstr(why.text, "/usr/bin/a: digest sha256:5b5b"));
	e = one(&log, "ima-ng", "/usr/bin/x", 0x5a, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 0);
	assert_non_null(strstr(why.text, "/usr/bin/x: not in the policy's digests (sha256:5a5a"));
	/* excludes: re.match semantics, anchored at the start, not the end */
	e = one(&log, "ima-ng", "/tmp/anything", 0x01, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-ng", "/var/log/syslog.log.1", 0x01, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-ng", "/home/tmp/x", 0x01, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 0);
	e = one(&log, "ima-ng", "/var/log/Syslog.log", 0x01, NULL, 0);
	assert_int_equal(decide(p, &e, &why), 0);
	/* ima-buf: a generic buffer against ima-buf */
	e = one(&log, "ima-buf", "kexec-cmdline", 0x5a, "console=ttyS0", 13);
	assert_int_equal(decide(p, &e, &why), 1);
	e = one(&log, "ima-buf", "kexec-cmdline", 0x5b, "console=ttyS1", 13);
	assert_int_equal(decide(p, &e, &why), 0);
	assert_non_null(strstr(why.text, "ima-buf"));
	/* ima-buf of a key: keyrings, unless ignored */
	if (have_vectors) {
		size_t len;
		uint8_t *pem = vec("ima-qemu/ima-signing/ima-signing-cert.pem", &len);
		BIO *bio = BIO_new_mem_buf(pem, (int)len);
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		unsigned char *der = NULL;
		int dlen = i2d_X509(x, &der);

		assert_true(dlen > 0);
		e = one(&log, "ima-buf", ".ima", 0x5a, der, (size_t)dlen);
		assert_int_equal(decide(p, &e, &why), 1);
		e = one(&log, "ima-buf", ".ima", 0x5c, der, (size_t)dlen);
		assert_int_equal(decide(p, &e, &why), 0);
		assert_non_null(strstr(why.text, "keyrings"));
		e = one(&log, "ima-buf", ".builtin_trusted_keys", 0x5c, der, (size_t)dlen);
		assert_int_equal(decide(p, &e, &why), 1);
		e = one(&log, "ima-buf", ".platform", 0x5c, der, (size_t)dlen);
		assert_int_equal(decide(p, &e, &why), 0);
		OPENSSL_free(der);
		X509_free(x);
		BIO_free(bio);
		free(pem);
	}
	gate_policy_free(p);
}

/* ima-sig: the signed entry of the real ima-sig q2 log verifies with the
 * IMA signing certificate's key given as verification-keys, without being
 * in digests; a key that did not sign it fails it, even though... */
static void test_policy_ima_sig(void **state)
{
	size_t len, llen;
	uint8_t *pem, *bin;
	BIO *bio;
	X509 *x;
	unsigned char *spki = NULL;
	int slen;
	char *b64, *vk, *json;
	json_t *o;
	gate_policy *p;
	gate_why why;
	ady_cur c;
	ady_ima_entry e, signed_e = {0};
	int found = 0;

	(void)state;
	if (!have_vectors)
		skip();
	pem = vec("ima-qemu/ima-signing/ima-signing-cert.pem", &len);
	bio = BIO_new_mem_buf(pem, (int)len);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(x);
	slen = i2d_PUBKEY(X509_get0_pubkey(x), &spki);
	assert_true(slen > 0);
	b64 = malloc(4 * (size_t)slen / 3 + 8);
	EVP_EncodeBlock((unsigned char *)b64, spki, slen);
	o = json_pack("{s:{s:i}, s:{s:{s:[s]}}}", "meta", "version", 1, "keyrings", "ima", "pubkeys", b64);
	vk = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	o = json_pack("{s:{s:i}, s:{}, s:[], s:s}", "meta", "version", 1, "digests", "excludes", "verification-keys", vk);
	json = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	assert_int_equal(gate_policy_load(json, strlen(json), &p, &why), ADY_OK);

	bin = vec("ima-qemu/ima-sig/q2/binary_runtime_measurements", &llen);
	ady_cur_init(&c, bin, llen);
	while (ady_cur_left(&c)) {
		assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
		if (e.extra_len) {
			signed_e = e;
			found++;
		} else if (!e.violation) {
			/* unsigned and not in digests: refused */
			assert_int_equal(decide(p, &e, &why), 0);
		}
	}
	assert_int_equal(found, 1);
	assert_memory_equal(signed_e.name, "/usr/local/bin/ima-signed-hello", signed_e.name_len);
	assert_int_equal(decide(p, &signed_e, &why), 1);
	/* the same entry with a flipped digest byte: the signature fails */
	{
		uint8_t dig[32];
		ady_ima_entry bad = signed_e;

		memcpy(dig, signed_e.digest, 32);
		dig[0] ^= 1;
		bad.digest = dig;
		assert_int_equal(decide(p, &bad, &why), 0);
		assert_non_null(strstr(why.text, "does not verify"));
	}
	gate_policy_free(p);
	free(json);
	free(vk);
	free(b64);
	OPENSSL_free(spki);
	X509_free(x);
	BIO_free(bio);
	free(pem);
	free(bin);
}

/* ---- whole rounds on the kernel's data ---- */

typedef struct snap {
	uint8_t *attest, *sig, *ak, *pcrs, *log, *nonce_hex;
	size_t alen, slen, klen, plen, llen, nlen;
	uint8_t nonce[16];
} snap;

static void snap_load(snap *s, const char *tmpl, const char *q, const char *key, const char *logq)
{
	char rel[256];

#define L(field, len, fmt, ...)                                    \
	snprintf(rel, sizeof(rel), "ima-qemu/%s/" fmt, tmpl, __VA_ARGS__); \
	s->field = vec(rel, &s->len)
	L(attest, alen, "%s/quote-%s.msg", q, key);
	L(sig, slen, "%s/quote-%s.sig", q, key);
	L(ak, klen, "keys/ak-%s.pub.pem", key);
	L(pcrs, plen, "%s/pcrs.bin", q);
	L(log, llen, "%s/binary_runtime_measurements", logq);
	L(nonce_hex, nlen, "%s/qualifying-data.hex", q);
#undef L
	assert_int_equal(s->plen, 572);
	assert_true(ady_hex_decode((const char *)s->nonce_hex, 32, s->nonce, 16));
}

static void snap_free(snap *s)
{
	free(s->attest), free(s->sig), free(s->ak), free(s->pcrs), free(s->log), free(s->nonce_hex);
}

static gate_host_evidence evidence(const snap *s, const uint8_t *log, size_t llen, uint64_t base)
{
	gate_host_evidence ev = {0};

	ev.attest = s->attest, ev.attest_len = s->alen, ev.sig = s->sig, ev.sig_len = s->slen;
	ev.ak_pem = (const char *)s->ak;
	ev.pcr = (const uint8_t(*)[32])(s->pcrs + 220), ev.npcr = 11;
	ev.log = log, ev.log_len = llen, ev.log_base = base;
	return ev;
}

/* A policy allowing every entry of the given log (what a policy generator
 * run on the machine would produce). */
static gate_policy *policy_of(const uint8_t *log, size_t len, const char *except, const char *excludes)
{
	json_t *o = json_pack("{s:{s:i}, s:{}, s:[]}", "meta", "version", 1, "digests", "excludes"), *d;
	ady_cur c;
	gate_policy *p;
	gate_why why;
	char *text;

	d = json_object_get(o, "digests");
	ady_cur_init(&c, log, len);
	while (ady_cur_left(&c)) {
		ady_ima_entry e;
		char hex[2 * ADY_IMA_MAX_DIGEST + 1], name[300];
		json_t *arr;

		assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
		snprintf(name, sizeof(name), "%.*s", (int)e.name_len, e.name);
		if (except && !strcmp(name, except))
			continue;
		ady_hex_encode(e.digest, e.digest_len, hex);
		arr = json_object_get(d, name);
		if (!arr) {
			arr = json_array();
			json_object_set_new(d, name, arr);
		}
		json_array_append_new(arr, json_string(hex));
	}
	if (excludes)
		json_array_append_new(json_object_get(o, "excludes"), json_string(excludes));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (gate_policy_load(text, strlen(text), &p, &why) != ADY_OK)
		fail_msg("generated policy: %s", why.text);
	free(text);
	return p;
}

static const char *const tmpls[] = {"ima-ng", "ima-sig"};
static const char *const keys[] = {"rsa", "ecc"};

static void test_rounds_pass(void **state)
{
	(void)state;
	if (!have_vectors)
		skip();
	for (int t = 0; t < 2; t++)
		for (int q = 1; q <= 2; q++)
			for (int k = 0; k < 2; k++) {
				char qn[3] = {'q', (char)('0' + q), 0};
				snap s;
				gate_policy *p;
				gate_host_result res;
				gate_host_evidence ev;

				snap_load(&s, tmpls[t], qn, keys[k], qn);
				p = policy_of(s.log, s.llen, NULL, NULL);
				ev = evidence(&s, s.log, s.llen, 0);
				assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
				if (res.failed)
					fail_msg("%s %s %s: %s: %s", tmpls[t], qn, keys[k], res.failed, res.why.text);
				assert_int_equal(res.verified.count, q == 1 ? 80 : 82);
				assert_int_equal(res.verified.offset, s.llen);
				assert_int_equal(res.checked, q == 1 ? 79 : 81); /* all but boot_aggregate */
				assert_int_equal(res.violations, 1);
				assert_int_equal(res.ahead, 0);
				/* the replayed PCR 10 is the one the TPM read */
				assert_memory_equal(res.verified.sha256, s.pcrs + 220 + 10 * 32, 32);
				gate_policy_free(p);
				snap_free(&s);
			}
}

/* The SHA-1 bank, not quoted, still replays to what the TPM read. */
static void test_sha1_bank(void **state)
{
	(void)state;
	if (!have_vectors)
		skip();
	for (int t = 0; t < 2; t++)
		for (int q = 1; q <= 2; q++) {
			char qn[3] = {'q', (char)('0' + q), 0};
			snap s;
			gate_replay *r;
			gate_pcr10 st;
			ady_cur c;
			gate_why why;

			snap_load(&s, tmpls[t], qn, "rsa", qn);
			assert_int_equal(gate_replay_new(GATE_BANK_SHA1 | GATE_BANK_SHA256, &r), ADY_OK);
			gate_pcr10_init(&st);
			ady_cur_init(&c, s.log, s.llen);
			while (ady_cur_left(&c)) {
				ady_ima_entry e;

				assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
				assert_int_equal(gate_replay_entry(r, &st, &e, 0, &why), ADY_OK);
			}
			assert_memory_equal(st.sha1, s.pcrs + 10 * 20, 20);
			assert_memory_equal(st.sha256, s.pcrs + 220 + 10 * 32, 32);
			gate_replay_free(r);
			snap_free(&s);
		}
}

/* q1's quote with q2's log (two entries appended after the quote): the
 * round verifies 80 and leaves 2; the next round (q2's quote) replays
 * from the kept state and checks exactly those 2; a third round with
 * nothing new checks none. */
static void test_log_ahead(void **state)
{
	(void)state;
	if (!have_vectors)
		skip();
	for (int t = 0; t < 2; t++) {
		snap s1, s2;
		gate_policy *p;
		gate_host_result r1, r2, r3;
		gate_host_evidence ev;

		snap_load(&s1, tmpls[t], "q1", "ecc", "q2");
		snap_load(&s2, tmpls[t], "q2", "rsa", "q2");
		p = policy_of(s2.log, s2.llen, NULL, NULL);
		ev = evidence(&s1, s1.log, s1.llen, 0);
		assert_int_equal(gate_host_check(&ev, s1.nonce, 16, NULL, p, &r1), ADY_OK);
		assert_null(r1.failed);
		assert_int_equal(r1.verified.count, 80);
		assert_int_equal(r1.ahead, 2);
		assert_int_equal(r1.checked, 79);
		assert_memory_equal(r1.verified.sha256, s1.pcrs + 220 + 10 * 32, 32);

		ev = evidence(&s2, s2.log + r1.verified.offset, s2.llen - r1.verified.offset, r1.verified.offset);
		assert_int_equal(gate_host_check(&ev, s2.nonce, 16, &r1.verified, p, &r2), ADY_OK);
		assert_null(r2.failed);
		assert_int_equal(r2.verified.count, 82);
		assert_int_equal(r2.checked, 2);
		assert_int_equal(r2.ahead, 0);
		assert_int_equal(r2.violations, 0);

		ev = evidence(&s2, s2.log + r2.verified.offset, 0, r2.verified.offset);
		assert_int_equal(gate_host_check(&ev, s2.nonce, 16, &r2.verified, p, &r3), ADY_OK);
		assert_null(r3.failed);
		assert_int_equal(r3.checked, 0);
		assert_int_equal(r3.verified.count, 82);

		/* the state must match where the log is cut */
		ev = evidence(&s2, s2.log, s2.llen, 0);
		assert_int_equal(gate_host_check(&ev, s2.nonce, 16, &r1.verified, p, &r3), ADY_ERR_INVALID_ARG);
		gate_policy_free(p);
		snap_free(&s1);
		snap_free(&s2);
	}
}

static void expect_refusal(snap *s, const uint8_t *log, size_t llen, const uint8_t *nonce, gate_policy *p,
			   const char *check, const char *why_has)
{
	gate_host_evidence ev = evidence(s, log, llen, 0);
	gate_host_result res;

	assert_int_equal(gate_host_check(&ev, nonce, 16, NULL, p, &res), ADY_OK);
	if (!res.failed || strcmp(res.failed, check) != 0 || !strstr(res.why.text, why_has))
		fail_msg("want %s (\"%s\"), got %s: %s", check, why_has, res.failed ? res.failed : "pass", res.why.text);
	assert_int_equal(res.verified.count, 0);
}

/* Offsets of entry i in a log. */
static size_t entry_off(const uint8_t *log, size_t len, unsigned i, size_t *end)
{
	ady_cur c;
	ady_ima_entry e;
	size_t start = 0;

	ady_cur_init(&c, log, len);
	for (unsigned k = 0; k <= i; k++) {
		start = c.off;
		assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
	}
	*end = c.off;
	return start;
}

static void test_refusals(void **state)
{
	(void)state;
	if (!have_vectors)
		skip();
	for (int t = 0; t < 2; t++) {
		snap s;
		gate_policy *p, *p2;
		uint8_t *log, nonce[16];
		size_t st, en;

		snap_load(&s, tmpls[t], "q1", "rsa", "q1");
		p = policy_of(s.log, s.llen, NULL, NULL);

		/* a file not in the policy */
		p2 = policy_of(s.log, s.llen, "/usr/bin/openssl", NULL);
		expect_refusal(&s, s.log, s.llen, s.nonce, p2, "policy", "/usr/bin/openssl: not in the policy's digests");
		gate_policy_free(p2);
		/* ... unless an exclude matches it (anchored at the start) */
		p2 = policy_of(s.log, s.llen, "/usr/bin/openssl", "/usr/bin/op");
		{
			gate_host_evidence ev = evidence(&s, s.log, s.llen, 0);
			gate_host_result res;

			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p2, &res), ADY_OK);
			assert_null(res.failed);
		}
		gate_policy_free(p2);
		p2 = policy_of(s.log, s.llen, "/usr/bin/openssl", "bin/openssl");
		expect_refusal(&s, s.log, s.llen, s.nonce, p2, "policy", "/usr/bin/openssl");
		gate_policy_free(p2);

		/* a wrong nonce (a replayed quote) */
		memcpy(nonce, s.nonce, 16);
		nonce[15] ^= 1;
		expect_refusal(&s, s.log, s.llen, nonce, p, "quote_nonce", "not the nonce");

		/* a log edited after the quote: a file digest changed and the
		 * template hash recomputed, so only the PCR can tell */
		log = malloc(s.llen);
		memcpy(log, s.log, s.llen);
		st = entry_off(log, s.llen, 5, &en);
		{
			ady_cur c;
			ady_ima_entry e;

			ady_cur_init(&c, log + st, en - st);
			assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
			((uint8_t *)e.digest)[0] ^= 0x80;
			{
				unsigned int hl;

				assert_int_equal(EVP_Digest(e.data, e.data_len, log + st + 4, &hl, EVP_sha1(), NULL), 1);
			}
		}
		expect_refusal(&s, log, s.llen, s.nonce, p, "pcr_mismatch", "never gives the quoted PCR 10");
		/* an entry removed */
		memcpy(log, s.log, s.llen);
		st = entry_off(log, s.llen, 40, &en);
		memmove(log + st, log + en, s.llen - en);
		expect_refusal(&s, log, s.llen - (en - st), s.nonce, p, "pcr_mismatch", "never gives the quoted PCR 10");
		/* a truncated log (its last entry cut) */
		expect_refusal(&s, s.log, s.llen - 1, s.nonce, p, "log_parse", "truncated");
		/* PCR values that are not the quoted ones */
		memcpy(log, s.pcrs, 572);
		log[220 + 3 * 32] ^= 1;
		{
			gate_host_evidence ev = evidence(&s, s.log, s.llen, 0);
			gate_host_result res;

			ev.pcr = (const uint8_t(*)[32])(log + 220);
			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
			assert_string_equal(res.failed, "quote_pcrs");
		}
		/* the other AK's key; a flipped signature byte */
		{
			gate_host_evidence ev = evidence(&s, s.log, s.llen, 0);
			gate_host_result res;
			snap o;

			snap_load(&o, tmpls[t], "q1", "ecc", "q1");
			ev.ak_pem = (const char *)o.ak;
			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
			assert_string_equal(res.failed, "quote_signature");
			ev.ak_pem = (const char *)s.ak;
			s.sig[20] ^= 1;
			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
			assert_string_equal(res.failed, "quote_signature");
			s.sig[20] ^= 1;
			snap_free(&o);
		}
		free(log);
		gate_policy_free(p);
		snap_free(&s);
	}
}

/* ---- rounds with a software "TPM": the rules the real data cannot reach ---- */

static void put_be(buf *b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		uint8_t x = (uint8_t)(v >> (8 * i));

		put(b, &x, 1);
	}
}

/* A TPMS_ATTEST over SHA-256 PCRs in mask with their values, signed
 * (ECDSA P-256) into a TPMT_SIGNATURE, as a TPM marshals them. */
static void soft_quote(EVP_PKEY *key, const uint8_t nonce[16], uint32_t mask, const uint8_t (*pcr)[32], buf *attest,
		       buf *sig)
{
	uint8_t cat[24 * 32], dg[32], name[34] = {0, 0x0b}, der[80], rb[32], sb[32];
	size_t n = 0, dl = sizeof(der);
	const unsigned char *q = der;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *s;
	const BIGNUM *r, *sv;

	for (int i = 0; i < 24; i++)
		if (mask >> i & 1u)
			memcpy(cat + 32 * n++, pcr[i], 32);
	sha(EVP_sha256(), cat, 32 * n, dg);
	attest->n = 0;
	put_be(attest, 0xff544347, 4);
	put_be(attest, 0x8018, 2);
	put_be(attest, 34, 2);
	put(attest, name, 34);
	put_be(attest, 16, 2);
	put(attest, nonce, 16);
	put_be(attest, 1000, 8), put_be(attest, 1, 4), put_be(attest, 0, 4), put_be(attest, 1, 1);
	put_be(attest, 1, 8);
	put_be(attest, 1, 4), put_be(attest, 0x000b, 2), put_be(attest, 3, 1);
	put_be(attest, mask & 0xff, 1), put_be(attest, mask >> 8 & 0xff, 1), put_be(attest, mask >> 16 & 0xff, 1);
	put_be(attest, 32, 2);
	put(attest, dg, 32);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &dl, attest->b, attest->n), 1);
	s = d2i_ECDSA_SIG(NULL, &q, (long)dl);
	assert_non_null(s);
	ECDSA_SIG_get0(s, &r, &sv);
	BN_bn2binpad(r, rb, 32);
	BN_bn2binpad(sv, sb, 32);
	sig->n = 0;
	put_be(sig, 0x0018, 2), put_be(sig, 0x000b, 2);
	put_be(sig, 32, 2), put(sig, rb, 32), put_be(sig, 32, 2), put(sig, sb, 32);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(ctx);
}

typedef struct soft {
	EVP_PKEY *key;
	char *pem;
	uint8_t pcr[24][32];
	uint8_t nonce[16];
	buf attest, sig, log;
} soft;

static void soft_init(soft *t)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;

	memset(t, 0, sizeof(*t));
	t->key = EVP_EC_gen("P-256");
	assert_non_null(t->key);
	assert_int_equal(PEM_write_bio_PUBKEY(bio, t->key), 1);
	n = BIO_get_mem_data(bio, &p);
	t->pem = strndup(p, (size_t)n);
	BIO_free(bio);
	for (int i = 0; i < 24; i++)
		memset(t->pcr[i], i, 32);
	memset(t->nonce, 0x42, 16);
}

/* Replays t->log into PCR 10 and quotes PCRs in mask. */
static gate_host_result soft_round(soft *t, uint32_t mask, gate_policy *p)
{
	gate_replay *r;
	gate_pcr10 s;
	gate_host_evidence ev = {0};
	gate_host_result res;
	gate_why why;
	ady_cur c;

	assert_int_equal(gate_replay_new(GATE_BANK_SHA256, &r), ADY_OK);
	gate_pcr10_init(&s);
	ady_cur_init(&c, t->log.b, t->log.n);
	while (ady_cur_left(&c)) {
		ady_ima_entry e;

		assert_int_equal(ady_ima_decode(&c, &e), ADY_OK);
		assert_int_equal(gate_replay_entry(r, &s, &e, 0, &why), ADY_OK);
	}
	gate_replay_free(r);
	memcpy(t->pcr[10], s.sha256, 32);
	soft_quote(t->key, t->nonce, mask, (const uint8_t(*)[32])t->pcr, &t->attest, &t->sig);
	ev.attest = t->attest.b, ev.attest_len = t->attest.n, ev.sig = t->sig.b, ev.sig_len = t->sig.n;
	ev.ak_pem = t->pem, ev.pcr = (const uint8_t(*)[32])t->pcr, ev.npcr = 24;
	ev.log = t->log.b, ev.log_len = t->log.n;
	assert_int_equal(gate_host_check(&ev, t->nonce, 16, NULL, p, &res), ADY_OK);
	return res;
}

static void test_soft_rounds(void **state)
{
	uint8_t ba[32], dig[32], zero[32] = {0};
	soft t;
	gate_policy *p;
	gate_host_result res;

	(void)state;
	soft_init(&t);
	sha(EVP_sha256(), t.pcr, 10 * 32, ba);
	memset(dig, 0x5a, 32);
	add_ng(&t.log, "ima-ng", "boot_aggregate", ba, NULL, 0, 0);
	add_ng(&t.log, "ima-ng", "/usr/bin/a", dig, NULL, 0, 0);
	add_ng(&t.log, "ima-ng", "/tmp/w", zero, NULL, 0, 1); /* a violation */
	p = load_str(HEAD "\"digests\": {\"/usr/bin/a\": [\"" D5A "\"]}, \"excludes\": [\"/tmp/\"]}", ADY_OK, NULL);

	res = soft_round(&t, 0x7ff, p);
	if (res.failed)
		fail_msg("%s: %s", res.failed, res.why.text);
	assert_int_equal(res.checked, 2);
	assert_int_equal(res.violations, 1);
	/* more PCRs quoted than 0-10 is fine */
	res = soft_round(&t, 0xffffff, p);
	assert_null(res.failed);
	/* a quote that leaves out PCR 10, or PCR 0 */
	res = soft_round(&t, 0x3ff, p);
	assert_string_equal(res.failed, "quote_pcrs");
	res = soft_round(&t, 0x7fe, p);
	assert_string_equal(res.failed, "quote_pcrs");
	gate_policy_free(p);

	/* a violation whose path is neither listed nor excluded is refused */
	p = load_str(HEAD "\"digests\": {\"/usr/bin/a\": [\"" D5A "\"]}}", ADY_OK, NULL);
	res = soft_round(&t, 0x7ff, p);
	assert_string_equal(res.failed, "policy");
	assert_non_null(strstr(res.why.text, "entry 2: /tmp/w: not in the policy's digests (sha256:0000"));
	gate_policy_free(p);

	/* boot_aggregate: wrong digest, missing, sha1 */
	p = load_str(HEAD "\"digests\": {\"/usr/bin/a\": [\"" D5A "\"]}, \"excludes\": [\"/tmp/\"]}", ADY_OK, NULL);
	t.log.n = 0;
	ba[0] ^= 1;
	add_ng(&t.log, "ima-ng", "boot_aggregate", ba, NULL, 0, 0);
	res = soft_round(&t, 0x7ff, p);
	assert_string_equal(res.failed, "boot_aggregate");
	assert_non_null(strstr(res.why.text, "is not SHA-256(PCR 0-9)"));
	t.log.n = 0;
	add_ng(&t.log, "ima-ng", "/usr/bin/a", dig, NULL, 0, 0);
	res = soft_round(&t, 0x7ff, p);
	assert_string_equal(res.failed, "boot_aggregate");
	assert_non_null(strstr(res.why.text, "does not start with boot_aggregate"));
	{
		buf d = {0};
		uint8_t th[20];

		t.log.n = 0;
		put32(&d, 5 + 1 + 20);
		put(&d, "sha1:", 5);
		put(&d, "", 1);
		put(&d, ba, 20);
		put32(&d, 15);
		put(&d, "boot_aggregate", 15);
		sha(EVP_sha1(), d.b, d.n, th);
		put32(&t.log, 10);
		put(&t.log, th, 20);
		put32(&t.log, 6);
		put(&t.log, "ima-ng", 6);
		put32(&t.log, (uint32_t)d.n);
		put(&t.log, d.b, d.n);
	}
	res = soft_round(&t, 0x7ff, p);
	assert_string_equal(res.failed, "boot_aggregate");
	assert_non_null(strstr(res.why.text, "sha1"));
	/* an empty log cannot match a PCR 10 that is not zero */
	t.log.n = 0;
	{
		gate_host_evidence ev = {0};

		soft_quote(t.key, t.nonce, 0x7ff, (const uint8_t(*)[32])t.pcr, &t.attest, &t.sig);
		ev.attest = t.attest.b, ev.attest_len = t.attest.n, ev.sig = t.sig.b, ev.sig_len = t.sig.n;
		ev.ak_pem = t.pem, ev.pcr = (const uint8_t(*)[32])t.pcr, ev.npcr = 24;
		assert_int_equal(gate_host_check(&ev, t.nonce, 16, NULL, p, &res), ADY_OK);
		assert_string_equal(res.failed, "pcr_mismatch");
		/* an AK that is not a key */
		ev.ak_pem = "not a key";
		assert_int_equal(gate_host_check(&ev, t.nonce, 16, NULL, p, &res), ADY_ERR_KEY);
	}
	gate_policy_free(p);
	EVP_PKEY_free(t.key);
	free(t.pem);
}

/* A policy failure in an early entry and a log whose tail does not parse:
 * the verdict is log_parse (a log that cannot be read is refused as such
 * before any policy verdict), with no entries counted as checked. */
static void test_bad_log_wins(void **state)
{
	uint8_t ba[32], dig[32];
	soft t;
	gate_policy *p;
	gate_host_result res;
	gate_host_evidence ev = {0};

	(void)state;
	soft_init(&t);
	sha(EVP_sha256(), t.pcr, 10 * 32, ba);
	memset(dig, 0x5a, 32);
	add_ng(&t.log, "ima-ng", "boot_aggregate", ba, NULL, 0, 0);
	add_ng(&t.log, "ima-ng", "/usr/bin/evil", dig, NULL, 0, 0); /* entry 1: not in the policy */
	add_ng(&t.log, "ima-ng", "/usr/bin/a", dig, NULL, 0, 0);
	p = load_str(HEAD "\"digests\": {\"/usr/bin/a\": [\"" D5A "\"]}}", ADY_OK, NULL);
	/* the log as it is: the policy fails entry 1 */
	res = soft_round(&t, 0x7ff, p);
	assert_string_equal(res.failed, "policy");
	assert_non_null(strstr(res.why.text, "entry 1: /usr/bin/evil"));
	/* the same quote, a tail that does not parse after the quoted state
	 * (PCR 10, a template hash, then a name length past the end) */
	put32(&t.log, 10);
	put(&t.log, dig, 20);
	put32(&t.log, 4000);
	ev.attest = t.attest.b, ev.attest_len = t.attest.n, ev.sig = t.sig.b, ev.sig_len = t.sig.n;
	ev.ak_pem = t.pem, ev.pcr = (const uint8_t(*)[32])t.pcr, ev.npcr = 24;
	ev.log = t.log.b, ev.log_len = t.log.n;
	assert_int_equal(gate_host_check(&ev, t.nonce, 16, NULL, p, &res), ADY_OK);
	if (!res.failed || strcmp(res.failed, "log_parse"))
		fail_msg("want log_parse, got %s: %s", res.failed ? res.failed : "passed", res.why.text);
	assert_non_null(strstr(res.why.text, "entry 3 at byte"));
	assert_int_equal(res.checked, 0);
	gate_policy_free(p);
	EVP_PKEY_free(t.key);
	free(t.pem);
}

/* ---- the AK: EK certificate, TPM2B_PUBLICs, qualified name ---- */

static uint8_t *pem_cert_der(const char *rel, size_t *len)
{
	size_t n;
	uint8_t *pem = vec(rel, &n), *der = NULL;
	BIO *bio = BIO_new_mem_buf(pem, (int)n);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	int dl;

	assert_non_null(x);
	dl = i2d_X509(x, &der);
	assert_true(dl > 0);
	*len = (size_t)dl;
	X509_free(x);
	BIO_free(bio);
	free(pem);
	return der;
}

static void ek_policy(ady_vpolicy *pol, int with_issuer)
{
	memset(pol, 0, sizeof(*pol));
	snprintf(pol->tpm_ek_ca[0], sizeof(pol->tpm_ek_ca[0]), "%s/ima-qemu/tpm/localca-root-cert.pem", VEC);
	snprintf(pol->tpm_ek_ca[1], sizeof(pol->tpm_ek_ca[1]), "%s/ima-qemu/tpm/localca-issuer-cert.pem", VEC);
	pol->nek_ca = with_issuer ? 2 : 1;
}

static void test_ak_check(void **state)
{
	ady_vpolicy pol;
	gate_ak ak;
	gate_why why;
	size_t eclen, eclen2, eplen;
	uint8_t *ekcert, *ekcert384, *ekpub;

	(void)state;
	if (!have_vectors)
		skip();
	ekcert = pem_cert_der("ima-qemu/tpm/ek-rsa2048-cert.pem", &eclen);
	ekcert384 = pem_cert_der("ima-qemu/tpm/ek-secp384r1-cert.pem", &eclen2);
	ek_policy(&pol, 1);
	for (int t = 0; t < 2; t++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "ima-qemu/%s/keys/ek-rsa.pub.tpm2b", tmpls[t]);
		ekpub = vec(rel, &eplen);
		for (int k = 0; k < 2; k++) {
			size_t alen, qlen;
			uint8_t *akpub, *qname;
			snap s;
			gate_policy *p;
			gate_host_evidence ev;
			gate_host_result res;

			snprintf(rel, sizeof(rel), "ima-qemu/%s/keys/ak-%s.pub.tpm2b", tmpls[t], keys[k]);
			akpub = vec(rel, &alen);
			snprintf(rel, sizeof(rel), "ima-qemu/%s/keys/ak-%s.qname", tmpls[t], keys[k]);
			qname = vec(rel, &qlen);
			snap_load(&s, tmpls[t], "q1", keys[k], "q1");
			if (gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen, (const char *)s.ak, &ak, &why))
				fail_msg("%s %s: %s", tmpls[t], keys[k], why.text);
			/* what tpm2_createak computed */
			assert_int_equal(ak.qname_len, qlen);
			assert_memory_equal(ak.qname, qname, qlen);

			/* the quote carries it; the other AK's name is refused */
			p = policy_of(s.log, s.llen, NULL, NULL);
			ev = evidence(&s, s.log, s.llen, 0);
			ev.ak_qname = ak.qname, ev.ak_qname_len = ak.qname_len;
			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
			assert_null(res.failed);
			ak.qname[5] ^= 1;
			assert_int_equal(gate_host_check(&ev, s.nonce, 16, NULL, p, &res), ADY_OK);
			assert_string_equal(res.failed, "quote_signer");

			/* the AK key must be the TPM2B_PUBLIC's */
			{
				snap o;

				snap_load(&o, tmpls[t], "q1", keys[1 - k], "q1");
				assert_int_equal(gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen,
							       (const char *)o.ak, &ak, &why),
						 ADY_ERR_PERMISSION);
				assert_non_null(strstr(why.text, "not the key of the AK"));
				snap_free(&o);
			}
			/* not restricted: refused */
			akpub[7] ^= 0x01;
			assert_int_equal(gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen, (const char *)s.ak,
						       &ak, &why),
					 ADY_ERR_PERMISSION);
			assert_non_null(strstr(why.text, "restricted"));
			akpub[7] ^= 0x01;
			/* a cut TPM2B_PUBLIC */
			assert_int_equal(gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen - 1,
						       (const char *)s.ak, &ak, &why),
					 ADY_ERR_MALFORMED);
			/* the other EK certificate (the P-384 one) certifies another key */
			assert_int_equal(gate_ak_check(&pol, ekcert384, eclen2, ekpub, eplen, akpub, alen,
						       (const char *)s.ak, &ak, &why),
					 ADY_ERR_PERMISSION);
			assert_non_null(strstr(why.text, "certifies another key"));
			/* anchors: the root alone does not reach the EK (no issuer) */
			ek_policy(&pol, 0);
			assert_int_equal(gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen, (const char *)s.ak,
						       &ak, &why),
					 ADY_ERR_PERMISSION);
			assert_non_null(strstr(why.text, "does not chain"));
			pol.nek_ca = 0;
			assert_int_equal(gate_ak_check(&pol, ekcert, eclen, ekpub, eplen, akpub, alen, (const char *)s.ak,
						       &ak, &why),
					 ADY_ERR_PERMISSION);
			assert_non_null(strstr(why.text, "names no tpm_ek_ca"));
			ek_policy(&pol, 1);
			gate_policy_free(p);
			snap_free(&s);
			free(akpub);
			free(qname);
		}
		free(ekpub);
	}
	OPENSSL_free(ekcert);
	OPENSSL_free(ekcert384);
}

/* ---- the TPM's boot (clockInfo) and the kept state ---- */

/* A TPMS_ATTEST (quote) as a TPM marshals it, with the given clockInfo
 * counts (not signed: only its boot is read here). */
static void boot_attest(buf *a, uint32_t reset, uint32_t restart)
{
	uint8_t name[34] = {0, 0x0b}, nonce[16] = {1}, dg[32] = {2};

	a->n = 0;
	put_be(a, 0xff544347, 4), put_be(a, 0x8018, 2);
	put_be(a, 34, 2), put(a, name, 34);
	put_be(a, 16, 2), put(a, nonce, 16);
	put_be(a, 123456789, 8), put_be(a, reset, 4), put_be(a, restart, 4), put_be(a, 1, 1);
	put_be(a, 1, 8);
	put_be(a, 1, 4), put_be(a, 0x000b, 2), put_be(a, 3, 1), put_be(a, 0xff, 1), put_be(a, 0x07, 1), put_be(a, 0, 1);
	put_be(a, 32, 2), put(a, dg, 32);
}

static void test_boot(void **state)
{
	buf a;
	gate_boot kept, now;
	gate_why why;

	(void)state;
	boot_attest(&a, 7, 2);
	assert_int_equal(gate_quote_boot(a.b, a.n, &now), ADY_OK);
	assert_true(now.known);
	assert_int_equal(now.reset_count, 7);
	assert_int_equal(now.restart_count, 2);
	assert_int_not_equal(gate_quote_boot(a.b, a.n - 1, &kept), ADY_OK);
	assert_false(kept.known);

	/* nothing kept (a new host, a row from before the boot columns): go on */
	memset(&kept, 0, sizeof(kept));
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_SAME);
	kept = now;
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_SAME);
	/* a reboot (TPM Reset), a restart (TPM Restart/Resume): the log starts over */
	kept.reset_count = 6, kept.restart_count = 9;
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_NEW);
	kept.reset_count = 7, kept.restart_count = 1;
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_NEW);
	/* backwards: a quote of an older boot than the kept state's is refused, named */
	why.text[0] = '\0';
	kept.reset_count = 8, kept.restart_count = 0;
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_OLDER);
	assert_non_null(strstr(why.text, "resetCount 7 restartCount 2, after 8 0"));
	why.text[0] = '\0';
	kept.reset_count = 7, kept.restart_count = 3;
	assert_int_equal(gate_boot_compare(&kept, &now, &why), GATE_BOOT_OLDER);
	assert_non_null(strstr(why.text, "went backwards"));

	/* The kernel's quotes (ima-qemu) decode to a boot too. */
	if (have_vectors) {
		snap s;

		snap_load(&s, "ima-ng", "q1", "rsa", "q1");
		assert_int_equal(gate_quote_boot(s.attest, s.alen, &now), ADY_OK);
		assert_true(now.known);
		snap_free(&s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_rules),      cmocka_unit_test(test_replay_ima_template),
		cmocka_unit_test(test_keylime_logs),      cmocka_unit_test(test_policy_refusals),
		cmocka_unit_test(test_keylime_policies),  cmocka_unit_test(test_policy_decisions),
		cmocka_unit_test(test_policy_ima_sig),    cmocka_unit_test(test_rounds_pass),
		cmocka_unit_test(test_sha1_bank),         cmocka_unit_test(test_log_ahead),
		cmocka_unit_test(test_refusals),          cmocka_unit_test(test_soft_rounds),
		cmocka_unit_test(test_ak_check),          cmocka_unit_test(test_boot),
		cmocka_unit_test(test_bad_log_wins),
	};
	FILE *probe = fopen(VEC "/ima-qemu/README.md", "r");
	int failed;

	have_vectors = probe != NULL;
	if (probe)
		fclose(probe);
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (!failed && !have_vectors) {
		fprintf(stderr, "skip: no vectors at %s (the synthetic cases passed)\n", VEC);
		return 77;
	}
	return failed;
}
