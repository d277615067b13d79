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
		return serve_platform(cur.e, op, arg);
	default:
		return ady_host_serve_exit(cur.e, cur.slot, op);
	}
}

static ady_err sim_enter(ady_enclave *e, uint32_t slot)
{
	sim *s = e->be;
	const ady_sgx_tcs *tcs = (const ady_sgx_tcs *)(s->base + s->tcs[slot]);
	entry_fn entry;
	uint64_t rc;
	__typeof__(cur) saved = cur;

	/* As EENTER does: the entry point is the TCS's OENTRY. */
	entry = (entry_fn)(uintptr_t)(s->base + tcs->oentry);
	cur.e = e;
	cur.slot = slot;
	rc = entry((uint64_t)(uintptr_t)tcs, ADY_ENTER_ECALL,
		   (uint64_t)(uintptr_t)(e->msbuf + (uint64_t)slot * e->info.msbuf_size),
		   (uint64_t)(uintptr_t)sim_exit);
	cur = saved;
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
