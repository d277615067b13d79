/*
 * The trusted runtime's core: first-entry setup (relocations, layout),
 * ECALL dispatch, OCALLs, log and abort exits.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "adyton/cursor.h"
#include "adyton/meta.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "internal.h"

_Static_assert(TCS_OFSBASE == offsetof(ady_sgx_tcs, ofsbase), "abi.h TCS");
_Static_assert(TD_HOST_RSP == ADY_TD_HOST_RSP && TD_ENCLAVE_RSP == ADY_TD_ENCLAVE_RSP &&
		       TD_EXIT_FN == ADY_TD_EXIT_FN && TD_STATE == ADY_TD_STATE &&
		       TD_STACK_TOP == ADY_TD_STACK_TOP && TD_IDLE == ADY_TD_IDLE && TD_BUSY == ADY_TD_BUSY,
	       "abi.h thread data");
_Static_assert(ERR_BUSY == ADY_ERR_BUSY && ERR_BACKEND == ADY_ERR_BACKEND, "abi.h errors");
_Static_assert(META_SIZE == ADY_META_SIZE && NOTE_META == ADY_ELF_NOTE_META, "abi.h meta");

enum { INIT_NONE, INIT_RUNNING, INIT_DONE, INIT_FAILED };

#define DT_NULL 0
#define DT_RELA 7
#define DT_RELASZ 8
#define R_X86_64_RELATIVE 8
#define PT_LOAD 1

typedef struct {
	int64_t tag;
	uint64_t val;
} dyn_entry;

typedef struct {
	uint64_t offset;
	uint64_t info;
	int64_t addend;
} rela_entry;

/* Not weak: a weak reference would be loaded through the GOT, which is
 * exactly what is not relocated yet.  Every static-PIE has _DYNAMIC. */
extern dyn_entry _DYNAMIC[] __attribute__((visibility("hidden")));

static struct {
	uintptr_t base;
	const ady_layout_desc *desc;
	int init;
	int aborted;
	uint8_t *scratch[ADY_MAX_THREADS];
	size_t scratch_cap[ADY_MAX_THREADS];
} g;

/*
 * Applies R_X86_64_RELATIVE relocations (the loader refused images with any
 * other kind).  Runs before anything reads a relocated pointer, so it uses
 * only PC-relative addresses.
 */
static void relocate(uintptr_t base)
{
	uint64_t rela = 0, relasz = 0;

	for (const dyn_entry *d = _DYNAMIC; d->tag != DT_NULL; d++) {
		if (d->tag == DT_RELA)
			rela = d->val;
		else if (d->tag == DT_RELASZ)
			relasz = d->val;
	}
	for (uint64_t i = 0; i < relasz / sizeof(rela_entry); i++) {
		const rela_entry *r = (const rela_entry *)(base + rela) + i;
		if ((uint32_t)r->info == R_X86_64_RELATIVE)
			*(uint64_t *)(base + r->offset) = base + (uint64_t)r->addend;
	}
}

/* The layout page follows the highest PT_LOAD, found through our own
 * program headers (the loader requires them to be loaded). */
static const ady_layout_desc *find_layout(uintptr_t base)
{
	uint64_t phoff, end = 0;
	uint16_t phentsize, phnum;

	memcpy(&phoff, (const void *)(base + 0x20), 8);
	memcpy(&phentsize, (const void *)(base + 0x36), 2);
	memcpy(&phnum, (const void *)(base + 0x38), 2);
	for (uint16_t i = 0; i < phnum; i++) {
		const uint8_t *ph = (const uint8_t *)(base + phoff + (uint64_t)i * phentsize);
		uint32_t type;
		uint64_t vaddr, memsz;
		memcpy(&type, ph, 4);
		memcpy(&vaddr, ph + 16, 8);
		memcpy(&memsz, ph + 40, 8);
		if (type == PT_LOAD && vaddr + memsz > end)
			end = vaddr + memsz;
	}
	end = (end + ADY_PAGE_SIZE - 1) & ~(uint64_t)(ADY_PAGE_SIZE - 1);
	const ady_layout_desc *d = (const ady_layout_desc *)(base + end);
	if (memcmp(d->magic, ADY_LAYOUT_MAGIC, 8) != 0 || d->version != 1 || d->threads == 0 ||
	    d->threads > ADY_MAX_THREADS)
		return NULL;
	return d;
}

