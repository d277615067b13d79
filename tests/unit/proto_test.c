/* Unit tests of the adytond wire protocol (src/format/proto.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "adyton/proto.h"

/* ---- a uniform view of the fixed-size payload codecs ------------------ */

typedef struct codec {
	const char *name;
	uint16_t type;
	size_t size;  /* wire bytes */
	size_t msize; /* struct bytes */
	ady_err (*enc)(const void *m, uint8_t *buf, size_t cap, size_t *len);
	ady_err (*dec)(const uint8_t *p, size_t len, void *m);
	void (*fill)(void *m); /* a valid message with every field nonzero */
	/* Bytes that must be zero: [z0, z1) and [z2, z3). */
	size_t z0, z1, z2, z3;
	int status_at; /* offset of a status u32, or -1 */
	bool zero_on_error; /* a failure status forbids the rest */
} codec;

#define WRAP(name, T)                                                                                              \
	static ady_err enc_##name(const void *m, uint8_t *buf, size_t cap, size_t *len)                            \
	{                                                                                                          \
		return ady_proto_encode_##name((const T *)m, buf, cap, len);                                         \
	}                                                                                                          \
	static ady_err dec_##name(const uint8_t *p, size_t len, void *m) { return ady_proto_decode_##name(p, len, (T *)m); }

WRAP(launch, ady_proto_launch)
WRAP(launched, ady_proto_launched)
WRAP(destroy, ady_proto_destroy)
WRAP(status, ady_proto_status)
WRAP(host_ready, ady_proto_host_ready)
WRAP(getkey, ady_proto_getkey)
WRAP(key, ady_proto_key)
WRAP(report, ady_proto_report)
WRAP(reported, ady_proto_reported)
WRAP(seeded, ady_proto_seeded)

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i + 1);
}

static void fill_launch(void *v)
{
	ady_proto_launch *m = v;

	memset(m, 0, sizeof(*m));
	m->backend = 2; /* PROCESS */
}

static void fill_launched(void *v)
{
	ady_proto_launched *m = v;

	memset(m, 0, sizeof(*m));
	m->status = ADY_OK;
	m->threads = 0x11121314;
	m->id = 0x2122232425262728ull;
	m->msbuf_size = 0x3132333435363738ull;
	m->channel_size = 0x4142434445464748ull;
	m->attributes = 0x5152535455565758ull;
	m->host_pid = 0x61626364;
	m->flags = ADY_LAUNCH_WEAK_MEMORY;
	m->isvprodid = 0x7172;
	m->isvsvn = 0x8182;
	pattern(m->mrenclave, 32, 0x90);
	pattern(m->mrsigner, 32, 0xb0);
}

static void fill_destroy(void *v)
{
	ady_proto_destroy *m = v;

	memset(m, 0, sizeof(*m));
	m->id = 0x0102030405060708ull;
}

static void fill_status(void *v)
{
	ady_proto_status *m = v;

	memset(m, 0, sizeof(*m));
	m->status = ADY_ERR_PERMISSION;
}

static void fill_host_ready(void *v)
{
	ady_proto_host_ready *m = v;

	memset(m, 0, sizeof(*m));
	m->status = ADY_ERR_SIGNATURE;
	m->flags = ADY_LAUNCH_WEAK_MEMORY;
	pattern(m->mrenclave, 32, 1);
	pattern(m->mrsigner, 32, 2);
}

static void fill_getkey(void *v)
{
	ady_proto_getkey *m = v;

	pattern(m->keyrequest, sizeof(m->keyrequest), 3);
}

static void fill_key(void *v)
{
	ady_proto_key *m = v;

	memset(m, 0, sizeof(*m));
	pattern(m->key, sizeof(m->key), 4);
}

static void fill_report(void *v)
{
	ady_proto_report *m = v;

	pattern(m->targetinfo, sizeof(m->targetinfo), 5);
	pattern(m->reportdata, sizeof(m->reportdata), 6);
}

static void fill_reported(void *v)
{
	ady_proto_reported *m = v;

	memset(m, 0, sizeof(*m));
	pattern(m->report, sizeof(m->report), 7);
}

static void fill_seeded(void *v)
{
	ady_proto_seeded *m = v;

	memset(m, 0, sizeof(*m));
	pattern(m->seed, sizeof(m->seed), 8);
}

