/*
 * The LUKS1 header decoder (adyton/luks1.h): a header as cryptsetup lays
 * it out decodes; every field the decoder is strict about, broken one at
 * a time, is refused with the documented error; a header written by
 * cryptsetup itself (when installed) decodes.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "adyton/luks1.h"

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

#define SLOT(i) (208 + 48 * (i))

/* cryptsetup's LUKS1 defaults for aes-xts-plain64 with a 512-bit key:
 * slots 4 KiB-aligned from sector 8, 500 sectors of material each,
 * payload at 4096. */
static void good(uint8_t h[ADY_LUKS1_PHDR_SIZE])
{
	memset(h, 0, ADY_LUKS1_PHDR_SIZE);
	memcpy(h, "LUKS\xba\xbe", 6);
	h[7] = 1;
	strcpy((char *)h + 8, "aes");
	strcpy((char *)h + 40, "xts-plain64");
	strcpy((char *)h + 72, "sha256");
	put_be32(h + 104, 4096);
	put_be32(h + 108, 64);
	memset(h + 112, 0xd1, 20);
	memset(h + 132, 0x5a, 32);
	put_be32(h + 164, 1000);
	strcpy((char *)h + 168, "0b2f6c2e-6a43-4b2c-9a0e-2a7d5c1c7e11");
	for (uint32_t i = 0; i < 8; i++) {
		put_be32(h + SLOT(i), i == 0 ? ADY_LUKS1_SLOT_ENABLED : ADY_LUKS1_SLOT_DISABLED);
		put_be32(h + SLOT(i) + 4, i == 0 ? 2000 : 0);
		put_be32(h + SLOT(i) + 40, 8 + 504 * i);
		put_be32(h + SLOT(i) + 44, 4000);
	}
}

static ady_err decode(const uint8_t *h, size_t len)
{
	ady_luks1_hdr out;
	ady_err err = ady_luks1_decode(h, len, &out);

	if (err) {
		static const uint8_t zero[sizeof(out)];
		assert_memory_equal(&out, zero, sizeof(out)); /* zeroed on failure */
	}
	return err;
}

static void test_good(void **state)
{
	uint8_t h[ADY_LUKS1_PHDR_SIZE + 16];
	ady_luks1_hdr out;

	(void)state;
	good(h);
	assert_int_equal(ady_luks1_decode(h, sizeof(h), &out), ADY_OK);
	assert_string_equal(out.cipher_mode, "xts-plain64");
	assert_int_equal(out.payload_offset, 4096);
	assert_int_equal(out.key_bytes, 64);
	assert_int_equal(out.mk_digest_iter, 1000);
	assert_int_equal(out.slot[0].active, ADY_LUKS1_SLOT_ENABLED);
	assert_int_equal(out.slot[0].iterations, 2000);
	assert_int_equal(out.slot[0].material_offset, 8);
	assert_int_equal(out.slot[1].material_offset, 512);
	assert_int_equal(ady_luks1_material_size(&out, &out.slot[0]), 256000);
	/* All eight slots enabled, non-overlapping: fine. */
	for (int i = 1; i < 8; i++) {
		put_be32(h + SLOT(i), ADY_LUKS1_SLOT_ENABLED);
		put_be32(h + SLOT(i) + 4, 1000);
	}
	assert_int_equal(decode(h, sizeof(h)), ADY_OK);
}

