/*
 * Signed enclave images on the host: file I/O, SHA-256 and RSA-3072 around
 * the format layer, which does all the parsing (see adyton/image.h).
 */
#include "adyton/image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "adyton/measure.h"
#include "adyton/meta.h"
#include "image_internal.h"

struct sha_sink {
	EVP_MD_CTX *md;
	int ok;
};

static void sha_update(void *ctx, const void *data, size_t len)
{
	struct sha_sink *s = ctx;

	if (s->ok && EVP_DigestUpdate(s->md, data, len) != 1)
		s->ok = 0;
}

static ady_err sha256(const void *data, size_t len, uint8_t out[static 32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		ERR_clear_error();
		return ADY_ERR_CRYPTO;
	}
	return ADY_OK;
}

/*
 * MRENCLAVE of a laid-out image.  The initial memory image is built in an
 * anonymous mapping: SECS.SIZE may be large (a power of two covering heap
 * and stacks) while only the image, TCS, layout and thread pages are
 * written, so MAP_NORESERVE keeps the rest free.
 */
static ady_err measure_layout(const ady_layout *layout, const ady_elf *elf, const uint8_t *file,
			      size_t len, uint8_t mrenclave[static 32])
{
	struct sha_sink s = { .md = NULL, .ok = 1 };
	ady_hash_sink sink = { .ctx = &s, .update = sha_update };
	unsigned int n = 0;
	uint8_t *mem;
	ady_err err;

	if (layout->size == 0 || layout->size > SIZE_MAX)
		return ADY_ERR_LAYOUT;
	mem = mmap(NULL, (size_t)layout->size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return ADY_ERR_NOMEM;
	err = ady_layout_fill(layout, elf, file, len, mem, layout->size);
	if (err)
		goto unmap;
	s.md = EVP_MD_CTX_new();
	if (!s.md) {
		err = ADY_ERR_NOMEM;
		goto unmap;
	}
	if (EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
		err = ADY_ERR_CRYPTO;
		goto free_md;
	}
	err = ady_measure_enclave(layout, mem, layout->size, &sink);
	if (err)
		goto free_md;
	if (!s.ok || EVP_DigestFinal_ex(s.md, mrenclave, &n) != 1 || n != 32) {
		err = ADY_ERR_CRYPTO;
		goto free_md;
	}
	err = ADY_OK;

free_md:
	EVP_MD_CTX_free(s.md);
	if (err == ADY_ERR_CRYPTO)
		ERR_clear_error();
unmap:
	munmap(mem, (size_t)layout->size);
	return err;
}

/* see adyton/image.h */
ady_err ady_image_measure(const uint8_t *file, size_t len, const ady_config *cfg,
			  uint8_t mrenclave[static 32])
{
	ady_layout *layout;
	ady_elf elf;
	ady_err err;

	if (!file || !cfg)
		return ADY_ERR_INVALID_ARG;
	err = ady_elf_decode(file, len, &elf);
	if (err)
		return err;
	/* ady_layout is large (per-thread and per-region tables). */
	layout = malloc(sizeof(*layout));
	if (!layout)
		return ADY_ERR_NOMEM;
	err = ady_layout_build(&elf, cfg, layout);
	if (err)
		goto free_layout;
	err = measure_layout(layout, &elf, file, len, mrenclave);

free_layout:
	free(layout);
	return err;
}

/* see host/image_internal.h */
ady_err ady_image_mrsigner(const ady_sgx_sigstruct *ss, uint8_t out[static 32])
{
	if (!ss)
		return ADY_ERR_INVALID_ARG;
	return sha256(ss->modulus, sizeof(ss->modulus), out);
}

static EVP_PKEY *rsa_public_key(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	bld = OSSL_PARAM_BLD_new();
	if (!bld)
		return NULL;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
		goto free_bld;
	params = OSSL_PARAM_BLD_to_param(bld);
	if (!params)
		goto free_bld;
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!ctx)
		goto free_params;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;

	EVP_PKEY_CTX_free(ctx);
free_params:
	OSSL_PARAM_free(params);
free_bld:
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* 1 when the RSA-3072 PKCS#1 v1.5 SHA-256 signature verifies, 0 when it
 * does not, -1 when OpenSSL could not run the check. */
static int rsa_verify(const BIGNUM *n, const BIGNUM *e, const uint8_t *sig_le,
		      const uint8_t msg[static 256])
{
	uint8_t sig_be[ADY_RSA3072_BYTES];
	EVP_MD_CTX *md;
	EVP_PKEY *pkey;
	int r = -1;

	for (size_t i = 0; i < sizeof(sig_be); i++)
		sig_be[i] = sig_le[sizeof(sig_be) - 1 - i];
	pkey = rsa_public_key(n, e);
	if (!pkey)
		return -1;
	md = EVP_MD_CTX_new();
	if (!md)
		goto free_pkey;
	/* RSA's default padding is PKCS#1 v1.5, which SGX uses. */
	if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pkey, NULL) != 1)
		goto free_md;
	/* Any outcome but 1 is a failed verification: a signature >= n, for
	 * instance, makes OpenSSL report an error rather than a mismatch. */
	r = EVP_DigestVerify(md, sig_be, sizeof(sig_be), msg, 256) == 1;

free_md:
	EVP_MD_CTX_free(md);
free_pkey:
	EVP_PKEY_free(pkey);
	return r;
}

/* Compares q (at most 384 bytes) with the little-endian field. */
static int bn_equals_le(const BIGNUM *q, const uint8_t field[static ADY_RSA3072_BYTES])
{
	uint8_t buf[ADY_RSA3072_BYTES];

	if (BN_bn2lebinpad(q, buf, (int)sizeof(buf)) != (int)sizeof(buf))
		return 0;
	return memcmp(buf, field, sizeof(buf)) == 0;
}

