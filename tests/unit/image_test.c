/*
 * Unit tests of src/host/image.c: a signed image opens; a flipped measured
 * byte, a flipped signed SIGSTRUCT byte, a missing signature and a missing
 * file are each refused with their own error.
 *
 * The test image is the hello example's unsigned enclave from the build
 * tree (or $ADY_TEST_IMAGE), signed here with a fresh key; its absence is
 * a failure, not a skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "adyton/elf.h"
#include "adyton/image.h"
#include "adyton/measure.h"
#include "adyton/meta.h"
#include "tools/sign.h"

static struct {
	uint8_t *unsigned_file;
	size_t len;
	uint8_t *signed_file;
	ady_elf elf;
	ady_config cfg;
	size_t sigstruct_off;   /* file offset of the SIGSTRUCT */
} fx;

static const char *image_path(void)
{
	const char *env = getenv("ADY_TEST_IMAGE");

	return env && *env ? env : ADY_TEST_BINARY_DIR "/examples/hello/hello-enclave.elf";
}

static int setup(void **state)
{
	const char *path = image_path();
	EVP_PKEY *key = NULL;
	size_t slen = 0;
	ady_err err;

	(void)state;
	err = ady_file_read(path, ADY_IMAGE_MAX_FILE, &fx.unsigned_file, &fx.len);
	if (err) {
		fprintf(stderr, "image_test: cannot read the test image %s: %s "
			"(build the hello-enclave target first)\n", path, ady_strerror(err));
		return -1;
	}
	ady_config_defaults(&fx.cfg);
	fx.cfg.threads = 2;
	fx.cfg.isvprodid = 5;
	fx.cfg.isvsvn = 6;
	if (ady_elf_decode(fx.unsigned_file, fx.len, &fx.elf) != ADY_OK ||
	    ady_sign_keygen(&key) != ADY_OK ||
	    ady_sign_image(fx.unsigned_file, fx.len, &fx.cfg, key, 0x20240101u, &fx.signed_file,
			   &slen) != ADY_OK || slen != fx.len) {
		fprintf(stderr, "image_test: cannot sign %s\n", path);
		EVP_PKEY_free(key);
		return -1;
	}
	EVP_PKEY_free(key);
	fx.sigstruct_off = (size_t)fx.elf.meta_offset + ADY_META_SIGSTRUCT_OFFSET;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(fx.signed_file);
	free(fx.unsigned_file);
	return 0;
}

/* ady_image_new of the signed image with byte off XORed with mask. */
static ady_err open_flipped(size_t off, uint8_t mask)
{
	uint8_t *copy = malloc(fx.len);
	ady_image *img = (ady_image *)1;
	ady_err err;

	assert_non_null(copy);
	memcpy(copy, fx.signed_file, fx.len);
	copy[off] ^= mask;
	err = ady_image_new(copy, fx.len, &img);
	if (err)
		assert_null(img);
	ady_image_free(img);
	free(copy);
	return err;
}

static void test_signed_opens(void **state)
{
	uint8_t mr[32];
	ady_image *img = NULL;
	uint8_t *mem;
	ady_err err;

	(void)state;
	err = ady_image_new(fx.signed_file, fx.len, &img);
	if (err)
		fail_msg("ady_image_new: %s", ady_strerror(err));
	assert_int_equal(ady_image_measure(fx.unsigned_file, fx.len, &fx.cfg, mr), ADY_OK);
	assert_memory_equal(img->mrenclave, mr, 32);
	assert_memory_equal(img->sigstruct.enclavehash, mr, 32);
	assert_int_equal(img->file_len, fx.len);
	assert_memory_equal(img->file, fx.signed_file, fx.len);
	assert_int_equal(img->config.threads, 2);
	assert_int_equal(img->layout.threads, 2);

	/* The filled memory holds the image's first page (the ELF header). */
	mem = mmap(NULL, img->layout.size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(ady_image_fill(img, mem, img->layout.size - 1), ADY_ERR_RANGE);
	memset(mem, 0, ADY_PAGE_SIZE);
	assert_int_equal(ady_image_fill(img, mem, img->layout.size), ADY_OK);
	assert_memory_equal(mem, fx.signed_file, 64);
	munmap(mem, img->layout.size);
	ady_image_free(img);
	ady_image_free(NULL);
}

static void test_open_file(void **state)
{
	char path[] = "/tmp/ady-image-test-XXXXXX";
	ady_image *img = (ady_image *)1;
	uint8_t *buf = (uint8_t *)1;
	size_t len = 1;
	int fd;

	(void)state;
	assert_int_equal(ady_image_open("/nonexistent/adyton/image", &img), ADY_ERR_IO);
	assert_null(img);
	img = (ady_image *)1;
	assert_int_equal(ady_image_open("/", &img), ADY_ERR_IO);
	assert_null(img);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, fx.signed_file, fx.len), (ssize_t)fx.len);
	close(fd);
	assert_int_equal(ady_image_open(path, &img), ADY_OK);
	assert_non_null(img);
	ady_image_free(img);
	assert_int_equal(ady_file_read(path, fx.len - 1, &buf, &len), ADY_ERR_RANGE);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(ady_file_read(path, fx.len, &buf, &len), ADY_OK);
	assert_int_equal(len, fx.len);
	assert_memory_equal(buf, fx.signed_file, len);
	free(buf);
	unlink(path);
}