static void test_malformed(void **state)
{
	uint8_t h[ADY_LUKS1_PHDR_SIZE];
	ady_luks1_hdr out;

	(void)state;
	good(h);
	for (size_t n = 0; n < ADY_LUKS1_PHDR_SIZE; n += 37)
		assert_int_equal(decode(h, n), ADY_ERR_TRUNCATED);
	assert_int_equal(ady_luks1_decode(NULL, 592, &out), ADY_ERR_INVALID_ARG);

#define BREAK(stmt, want)                                                                          \
	do {                                                                                       \
		good(h);                                                                           \
		stmt;                                                                              \
		assert_int_equal(decode(h, sizeof(h)), want);                                      \
	} while (0)
	BREAK(h[0] = 'l', ADY_ERR_MALFORMED);                         /* magic */
	BREAK(h[5] = 0xbf, ADY_ERR_MALFORMED);
	BREAK(h[7] = 2, ADY_ERR_UNSUPPORTED);                         /* LUKS2's version */
	BREAK(h[6] = 1, ADY_ERR_UNSUPPORTED);                         /* version 257 */
	BREAK(memset(h + 8, 'a', 32), ADY_ERR_MALFORMED);             /* no NUL */
	BREAK(h[8 + 10] = 'x', ADY_ERR_MALFORMED);                    /* junk after the NUL */
	BREAK(memset(h + 168, '1', 40), ADY_ERR_MALFORMED);           /* uuid without NUL */
	BREAK((memset(h + 8, 0, 32), strcpy((char *)h + 8, "serpent")), ADY_ERR_UNSUPPORTED);
	BREAK((memset(h + 40, 0, 32), strcpy((char *)h + 40, "cbc-essiv:sha256")), ADY_ERR_UNSUPPORTED);
	BREAK((memset(h + 72, 0, 32), strcpy((char *)h + 72, "sha1")), ADY_ERR_UNSUPPORTED);
	BREAK(put_be32(h + 108, 32), ADY_ERR_UNSUPPORTED);            /* aes-128-xts */
	BREAK(put_be32(h + 108, 0), ADY_ERR_MALFORMED);
	BREAK(put_be32(h + 108, 65), ADY_ERR_MALFORMED);
	BREAK(put_be32(h + 108, 0xffffffffu), ADY_ERR_MALFORMED);     /* no overflow in sizes */
	BREAK(put_be32(h + 104, 0), ADY_ERR_MALFORMED);               /* payload in the header */
	BREAK(put_be32(h + 104, 507), ADY_ERR_MALFORMED);             /* slot 0 runs into the payload */
	BREAK(put_be32(h + 164, 0), ADY_ERR_MALFORMED);               /* digest iterations */
	BREAK(put_be32(h + SLOT(0), 0x00ac71f2), ADY_ERR_MALFORMED);  /* slot state */
	BREAK(put_be32(h + SLOT(3), 0), ADY_ERR_MALFORMED);           /* disabled slots too */
	BREAK(put_be32(h + SLOT(0), ADY_LUKS1_SLOT_DISABLED), ADY_ERR_MALFORMED); /* no key slot */
	BREAK(put_be32(h + SLOT(0) + 4, 0), ADY_ERR_MALFORMED);
	BREAK(put_be32(h + SLOT(0) + 44, 3999), ADY_ERR_MALFORMED);   /* stripes */
	BREAK(put_be32(h + SLOT(0) + 44, 0xffffffffu), ADY_ERR_MALFORMED);
	BREAK(put_be32(h + SLOT(0) + 40, 0), ADY_ERR_MALFORMED);      /* material over the header */
	BREAK(put_be32(h + SLOT(0) + 40, 0xffffffffu), ADY_ERR_MALFORMED);
	BREAK((put_be32(h + SLOT(1), ADY_LUKS1_SLOT_ENABLED), put_be32(h + SLOT(1) + 4, 1),
	       put_be32(h + SLOT(1) + 40, 507)),
	      ADY_ERR_MALFORMED);                                      /* overlapping slots */
#undef BREAK
}

/* A header cryptsetup wrote, when cryptsetup is here. */
static void test_cryptsetup(void **state)
{
	char dir[] = "/tmp/ady-luks1-XXXXXX", cmd[1024], path[64];
	uint8_t h[ADY_LUKS1_PHDR_SIZE];
	ady_luks1_hdr out;
	FILE *f;

	(void)state;
	if (system("command -v cryptsetup >/dev/null 2>&1") != 0) {
		print_message("cryptsetup not installed (Debian: cryptsetup-bin)\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.img", dir);
	snprintf(cmd, sizeof(cmd),
		 "truncate -s 4M %s && printf pw | cryptsetup luksFormat -q --type luks1 --cipher aes-xts-plain64 "
		 "--key-size 512 --hash sha256 --pbkdf-force-iterations 1000 --key-file - %s",
		 path, path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(h, 1, sizeof(h), f), sizeof(h));
	fclose(f);
	assert_int_equal(ady_luks1_decode(h, sizeof(h), &out), ADY_OK);
	assert_int_equal(out.key_bytes, 64);
	assert_int_equal(out.slot[0].active, ADY_LUKS1_SLOT_ENABLED);
	assert_int_equal(out.slot[0].stripes, 4000);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_cryptsetup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
