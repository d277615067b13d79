/*
 * The key guard's sector crypto: AES-XTS-256 on AES-NI, PBKDF2 and the
 * LUKS1 AF merge on BearSSL's SHA-256/HMAC.  See kg_crypto.h.
 */
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#include <bearssl.h>

#include "adyton/cursor.h"
#include "kg_crypto.h"

#define KG_AES __attribute__((target("aes,sse4.1")))

/* see kg_crypto.h */
int kg_xts_supported(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	return (c & bit_AES) && (c & bit_SSE4_1);
}

/* One AES-256 key expansion step: FIPS 197 5.2 with AESKEYGENASSIST
 * doing SubWord(RotWord()) ^ Rcon (shuffle 0xff) or SubWord (0xaa). */
KG_AES static inline __m128i expand_step(__m128i k, __m128i assist)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, assist);
}

#define EXPAND_PAIR(rk, i, rcon)                                                                    \
	do {                                                                                        \
		k0 = expand_step(k0, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k1, rcon), 0xff)); \
		rk[i] = k0;                                                                         \
		if ((i) + 1 < 15) {                                                                 \
			k1 = expand_step(k1, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k0, 0), 0xaa)); \
			rk[(i) + 1] = k1;                                                           \
		}                                                                                   \
	} while (0)

KG_AES static void expand256(const uint8_t key[static 32], __m128i rk[15])
{
	__m128i k0 = _mm_loadu_si128((const __m128i *)key);
	__m128i k1 = _mm_loadu_si128((const __m128i *)(key + 16));

	rk[0] = k0;
	rk[1] = k1;
	EXPAND_PAIR(rk, 2, 0x01);
	EXPAND_PAIR(rk, 4, 0x02);
	EXPAND_PAIR(rk, 6, 0x04);
	EXPAND_PAIR(rk, 8, 0x08);
	EXPAND_PAIR(rk, 10, 0x10);
	EXPAND_PAIR(rk, 12, 0x20);
	EXPAND_PAIR(rk, 14, 0x40);
}

/* see kg_crypto.h */
KG_AES void kg_xts_init(kg_xts *x, const uint8_t key[static KG_XTS_KEY_SIZE])
{
	__m128i ek[15], tk[15];

	expand256(key, ek);
	expand256(key + 32, tk);
	for (int i = 0; i < 15; i++) {
		_mm_store_si128((__m128i *)(x->ek + 16 * i), ek[i]);
		_mm_store_si128((__m128i *)(x->tk + 16 * i), tk[i]);
	}
	/* Equivalent inverse cipher (FIPS 197 5.3.5): reversed, InvMixColumns
	 * on the inner round keys. */
	_mm_store_si128((__m128i *)x->dk, ek[14]);
	for (int i = 1; i < 14; i++)
		_mm_store_si128((__m128i *)(x->dk + 16 * i), _mm_aesimc_si128(ek[14 - i]));
	_mm_store_si128((__m128i *)(x->dk + 16 * 14), ek[0]);
	ady_wipe(ek, sizeof(ek));
	ady_wipe(tk, sizeof(tk));
}

/* see kg_crypto.h */
void kg_xts_wipe(kg_xts *x) { ady_wipe(x, sizeof(*x)); }

/* T * alpha in GF(2^128), IEEE 1619 5.2: a left shift of the 128-bit
 * little-endian value, the carry out of bit 127 folded back as 0x87. */
KG_AES static inline __m128i mul_alpha(__m128i t)
{
	__m128i carry = _mm_shuffle_epi32(_mm_srai_epi32(t, 31), 0x93);

	carry = _mm_and_si128(carry, _mm_set_epi32(1, 1, 1, 0x87));
	return _mm_xor_si128(_mm_slli_epi32(t, 1), carry);
}

KG_AES static inline __m128i tweak0(const kg_xts *x, uint64_t sector)
{
	const __m128i *tk = (const __m128i *)x->tk;
	__m128i t = _mm_xor_si128(_mm_set_epi64x(0, (long long)sector), tk[0]);

	for (int r = 1; r < 14; r++)
		t = _mm_aesenc_si128(t, tk[r]);
	return _mm_aesenclast_si128(t, tk[14]);
}