static ady_err init_once(void)
{
	int expect = INIT_NONE;

	if (__atomic_load_n(&g.init, __ATOMIC_ACQUIRE) == INIT_DONE)
		return ADY_OK;
	if (__atomic_compare_exchange_n(&g.init, &expect, INIT_RUNNING, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		uintptr_t base = (uintptr_t)__ehdr_start;
		const ady_layout_desc *d;

		relocate(base);
		d = find_layout(base);
		if (!d) {
			__atomic_store_n(&g.init, INIT_FAILED, __ATOMIC_RELEASE);
			return ADY_ERR_LAYOUT;
		}
		g.base = base;
		g.desc = d;
		ady_heap_init((void *)(base + d->heap_offset), d->heap_size);
		__atomic_store_n(&g.init, INIT_DONE, __ATOMIC_RELEASE);
		return ADY_OK;
	}
	for (;;) {
		int s = __atomic_load_n(&g.init, __ATOMIC_ACQUIRE);
		if (s == INIT_DONE)
			return ADY_OK;
		if (s == INIT_FAILED)
			return ADY_ERR_LAYOUT;
		__builtin_ia32_pause();
	}
}

/* see internal.h */
const ady_layout_desc *ady_trts_layout(void) { return g.desc; }
uintptr_t ady_trts_base(void) { return g.base; }

/* see adyton/enclave.h */
int ady_is_within_enclave(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end;

	if (__builtin_add_overflow(a, n, &end))
		return 0;
	return a >= g.base && end <= g.base + g.desc->size;
}

/* see adyton/enclave.h */
int ady_is_outside_enclave(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, end;

	if (__builtin_add_overflow(a, n, &end))
		return 0;
	return end <= g.base || a >= g.base + g.desc->size;
}

/* The thread whose stack we are on: stacks are disjoint and measured. */
ady_thread_data *ady_trts_current(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	const ady_layout_desc *d = g.desc;

	if (!d)
		return NULL;
	for (uint32_t i = 0; i < d->threads; i++) {
		if (sp >= g.base + d->thread[i].stack_lo && sp < g.base + d->thread[i].stack_hi) {
			ady_thread_data *td = (ady_thread_data *)(g.base + d->thread[i].td);
			return __atomic_load_n(&td->state, __ATOMIC_ACQUIRE) == ADY_TD_BUSY ? td : NULL;
		}
	}
	return NULL;
}

static uint8_t *slot_of(const ady_thread_data *td) { return (uint8_t *)(uintptr_t)td->ms; }

/* Per-thread private copies of ECALL input and output, grown on demand
 * and kept: the hot path does not allocate. */
static ady_err scratch(uint32_t t, size_t need, uint8_t **out)
{
	if (need > g.scratch_cap[t]) {
		uint8_t *p = malloc(need);
		if (!p)
			return ADY_ERR_NOMEM;
		free(g.scratch[t]);
		g.scratch[t] = p;
		g.scratch_cap[t] = need;
	}
	*out = g.scratch[t];
	return ADY_OK;
}

/* No bulk ECALLs unless the enclave declares ADY_BULK_ECALLS (a strong
 * definition wins over this weak one at link time, no GOT involved). */
__attribute__((weak, visibility("hidden"))) const ady_bulk_ecall_table ady_bulk_ecall_table_ = {0, NULL};

static const ady_bulk_ecall *find_bulk(uint32_t index)
{
	const ady_bulk_ecall_table *t = &ady_bulk_ecall_table_;

	for (uint32_t i = 0; i < t->count; i++)
		if (t->entries[i].index == index && t->entries[i].fn)
			return &t->entries[i];
	return NULL;
}

/* A bulk ECALL (adyton/enclave.h): only the control bytes are copied; the
 * data is read and written in place by a handler bound to that contract. */
static ady_err do_bulk(const ady_bulk_ecall *b, uint8_t *slot, const ady_msbuf_hdr *h, size_t *out_len)
{
	uint8_t ctl[ADY_BULK_CTL_MAX];
	size_t io_len;
	ady_err err;

	if (b->ctl_len > ADY_BULK_CTL_MAX)
		return ADY_ERR_INVALID_ARG;
	if (h->in_len < b->ctl_len)
		return ADY_ERR_TRUNCATED;
	io_len = h->in_len - b->ctl_len;
	memcpy(ctl, slot + ADY_MSBUF_HEADER + io_len, b->ctl_len);
	err = b->fn(ctl, slot + ADY_MSBUF_HEADER, io_len, h->out_cap, out_len);
	ady_wipe(ctl, sizeof(ctl));
	return err;
}

static ady_err do_ecall(ady_thread_data *td)
{
	const ady_ecall_table *tab = &ady_ecall_table_;
	uint8_t *slot = slot_of(td);
	const ady_bulk_ecall *bulk;
	ady_msbuf_hdr h, reply = {0};
	uint8_t *buf;
	size_t out_len = 0;
	ady_err err;

	err = ady_msbuf_decode(slot, g.desc->msbuf_size, &h);
	if (err)
		return err;
	if (h.op != ADY_MSBUF_ECALL)
		return ADY_ERR_PROTOCOL;
	bulk = find_bulk(h.index);
	if (bulk) {
		/* in_len and out_cap are each <= the data area (decode checked). */
		err = do_bulk(bulk, slot, &h, &out_len);
		if (err == ADY_OK && out_len > h.out_cap)
			err = ADY_ERR_SHORT_BUFFER;
		goto reply;
	}
	if (h.index >= tab->count || !tab->fns[h.index])
		return ADY_ERR_ECALL_INDEX;
	/* in_len and out_cap are each <= the data area (decode checked), so
	 * their sum cannot overflow. */
	err = scratch(td->index, h.in_len + h.out_cap, &buf);
	if (err)
		return err;
	memcpy(buf, slot + ADY_MSBUF_HEADER, h.in_len);
	memset(buf + h.in_len, 0, h.out_cap);
	err = tab->fns[h.index](h.in_len ? buf : NULL, h.in_len, buf + h.in_len, h.out_cap, &out_len);
	if (err == ADY_OK && out_len > h.out_cap)
		err = ADY_ERR_SHORT_BUFFER;
	if (err == ADY_OK)
		memcpy(slot + ADY_MSBUF_HEADER, buf + h.in_len, out_len);
reply:
	reply.op = ADY_MSBUF_REPLY;
	reply.index = h.index;
	reply.out_len = err == ADY_OK ? out_len : 0;
	reply.status = (uint32_t)err;
	ady_msbuf_encode(slot, &reply);
	return err;
}

/* Entered from entry.S on the thread's own stack. */
uint64_t ady_trts_enter(ady_thread_data *td, uint64_t op, uint64_t ms, uint64_t tcs)
{
	const ady_layout_desc *d;
	uint32_t i;
	ady_err err;

	err = init_once();
	if (err)
		return err;
	if (__atomic_load_n(&g.aborted, __ATOMIC_ACQUIRE))
		return ADY_ERR_ABORTED;
	d = g.desc;
	/* The TCS must be one of ours and agree with its thread data. */
	i = td->index;
	if (i >= d->threads || tcs != g.base + d->thread[i].tcs || (uintptr_t)td != g.base + d->thread[i].td)
		return ADY_ERR_STATE;
	if (op != ADY_ENTER_ECALL)
		return ADY_ERR_PROTOCOL;
	/* The slot is application memory: it must not alias the enclave, or
	 * the application could make us copy our own secrets out. */
	if (!ady_is_outside_enclave((const void *)(uintptr_t)ms, d->msbuf_size))
		return ADY_ERR_RANGE;
	td->ms = ms;
	return do_ecall(td);
}

/* see adyton/enclave.h */
ady_err ady_ocall(uint32_t index, const void *in, size_t in_len, void *out, size_t out_cap, size_t *out_len)
{
	ady_thread_data *td = ady_trts_current();
	uint8_t *slot;
	ady_msbuf_hdr h = {0};
	uint64_t data;
	ady_err err;

	if (out_len)
		*out_len = 0;
	if (!td)
		return ADY_ERR_NOT_IN_ECALL;
	if ((in_len && !in) || (out_cap && (!out || !out_len)))
		return ADY_ERR_INVALID_ARG;
	data = g.desc->msbuf_size - ADY_MSBUF_HEADER;
	if (in_len > data || out_cap > data)
		return ADY_ERR_TOO_LARGE;
	slot = slot_of(td);
	memcpy(slot + ADY_MSBUF_HEADER, in, in_len);
	h.op = ADY_MSBUF_OCALL;
	h.index = index;
	h.in_len = in_len;
	h.out_cap = out_cap;
	ady_msbuf_encode(slot, &h);
	err = (ady_err)ady_trts_exit(td, ADY_MSBUF_OCALL, 0);
	if (err)
		return err;
	err = ady_msbuf_decode(slot, g.desc->msbuf_size, &h);
	if (err)
		return err;
	if (h.op != ADY_MSBUF_REPLY)
		return ADY_ERR_PROTOCOL;
	if (h.status)
		return (ady_err)h.status;
	if (h.out_len > out_cap)
		return ADY_ERR_PROTOCOL;
	memcpy(out, slot + ADY_MSBUF_HEADER, h.out_len);
	if (out_len)
		*out_len = h.out_len;
	return ADY_OK;
}

/* Sends text through the slot as op (LOG or ABORT). */
static void send_text(ady_thread_data *td, uint32_t op, const char *text, size_t len)
{
	uint8_t *slot = slot_of(td);
	ady_msbuf_hdr h = {0};
	uint64_t data = g.desc->msbuf_size - ADY_MSBUF_HEADER;

	if (len > data)
		len = data;
	memcpy(slot + ADY_MSBUF_HEADER, text, len);
	h.op = op;
	h.in_len = len;
	ady_msbuf_encode(slot, &h);
	(void)ady_trts_exit(td, op, 0);
}

/* see adyton/enclave.h */
void ady_log(const char *fmt, ...)
{
	ady_thread_data *td = ady_trts_current();
	char line[1024];
	va_list ap;
	int n;

	if (!td)
		return;
	va_start(ap, fmt);
	n = ady_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	send_text(td, ADY_MSBUF_LOG, line, strnlen(line, sizeof(line)));
}

/* see adyton/enclave.h */
_Noreturn void ady_abort(const char *fmt, ...)
{
	ady_thread_data *td = ady_trts_current();
	char reason[512];
	va_list ap;

	__atomic_store_n(&g.aborted, 1, __ATOMIC_RELEASE);
	va_start(ap, fmt);
	(void)ady_vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (td) {
		send_text(td, ADY_MSBUF_ABORT, reason, strnlen(reason, sizeof(reason)));
		ady_trts_abort_return(td, ADY_ERR_ABORTED);
	}
	/* Not inside a call: there is no host to return to. */
	for (;;)
		__builtin_trap();
}

/* Called by code built with -fstack-protector when a canary was overwritten. */
_Noreturn void __stack_chk_fail(void);
_Noreturn void __stack_chk_fail(void) { ady_abort("stack smashing detected"); }