#define C(n, t, sz, T, z0, z1, z2, z3, st, zoe)                                                                   \
	{ #n, t, sz, sizeof(T), enc_##n, dec_##n, fill_##n, z0, z1, z2, z3, st, zoe }

static const codec codecs[] = {
	/* launch: reserved must be zero (flags, spin_us: test_launch) */
	C(launch, ADY_PROTO_LAUNCH, 16, ady_proto_launch, 12, 16, 0, 0, -1, false),
	C(launched, ADY_PROTO_LAUNCHED, 128, ady_proto_launched, 52, 56, 120, 128, 0, true),
	C(destroy, ADY_PROTO_DESTROY, 8, ady_proto_destroy, 0, 0, 0, 0, -1, false),
	C(status, ADY_PROTO_STATUS, 8, ady_proto_status, 4, 8, 0, 0, 0, false),
	C(host_ready, ADY_PROTO_HOST_READY, 72, ady_proto_host_ready, 0, 0, 0, 0, 0, false),
	C(getkey, ADY_PROTO_GETKEY, 512, ady_proto_getkey, 0, 0, 0, 0, -1, false),
	C(key, ADY_PROTO_KEY, 24, ady_proto_key, 4, 8, 0, 0, 0, true),
	C(report, ADY_PROTO_REPORT, 576, ady_proto_report, 0, 0, 0, 0, -1, false),
	C(reported, ADY_PROTO_REPORTED, 440, ady_proto_reported, 4, 8, 0, 0, 0, true),
	C(seeded, ADY_PROTO_SEEDED, 40, ady_proto_seeded, 4, 8, 0, 0, 0, true),
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Large enough for every struct and wire form. */
typedef union anymsg {
	ady_proto_launch launch;
	ady_proto_launched launched;
	ady_proto_destroy destroy;
	ady_proto_status status;
	ady_proto_host_ready host_ready;
	ady_proto_getkey getkey;
	ady_proto_key key;
	ady_proto_report report;
	ady_proto_reported reported;
	ady_proto_seeded seeded;
	ady_proto_aborted aborted;
} anymsg;

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i])
			return false;
	}
	return true;
}

/* ---- header ---------------------------------------------------------- */

static ady_err hdr(uint16_t type, uint32_t length, ady_proto_hdr *h)
{
	uint8_t b[16];

	ady_proto_encode_header(b, type, length);
	return ady_proto_decode_header(b, h);
}

static void test_header_layout(void **state)
{
	static const uint8_t want[16] = { 'A', 'D', 'Y', 'P', 1, 0, 0x82, 0, 0x78, 0, 0, 0, 0, 0, 0, 0 };
	uint8_t b[16];
	ady_proto_hdr h;

	(void)state;
	ady_proto_encode_header(b, ADY_PROTO_LISTING, 8 + 112);
	assert_memory_equal(b, want, 16);
	assert_int_equal(ady_proto_decode_header(b, &h), ADY_OK);
	assert_int_equal(h.type, ADY_PROTO_LISTING);
	assert_int_equal(h.length, 120);
}

static void test_header_every_type(void **state)
{
	ady_proto_hdr h;

	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		assert_int_equal(hdr(codecs[i].type, (uint32_t)codecs[i].size, &h), ADY_OK);
		assert_int_equal(h.type, codecs[i].type);
		assert_int_equal(h.length, codecs[i].size);
		/* Fixed types: exactly their size. */
		assert_int_equal(hdr(codecs[i].type, (uint32_t)codecs[i].size + 1, &h), ADY_ERR_PROTOCOL);
		assert_int_equal(h.type, 0);
		assert_int_equal(h.length, 0);
		assert_int_equal(hdr(codecs[i].type, (uint32_t)codecs[i].size - 1, &h), ADY_ERR_PROTOCOL);
		assert_int_equal(hdr(codecs[i].type, 0, &h), ADY_ERR_PROTOCOL);
	}
	/* The empty messages. */
	assert_int_equal(hdr(ADY_PROTO_LIST, 0, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_SEED, 0, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_LIST, 1, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_SEED, 8, &h), ADY_ERR_PROTOCOL);
}

static void test_header_variable_lengths(void **state)
{
	ady_proto_hdr h;

	(void)state;
	/* LISTING: 8 + 72n, n <= ADY_LISTING_MAX. */
	assert_int_equal(ADY_LISTING_MAX, 585);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8 + 112, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8 + 112 * ADY_LISTING_MAX, &h), ADY_OK);
	assert_int_equal(h.length, 8 + 112 * ADY_LISTING_MAX);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8 + 112 * (ADY_LISTING_MAX + 1), &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 0, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 7, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 9, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8 + 111, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, 8 + 113, &h), ADY_ERR_PROTOCOL);
	/* ABORTED: 4 .. 4 + 512. */
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 4, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 5, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 4 + ADY_PROTO_MAX_REASON, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 3, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 0, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, 5 + ADY_PROTO_MAX_REASON, &h), ADY_ERR_PROTOCOL);
	/* REFUSED: as ABORTED. */
	assert_int_equal(hdr(ADY_PROTO_REFUSED, 4, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_REFUSED, 4 + ADY_PROTO_MAX_REASON, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_REFUSED, 3, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_REFUSED, 5 + ADY_PROTO_MAX_REASON, &h), ADY_ERR_PROTOCOL);
	/* Over the cap, for every kind. */
	assert_int_equal(hdr(ADY_PROTO_LISTING, ADY_PROTO_MAX_PAYLOAD + 1, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, UINT32_MAX, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LISTING, UINT32_MAX - 7, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_ABORTED, UINT32_MAX, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_REPORT, UINT32_MAX, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_LIST, ADY_PROTO_MAX_PAYLOAD, &h), ADY_ERR_PROTOCOL);
}

