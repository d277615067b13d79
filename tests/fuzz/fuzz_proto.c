/*
 * libFuzzer target: the adytond wire protocol.  The input goes through the
 * header decoder and every payload decoder, whole and after a 16-byte
 * header; whatever decodes must re-encode to exactly the same bytes, and
 * the header rule for its type must accept its length.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[ADY_PROTO_MAX_PAYLOAD];
static ady_listing_entry entries[ADY_LISTING_MAX];

static void check(int cond)
{
	if (!cond)
		abort();
}

/* The payload decoded as type: re-encoding gives back p, and a header
 * announcing it passes. */
static void same(uint16_t type, ady_err enc, const uint8_t *p, size_t len, size_t outlen)
{
	uint8_t h[16];
	ady_proto_hdr hdr;

	check(enc == ADY_OK);
	check(outlen == len);
	check(memcmp(out, p, len) == 0);
	ady_proto_encode_header(h, type, (uint32_t)len);
	check(ady_proto_decode_header(h, &hdr) == ADY_OK);
	check(hdr.type == type && hdr.length == len);
}

#define FIXED(name, T, TYPE)                                                                                     \
	do {                                                                                                     \
		T m;                                                                                             \
		size_t n = 0;                                                                                    \
		ady_err e = ady_proto_decode_##name(p, len, &m);                                                   \
		check(e == ADY_OK || e == ADY_ERR_PROTOCOL);                                                     \
		if (e == ADY_OK)                                                                                 \
			same(TYPE, ady_proto_encode_##name(&m, out, sizeof(out), &n), p, len, n);                 \
	} while (0)

static void payloads(const uint8_t *p, size_t len)
{
	FIXED(launch, ady_proto_launch, ADY_PROTO_LAUNCH);
	FIXED(launched, ady_proto_launched, ADY_PROTO_LAUNCHED);
	FIXED(destroy, ady_proto_destroy, ADY_PROTO_DESTROY);
	FIXED(status, ady_proto_status, ADY_PROTO_STATUS);
	FIXED(host_ready, ady_proto_host_ready, ADY_PROTO_HOST_READY);
	FIXED(getkey, ady_proto_getkey, ADY_PROTO_GETKEY);
	FIXED(key, ady_proto_key, ADY_PROTO_KEY);
	FIXED(report, ady_proto_report, ADY_PROTO_REPORT);
	FIXED(reported, ady_proto_reported, ADY_PROTO_REPORTED);
	FIXED(seeded, ady_proto_seeded, ADY_PROTO_SEEDED);
	FIXED(aborted, ady_proto_aborted, ADY_PROTO_ABORTED);
	FIXED(capacity, ady_proto_capacity, ADY_PROTO_CAPACITY_INFO);

	uint32_t count = 0, again = 0;
	size_t n = 0;
	ady_err e = ady_proto_decode_listing(p, len, 0, &count, NULL);

	check(e == ADY_OK || e == ADY_ERR_PROTOCOL);
	if (e != ADY_OK) {
		check(count == 0);
		return;
	}
	check(count <= ADY_LISTING_MAX);
	for (uint32_t i = 0; i < count; i++) {
		check(ady_proto_decode_listing(p, len, i, &again, &entries[i]) == ADY_OK);
		check(again == count);
	}
	ady_listing_entry past;

	check(ady_proto_decode_listing(p, len, count, &again, &past) == ADY_ERR_RANGE);
	check(again == count);
	same(ADY_PROTO_LISTING, ady_proto_encode_listing(entries, count, out, sizeof(out), &n), p, len, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ADY_PROTO_HEADER + ADY_PROTO_MAX_PAYLOAD)
		return 0;
	if (size >= ADY_PROTO_HEADER) {
		ady_proto_hdr h;
		uint8_t re[16];
		ady_err e = ady_proto_decode_header(data, &h);

		check(e == ADY_OK || e == ADY_ERR_PROTOCOL);
		if (e == ADY_OK) {
			check(h.length <= ADY_PROTO_MAX_PAYLOAD);
			ady_proto_encode_header(re, h.type, h.length);
			check(memcmp(re, data, 16) == 0);
		} else {
			check(h.type == 0 && h.length == 0);
		}
		payloads(data + ADY_PROTO_HEADER, size - ADY_PROTO_HEADER);
	}
	payloads(data, size);
	return 0;
}
