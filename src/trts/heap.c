/*
 * The enclave heap: a first-fit allocator with boundary tags over the
 * measured heap region.  Small and predictable rather than fast; it is
 * not used on the call path after warm-up (see scratch() in trts.c).
 * Misuse (freeing a pointer that is not an allocated block) aborts the
 * enclave: carrying on after heap corruption would hand an attacker a
 * write primitive.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ALIGN 16u
#define USED 1u

typedef struct block {
	size_t size;      /* whole block incl. header, multiple of ALIGN; bit 0: USED */
	size_t prev_size; /* size of the block before (0 for the first) */
	/* free blocks: links in the payload */
	struct block *next;
	struct block *prev;
} block;

#define HDR (2 * sizeof(size_t))
#define MIN_BLOCK sizeof(block)

static struct {
	uint8_t *lo, *hi;   /* [lo, hi): the blocks; hi holds a USED sentinel header */
	block *free_list;
	int lock;
} h;

static void lock(void)
{
	while (__atomic_exchange_n(&h.lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void unlock(void) { __atomic_store_n(&h.lock, 0, __ATOMIC_RELEASE); }

static size_t bsize(const block *b) { return b->size & ~(size_t)USED; }
static block *next_of(block *b) { return (block *)((uint8_t *)b + bsize(b)); }

static void unlink_free(block *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		h.free_list = b->next;
	if (b->next)
		b->next->prev = b->prev;
}

static void push_free(block *b)
{
	b->prev = NULL;
	b->next = h.free_list;
	if (h.free_list)
		h.free_list->prev = b;
	h.free_list = b;
}

void ady_heap_init(void *base, size_t size)
{
	uint8_t *lo = (uint8_t *)(((uintptr_t)base + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
	size_t usable;

	h.free_list = NULL;
	if (size < (size_t)(lo - (uint8_t *)base) + MIN_BLOCK + HDR)
		return;
	usable = (size - (size_t)(lo - (uint8_t *)base) - HDR) & ~(size_t)(ALIGN - 1);
	h.lo = lo;
	h.hi = lo + usable;
	block *first = (block *)lo;
	first->size = usable;
	first->prev_size = 0;
	block *sentinel = (block *)h.hi;
	sentinel->size = USED;
	sentinel->prev_size = usable;
	push_free(first);
}

static block *checked_block(void *p)
{
	block *b = (block *)((uint8_t *)p - HDR);

	if ((uint8_t *)p < h.lo + HDR || (uint8_t *)p >= h.hi || ((uintptr_t)p & (ALIGN - 1)) ||
	    !(b->size & USED) || bsize(b) < MIN_BLOCK || (uint8_t *)b + bsize(b) > h.hi)
		ady_abort("heap: invalid pointer %p passed to free/realloc", p);
	return b;
}

void *malloc(size_t n)
{
	size_t need;
	block *b;

	if (n == 0)
		n = 1;
	if (__builtin_add_overflow(n, HDR + ALIGN - 1, &need))
		return NULL;
	need &= ~(size_t)(ALIGN - 1);
	if (need < MIN_BLOCK)
		need = MIN_BLOCK;
	lock();
	for (b = h.free_list; b; b = b->next)
		if (bsize(b) >= need)
			break;
	if (!b) {
		unlock();
		return NULL;
	}
	unlink_free(b);
	if (bsize(b) - need >= MIN_BLOCK) {
		block *rest = (block *)((uint8_t *)b + need);
		rest->size = bsize(b) - need;
		rest->prev_size = need;
		next_of(rest)->prev_size = rest->size;
		b->size = need;
		push_free(rest);
	}
	b->size |= USED;
	unlock();
	return (uint8_t *)b + HDR;
}

void free(void *p)
{
	block *b, *n;

	if (!p)
		return;
	lock();
	b = checked_block(p);
	b->size &= ~(size_t)USED;
	n = next_of(b);
	if (!(n->size & USED)) {
		unlink_free(n);
		b->size += n->size;
	}
	if (b->prev_size) {
		block *pv = (block *)((uint8_t *)b - b->prev_size);
		if (!(pv->size & USED)) {
			unlink_free(pv);
			pv->size += b->size;
			b = pv;
		}
	}
	next_of(b)->prev_size = b->size;
	push_free(b);
	unlock();
}

void *calloc(size_t count, size_t size)
{
	size_t n;
	void *p;

	if (__builtin_mul_overflow(count, size, &n))
		return NULL;
	p = malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void *realloc(void *p, size_t n)
{
	size_t have;
	void *q;

	if (!p)
		return malloc(n);
	if (n == 0) {
		free(p);
		return NULL;
	}
	lock();
	have = bsize(checked_block(p)) - HDR;
	unlock();
	if (n <= have)
		return p;
	q = malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	free(p);
	return q;
}