/* see host/image_internal.h */
ady_err ady_image_check_sigstruct(const ady_sgx_sigstruct *ss)
{
	uint8_t msg[256];
	BN_CTX *bnctx;
	BIGNUM *n, *e, *s, *t, *q1, *q2, *rem;
	ady_err err = ADY_ERR_NOMEM;
	int r;

	if (!ss)
		return ADY_ERR_INVALID_ARG;
	if (ss->exponent != 3)
		return ADY_ERR_SIGSTRUCT;
	bnctx = BN_CTX_new();
	if (!bnctx)
		return ADY_ERR_NOMEM;
	BN_CTX_start(bnctx);
	n = BN_CTX_get(bnctx);
	e = BN_CTX_get(bnctx);
	s = BN_CTX_get(bnctx);
	t = BN_CTX_get(bnctx);
	q1 = BN_CTX_get(bnctx);
	q2 = BN_CTX_get(bnctx);
	rem = BN_CTX_get(bnctx);
	if (!rem)
		goto end_ctx;
	if (!BN_lebin2bn(ss->modulus, (int)sizeof(ss->modulus), n) ||
	    !BN_lebin2bn(ss->signature, (int)sizeof(ss->signature), s) ||
	    !BN_set_word(e, ss->exponent))
		goto end_ctx;
	/* SGX keys are exactly 3072 bits; the signature must be below n. */
	if (BN_num_bits(n) != 3072 || BN_cmp(s, n) >= 0) {
		err = ADY_ERR_SIGNATURE;
		goto end_ctx;
	}

	ady_sigstruct_signed_bytes(ss, msg);
	r = rsa_verify(n, e, ss->signature, msg);
	if (r < 0) {
		err = ADY_ERR_CRYPTO;
		goto end_ctx;
	}
	if (r == 0) {
		err = ADY_ERR_SIGNATURE;
		goto end_ctx;
	}

	/* q1 = floor(s^2 / n), q2 = floor(s * (s^2 mod n) / n): what EINIT
	 * uses to check the signature without a division. */
	if (!BN_sqr(t, s, bnctx) || !BN_div(q1, rem, t, n, bnctx) ||
	    !BN_mul(t, s, rem, bnctx) || !BN_div(q2, NULL, t, n, bnctx))
		goto end_ctx;
	if (!bn_equals_le(q1, ss->q1) || !bn_equals_le(q2, ss->q2)) {
		err = ADY_ERR_SIGNATURE;
		goto end_ctx;
	}
	err = ADY_OK;

end_ctx:
	BN_CTX_end(bnctx);
	BN_CTX_free(bnctx);
	ERR_clear_error();
	return err;
}

/* Takes ownership of file (freed on failure too). */
static ady_err image_new_owned(uint8_t *file, size_t len, ady_image **out)
{
	ady_image *img;
	ady_err err;

	*out = NULL;
	img = calloc(1, sizeof(*img));
	if (!img) {
		free(file);
		return ADY_ERR_NOMEM;
	}
	img->file = file;
	img->file_len = len;

	err = ady_elf_decode(img->file, img->file_len, &img->elf);
	if (err)
		goto free_img;
	/* The descriptor range was checked by ady_elf_decode. */
	err = ady_meta_decode(img->file + img->elf.meta_offset, (size_t)img->elf.meta_size,
			      &img->config, &img->sigstruct);
	if (err)
		goto free_img;
	err = ady_layout_build(&img->elf, &img->config, &img->layout);
	if (err)
		goto free_img;
	err = measure_layout(&img->layout, &img->elf, img->file, img->file_len, img->mrenclave);
	if (err)
		goto free_img;
	/* Public values: no need for a constant-time comparison. */
	if (memcmp(img->mrenclave, img->sigstruct.enclavehash, 32) != 0) {
		err = ADY_ERR_MEASUREMENT;
		goto free_img;
	}
	err = ady_image_check_sigstruct(&img->sigstruct);
	if (err)
		goto free_img;
	err = ady_image_mrsigner(&img->sigstruct, img->mrsigner);
	if (err)
		goto free_img;

	*out = img;
	return ADY_OK;

free_img:
	ady_image_free(img);
	return err;
}

/* see adyton/image.h */
ady_err ady_image_new(const uint8_t *file, size_t len, ady_image **out)
{
	uint8_t *copy;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = NULL;
	if (!file && len)
		return ADY_ERR_INVALID_ARG;
	copy = malloc(len ? len : 1);
	if (!copy)
		return ADY_ERR_NOMEM;
	if (len)
		memcpy(copy, file, len);
	return image_new_owned(copy, len, out);
}

/* see adyton/image.h */
ady_err ady_image_open(const char *path, ady_image **out)
{
	uint8_t *file;
	size_t len;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = NULL;
	err = ady_file_read(path, ADY_IMAGE_MAX_FILE, &file, &len);
	if (err)
		return err;
	return image_new_owned(file, len, out);
}

/* see adyton/image.h */
void ady_image_free(ady_image *img)
{
	if (!img)
		return;
	free(img->file);
	free(img);
}

/* see adyton/image.h */
ady_err ady_image_fill(const ady_image *img, uint8_t *mem, uint64_t mem_size)
{
	if (!img || !mem)
		return ADY_ERR_INVALID_ARG;
	return ady_layout_fill(&img->layout, &img->elf, img->file, img->file_len, mem, mem_size);
}