/* Eight blocks at a time keep the AES unit's pipeline full; both sector
 * sizes are multiples of 128 bytes.  The tail loop serves other sizes. */
#define XTS_BODY(KEYS, ROUND, LAST)                                                                \
	const __m128i *rk = (const __m128i *)(KEYS);                                               \
	__m128i k[15];                                                                             \
	for (int r = 0; r < 15; r++)                                                               \
		k[r] = _mm_load_si128(&rk[r]);                                                     \
	for (size_t s = 0; s < len / sector_size; s++) {                                           \
		const uint8_t *in = src + s * sector_size;                                         \
		uint8_t *out = dst + s * sector_size;                                              \
		__m128i t = tweak0(x, sector + s);                                                 \
		size_t i = 0;                                                                      \
		for (; i + 128 <= sector_size; i += 128) {                                         \
			__m128i tw[8], b[8];                                                       \
			for (int j = 0; j < 8; j++) {                                              \
				tw[j] = t;                                                         \
				t = mul_alpha(t);                                                  \
				b[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + i) + j), \
						     _mm_xor_si128(tw[j], k[0]));                  \
			}                                                                          \
			for (int r = 1; r < 14; r++)                                               \
				for (int j = 0; j < 8; j++)                                        \
					b[j] = ROUND(b[j], k[r]);                                  \
			for (int j = 0; j < 8; j++)                                                \
				_mm_storeu_si128((__m128i *)(out + i) + j,                         \
						 _mm_xor_si128(LAST(b[j], k[14]), tw[j]));         \
		}                                                                                  \
		for (; i + 16 <= sector_size; i += 16) {                                           \
			__m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + i)),      \
						  _mm_xor_si128(t, k[0]));                         \
			for (int r = 1; r < 14; r++)                                               \
				b = ROUND(b, k[r]);                                                \
			_mm_storeu_si128((__m128i *)(out + i), _mm_xor_si128(LAST(b, k[14]), t));  \
			t = mul_alpha(t);                                                          \
		}                                                                                  \
	}

/* With VAES (AVX2 width), each instruction runs the round on two blocks:
 * the same 8-block group in four 256-bit registers. */
#define KG_VAES __attribute__((target("aes,sse4.1,avx2,vaes")))

#define XTS_BODY_VAES(KEYS, ROUND, LAST, ROUND256, LAST256)                                       \
	const __m128i *rk = (const __m128i *)(KEYS);                                               \
	__m128i k[15];                                                                             \
	__m256i kk[15];                                                                            \
	for (int r = 0; r < 15; r++) {                                                             \
		k[r] = _mm_load_si128(&rk[r]);                                                     \
		kk[r] = _mm256_broadcastsi128_si256(k[r]);                                         \
	}                                                                                          \
	for (size_t s = 0; s < len / sector_size; s++) {                                           \
		const uint8_t *in = src + s * sector_size;                                         \
		uint8_t *out = dst + s * sector_size;                                              \
		__m128i t = tweak0(x, sector + s);                                                 \
		size_t i = 0;                                                                      \
		for (; i + 128 <= sector_size; i += 128) {                                         \
			__m256i tw[4], b[4];                                                       \
			for (int j = 0; j < 4; j++) {                                              \
				__m128i lo = t, hi = mul_alpha(t);                                 \
				t = mul_alpha(hi);                                                 \
				tw[j] = _mm256_set_m128i(hi, lo);                                  \
				b[j] = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + i) + j), \
							_mm256_xor_si256(tw[j], kk[0]));           \
			}                                                                          \
			for (int r = 1; r < 14; r++)                                               \
				for (int j = 0; j < 4; j++)                                        \
					b[j] = ROUND256(b[j], kk[r]);                              \
			for (int j = 0; j < 4; j++)                                                \
				_mm256_storeu_si256((__m256i *)(out + i) + j,                      \
						    _mm256_xor_si256(LAST256(b[j], kk[14]), tw[j])); \
		}                                                                                  \
		for (; i + 16 <= sector_size; i += 16) {                                           \
			__m128i b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + i)),      \
						  _mm_xor_si128(t, k[0]));                         \
			for (int r = 1; r < 14; r++)                                               \
				b = ROUND(b, k[r]);                                                \
			_mm_storeu_si128((__m128i *)(out + i), _mm_xor_si128(LAST(b, k[14]), t));  \
			t = mul_alpha(t);                                                          \
		}                                                                                  \
	}

