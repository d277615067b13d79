/*
 * The sim backend: the enclave's measured pages mapped into the calling
 * process with their SECINFO permissions, entered by a plain call.  It
 * isolates nothing (the application can read and write every enclave
 * page) and exists for debugging with gdb: load the symbols with
 * `add-symbol-file NAME.elf -o BASE`, BASE printed when ADYTON_DEBUG is set.
 * Enclaves on sim always run with the DEBUG attribute.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "host/derive.h"
#include "host/internal.h"
#include "verify/sign.h"

typedef uint64_t (*entry_fn)(uint64_t tcs, uint64_t op, uint64_t ms, uint64_t exit_fn);

typedef struct sim {
	uint8_t *base;
	uint64_t size;
	uint64_t msbuf_len;
	uint64_t tcs[64];      /* enclave offsets of the TCS pages */
	ady_region *regions;   /* the layout's added pages, for platform exits */
	uint32_t nregions;
} sim;

/* The call this thread is running: exits arrive with no context. */
static __thread struct {
	ady_enclave *e;
	uint32_t slot;
} cur;

static bool sim_available(const char **why)
{
	(void)why;
	return true;
}

static int prot_of(uint64_t secinfo)
{
	int prot = 0;

	if ((secinfo & ADY_SECINFO_PT_MASK) == ADY_SECINFO_PT_TCS)
		return PROT_READ; /* the entry stub reads OFSBASE; nothing writes a TCS */
	if (secinfo & ADY_SECINFO_R)
		prot |= PROT_READ;
	if (secinfo & ADY_SECINFO_W)
		prot |= PROT_READ | PROT_WRITE;
	if (secinfo & ADY_SECINFO_X)
		prot |= PROT_READ | PROT_EXEC;
	return prot;
}

static ady_err sim_create(ady_enclave *e, const ady_image *img)
{
	const ady_layout *l = &img->layout;
	sim *s;
	ady_err err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return ADY_ERR_NOMEM;
	s->size = l->size;
	s->base = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (s->base == MAP_FAILED) {
		err = ADY_ERR_NOMEM;
		goto free_sim;
	}
	err = ady_image_fill(img, s->base, l->size);
	if (err)
		goto unmap;
	/* Pages never added (guards, the power-of-two tail) stay inaccessible. */
	if (mprotect(s->base, l->size, PROT_NONE)) {
		err = ADY_ERR_IO;
		goto unmap;
	}
	for (uint32_t i = 0; i < l->nregions; i++) {
		const ady_region *r = &l->region[i];
		if (mprotect(s->base + r->offset, r->size, prot_of(r->secinfo))) {
			err = ADY_ERR_IO;
			goto unmap;
		}
	}
	for (uint32_t i = 0; i < l->threads; i++)
		s->tcs[i] = l->thread[i].tcs;
	s->regions = calloc(l->nregions ? l->nregions : 1, sizeof(*s->regions));
	if (!s->regions) {
		err = ADY_ERR_NOMEM;
		goto unmap;
	}
	memcpy(s->regions, l->region, l->nregions * sizeof(*s->regions));
	s->nregions = l->nregions;

	s->msbuf_len = (uint64_t)l->threads * l->msbuf_size;
	e->msbuf = mmap(NULL, s->msbuf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->msbuf == MAP_FAILED) {
		e->msbuf = NULL;
		err = ADY_ERR_NOMEM;
		goto free_regions;
	}
	if (getenv("ADYTON_DEBUG"))
		fprintf(stderr, "adyton: sim enclave at %p, size 0x%llx (gdb: add-symbol-file IMAGE.elf -o %p)\n",
			(void *)s->base, (unsigned long long)s->size, (void *)s->base);
	e->be = s;
	return ADY_OK;

free_regions:
	free(s->regions);
unmap:
	munmap(s->base, l->size);
free_sim:
	free(s);
	return err;
}

/*
 * The enclave memory an io struct of a platform exit occupies: n bytes at
 * address arg, entirely inside writable REG pages of this enclave (the
 * answer is written back there), else NULL.  Regions come in increasing
 * offsets, so one pass follows a struct across adjacent regions.
 */
static uint8_t *io_mem(const sim *s, uint64_t arg, size_t n)
{
	uint64_t base = (uint64_t)(uintptr_t)s->base, off, end, pos;

	if (arg < base)
		return NULL;
	off = arg - base;
	if (__builtin_add_overflow(off, (uint64_t)n, &end) || end > s->size)
		return NULL;
	pos = off;
	for (uint32_t i = 0; i < s->nregions && pos < end; i++) {
		const ady_region *r = &s->regions[i];
		if (pos < r->offset || pos - r->offset >= r->size)
			continue;
		if ((r->secinfo & ADY_SECINFO_PT_MASK) != ADY_SECINFO_PT_REG || !(r->secinfo & ADY_SECINFO_W))
			return NULL;
		pos = r->offset + r->size;
	}
	return pos >= end ? s->base + off : NULL;
}

