/*
 * The enclave memory pool and tenant limits of adytond.
 *
 * An enclave holds the pages that SGX would have put in EPC: every page its
 * measured layout adds (ELF pages, the layout page, heap, stacks, TCS, SSA,
 * thread data; adyton/layout.h), not the power-of-two SECS.SIZE and not the
 * guard pages.  The SGX driver counts one more page per enclave for the
 * SECS, and version-array pages when it pages out; adyton has neither, so
 * the count is exactly the sum of the added pages, which `adyton inspect
 * --pages` lists.
 *
 * Pages are reserved when a launch is admitted, before the daemon creates
 * anything for it (channel, host process), and released when the enclave's
 * slot is freed: on the reap of its host (normal exit, abort, crash, SIGKILL
 * of the host or of the application, which ends the host), or on the
 * launch's own failure.  The daemon is single-threaded: admission and
 * reservation are one step, no other launch runs between them.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/internal.h"

/* see internal.h */
uint64_t ady_pool_pages(const ady_layout *l)
{
	uint64_t pages = 0;

	for (uint32_t i = 0; i < l->nregions && i < ADY_LAYOUT_MAX_REGIONS; i++)
		pages += l->region[i].size / ADY_PAGE_SIZE;
	return pages;
}

/* see internal.h */
uint64_t ady_pool_default_pages(void)
{
	long phys = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	if (phys <= 0 || psz <= 0)
		return 0;
	return (uint64_t)phys / ADY_POOL_DEFAULT_DIVISOR * ((uint64_t)psz / ADY_PAGE_SIZE);
}

/* see internal.h */
void ady_pool_configure(ady_daemon *d)
{
	d->pool.total = d->policy.epc ? d->policy.epc / ADY_PAGE_SIZE : ady_pool_default_pages();
}

/* see internal.h */
uint64_t ady_pool_free(const ady_daemon *d)
{
	/* a reload may lower the pool below what runs: nothing is free then */
	return d->pool.allocated < d->pool.total ? d->pool.total - d->pool.allocated : 0;
}

/* see internal.h */
void ady_pool_tenant_usage(const ady_daemon *d, const char *tenant, uint64_t *pages, uint32_t *count)
{
	*pages = 0;
	*count = 0;
	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		const ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->tenant[0] && strcmp(e->tenant, tenant) == 0) {
			*pages += e->pages;
			(*count)++;
		}
	}
}

/* see internal.h */
ady_err ady_pool_admit(ady_daemon *d, uid_t uid, gid_t gid, uint64_t pages, char tenant[static 32], char *why,
		       size_t cap)
{
	const ady_policy_tenant *t = ady_policy_tenant_of(&d->policy, uid, gid);
	uint64_t free_pages = ady_pool_free(d);

	memset(tenant, 0, 32);
	if (t)
		snprintf(tenant, 32, "%s", t->name);
	if (pages > free_pages) {
		snprintf(why, cap,
			 "enclave memory pool (epc) of %" PRIu64 " pages: request %" PRIu64 " pages, %" PRIu64
			 " pages free",
			 d->pool.total, pages, free_pages);
		goto refused;
	}
	if (t && (t->max_memory || t->max_enclaves)) {
		uint64_t used, limit = t->max_memory / ADY_PAGE_SIZE;
		uint32_t count;

		ady_pool_tenant_usage(d, t->name, &used, &count);
		if (t->max_enclaves && count >= t->max_enclaves) {
			snprintf(why, cap, "tenant %s: enclave limit (enclaves) %" PRIu32 ": request 1 enclave, %" PRIu32
				 " running, 0 free",
				 t->name, t->max_enclaves, count);
			goto refused;
		}
		if (limit && (used > limit || pages > limit - used)) {
			snprintf(why, cap,
				 "tenant %s: enclave memory limit (memory) of %" PRIu64 " pages: request %" PRIu64
				 " pages, %" PRIu64 " pages free",
				 t->name, limit, pages, used < limit ? limit - used : 0);
			goto refused;
		}
	}
	return ADY_OK;

refused:
	d->pool.refused++;
	return ADY_ERR_QUOTA;
}

/* see internal.h */
void ady_pool_reserve(ady_daemon *d, ady_denclave *e, uint64_t pages)
{
	e->pages = pages;
	d->pool.allocated += pages;
	if (d->pool.allocated > d->pool.high_water)
		d->pool.high_water = d->pool.allocated;
}

/* see internal.h */
void ady_pool_release(ady_daemon *d, ady_denclave *e)
{
	d->pool.allocated -= e->pages <= d->pool.allocated ? e->pages : d->pool.allocated;
	e->pages = 0;
}
