/* Private to the trusted runtime. */
#ifndef ADY_TRTS_INTERNAL_H
#define ADY_TRTS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/enclave.h"
#include "adyton/layout.h"

/* Everything here resolves inside the image: hidden visibility keeps the
 * compiler from going through the GOT, which is not relocated yet when
 * ady_trts_enter starts. */
#pragma GCC visibility push(hidden)

extern const ady_ecall_table ady_ecall_table_;
extern const uint8_t __ehdr_start[];

uint64_t ady_trts_enter(ady_thread_data *td, uint64_t op, uint64_t ms, uint64_t tcs);
uint64_t ady_trts_exit(ady_thread_data *td, uint64_t op, uint64_t arg);
_Noreturn void ady_trts_abort_return(ady_thread_data *td, uint64_t err);

/* The current thread's data while an ECALL runs, else NULL. */
ady_thread_data *ady_trts_current(void);
/* The measured layout (valid after the first entry). */
const ady_layout_desc *ady_trts_layout(void);
uintptr_t ady_trts_base(void);

void ady_heap_init(void *base, size_t size);

#pragma GCC visibility pop
#endif