KG_VAES static void xts_encrypt_vaes(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst,
				     const uint8_t *src, size_t len)
{
	XTS_BODY_VAES(x->ek, _mm_aesenc_si128, _mm_aesenclast_si128, _mm256_aesenc_epi128, _mm256_aesenclast_epi128)
}

KG_VAES static void xts_decrypt_vaes(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst,
				     const uint8_t *src, size_t len)
{
	XTS_BODY_VAES(x->dk, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm256_aesdec_epi128, _mm256_aesdeclast_epi128)
}

/* With VAES on 512-bit registers (AVX-512), each instruction runs a round
 * on four blocks: 32 blocks (512 bytes, one 512-byte sector) in flight in
 * eight registers, enough to cover the VAES latency on both Intel (one
 * 512-bit AES unit) and AMD Zen 4 (two 256-bit units, double-pumped).
 * The tweaks stay in registers: lane l of register j holds T * alpha^(4j
 * + l), and the next group is each times alpha^32. */
#define KG_VAES512 __attribute__((target("aes,sse4.1,avx2,vaes,avx512f,avx512bw,vpclmulqdq")))

/* Each 128-bit lane times alpha^K, 1 <= K <= 56 (IEEE 1619 5.2 applied K
 * times): a 128-bit left shift by K, the K bits shifted out of bit 127
 * folded back as their carry-less product with 0x87 (at most 64 bits for
 * K <= 56, so it lands in the low quadword). */
#define MUL_ALPHA_K(t, K, poly)                                                                     \
	_mm512_ternarylogic_epi64(_mm512_slli_epi64((t), (K)),                                      \
				  _mm512_bslli_epi128(_mm512_srli_epi64((t), 64 - (K)), 8),          \
				  _mm512_clmulepi64_epi128(                                          \
					  _mm512_bsrli_epi128(_mm512_srli_epi64((t), 64 - (K)), 8), (poly), 0x00), \
				  0x96)

#define XTS_NZ 8 /* 512-bit registers per group */

#define XTS_BODY_VAES512(KEYS, ROUND, LAST, ROUND512, LAST512)                                    \
	const __m128i *rk = (const __m128i *)(KEYS);                                               \
	const __m512i poly = _mm512_set_epi64(0, 0x87, 0, 0x87, 0, 0x87, 0, 0x87);                 \
	__m128i k[15];                                                                             \
	__m512i kk[15];                                                                            \
	for (int r = 0; r < 15; r++) {                                                             \
		k[r] = _mm_load_si128(&rk[r]);                                                     \
		kk[r] = _mm512_broadcast_i32x4(k[r]);                                              \
	}                                                                                          \
	for (size_t s = 0; s < len / sector_size; s++) {                                           \
		const uint8_t *in = src + s * sector_size;                                         \
		uint8_t *out = dst + s * sector_size;                                              \
		__m128i t = tweak0(x, sector + s);                                                 \
		size_t i = 0;                                                                      \
		if (sector_size >= 64 * XTS_NZ) {                                                  \
			__m128i t1 = mul_alpha(t), t2 = mul_alpha(t1), t3 = mul_alpha(t2);         \
			__m512i tw[XTS_NZ], b[XTS_NZ];                                             \
			tw[0] = _mm512_inserti32x4(                                                \
				_mm512_inserti32x4(_mm512_inserti32x4(_mm512_castsi128_si512(t), t1, 1), t2, 2), \
				t3, 3);                                                            \
			for (int j = 1; j < XTS_NZ; j++)                                           \
				tw[j] = MUL_ALPHA_K(tw[j - 1], 4, poly);                           \
			for (; i + 64 * XTS_NZ <= sector_size; i += 64 * XTS_NZ) {                 \
				for (int j = 0; j < XTS_NZ; j++)                                   \
					b[j] = _mm512_ternarylogic_epi64(                          \
						_mm512_loadu_si512((const void *)(in + i + 64 * j)), tw[j], kk[0], 0x96); \
				for (int r = 1; r < 14; r++)                                       \
					for (int j = 0; j < XTS_NZ; j++)                           \
						b[j] = ROUND512(b[j], kk[r]);                      \
				for (int j = 0; j < XTS_NZ; j++) {                                 \
					_mm512_storeu_si512((void *)(out + i + 64 * j),            \
							    _mm512_xor_si512(LAST512(b[j], kk[14]), tw[j])); \
					tw[j] = MUL_ALPHA_K(tw[j], 4 * XTS_NZ, poly);              \
				}                                                                  \
			}                                                                          \
			t = _mm512_castsi512_si128(tw[0]);                                         \
		}                                                                                  \
		for (; i + 16 <= sector_size; i += 16) {                                           \
			__m128i b1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + i)),     \
						   _mm_xor_si128(t, k[0]));                        \
			for (int r = 1; r < 14; r++)                                               \
				b1 = ROUND(b1, k[r]);                                              \
			_mm_storeu_si128((__m128i *)(out + i), _mm_xor_si128(LAST(b1, k[14]), t)); \
			t = mul_alpha(t);                                                          \
		}                                                                                  \
	}

