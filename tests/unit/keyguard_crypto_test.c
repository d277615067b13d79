/*
 * The key guard's crypto against published vectors and OpenSSL:
 * AES-XTS-256 (IEEE 1619-2007 vector 10, then random keys, sectors and
 * both sector sizes against EVP aes-256-xts), PBKDF2-HMAC-SHA256 (RFC 7914
 * section 11 and RFC 6070-style inputs against PKCS5_PBKDF2_HMAC), and the
 * LUKS1 AF split/merge (against an independent diffuse on OpenSSL SHA-256).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "kg_crypto.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* Prints both values on mismatch (STYLE.md). */
static void expect_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	if (memcmp(got, want, n) == 0)
		return;
	print_error("%s mismatch\n got:  ", what);
	for (size_t i = 0; i < n && i < 64; i++)
		print_error("%02x", got[i]);
	print_error("\n want: ");
	for (size_t i = 0; i < n && i < 64; i++)
		print_error("%02x", want[i]);
	print_error("\n");
	fail();
}

static const char v10_key[] = "2718281828459045235360287471352662497757247093699959574966967627"
			      "3141592653589793238462643383279502884197169399375105820974944592";
static const char v10_ct[] =
	"1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44"
	"680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
	"c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d"
	"e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
	"93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6"
	"dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
	"505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b"
	"11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
	"6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493"
	"c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
	"773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151";

static void need_aesni(void)
{
	if (!kg_xts_supported()) {
		print_message("no AES-NI on this CPU\n");
		skip();
	}
}

/* Runs fn once per XTS code path this CPU has (AES-NI, then VAES on AVX2
 * and on AVX-512 registers where present), each selected alone, so a path
 * the enclave would not pick on this CPU is still proven; then restores
 * the default. */
static void each_xts_path(void (*fn)(void))
{
	int best = kg_xts_select(-1);

	for (int path = 0; path <= best; path++) {
		assert_int_equal(kg_xts_select(path), path);
		print_message("XTS path %d of %d\n", path, best);
		fn();
	}
	kg_xts_select(-1);
}

/* IEEE 1619-2007 vector 10: XTS-AES-256, data unit 0xff, 512 bytes. */
static void xts_ieee1619_v10(void)
{
	uint8_t key[64], pt[512], ct[512], buf[512];
	kg_xts x;

	unhex(v10_key, key, sizeof(key));
	unhex(v10_ct, ct, sizeof(ct));
	for (int i = 0; i < 512; i++)
		pt[i] = (uint8_t)i;
	kg_xts_init(&x, key);
	kg_xts_encrypt(&x, 0xff, 512, buf, pt, sizeof(pt));
	expect_bytes("V10 encrypt", buf, ct, sizeof(ct));
	kg_xts_decrypt(&x, 0xff, 512, buf, buf, sizeof(buf)); /* in place */
	expect_bytes("V10 decrypt", buf, pt, sizeof(pt));
	kg_xts_wipe(&x);
}

static void test_xts_ieee1619_v10(void **state)
{
	(void)state;
	need_aesni();
	each_xts_path(xts_ieee1619_v10);
}

static void openssl_xts(const uint8_t key[64], uint64_t sector, const uint8_t *in, uint8_t *out, size_t len, int enc)
{
	uint8_t iv[16] = {0};
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	for (int i = 0; i < 8; i++)
		iv[i] = (uint8_t)(sector >> (8 * i));
	assert_non_null(c);
	assert_int_equal(EVP_CipherInit_ex(c, EVP_aes_256_xts(), NULL, key, iv, enc), 1);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
	assert_int_equal(n, (int)len);
	EVP_CIPHER_CTX_free(c);
}

/* Random keys, sector numbers (including ones that carry through the
 * 64-bit tweak) and both sector sizes, against EVP aes-256-xts. */
static void xts_vs_openssl(void)
{
	static uint8_t pt[8 * 4096], ours[8 * 4096], theirs[4096];
	const uint64_t sectors[] = {0, 1, 255, 0xffffffffull, 0x123456789abcdefull, UINT64_MAX - 3};

	for (int round = 0; round < 16; round++) {
		uint8_t key[64];
		kg_xts x;
		assert_int_equal(RAND_bytes(key, sizeof(key)), 1);
		assert_int_equal(RAND_bytes(pt, sizeof(pt)), 1);
		kg_xts_init(&x, key);
		for (size_t ss = 512; ss <= 4096; ss *= 8) {
			uint64_t first = sectors[round % 6];
			size_t len = (round % 2 ? 8 : 1) * ss;
			kg_xts_encrypt(&x, first, ss, ours, pt, len);
			for (size_t s = 0; s < len / ss; s++) {
				openssl_xts(key, first + s, pt + s * ss, theirs, ss, 1);
				expect_bytes("XTS vs OpenSSL (encrypt)", ours + s * ss, theirs, ss);
			}
			kg_xts_decrypt(&x, first, ss, ours, ours, len);
			expect_bytes("XTS round trip", ours, pt, len);
		}
		kg_xts_wipe(&x);
	}
}