/*
 * The sim platform's EGETKEY, EREPORT and seed: the public sim root and
 * the identity host.c recorded from the verified image (e->ident), never
 * what the enclave says.  The io struct is copied in once, and only the
 * outputs are written back.  sim has no launch policy and a public root,
 * so it lets PROVISIONKEY enclaves have provisioning keys.
 */
/* The sim platform's attestation key, P-256, PKCS#8 DER.  Public on
 * purpose: anyone can make a sim quote, so a sim quote proves nothing and
 * carries ADY_QUOTE_CERT_SIM; verifiers refuse it unless allow_sim. */
static const unsigned char ady_sim_attest_key_der[] = {
  0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86,
  0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
  0x03, 0x01, 0x07, 0x04, 0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
  0xeb, 0xbe, 0xfa, 0x90, 0x2b, 0x4a, 0x31, 0x86, 0xee, 0xbb, 0xc8, 0xa7,
  0x2e, 0x10, 0xb9, 0xcd, 0xcb, 0xff, 0x13, 0xbd, 0xf0, 0xfe, 0x17, 0xd4,
  0xc2, 0x1a, 0x51, 0x00, 0xd6, 0x6e, 0x91, 0xb0, 0xa1, 0x44, 0x03, 0x42,
  0x00, 0x04, 0x64, 0xf6, 0x45, 0x1d, 0xb4, 0xa3, 0xab, 0xcc, 0x29, 0x9f,
  0x03, 0x08, 0x49, 0x24, 0xb8, 0x1b, 0xb4, 0xbb, 0x3e, 0x6d, 0x8d, 0xbd,
  0x17, 0xa5, 0xe6, 0xd8, 0x6d, 0x23, 0xaa, 0x7c, 0xfa, 0xd3, 0xaf, 0x42,
  0x81, 0xf5, 0x3d, 0x68, 0xe1, 0xdd, 0x2a, 0x9e, 0x09, 0x40, 0x23, 0x9c,
  0x56, 0x96, 0xa5, 0xdd, 0xd2, 0x97, 0xd8, 0x37, 0x50, 0xbb, 0x3a, 0x46,
  0x78, 0x05, 0x85, 0x00, 0x66, 0xc0
};

static EVP_PKEY *ady_sim_attest_key(void)
{
	const unsigned char *p = ady_sim_attest_key_der;

	return d2i_AutoPrivateKey(NULL, &p, (long)sizeof(ady_sim_attest_key_der));
}


/* A sim quote: the public sim key signs, the certification type says
 * SIM, and the body carries DEBUG (every sim enclave runs with it). */
static uint32_t sim_quote(const ady_enclave *e, const ady_platform *plat, ady_exit_quote *io)
{
	static __thread ady_quote q;
	ady_sgx_attributes attr = e->ident.attributes;
	ady_sgx_report_body body;
	EVP_PKEY *k = ady_sim_attest_key();
	size_t len = 0;
	ady_err err;

	if (!k)
		return ADY_ERR_CRYPTO;
	attr.flags |= ADY_SGX_FLAGS_DEBUG;
	ady_quote_body(&body, e->ident.mrenclave, e->ident.mrsigner, e->ident.isvprodid, e->ident.isvsvn, &attr,
		       e->ident.miscselect, plat->cpusvn, io->reportdata);
	err = ady_quote_make(k, &body, io->nonce, ADY_QUOTE_CERT_SIM, NULL, 0, &q, io->quote, sizeof(io->quote),
			     &len);
	EVP_PKEY_free(k);
	io->quote_len = err ? 0 : (uint32_t)len;
	return (uint32_t)err;
}

