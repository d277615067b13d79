/*
 * ctx.c - the adyton-edl context: arena, growable arrays, diagnostics.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "edl.h"

struct edl_arena {
	struct edl_arena *next;
	max_align_t data[];
};

/* see edl.h */
void edl_ctx_init(edl_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
}

/* see edl.h */
void edl_ctx_fini(edl_ctx *ctx)
{
	struct edl_arena *a, *next;

	if (!ctx)
		return;
	for (a = ctx->arena; a; a = next) {
		next = a->next;
		free(a);
	}
	memset(ctx, 0, sizeof(*ctx));
}

/* see edl.h */
void *edl_alloc(edl_ctx *ctx, size_t n)
{
	struct edl_arena *a;
	size_t total;

	if (__builtin_add_overflow(n, sizeof(*a), &total) || !(a = calloc(1, total))) {
		ctx->code = ADY_ERR_NOMEM;
		if (!ctx->err[0])
			strcpy(ctx->err, "error: out of memory");
		return NULL;
	}
	a->next = ctx->arena;
	ctx->arena = a;
	return a->data;
}

/* see edl.h */
char *edl_strndup(edl_ctx *ctx, const char *s, size_t n)
{
	char *p;
	size_t total;

	if (__builtin_add_overflow(n, 1, &total) || !(p = edl_alloc(ctx, total)))
		return NULL;
	memcpy(p, s, n);
	return p;
}

/* see edl.h */
void *edl_push(edl_ctx *ctx, void *v, size_t *n, size_t *cap, size_t el)
{
	void **vp = v;
	uint8_t *nv;
	size_t ncap, bytes;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 8;
		if (__builtin_mul_overflow(ncap, el, &bytes) || !(nv = edl_alloc(ctx, bytes)))
			return NULL;
		if (*n)
			memcpy(nv, *vp, *n * el);
		*vp = nv;
		*cap = ncap;
	}
	return (uint8_t *)*vp + (*n)++ * el;
}

/* see edl.h */
ady_err edl_add_search(edl_ctx *ctx, const char *dir)
{
	if (ctx->nsearch >= EDL_MAX_SEARCH)
		return ADY_ERR_TOO_LARGE;
	ctx->search[ctx->nsearch++] = dir;
	return ADY_OK;
}

static void vformat(char *buf, size_t cap, size_t *len, const char *kind, edl_loc loc, const char *fmt,
		    va_list ap) __attribute__((format(printf, 6, 0)));
static void vformat(char *buf, size_t cap, size_t *len, const char *kind, edl_loc loc, const char *fmt,
		    va_list ap)
{
	size_t used = len ? *len : 0;
	int n;

	if (used >= cap)
		return;
	n = snprintf(buf + used, cap - used, "%s:%u:%u: %s: ", loc.file ? loc.file : "<input>", loc.line, loc.col,
		     kind);
	if (n < 0 || (size_t)n >= cap - used)
		goto full;
	used += (size_t)n;
	n = vsnprintf(buf + used, cap - used, fmt, ap);
	if (n < 0 || (size_t)n >= cap - used)
		goto full;
	used += (size_t)n;
	if (len && used + 1 < cap) {
		buf[used++] = '\n';
		buf[used] = '\0';
	}
	if (len)
		*len = used;
	return;
full:
	if (len)
		*len = cap;
}

/* see edl.h */
ady_err edl_error(edl_ctx *ctx, ady_err code, edl_loc loc, const char *fmt, ...)
{
	va_list ap;

	if (ctx->code)
		return ctx->code;
	ctx->code = code;
	va_start(ap, fmt);
	vformat(ctx->err, sizeof(ctx->err), NULL, "error", loc, fmt, ap);
	va_end(ap);
	return code;
}

/* see edl.h */
void edl_warn(edl_ctx *ctx, edl_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vformat(ctx->warn, sizeof(ctx->warn), &ctx->warn_len, "warning", loc, fmt, ap);
	va_end(ap);
}