static void test_unsigned(void **state)
{
	ady_image *img = (ady_image *)1;

	(void)state;
	assert_int_equal(ady_image_new(fx.unsigned_file, fx.len, &img), ADY_ERR_UNSIGNED);
	assert_null(img);
}

/* Every loaded segment is measured: a flipped byte in the middle of each
 * segment that holds no structure the parser reads (code, read-only data)
 * and in the last file byte of writable ones changes MRENCLAVE. */
static void test_flip_segment_byte(void **state)
{
	unsigned tested = 0;

	(void)state;
	for (uint32_t i = 1; i < fx.elf.nseg; i++) {
		const ady_elf_segment *s = &fx.elf.seg[i];
		size_t off;
		ady_err err;

		if (s->filesz == 0)
			continue;
		off = (size_t)(s->offset + ((s->perms & ADY_SECINFO_W) ? s->filesz - 1 : s->filesz / 2));
		err = open_flipped(off, 0x01);
		if (err != ADY_ERR_MEASUREMENT)
			fail_msg("segment %" PRIu32 ", file offset %zu: %s, expected %s", i, off,
				 ady_strerror(err), ady_strerror(ADY_ERR_MEASUREMENT));
		tested++;
	}
	assert_true(tested >= 2);
}

static bool in_range(size_t off, size_t lo, size_t n)
{
	return off >= lo && off < lo + n;
}

/* Every byte of both signed ranges is covered by the signature (or by a
 * check that comes first: format, config agreement, ENCLAVEHASH). */
static void test_flip_signed_sigstruct_byte(void **state)
{
	static const struct {
		size_t lo, hi;
	} ranges[] = { { 0, 128 }, { 900, 1028 } };

	(void)state;
	for (size_t r = 0; r < 2; r++) {
		for (size_t off = ranges[r].lo; off < ranges[r].hi; off++) {
			ady_err err = open_flipped(fx.sigstruct_off + off, 0x01);
			ady_err want;

			if (in_range(off, 960, 32))
				want = ADY_ERR_MEASUREMENT;           /* ENCLAVEHASH */
			else if (in_range(off, 1024, 4))
				want = ADY_ERR_META;                  /* ISVPRODID, ISVSVN */
			else if (in_range(off, 20, 4) || in_range(off, 40, 4) || in_range(off, 900, 8) ||
				 in_range(off, 912, 16) || in_range(off, 944, 16) ||
				 in_range(off, 1008, 16))
				want = ADY_ERR_SIGNATURE;             /* only the signature covers these */
			else
				want = 0;                             /* SIGSTRUCT, META or SIGNATURE */
			if (want ? err != want
				 : err != ADY_ERR_SIGSTRUCT && err != ADY_ERR_META && err != ADY_ERR_SIGNATURE)
				fail_msg("SIGSTRUCT byte %zu flipped: %s (%d)", off, ady_strerror(err), err);
		}
	}
}

static void test_flip_unsigned_sigstruct_fields(void **state)
{
	static const size_t offs[] = { 128, 300, 511, 516, 700, 899, 1040, 1423, 1424, 1807 };

	(void)state;
	/* The modulus (MRSIGNER), the signature and q1/q2. */
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		ady_err err = open_flipped(fx.sigstruct_off + offs[i], 0x10);

		if (err != ADY_ERR_SIGNATURE)
			fail_msg("SIGSTRUCT byte %zu flipped: %s", offs[i], ady_strerror(err));
	}
	assert_int_equal(open_flipped(fx.sigstruct_off + 512, 0x01), ADY_ERR_SIGSTRUCT); /* exponent */
}

static void test_bad_args(void **state)
{
	ady_image *img = (ady_image *)1;
	uint8_t mr[32];

	(void)state;
	assert_int_equal(ady_image_new(NULL, 10, &img), ADY_ERR_INVALID_ARG);
	assert_null(img);
	assert_int_equal(ady_image_new(fx.signed_file, 10, NULL), ADY_ERR_INVALID_ARG);
	/* Cut inside the program headers' segment: a format error. */
	assert_int_not_equal(ady_image_new(fx.signed_file, 100, &img), ADY_OK);
	assert_null(img);
	assert_int_equal(ady_image_measure(fx.unsigned_file, fx.len, NULL, mr), ADY_ERR_INVALID_ARG);
	assert_int_equal(ady_image_fill(NULL, mr, sizeof(mr)), ADY_ERR_INVALID_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed_opens),
		cmocka_unit_test(test_open_file),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_flip_segment_byte),
		cmocka_unit_test(test_flip_signed_sigstruct_byte),
		cmocka_unit_test(test_flip_unsigned_sigstruct_fields),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
