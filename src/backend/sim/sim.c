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

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "backend/map.h"
#include "host/internal.h"
#include "platform/platform.h"

typedef uint64_t (*entry_fn)(uint64_t tcs, uint64_t op, uint64_t ms, uint64_t exit_fn);

typedef struct sim {
	uint8_t *base;
	uint64_t size;
	uint64_t msbuf_len;
	uint64_t tcs[64];      /* enclave offsets of the TCS pages */
	ady_layout *layout;    /* the measured layout: where platform exits' io structs may lie */
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
	err = ady_map_protect(s->base, l);
	if (err)
		goto unmap;
	for (uint32_t i = 0; i < l->threads; i++)
		s->tcs[i] = l->thread[i].tcs;
	s->layout = malloc(sizeof(*s->layout));
	if (!s->layout) {
		err = ADY_ERR_NOMEM;
		goto unmap;
	}
	*s->layout = *l;

	s->msbuf_len = (uint64_t)l->threads * l->msbuf_size;
	e->msbuf = mmap(NULL, s->msbuf_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (e->msbuf == MAP_FAILED) {
		e->msbuf = NULL;
		err = ADY_ERR_NOMEM;
		goto free_layout;
	}
	if (getenv("ADYTON_DEBUG"))
		fprintf(stderr, "adyton: sim enclave at %p, size 0x%llx (gdb: add-symbol-file IMAGE.elf -o %p)\n",
			(void *)s->base, (unsigned long long)s->size, (void *)s->base);
	e->be = s;
	return ADY_OK;

free_layout:
	free(s->layout);
unmap:
	munmap(s->base, l->size);
free_sim:
	free(s);
	return err;
}

/*
 * The sim platform's exits (platform/platform.h), served in-process from
 * the public sim root and the identity host.c recorded from the verified
 * image (e->ident, which carries DEBUG on sim), never what the enclave
 * says.  The io struct must lie in the enclave's writable pages.
 */
static uint64_t serve_platform(ady_enclave *e, const ady_platform_op *op, uint64_t arg)
{
	const sim *s = e->be;
	uint64_t base = (uint64_t)(uintptr_t)s->base;
	ady_platform plat;
	ady_platform_server srv;
	ady_err err;

	if (arg < base || !ady_layout_writable(s->layout, arg - base, op->io_size))
		return ADY_ERR_RANGE;
	ady_platform_sim(&plat);
	ady_platform_server_sim(&srv, &plat, &e->ident);
	err = ady_platform_run(op, s->base + (arg - base), ady_platform_serve_fn, &srv);
	ady_wipe(&plat, sizeof(plat));
	return err;
}

static uint64_t sim_exit(uint64_t op, uint64_t arg)
{
	const ady_platform_op *p = ady_platform_op_find(op);

	return p ? serve_platform(cur.e, p, arg) : ady_host_serve_exit(cur.e, cur.slot, op);
}

static ady_err sim_enter(ady_enclave *e, uint32_t slot, ady_msbuf_hdr *h)
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
	ady_msbuf_encode(ms, h);
	rc = entry((uint64_t)(uintptr_t)tcs, ADY_ENTER_ECALL, (uint64_t)(uintptr_t)ms, (uint64_t)(uintptr_t)sim_exit);
	cur = saved;
	if (rc == ADY_OK)
		rc = ady_msbuf_decode(ms, e->info.msbuf_size, h);
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
	free(s->layout);
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