KG_VAES512 static void xts_encrypt_vaes512(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst,
					   const uint8_t *src, size_t len)
{
	XTS_BODY_VAES512(x->ek, _mm_aesenc_si128, _mm_aesenclast_si128, _mm512_aesenc_epi128,
			 _mm512_aesenclast_epi128)
}

KG_VAES512 static void xts_decrypt_vaes512(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst,
					   const uint8_t *src, size_t len)
{
	XTS_BODY_VAES512(x->dk, _mm_aesdec_si128, _mm_aesdeclast_si128, _mm512_aesdec_epi128,
			 _mm512_aesdeclast_epi128)
}

/* Which wide path this CPU runs: 2 for VAES on AVX-512 (with AVX512F,
 * AVX512BW and VPCLMULQDQ, and XCR0 enabling opmask and ZMM state, bits
 * 5-7), 1 for VAES on AVX2 (XCR0 bits 1-2: YMM state), else 0.  CPUID
 * leaf 7 and XGETBV; SGX allows XGETBV in enclaves, and there XCR0 is the
 * enclave's XFRM, so an enclave without AVX-512 state takes the AVX2 path. */
static int cached_path = -1, forced_path = -1;

static int wide_path(void)
{
	unsigned a, b, c, d;
	int v, f = __atomic_load_n(&forced_path, __ATOMIC_RELAXED);

	v = __atomic_load_n(&cached_path, __ATOMIC_RELAXED);
	if (v >= 0)
		return f >= 0 && f < v ? f : v;
	v = 0;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_OSXSAVE) && (c & bit_AVX)) {
		unsigned lo, hi;
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		if ((lo & 6) == 6 && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX2) && (c & bit_VAES)) {
			v = 1;
			if ((lo & 0xe6) == 0xe6 && (b & bit_AVX512F) && (b & bit_AVX512BW) && (c & bit_VPCLMULQDQ))
				v = 2;
		}
	}
	__atomic_store_n(&cached_path, v, __ATOMIC_RELAXED);
	return f >= 0 && f < v ? f : v;
}

/* see kg_crypto.h */
int kg_xts_select(int path)
{
	__atomic_store_n(&forced_path, path < 0 ? -1 : path, __ATOMIC_RELAXED);
	return wide_path();
}

/* see kg_crypto.h */
KG_AES void kg_xts_encrypt(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst, const uint8_t *src,
			   size_t len)
{
	switch (wide_path()) {
	case 2:
		xts_encrypt_vaes512(x, sector, sector_size, dst, src, len);
		return;
	case 1:
		xts_encrypt_vaes(x, sector, sector_size, dst, src, len);
		return;
	default:
		break;
	}
	XTS_BODY(x->ek, _mm_aesenc_si128, _mm_aesenclast_si128)
}