static void test_xts_vs_openssl(void **state)
{
	(void)state;
	need_aesni();
	each_xts_path(xts_vs_openssl);
}

/* RFC 7914 section 11 (PBKDF2-HMAC-SHA256 vectors), then others against
 * OpenSSL: a long password (> one SHA-256 block, hashed first), odd
 * output lengths, a NUL in the password. */
static void test_pbkdf2(void **state)
{
	static const struct {
		const char *pw, *salt;
		uint32_t iter;
		const char *dk;
	} kat[] = {
		{"passwd", "salt", 1,
		 "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
		 "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
		{"Password", "NaCl", 80000,
		 "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
		 "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
	};
	uint8_t got[100], want[100];

	(void)state;
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		kg_pbkdf2_sha256(kat[i].pw, strlen(kat[i].pw), kat[i].salt, strlen(kat[i].salt), kat[i].iter, got, 64);
		unhex(kat[i].dk, want, 64);
		expect_bytes("PBKDF2 RFC 7914", got, want, 64);
	}
	{
		uint8_t pw[100], salt[32];
		const size_t lens[] = {1, 20, 32, 33, 64, 100};
		assert_int_equal(RAND_bytes(pw, sizeof(pw)), 1);
		assert_int_equal(RAND_bytes(salt, sizeof(salt)), 1);
		pw[3] = 0;
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			kg_pbkdf2_sha256(pw, sizeof(pw), salt, sizeof(salt), 1000, got, lens[i]);
			assert_int_equal(PKCS5_PBKDF2_HMAC((const char *)pw, sizeof(pw), salt, sizeof(salt), 1000,
							   EVP_sha256(), (int)lens[i], want),
					 1);
			expect_bytes("PBKDF2 vs OpenSSL", got, want, lens[i]);
		}
	}
}

/* The LUKS1 diffuse, written again on OpenSSL for comparison. */
static void ref_diffuse(uint8_t *d, size_t len)
{
	for (size_t off = 0, i = 0; off < len; off += 32, i++) {
		uint8_t in[4 + 32], dg[32];
		size_t n = len - off < 32 ? len - off : 32;
		in[0] = (uint8_t)(i >> 24), in[1] = (uint8_t)(i >> 16), in[2] = (uint8_t)(i >> 8), in[3] = (uint8_t)i;
		memcpy(in + 4, d + off, n);
		assert_int_equal(EVP_Digest(in, 4 + n, dg, NULL, EVP_sha256(), NULL), 1);
		memcpy(d + off, dg, n);
	}
}

static void test_af(void **state)
{
	const size_t key_lens[] = {16, 32, 64, 40};
	const uint32_t stripes[] = {1, 2, 3, 4000};

	(void)state;
	for (size_t k = 0; k < 4; k++) {
		for (size_t s = 0; s < 4; s++) {
			size_t kl = key_lens[k];
			uint32_t st = stripes[s];
			uint8_t key[64], got[64], want[64];
			uint8_t *rnd = malloc(kl * st), *mat = malloc(kl * st);
			assert_non_null(rnd);
			assert_non_null(mat);
			assert_int_equal(RAND_bytes(key, (int)kl), 1);
			assert_int_equal(RAND_bytes(rnd, (int)(kl * st)), 1);
			kg_af_split(key, kl, st, rnd, mat);
			kg_af_merge(mat, kl, st, got);
			expect_bytes("AF merge(split(key))", got, key, kl);
			/* Independent merge: d = diffuse(d ^ s_i) ..., key = d ^ s_last. */
			memset(want, 0, sizeof(want));
			for (uint32_t i = 0; i + 1 < st; i++) {
				for (size_t j = 0; j < kl; j++)
					want[j] ^= mat[i * kl + j];
				ref_diffuse(want, kl);
			}
			for (size_t j = 0; j < kl; j++)
				want[j] ^= mat[(st - 1) * kl + j];
			expect_bytes("AF merge vs reference", got, want, kl);
			/* One flipped bit in any stripe changes the key. */
			mat[(st / 2) * kl] ^= 1;
			kg_af_merge(mat, kl, st, got);
			assert_memory_not_equal(got, key, kl);
			free(rnd);
			free(mat);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xts_ieee1619_v10),
		cmocka_unit_test(test_xts_vs_openssl),
		cmocka_unit_test(test_pbkdf2),
		cmocka_unit_test(test_af),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
