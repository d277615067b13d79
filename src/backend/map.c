/* Page permissions from the measured SECINFO; see map.h. */
#include <sys/mman.h>

#include "adyton/sgx.h"
#include "backend/map.h"

/* see map.h */
int ady_map_prot(uint64_t secinfo)
{
	int prot = 0;

	if ((secinfo & ADY_SECINFO_PT_MASK) == ADY_SECINFO_PT_TCS)
		return PROT_READ;
	if (secinfo & ADY_SECINFO_R)
		prot |= PROT_READ;
	if (secinfo & ADY_SECINFO_W)
		prot |= PROT_READ | PROT_WRITE;
	if (secinfo & ADY_SECINFO_X)
		prot |= PROT_READ | PROT_EXEC;
	return prot;
}

/* see map.h */
ady_err ady_map_protect(uint8_t *base, const ady_layout *l)
{
	if (mprotect(base, l->size, PROT_NONE))
		return ADY_ERR_IO;
	for (uint32_t i = 0; i < l->nregions; i++) {
		const ady_region *r = &l->region[i];
		if (mprotect(base + r->offset, r->size, ady_map_prot(r->secinfo)))
			return ADY_ERR_IO;
	}
	return ADY_OK;
}

/* see map.h */
uint64_t ady_map_used(const ady_layout *l)
{
	return l->nregions ? l->region[l->nregions - 1].offset + l->region[l->nregions - 1].size : 0;
}
