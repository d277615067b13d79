/*
 * ECALL and exit counts of adytond's enclaves, for the metrics: read from
 * the counter pages each enclave host keeps (backend/hostmain.h), which the
 * daemon maps read-only from the launch until the host is reaped; kept for
 * the enclaves that ended, by backend and by tenant.
 *
 * The pages are the enclave's own account (its code can write them), so a
 * value is read once, never taken below what it said before, and summed
 * without wrapping: an enclave can overstate its own counts and nothing
 * else.  sim enclaves run inside their application and never reach
 * adytond: they are not counted.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "adyton/host.h"
#include "daemon/internal.h"

static void add(uint64_t *to, uint64_t v)
{
	if (__builtin_add_overflow(*to, v, to))
		*to = UINT64_MAX;
}

/* see internal.h */
void ady_counts_add(ady_enclave_counts *to, const ady_enclave_counts *c)
{
	add(&to->ecalls, c->ecalls);
	for (int k = 0; k < ADY_HOST_EXIT_KINDS; k++)
		add(&to->exits[k], c->exits[k]);
	for (int k = 0; k < ADY_HOST_VM_EXIT_KINDS; k++)
		add(&to->vm_exits[k], c->vm_exits[k]);
}

static uint64_t at_least(uint64_t v, uint64_t seen) { return v < seen ? seen : v; }

/* see internal.h */
void ady_counts_read(ady_denclave *e, ady_enclave_counts *out)
{
	ady_enclave_counts n;

	memset(&n, 0, sizeof(n));
	for (uint32_t i = 0; e->counts && i < e->threads && i < ADY_MAX_THREADS; i++) {
		const ady_host_count *h = &e->counts[i];
		const uint64_t *guest =
			(const uint64_t *)((const uint8_t *)e->counts + ADY_HOST_GUEST_COUNTS + 64u * i);

		add(&n.ecalls, __atomic_load_n(&h->ecalls, __ATOMIC_RELAXED));
		add(&n.ecalls, __atomic_load_n(guest, __ATOMIC_RELAXED));
		for (int k = 0; k < ADY_HOST_EXIT_KINDS; k++)
			add(&n.exits[k], __atomic_load_n(&h->exits[k], __ATOMIC_RELAXED));
		for (int k = 0; k < ADY_HOST_VM_EXIT_KINDS; k++)
			add(&n.vm_exits[k], __atomic_load_n(&h->vm_exits[k], __ATOMIC_RELAXED));
	}
	n.ecalls = at_least(n.ecalls, e->seen.ecalls);
	for (int k = 0; k < ADY_HOST_EXIT_KINDS; k++)
		n.exits[k] = at_least(n.exits[k], e->seen.exits[k]);
	for (int k = 0; k < ADY_HOST_VM_EXIT_KINDS; k++)
		n.vm_exits[k] = at_least(n.vm_exits[k], e->seen.vm_exits[k]);
	e->seen = n;
	*out = n;
}

/* see internal.h */
ady_enclave_counts *ady_counts_tenant(ady_stats *s, const char *tenant)
{
	for (uint32_t i = 0; i < s->ntenants; i++)
		if (strcmp(s->tenants[i].name, tenant) == 0)
			return &s->tenants[i].c;
	if (s->ntenants == ADY_COUNT_TENANTS)
		return NULL;
	ady_tenant_counts *t = &s->tenants[s->ntenants++];
	memset(t, 0, sizeof(*t));
	memcpy(t->name, tenant, sizeof(t->name) - 1);
	return &t->c;
}

/* see internal.h */
void ady_counts_end(ady_daemon *d, ady_denclave *e)
{
	ady_enclave_counts c, *t;

	if (!e->counts)
		return;
	ady_counts_read(e, &c);
	ady_counts_add(&d->stats.ended[e->backend == ADY_BACKEND_KVM], &c);
	if (e->tenant[0] && (t = ady_counts_tenant(&d->stats, e->tenant)) != NULL)
		ady_counts_add(t, &c);
	ady_counts_unmap(e);
}

/* see internal.h */
void ady_counts_unmap(ady_denclave *e)
{
	if (e->counts)
		munmap((void *)(uintptr_t)e->counts, ADY_HOST_COUNTS_SIZE);
	e->counts = NULL;
}