static void test_header_violations(void **state)
{
	uint8_t good[16], b[16];
	ady_proto_hdr h;

	(void)state;
	ady_proto_encode_header(good, ADY_PROTO_DESTROY, 8);
	assert_int_equal(ady_proto_decode_header(good, &h), ADY_OK);

	/* Any change to magic, version or reserved is refused. */
	for (size_t i = 0; i < 16; i++) {
		if (i >= 6 && i < 12)
			continue; /* type and length: below */
		for (unsigned bit = 0; bit < 8; bit++) {
			memcpy(b, good, 16);
			b[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(ady_proto_decode_header(b, &h), ADY_ERR_PROTOCOL);
			assert_int_equal(h.type, 0);
		}
	}
	memcpy(b, good, 16);
	b[4] = 0; /* version 0 */
	assert_int_equal(ady_proto_decode_header(b, &h), ADY_ERR_PROTOCOL);
	b[4] = 2; /* version 2 */
	assert_int_equal(ady_proto_decode_header(b, &h), ADY_ERR_PROTOCOL);

	/* Unknown types, including the neighbours of known ones. */
	static const uint16_t unknown[] = { 0x00, 0x05, 0x20, 0x26, 0x80, 0x86, 0xa1, 0xa5, 0x101, 0x8201, 0xffff };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(hdr(unknown[i], 0, &h), ADY_ERR_PROTOCOL);
		assert_int_equal(hdr(unknown[i], 8, &h), ADY_ERR_PROTOCOL);
	}
	assert_int_equal(ady_proto_decode_header(good, NULL), ADY_ERR_INVALID_ARG);
}

/* ---- fixed-size payloads --------------------------------------------- */

static void test_roundtrip_all(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in, out;
		uint8_t buf[1024], again[1024];
		size_t len = 0, len2 = 0;

		memset(&in, 0, sizeof(in));
		k->fill(&in);
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(k->enc(&in, buf, sizeof(buf), &len), ADY_OK);
		assert_int_equal(len, k->size);
		assert_int_equal(buf[len], 0xee); /* nothing written past the payload */
		memset(&out, 0xcc, sizeof(out));
		assert_int_equal(k->dec(buf, len, &out), ADY_OK);
		assert_memory_equal(&in, &out, k->msize);
		assert_int_equal(k->enc(&out, again, sizeof(again), &len2), ADY_OK);
		assert_int_equal(len2, len);
		assert_memory_equal(buf, again, len);
		/* The header the peer would send for it passes. */
		ady_proto_hdr h;
		assert_int_equal(hdr(k->type, (uint32_t)len, &h), ADY_OK);
	}
}

static void test_short_buffer(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in;
		uint8_t buf[1024];
		size_t len = 0;

		k->fill(&in);
		assert_int_equal(k->enc(&in, buf, k->size - 1, &len), ADY_ERR_SHORT_BUFFER);
		assert_int_equal(len, k->size);
		len = 0;
		assert_int_equal(k->enc(&in, NULL, 0, &len), ADY_ERR_SHORT_BUFFER);
		assert_int_equal(len, k->size);
		assert_int_equal(k->enc(&in, buf, sizeof(buf), NULL), ADY_ERR_INVALID_ARG);
		assert_int_equal(k->enc(NULL, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
		assert_int_equal(len, 0);
		assert_int_equal(k->dec(buf, k->size, NULL), ADY_ERR_INVALID_ARG);
	}
}

static void test_wrong_length(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in, out;
		uint8_t buf[1024];
		size_t len = 0;

		k->fill(&in);
		assert_int_equal(k->enc(&in, buf, sizeof(buf), &len), ADY_OK);
		/* Too short and too long are both a protocol error, not TRUNCATED. */
		assert_int_equal(k->dec(buf, len - 1, &out), ADY_ERR_PROTOCOL);
		assert_true(all_zero(&out, k->msize));
		assert_int_equal(k->dec(buf, len + 1, &out), ADY_ERR_PROTOCOL);
		assert_int_equal(k->dec(buf, 0, &out), ADY_ERR_PROTOCOL);
		assert_int_equal(k->dec(NULL, 0, &out), ADY_ERR_PROTOCOL);
		assert_int_equal(k->dec(NULL, len, &out), ADY_ERR_INVALID_ARG);
	}
}