static uint64_t serve_platform(ady_enclave *e, uint64_t op, uint64_t arg)
{
	const sim *s = e->be;
	ady_platform plat;
	uint8_t *p;
	uint32_t status;

	ady_platform_sim(&plat);
	switch (op) {
	case ADY_EXIT_GETKEY: {
		ady_exit_getkey io;
		if (!(p = io_mem(s, arg, sizeof(io))))
			return ADY_ERR_RANGE;
		memcpy(&io, p, sizeof(io));
		status = (uint32_t)ady_derive_key(&plat, &e->ident, io.keyrequest, true, io.key);
		memcpy(p + offsetof(ady_exit_getkey, key), io.key, sizeof(io.key));
		memcpy(p + offsetof(ady_exit_getkey, status), &status, sizeof(status));
		OPENSSL_cleanse(&io, sizeof(io));
		break;
	}
	case ADY_EXIT_REPORT: {
		ady_exit_report io;
		if (!(p = io_mem(s, arg, sizeof(io))))
			return ADY_ERR_RANGE;
		memcpy(&io, p, sizeof(io));
		status = (uint32_t)ady_derive_report(&plat, &e->ident, io.targetinfo, io.reportdata, io.report);
		memcpy(p + offsetof(ady_exit_report, report), io.report, sizeof(io.report));
		memcpy(p + offsetof(ady_exit_report, status), &status, sizeof(status));
		break;
	}
	case ADY_EXIT_SEED: {
		ady_exit_seed io;
		if (!(p = io_mem(s, arg, sizeof(io))))
			return ADY_ERR_RANGE;
		memset(&io, 0, sizeof(io));
		status = RAND_bytes(io.seed, sizeof(io.seed)) == 1 ? ADY_OK : ADY_ERR_CRYPTO;
		memcpy(p + offsetof(ady_exit_seed, seed), io.seed, sizeof(io.seed));
		memcpy(p + offsetof(ady_exit_seed, status), &status, sizeof(status));
		OPENSSL_cleanse(&io, sizeof(io));
		break;
	}
	case ADY_EXIT_QUOTE: {
		static __thread ady_exit_quote io;
		if (!(p = io_mem(s, arg, sizeof(io))))
			return ADY_ERR_RANGE;
		memcpy(&io, p, offsetof(ady_exit_quote, quote));
		status = sim_quote(e, &plat, &io);
		memcpy(p + offsetof(ady_exit_quote, quote), io.quote, io.quote_len);
		memcpy(p + offsetof(ady_exit_quote, quote_len), &io.quote_len, sizeof(io.quote_len));
		memcpy(p + offsetof(ady_exit_quote, status), &status, sizeof(status));
		break;
	}
	default:
		return ADY_ERR_PROTOCOL;
	}
	OPENSSL_cleanse(&plat, sizeof(plat));
	return ADY_OK;
}

static uint64_t sim_exit(uint64_t op, uint64_t arg)
{
	switch (op) {
	case ADY_EXIT_GETKEY:
	case ADY_EXIT_REPORT:
	case ADY_EXIT_SEED:
	case ADY_EXIT_QUOTE:
		return serve_platform(cur.e, op, arg);
	default:
		return ady_host_serve_exit(cur.e, cur.slot, op);
	}
}

static ady_err sim_enter(ady_enclave *e, uint32_t slot, ady_ms_hdr *h)
{
	sim *s = e->be;
	uint8_t *ms = e->msbuf + (uint64_t)slot * e->info.msbuf_size;
	const ady_sgx_tcs *tcs = (const ady_sgx_tcs *)(s->base + s->tcs[slot]);
	entry_fn entry;
	uint64_t rc;
	__typeof__(cur) saved = cur;

	/* As EENTER does: the entry point is the TCS's OENTRY. */
	entry = (entry_fn)(uintptr_t)(s->base + tcs->oentry);
	cur.e = e;
	cur.slot = slot;
	ady_ms_encode(ms, h);
	rc = entry((uint64_t)(uintptr_t)tcs, ADY_ENTER_ECALL, (uint64_t)(uintptr_t)ms, (uint64_t)(uintptr_t)sim_exit);
	cur = saved;
	if (rc == ADY_OK)
		rc = ady_ms_decode(ms, e->info.msbuf_size, h);
	return (ady_err)rc;
}

static void sim_destroy(ady_enclave *e)
{
	sim *s = e->be;

	if (!s)
		return;
	/* munmap hands the pages back to the kernel, which zeroes them before
	 * anyone else gets them; touching every page to wipe it would commit
	 * the whole (mostly untouched) power-of-two range. */
	munmap(s->base, s->size);
	if (e->msbuf) {
		explicit_bzero(e->msbuf, s->msbuf_len);
		munmap(e->msbuf, s->msbuf_len);
	}
	free(s->regions);
	free(s);
	e->be = NULL;
}

const ady_backend_ops ady_backend_sim = {
	.name = "sim",
	.kind = ADY_BACKEND_SIM,
	.available = sim_available,
	.create = sim_create,
	.enter = sim_enter,
	.destroy = sim_destroy,
};
