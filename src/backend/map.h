/* src/backend/map.h - page permissions of a loaded enclave. */
#ifndef ADY_BACKEND_MAP_H
#define ADY_BACKEND_MAP_H

#include <stdint.h>

#include "adyton/error.h"
#include "adyton/layout.h"

/* mprotect flags for a page with this SECINFO.FLAGS: W implies R, TCS
 * pages are read-only (the entry stub reads OFSBASE, nothing writes). */
int ady_map_prot(uint64_t secinfo);

/* Makes [base, base+layout->size) inaccessible except the added pages,
 * which get ady_map_prot of their SECINFO.  ADY_ERR_IO on failure. */
ADY_MUST_CHECK ady_err ady_map_protect(uint8_t *base, const ady_layout *layout);

/* One past the last added page: what must be backed by memory. */
uint64_t ady_map_used(const ady_layout *layout);

#endif