static void test_reserved_must_be_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in, out;
		uint8_t buf[1024], bad[1024];
		size_t len = 0;

		k->fill(&in);
		assert_int_equal(k->enc(&in, buf, sizeof(buf), &len), ADY_OK);
		for (size_t off = 0; off < len; off++) {
			bool reserved = (off >= k->z0 && off < k->z1) || (off >= k->z2 && off < k->z3);

			if (!reserved)
				continue;
			assert_int_equal(buf[off], 0);
			memcpy(bad, buf, len);
			bad[off] = 0x01;
			memset(&out, 0xcc, sizeof(out));
			assert_int_equal(k->dec(bad, len, &out), ADY_ERR_PROTOCOL);
			assert_true(all_zero(&out, k->msize));
			bad[off] = 0x80;
			assert_int_equal(k->dec(bad, len, &out), ADY_ERR_PROTOCOL);
		}
	}
}

static void test_status_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in, out;
		uint8_t buf[1024], bad[1024];
		size_t len = 0;

		if (k->status_at < 0)
			continue;
		k->fill(&in);
		assert_int_equal(k->enc(&in, buf, sizeof(buf), &len), ADY_OK);
		/* Unknown status codes. */
		static const uint32_t unknown[] = { ADY_ERR_MAX_, ADY_ERR_MAX_ + 1, 0x80000000u, UINT32_MAX };
		for (size_t u = 0; u < sizeof(unknown) / sizeof(unknown[0]); u++) {
			memcpy(bad, buf, len);
			wr32(bad + k->status_at, unknown[u]);
			assert_int_equal(k->dec(bad, len, &out), ADY_ERR_PROTOCOL);
		}
		/* A failure with nothing else decodes and re-encodes. */
		memset(bad, 0, len);
		wr32(bad + k->status_at, ADY_ERR_BACKEND);
		assert_int_equal(k->dec(bad, len, &out), ADY_OK);
		assert_int_equal(rd32((const uint8_t *)&out), ADY_ERR_BACKEND);
		/* A failure that carries data. */
		memcpy(bad, buf, len);
		wr32(bad + k->status_at, ADY_ERR_BACKEND);
		assert_int_equal(k->dec(bad, len, &out), k->zero_on_error ? ADY_ERR_PROTOCOL : ADY_OK);
		/* Encoders refuse what decoders refuse. */
		memcpy(&out, &in, sizeof(out));
		wr32((uint8_t *)&out, ADY_ERR_MAX_);
		assert_int_equal(k->enc(&out, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
		memcpy(&out, &in, sizeof(out));
		wr32((uint8_t *)&out, ADY_ERR_BACKEND);
		assert_int_equal(k->enc(&out, buf, sizeof(buf), &len), k->zero_on_error ? ADY_ERR_INVALID_ARG : ADY_OK);
	}
}

/* Every byte value at every offset: what decodes re-encodes identically. */
static void test_mutations_roundtrip(void **state)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x02, 0x04, 0x7f, 0x80, 0xff };

	(void)state;
	for (size_t i = 0; i < NCODECS; i++) {
		const codec *k = &codecs[i];
		anymsg in, out;
		uint8_t buf[1024], mut[1024], again[1024];
		size_t len = 0, len2;

		k->fill(&in);
		assert_int_equal(k->enc(&in, buf, sizeof(buf), &len), ADY_OK);
		for (size_t off = 0; off < len; off++) {
			for (size_t v = 0; v < sizeof(vals); v++) {
				memcpy(mut, buf, len);
				mut[off] = vals[v];
				if (k->dec(mut, len, &out) != ADY_OK)
					continue;
				assert_int_equal(k->enc(&out, again, sizeof(again), &len2), ADY_OK);
				assert_int_equal(len2, len);
				assert_memory_equal(again, mut, len);
			}
		}
	}
}