/* see kg_crypto.h */
KG_AES void kg_xts_decrypt(const kg_xts *x, uint64_t sector, size_t sector_size, uint8_t *dst, const uint8_t *src,
			   size_t len)
{
	switch (wide_path()) {
	case 2:
		xts_decrypt_vaes512(x, sector, sector_size, dst, src, len);
		return;
	case 1:
		xts_decrypt_vaes(x, sector, sector_size, dst, src, len);
		return;
	default:
		break;
	}
	XTS_BODY(x->dk, _mm_aesdec_si128, _mm_aesdeclast_si128)
}

static void be32(uint8_t out[4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

/* see kg_crypto.h */
void kg_pbkdf2_sha256(const void *password, size_t password_len, const void *salt, size_t salt_len,
		      uint32_t iterations, uint8_t *out, size_t out_len)
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t u[32], t[32], idx[4];

	/* The key context holds the pads' compressed states: each iteration
	 * then costs two SHA-256 blocks, as in OpenSSL. */
	br_hmac_key_init(&kc, &br_sha256_vtable, password, password_len);
	for (uint32_t block = 1; out_len; block++) {
		size_t n = out_len < sizeof(t) ? out_len : sizeof(t);

		be32(idx, block);
		br_hmac_init(&hc, &kc, 0);
		br_hmac_update(&hc, salt, salt_len);
		br_hmac_update(&hc, idx, sizeof(idx));
		br_hmac_out(&hc, u);
		memcpy(t, u, sizeof(t));
		for (uint32_t i = 1; i < iterations; i++) {
			br_hmac_init(&hc, &kc, 0);
			br_hmac_update(&hc, u, sizeof(u));
			br_hmac_out(&hc, u);
			for (size_t j = 0; j < sizeof(t); j++)
				t[j] ^= u[j];
		}
		memcpy(out, t, n);
		out += n;
		out_len -= n;
	}
	ady_wipe(&kc, sizeof(kc));
	ady_wipe(&hc, sizeof(hc));
	ady_wipe(u, sizeof(u));
	ady_wipe(t, sizeof(t));
}

/* LUKS1 diffuse(): each digest-sized piece replaced by H(be32(i) ||
 * piece), a trailing partial piece by the truncated hash. */
static void diffuse(uint8_t *d, size_t len)
{
	br_sha256_context h;
	uint8_t dg[32], idx[4];

	for (size_t off = 0, i = 0; off < len; off += sizeof(dg), i++) {
		size_t n = len - off < sizeof(dg) ? len - off : sizeof(dg);

		be32(idx, (uint32_t)i);
		br_sha256_init(&h);
		br_sha256_update(&h, idx, sizeof(idx));
		br_sha256_update(&h, d + off, n);
		br_sha256_out(&h, dg);
		memcpy(d + off, dg, n);
	}
	ady_wipe(&h, sizeof(h));
	ady_wipe(dg, sizeof(dg));
}

/* see kg_crypto.h */
void kg_af_merge(const uint8_t *material, size_t key_len, uint32_t stripes, uint8_t *key)
{
	memset(key, 0, key_len);
	for (uint32_t s = 0; s + 1 < stripes; s++) {
		for (size_t j = 0; j < key_len; j++)
			key[j] ^= material[(size_t)s * key_len + j];
		diffuse(key, key_len);
	}
	for (size_t j = 0; j < key_len; j++)
		key[j] ^= material[(size_t)(stripes - 1) * key_len + j];
}

/* see kg_crypto.h */
void kg_af_split(const uint8_t *key, size_t key_len, uint32_t stripes, const uint8_t *random, uint8_t *material)
{
	uint8_t d[256];

	if (key_len > sizeof(d))
		return;
	memset(d, 0, key_len);
	for (uint32_t s = 0; s + 1 < stripes; s++) {
		memcpy(material + (size_t)s * key_len, random + (size_t)s * key_len, key_len);
		for (size_t j = 0; j < key_len; j++)
			d[j] ^= random[(size_t)s * key_len + j];
		diffuse(d, key_len);
	}
	for (size_t j = 0; j < key_len; j++)
		material[(size_t)(stripes - 1) * key_len + j] = d[j] ^ key[j];
	ady_wipe(d, sizeof(d));
}