static void test_launch(void **state)
{
	ady_proto_launch m, out;
	uint8_t buf[16];
	size_t len;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.backend = 3;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(rd32(buf), 3);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_OK);
	assert_int_equal(out.backend, 3);
	/* Unknown backend, flags, reserved. */
	wr32(buf, 4);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_ERR_PROTOCOL);
	wr32(buf, UINT32_MAX);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_ERR_PROTOCOL);
	m.backend = 4;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	m.backend = 0;
	m.flags = 2;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	/* the one request flag round trips; every other bit is refused */
	m.flags = ADY_LAUNCH_EXIT_PER_CALL;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_OK);
	assert_int_equal(out.flags, ADY_LAUNCH_EXIT_PER_CALL);
	for (unsigned bit = 1; bit < 32; bit++) {
		wr32(buf + 4, 1u << bit);
		assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_ERR_PROTOCOL);
	}
	m.flags = 0;
	m.reserved = 1u << 31;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	m.reserved = 0;
	/* the spin: up to its cap */
	m.spin_us = ADY_LAUNCH_MAX_SPIN_US;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_OK);
	assert_int_equal(out.spin_us, ADY_LAUNCH_MAX_SPIN_US);
	wr32(buf + 8, ADY_LAUNCH_MAX_SPIN_US + 1);
	assert_int_equal(ady_proto_decode_launch(buf, len, &out), ADY_ERR_PROTOCOL);
	m.spin_us = ADY_LAUNCH_MAX_SPIN_US + 1;
	assert_int_equal(ady_proto_encode_launch(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
}

static void test_launched_layout(void **state)
{
	ady_proto_launched m, out;
	uint8_t buf[128];
	size_t len;

	(void)state;
	fill_launched(&m);
	assert_int_equal(ady_proto_encode_launched(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(len, 128);
	assert_int_equal(rd32(buf + 0), m.status);
	assert_int_equal(rd32(buf + 4), m.threads);
	assert_true(rd64(buf + 8) == m.id);
	assert_true(rd64(buf + 16) == m.msbuf_size);
	assert_true(rd64(buf + 24) == m.channel_size);
	assert_true(rd64(buf + 32) == m.attributes);
	assert_int_equal(rd32(buf + 40), m.host_pid);
	assert_int_equal(rd32(buf + 44), m.flags);
	assert_int_equal(buf[48] | buf[49] << 8, m.isvprodid);
	assert_int_equal(buf[50] | buf[51] << 8, m.isvsvn);
	assert_memory_equal(buf + 56, m.mrenclave, 32);
	assert_memory_equal(buf + 88, m.mrsigner, 32);
	/* Unknown launch flags. */
	wr32(buf + 44, 2);
	assert_int_equal(ady_proto_decode_launched(buf, len, &out), ADY_ERR_PROTOCOL);
	m.flags = 0x80000000u;
	assert_int_equal(ady_proto_encode_launched(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
}

static void test_other_layouts(void **state)
{
	ady_proto_host_ready hr;
	ady_proto_key k;
	ady_proto_reported r;
	ady_proto_seeded s;
	ady_proto_report rp;
	ady_proto_status st;
	uint8_t buf[1024];
	size_t len;

	(void)state;
	fill_host_ready(&hr);
	assert_int_equal(ady_proto_encode_host_ready(&hr, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(rd32(buf), ADY_ERR_SIGNATURE);
	assert_int_equal(rd32(buf + 4), ADY_LAUNCH_WEAK_MEMORY);
	assert_memory_equal(buf + 8, hr.mrenclave, 32);
	assert_memory_equal(buf + 40, hr.mrsigner, 32);
	/* Unknown flags. */
	wr32(buf + 4, 2);
	assert_int_equal(ady_proto_decode_host_ready(buf, len, &hr), ADY_ERR_PROTOCOL);
	fill_host_ready(&hr);
	hr.flags = 0x80000000u;
	assert_int_equal(ady_proto_encode_host_ready(&hr, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	fill_key(&k);
	assert_int_equal(ady_proto_encode_key(&k, buf, sizeof(buf), &len), ADY_OK);
	assert_memory_equal(buf + 8, k.key, 16);
	fill_reported(&r);
	assert_int_equal(ady_proto_encode_reported(&r, buf, sizeof(buf), &len), ADY_OK);
	assert_memory_equal(buf + 8, r.report, 432);
	fill_seeded(&s);
	assert_int_equal(ady_proto_encode_seeded(&s, buf, sizeof(buf), &len), ADY_OK);
	assert_memory_equal(buf + 8, s.seed, 32);
	fill_report(&rp);
	assert_int_equal(ady_proto_encode_report(&rp, buf, sizeof(buf), &len), ADY_OK);
	assert_memory_equal(buf, rp.targetinfo, 512);
	assert_memory_equal(buf + 512, rp.reportdata, 64);
	fill_status(&st);
	assert_int_equal(ady_proto_encode_status(&st, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(rd32(buf), ADY_ERR_PERMISSION);
	assert_int_equal(rd32(buf + 4), 0);
}

/* ---- LISTING --------------------------------------------------------- */

static ady_listing_entry entries[ADY_LISTING_MAX + 1];
static uint8_t big[8 + 112 * (ADY_LISTING_MAX + 1)];

static void fill_entries(void)
{
	for (uint32_t i = 0; i < ADY_LISTING_MAX + 1; i++) {
		ady_listing_entry *e = &entries[i];

		memset(e, 0, sizeof(*e));
		e->id = 0x1000000000ull + i;
		e->owner_uid = 1000 + i;
		e->host_pid = 4000 + i;
		e->backend = 2;
		e->flags = i & 1;
		e->memory = (uint64_t)i << 20;
		e->started = 1700000000ull + i;
		pattern(e->mrenclave, 32, (uint8_t)i);
		e->pages = 0x100000000ull + i;
		if (i % 3)
			snprintf(e->tenant, sizeof(e->tenant), "t_%u", (unsigned)i);
	}
}

static void check_listing(uint32_t n)
{
	size_t len = 0, len2 = 0;
	uint32_t count = 99;
	ady_listing_entry e;
	ady_proto_hdr h;

	assert_int_equal(ady_proto_encode_listing(entries, n, big, sizeof(big), &len), ADY_OK);
	assert_int_equal(len, 8 + 112 * (size_t)n);
	assert_int_equal(rd32(big), n);
	assert_int_equal(rd32(big + 4), 0);
	assert_int_equal(hdr(ADY_PROTO_LISTING, (uint32_t)len, &h), ADY_OK);
	assert_int_equal(ady_proto_decode_listing(big, len, 0, &count, NULL), ADY_OK);
	assert_int_equal(count, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(ady_proto_decode_listing(big, len, i, &count, &e), ADY_OK);
		assert_memory_equal(&e, &entries[i], sizeof(e));
	}
	assert_int_equal(ady_proto_decode_listing(big, len, n, &count, &e), ADY_ERR_RANGE);
	assert_int_equal(count, n);
	assert_true(all_zero(&e, sizeof(e)));
	/* Too small a buffer. */
	assert_int_equal(ady_proto_encode_listing(entries, n, big, len - 1, &len2), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(len2, len);
}

static void test_listing_sizes(void **state)
{
	size_t len = 0;
	ady_listing_entry e;
	uint32_t count;

	(void)state;
	fill_entries();
	check_listing(0);
	check_listing(1);
	check_listing(2);
	check_listing(ADY_LISTING_MAX);
	/* One too many. */
	assert_int_equal(ady_proto_encode_listing(entries, ADY_LISTING_MAX + 1, big, sizeof(big), &len),
			 ADY_ERR_INVALID_ARG);
	memset(big, 0, sizeof(big));
	wr32(big, ADY_LISTING_MAX + 1);
	for (uint32_t i = 0; i < ADY_LISTING_MAX + 1; i++)
		big[8 + 112 * i + 16] = 2;
	assert_int_equal(ady_proto_decode_listing(big, sizeof(big), 0, &count, &e), ADY_ERR_PROTOCOL);
	assert_int_equal(count, 0);
	/* An empty listing from NULL entries. */
	assert_int_equal(ady_proto_encode_listing(NULL, 0, big, sizeof(big), &len), ADY_OK);
	assert_int_equal(len, 8);
	assert_int_equal(ady_proto_encode_listing(NULL, 1, big, sizeof(big), &len), ADY_ERR_INVALID_ARG);
}

static void test_listing_violations(void **state)
{
	uint8_t buf[8 + 112 * 3], bad[8 + 112 * 3 + 112];
	size_t len = 0;
	uint32_t count;
	ady_listing_entry e;

	(void)state;
	fill_entries();
	assert_int_equal(ady_proto_encode_listing(entries, 3, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(len, sizeof(buf));

	/* count disagrees with the length. */
	memcpy(bad, buf, len);
	wr32(bad, 2);
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	wr32(bad, 4);
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	wr32(bad, UINT32_MAX);
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	/* Truncated or extended payloads. */
	assert_int_equal(ady_proto_decode_listing(buf, len - 1, 0, &count, NULL), ADY_ERR_PROTOCOL);
	assert_int_equal(ady_proto_decode_listing(buf, 7, 0, &count, NULL), ADY_ERR_PROTOCOL);
	assert_int_equal(ady_proto_decode_listing(buf, 0, 0, &count, NULL), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	memset(bad + len, 0, 112);
	assert_int_equal(ady_proto_decode_listing(bad, len + 112, 0, &count, NULL), ADY_ERR_PROTOCOL);
	/* Reserved header word. */
	for (size_t off = 4; off < 8; off++) {
		memcpy(bad, buf, len);
		bad[off] = 1;
		assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
		assert_int_equal(count, 0);
	}
	/* A bad last entry fails the message even when asking for entry 0. */
	memcpy(bad, buf, len);
	wr32(bad + 8 + 112 * 2 + 16, 4); /* backend */
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, &e), ADY_ERR_PROTOCOL);
	assert_true(all_zero(&e, sizeof(e)));
	memcpy(bad, buf, len);
	wr32(bad + 8 + 112 * 2 + 20, 2); /* flags */
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	/* Entry layout. */
	assert_true(rd64(buf + 8 + 112) == entries[1].id);
	assert_int_equal(rd32(buf + 8 + 112 + 8), entries[1].owner_uid);
	assert_int_equal(rd32(buf + 8 + 112 + 12), entries[1].host_pid);
	assert_int_equal(rd32(buf + 8 + 112 + 16), entries[1].backend);
	assert_int_equal(rd32(buf + 8 + 112 + 20), entries[1].flags);
	assert_true(rd64(buf + 8 + 112 + 24) == entries[1].memory);
	assert_true(rd64(buf + 8 + 112 + 32) == entries[1].started);
	assert_memory_equal(buf + 8 + 112 + 40, entries[1].mrenclave, 32);
	assert_true(rd64(buf + 8 + 112 + 72) == entries[1].pages);
	assert_memory_equal(buf + 8 + 112 + 80, "t_1\0", 4);
	/* A tenant name: [a-z0-9_], NUL-padded, at most 31 bytes. */
	static const char *const bad_tenants[] = { "Acme", "a-b", "a b", "\x7f" };
	for (size_t k = 0; k < sizeof(bad_tenants) / sizeof(bad_tenants[0]); k++) {
		memcpy(bad, buf, len);
		memcpy(bad + 8 + 112 + 80, bad_tenants[k], strlen(bad_tenants[k]));
		assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	}
	memcpy(bad, buf, len);
	bad[8 + 112 + 80 + 5] = 'x'; /* a byte after the terminating NUL */
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	memset(bad + 8 + 112 + 80, 'a', 32); /* no NUL */
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	memset(bad + 8 + 112 + 80, 'a', 31); /* 31 and a NUL: the longest name */
	assert_int_equal(ady_proto_decode_listing(bad, len, 0, &count, NULL), ADY_OK);
	memcpy(entries[1].tenant, "Acme", 5);
	assert_int_equal(ady_proto_encode_listing(entries, 3, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	snprintf(entries[1].tenant, sizeof(entries[1].tenant), "t_1");
	/* Encoder refuses bad entries and bad arguments. */
	entries[1].backend = 9;
	assert_int_equal(ady_proto_encode_listing(entries, 3, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	entries[1].backend = 2;
	assert_int_equal(ady_proto_decode_listing(buf, sizeof(buf), 0, NULL, NULL), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_proto_decode_listing(NULL, 8, 0, &count, NULL), ADY_ERR_INVALID_ARG);
}

/* ---- CAPACITY_INFO ---------------------------------------------------- */

static void test_capacity(void **state)
{
	static ady_proto_capacity m, out;
	static uint8_t buf[48 + 64 * 33], bad[sizeof(buf)];
	size_t len = 0, len2 = 0;
	ady_proto_hdr h;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.total_pages = 0x0102030405060708ull;
	m.free_pages = 11;
	m.allocated_pages = 12;
	m.high_water_pages = 13;
	m.cert_type = 0xad02;
	m.ntenants = 2;
	snprintf(m.tenants[0].name, sizeof(m.tenants[0].name), "acme");
	m.tenants[0].pages = 21;
	m.tenants[0].max_pages = 22;
	m.tenants[0].count = 23;
	m.tenants[0].max_enclaves = 24;
	memset(m.tenants[1].name, 'z', 31);
	assert_int_equal(ady_proto_encode_capacity(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(len, 48 + 64 * 2);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, (uint32_t)len, &h), ADY_OK);
	assert_true(rd64(buf) == m.total_pages);
	assert_int_equal(buf[32], 0x02);
	assert_int_equal(buf[33], 0xad);
	assert_int_equal(rd32(buf + 36), 2);
	assert_memory_equal(buf + 48, "acme\0", 5);
	assert_true(rd64(buf + 48 + 32) == 21);
	assert_int_equal(rd32(buf + 48 + 52), 24);
	assert_int_equal(ady_proto_decode_capacity(buf, len, &out), ADY_OK);
	assert_memory_equal(&out, &m, sizeof(m));
	assert_int_equal(ady_proto_encode_capacity(&m, buf, len - 1, &len2), ADY_ERR_SHORT_BUFFER);
	assert_int_equal(len2, len);
	/* frames: 48 + 64n, n <= 32 */
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, 48, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, 47, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, 49, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, 48 + 64 * 32, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY_INFO, 48 + 64 * 33, &h), ADY_ERR_PROTOCOL);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY, 0, &h), ADY_OK);
	assert_int_equal(hdr(ADY_PROTO_CAPACITY, 1, &h), ADY_ERR_PROTOCOL);
	/* violations: each refused, nothing left behind */
	static const size_t offs[] = { 34, 35, 40, 47, 48 + 56, 48 + 63, 48 + 64 + 56 };
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) { /* reserved bytes */
		memcpy(bad, buf, len);
		bad[offs[i]] = 1;
		assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
		assert_true(all_zero(&out, sizeof(out)));
	}
	memcpy(bad, buf, len);
	wr32(bad + 36, 3); /* count disagrees with the frame */
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	wr32(bad + 36, 1);
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	bad[32] = 0x03; /* cert type 0xad03 */
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	bad[48] = 'A'; /* a name not [a-z0-9_] */
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	bad[48 + 64 + 31] = 'z'; /* 32 bytes, no NUL */
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	memcpy(bad, buf, len);
	memset(bad + 48, 0, 32); /* an empty name */
	assert_int_equal(ady_proto_decode_capacity(bad, len, &out), ADY_ERR_PROTOCOL);
	assert_int_equal(ady_proto_decode_capacity(buf, len - 1, &out), ADY_ERR_PROTOCOL);
	assert_int_equal(ady_proto_decode_capacity(buf, len + 64, &out), ADY_ERR_PROTOCOL);
	/* the encoder refuses what the decoder would */
	m.ntenants = 33;
	assert_int_equal(ady_proto_encode_capacity(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	m.ntenants = 2;
	m.cert_type = 0;
	assert_int_equal(ady_proto_encode_capacity(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	m.cert_type = 0xad01;
	m.tenants[1].name[0] = '\0';
	assert_int_equal(ady_proto_encode_capacity(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
}

/* ---- ABORTED --------------------------------------------------------- */

static void test_aborted(void **state)
{
	ady_proto_aborted m, out;
	uint8_t buf[4 + ADY_PROTO_MAX_REASON + 8], again[sizeof(buf)];
	size_t len = 0, len2 = 0;
	ady_proto_hdr h;

	(void)state;
	for (uint32_t n = 0; n <= ADY_PROTO_MAX_REASON; n += (n < 4 ? 1 : 127)) {
		memset(&m, 0, sizeof(m));
		m.len = n;
		pattern(m.reason, n, 0x30);
		assert_int_equal(ady_proto_encode_aborted(&m, buf, sizeof(buf), &len), ADY_OK);
		assert_int_equal(len, 4 + n);
		assert_int_equal(rd32(buf), n);
		assert_int_equal(hdr(ADY_PROTO_ABORTED, (uint32_t)len, &h), ADY_OK);
		memset(&out, 0xcc, sizeof(out));
		assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_OK);
		assert_memory_equal(&out, &m, sizeof(m)); /* reason zero after len */
		assert_int_equal(ady_proto_encode_aborted(&out, again, sizeof(again), &len2), ADY_OK);
		assert_int_equal(len2, len);
		assert_memory_equal(again, buf, len);
		assert_int_equal(ady_proto_encode_aborted(&m, buf, len - 1, &len2), ADY_ERR_SHORT_BUFFER);
		assert_int_equal(len2, len);
	}
	/* The maximum. */
	m.len = ADY_PROTO_MAX_REASON;
	pattern(m.reason, ADY_PROTO_MAX_REASON, 1);
	assert_int_equal(ady_proto_encode_aborted(&m, buf, sizeof(buf), &len), ADY_OK);
	assert_int_equal(len, 4 + ADY_PROTO_MAX_REASON);
	assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_OK);
	assert_memory_equal(&out, &m, sizeof(m));

	/* len mismatch with the payload, both ways. */
	memset(&m, 0, sizeof(m));
	m.len = 10;
	assert_int_equal(ady_proto_encode_aborted(&m, buf, sizeof(buf), &len), ADY_OK);
	wr32(buf, 9);
	assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_ERR_PROTOCOL);
	assert_true(all_zero(&out, sizeof(out)));
	wr32(buf, 11);
	assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_ERR_PROTOCOL);
	wr32(buf, UINT32_MAX);
	assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_ERR_PROTOCOL);
	wr32(buf, 10);
	assert_int_equal(ady_proto_decode_aborted(buf, len, &out), ADY_OK);
	assert_int_equal(ady_proto_decode_aborted(buf, len - 1, &out), ADY_ERR_PROTOCOL);
	/* Payload lengths outside 4 .. 4 + 512. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(ady_proto_decode_aborted(buf, 3, &out), ADY_ERR_PROTOCOL);
	assert_int_equal(ady_proto_decode_aborted(buf, 0, &out), ADY_ERR_PROTOCOL);
	wr32(buf, ADY_PROTO_MAX_REASON + 1);
	assert_int_equal(ady_proto_decode_aborted(buf, 4 + ADY_PROTO_MAX_REASON + 1, &out), ADY_ERR_PROTOCOL);
	/* Encoder: len over the cap. */
	m.len = ADY_PROTO_MAX_REASON + 1;
	assert_int_equal(ady_proto_encode_aborted(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	m.len = UINT32_MAX;
	assert_int_equal(ady_proto_encode_aborted(&m, buf, sizeof(buf), &len), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_proto_decode_aborted(buf, 4, NULL), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_header_every_type),
		cmocka_unit_test(test_header_variable_lengths),
		cmocka_unit_test(test_header_violations),
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_short_buffer),
		cmocka_unit_test(test_wrong_length),
		cmocka_unit_test(test_reserved_must_be_zero),
		cmocka_unit_test(test_status_rules),
		cmocka_unit_test(test_mutations_roundtrip),
		cmocka_unit_test(test_launch),
		cmocka_unit_test(test_launched_layout),
		cmocka_unit_test(test_other_layouts),
		cmocka_unit_test(test_listing_sizes),
		cmocka_unit_test(test_listing_violations),
		cmocka_unit_test(test_aborted),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
