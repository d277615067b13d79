/*
 * gen.c - code generation.  One caller-side emitter (marshal the typed
 * arguments, call through the byte-buffer API, check and unmarshal the
 * reply) and one callee-side emitter (decode with every size checked,
 * allocate private buffers, call, encode), each used for both directions:
 * ECALLs (caller in NAME_u.c, callee in NAME_t.c) and OCALLs (the other
 * way round).  The encoding is documented in docs/edl.md.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "edl.h"

typedef struct gen {
	FILE *f;
	const edl_model *m;
	const char *base;
	char up[128]; /* base in upper case, for macros */
} gen;

enum pkind { P_VALUE, P_UC, P_BUF, P_STR };

static void out(gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(gen *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(g->f, fmt, ap);
	va_end(ap);
}

static void gen_init(gen *g, const edl_model *m, const char *base, FILE *f)
{
	size_t i;

	g->f = f;
	g->m = m;
	g->base = base;
	for (i = 0; base[i] && i + 1 < sizeof(g->up); i++)
		g->up[i] = (base[i] >= 'a' && base[i] <= 'z') ? (char)(base[i] - 'a' + 'A') : base[i];
	g->up[i] = '\0';
}

static ady_err gen_done(gen *g)
{
	return ferror(g->f) ? ADY_ERR_IO : ADY_OK;
}

static enum pkind kind_of(const edl_param *p)
{
	if (!p->is_ptr)
		return P_VALUE;
	if (p->attrs & EDL_A_USER_CHECK)
		return P_UC;
	return (p->attrs & (EDL_A_STRING | EDL_A_WSTRING)) ? P_STR : P_BUF;
}

/* Pointee copied as raw bytes: every scalar (x86-64 is little-endian,
 * asserted in the generated code); enums are checked, structs encoded by
 * field, so neither padding nor unknown values cross the boundary. */
static int flat(const edl_type *t)
{
	return t->base != EDL_STRUCT && t->base != EDL_ENUM && t->base != EDL_UNION;
}

static uint64_t wire_of(const gen *g, const edl_type *t)
{
	return (t->base == EDL_STRUCT || t->base == EDL_UNION) ? g->m->st[t->ref].wire : edl_scalar(t->base)->width;
}

/* A struct with pointer members (deep copy): only ever the pointee of an
 * [in] pointer parameter (the checks), coded by its own helpers. */
static int deep(const gen *g, const edl_type *t)
{
	return t->base == EDL_STRUCT && g->m->st[t->ref].nptr;
}

static const char *ctype(const gen *g, const edl_type *t, char *buf, size_t cap)
{
	if (t->base == EDL_STRUCT)
		snprintf(buf, cap, "struct %s", g->m->st[t->ref].name);
	else if (t->base == EDL_UNION)
		snprintf(buf, cap, "union %s", g->m->st[t->ref].name);
	else if (t->base == EDL_FOREIGN || t->base == EDL_ADDR)
		snprintf(buf, cap, "%s", t->name);
	else if (t->base == EDL_ENUM)
		snprintf(buf, cap, "enum %s", g->m->en[t->ref].name);
	else
		snprintf(buf, cap, "%s", edl_scalar(t->base)->c);
	return buf;
}

static void put_value(gen *g, const char *ind, const edl_type *t, const char *q, const char *expr)
{
	const edl_scalar_info *s = edl_scalar(t->base);

	if (t->base == EDL_STRUCT || t->base == EDL_UNION)
		out(g, "%sady_edl_enc_%s(%s, &(%s));\n", ind, g->m->st[t->ref].name, q, expr);
	else if (t->base == EDL_ENUM)
		out(g, "%sady_edl_put(%s, 4, (uint64_t)(int64_t)(%s));\n", ind, q, expr);
	else if (t->base == EDL_FLOAT)
		out(g, "%sady_edl_putf(%s, %s);\n", ind, q, expr);
	else if (t->base == EDL_DOUBLE)
		out(g, "%sady_edl_putd(%s, %s);\n", ind, q, expr);
	else
		out(g, "%sady_edl_put(%s, %u, (uint64_t)(%s));\n", ind, q, s->width, expr);
}

static void get_value(gen *g, const char *ind, const edl_type *t, const char *cur, const char *lv, const char *fail)
{
	const edl_scalar_info *s = edl_scalar(t->base);
	char ct[160];

	if (t->base == EDL_STRUCT || t->base == EDL_UNION || t->base == EDL_ENUM) {
		out(g, "%sif ((ady_r = ady_edl_dec_%s(%s, &(%s))) != ADY_OK)\n%s\t%s\n", ind,
		    t->base == EDL_ENUM ? g->m->en[t->ref].name : g->m->st[t->ref].name, cur, lv, ind, fail);
		return;
	}
	out(g, "%sif ((ady_r = ady_edl_get(%s, %u, &ady_u)) != ADY_OK)\n%s\t%s\n", ind, cur, s->width, ind, fail);
	if (t->base == EDL_FLOAT)
		out(g, "%s%s = ady_edl_f32(ady_u);\n", ind, lv);
	else if (t->base == EDL_DOUBLE)
		out(g, "%s%s = ady_edl_f64(ady_u);\n", ind, lv);
	else if (s->is_signed && s->width < 8)
		out(g, "%s%s = (%s)(int%u_t)(uint%u_t)ady_u;\n", ind, lv, ctype(g, t, ct, sizeof(ct)), s->width * 8,
		    s->width * 8);
	else if (s->is_signed)
		out(g, "%s%s = (%s)(int64_t)ady_u;\n", ind, lv, ctype(g, t, ct, sizeof(ct)));
	else
		out(g, "%s%s = (%s)ady_u;\n", ind, lv, ctype(g, t, ct, sizeof(ct)));
}

/* A pointer the declared type spells without '*': an array parameter or
 * [isptr]/[isary] on a header's typedef. */
static int implicit_ptr(const edl_param *p)
{
	return p->ndims || (p->attrs & (EDL_A_ISPTR | EDL_A_ISARY));
}

/* "const char *name", "int name[2][3]", "buffer_t name" */
static void param_decl(gen *g, const edl_param *p)
{
	char ct[160];

	out(g, "%s%s %s%s", p->is_const ? "const " : "", ctype(g, &p->type, ct, sizeof(ct)),
	    p->is_ptr && !implicit_ptr(p) ? "*" : "", p->name);
	for (size_t i = 0; i < p->ndims; i++)
		out(g, "[%u]", p->dims[i]);
}

/* The type of the callee's local for a pointer parameter, as an abstract
 * declarator ("int *", "int (*)[3]", "buffer_t", "array_t *"). */
static void local_type(gen *g, const edl_param *p, int uc)
{
	char ct[160];

	ctype(g, &p->type, ct, sizeof(ct));
	if (p->attrs & EDL_A_ISPTR) {
		out(g, "%s", ct);
	} else if ((p->attrs & EDL_A_ISARY) && uc) {
		out(g, "void *");
	} else if (p->ndims > 1) {
		out(g, "%s%s (*)", p->is_const && uc ? "const " : "", ct);
		for (size_t i = 1; i < p->ndims; i++)
			out(g, "[%u]", p->dims[i]);
	} else {
		out(g, "%s%s *", p->is_const && uc ? "const " : "", ct);
	}
}

/* Element i of a non-flat buffer parameter, whatever its declared shape. */
static const char *elem(gen *g, const edl_param *p, const char *ptr, int is_const, char *buf, size_t cap)
{
	char ct[160];

	if (p->ndims > 1)
		snprintf(buf, cap, "((%s%s *)(%svoid *)%s)[ady_i]", is_const ? "const " : "", ctype(g, &p->type, ct, sizeof(ct)),
			 is_const ? "const " : "", ptr);
	else
		snprintf(buf, cap, "%s[ady_i]", ptr);
	return buf;
}

static void params_decl(gen *g, const edl_func *f, int lead)
{
	for (size_t i = 0; i < f->np; i++) {
		if (lead || i)
			out(g, ", ");
		param_decl(g, &f->p[i]);
	}
	if (!lead && !f->np)
		out(g, "void");
}

/* The user's function: the declared C signature. */
static void user_proto(gen *g, const edl_func *f)
{
	char ct[160];

	out(g, "%s %s(", ctype(g, &f->ret, ct, sizeof(ct)), f->name);
	params_decl(g, f, 0);
	out(g, ")");
}

/* The generated caller: ady_err NAME([ady_enclave *ady_e, ][RET *ady_retval, ]params). */
static void stub_proto(gen *g, const edl_func *f, int untrusted)
{
	char ct[160];
	int lead = 0;

	out(g, "ady_err %s(", f->name);
	if (untrusted) {
		out(g, "ady_enclave *ady_e");
		lead = 1;
	}
	if (f->ret.base != EDL_VOID) {
		out(g, "%s%s *ady_retval", lead ? ", " : "", ctype(g, &f->ret, ct, sizeof(ct)));
		lead = 1;
	}
	params_decl(g, f, lead);
	out(g, ")");
}

static void fail_with(gen *g, const char *ind, const char *cond, const char *err)
{
	out(g, "%sif (%s) {\n%s\tady_r = %s;\n%s\tgoto ady_done;\n%s}\n", ind, cond, ind, err, ind, ind);
}

/* Size of a [size=]/[count=] buffer into ady_n_X (elements), ady_b_X
 * (bytes in memory) and ady_w_X (bytes on the wire), overflow-checked. */
static void emit_size(gen *g, const edl_func *f, const edl_param *p)
{
	char ct[160], cond[256];
	const char *n = p->name;

	out(g, "\t{\n\t\tsize_t ady_cnt = 1, ady_esz;\n\n");
	for (int k = 0; k < 2; k++) {
		const edl_sizearg *s = k ? &p->size : &p->count;
		const char *var = k ? "ady_esz" : "ady_cnt";
		if (s->kind == EDL_SZ_LIT) {
			out(g, "\t\t%s = (size_t)UINT64_C(%" PRIu64 ");\n", var, s->lit);
		} else if (s->kind == EDL_SZ_PARAM) {
			const edl_param *q = &f->p[s->param];
			if (edl_scalar(q->type.base)->is_signed) {
				snprintf(cond, sizeof(cond), "%s < 0", q->name);
				fail_with(g, "\t\t", cond, "ADY_ERR_INVALID_ARG");
			}
			out(g, "\t\t%s = (size_t)%s;\n", var, q->name);
		} else if (k) {
			out(g, "\t\tady_esz = sizeof(%s);\n", ctype(g, &p->type, ct, sizeof(ct)));
		}
	}
	snprintf(cond, sizeof(cond), "__builtin_mul_overflow(ady_cnt, ady_esz, &ady_b_%s)", n);
	fail_with(g, "\t\t", cond, "ADY_ERR_OVERFLOW");
	out(g, "\t\tady_n_%s = ady_cnt;\n", n);
	if (flat(&p->type)) {
		out(g, "\t\tady_w_%s = ady_b_%s;\n", n, n);
	} else {
		snprintf(cond, sizeof(cond), "__builtin_mul_overflow(ady_cnt, (size_t)%" PRIu64 ", &ady_w_%s)",
			 wire_of(g, &p->type), n);
		fail_with(g, "\t\t", cond, "ADY_ERR_OVERFLOW");
	}
	out(g, "\t}\n");
}

/* Element counts are only read for encoded (non-flat) buffers. */
static void void_counts(gen *g, const edl_func *f)
{
	for (size_t i = 0; i < f->np; i++)
		if (kind_of(&f->p[i]) >= P_BUF)
			out(g, "\t(void)ady_n_%s;\n", f->p[i].name);
}

static uint64_t fixed_size(const gen *g, const edl_func *f)
{
	uint64_t n = 0;

	for (size_t i = 0; i < f->np; i++) {
		switch (kind_of(&f->p[i])) {
		case P_VALUE:
			n += wire_of(g, &f->p[i].type);
			break;
		case P_UC:
			n += 8;
			break;
		case P_BUF:
			n += 1;
			break;
		case P_STR:
			n += 9;
			break;
		}
	}
	return n;
}

static int is_out(const edl_param *p) { return kind_of(p) >= P_BUF && (p->attrs & EDL_A_OUT); }
static int is_in(const edl_param *p) { return kind_of(p) >= P_BUF && (p->attrs & EDL_A_IN); }

/* Whether member j of s gives the size of one of its pointer members. */
static int size_member(const edl_struct *s, size_t j)
{
	for (size_t i = 0; i < s->n; i++) {
		const edl_member *mb = &s->m[i];
		if (!mb->is_ptr)
			continue;
		if ((mb->size.kind == EDL_SZ_PARAM && mb->size.param == j) ||
		    (mb->count.kind == EDL_SZ_PARAM && mb->count.param == j))
			return 1;
	}
	return 0;
}

/* Deep copy [in, out], caller side: the nested data follows the elements
 * at the lengths sent; nested strings must still end with their
 * terminator. */
static void emit_deep_reply_check(gen *g, const edl_param *p)
{
	const edl_struct *st = &g->m->st[p->type.ref];
	const char *n = p->name;
	char cond[256];
	size_t k = 0;

	out(g, "\tady_do_%s = ady_out_len - ady_cur_left(&ady_c);\n", n);
	out(g, "\t{\n\t\tsize_t ady_off = ady_do_%s;\n\n\t\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++) {\n", n, n);
	for (size_t j = 0; j < st->n; j++) {
		const edl_member *mb = &st->m[j];
		if (!mb->is_ptr)
			continue;
		out(g, "\t\t\tif ((ady_r = ady_cur_skip(&ady_c, ady_dl_%s[ady_i * %zu + %zu])) != ADY_OK)\n\t\t\t\tgoto ady_done;\n",
		    n, st->nptr, k);
		if (mb->attrs & EDL_A_STRING) {
			snprintf(cond, sizeof(cond),
				 "ady_dl_%s[ady_i * %zu + %zu] && ady_out[ady_off + ady_dl_%s[ady_i * %zu + %zu] - 1] != 0", n,
				 st->nptr, k, n, st->nptr, k);
			fail_with(g, "\t\t\t", cond, "ADY_ERR_MALFORMED");
		}
		out(g, "\t\t\tady_off += ady_dl_%s[ady_i * %zu + %zu];\n", n, st->nptr, k);
		k++;
	}
	out(g, "\t\t}\n\t}\n");
}

/* Deep copy [in, out], publish: every member but the pointers and the
 * sizes of nested buffers (the caller's buffers keep their size), and the
 * nested contents into the caller's own buffers. */
static void emit_deep_publish(gen *g, const edl_param *p)
{
	const edl_struct *st = &g->m->st[p->type.ref];
	const char *n = p->name;
	char lv[512];
	size_t k = 0;

	elem(g, p, n, 0, lv, sizeof(lv));
	out(g, "\t{\n\t\tsize_t ady_off = ady_do_%s;\n\n\t\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++) {\n", n, n);
	for (size_t j = 0; j < st->n; j++) {
		const edl_member *mb = &st->m[j];
		if (mb->is_ptr) {
			out(g, "\t\t\tif (ady_dl_%s[ady_i * %zu + %zu] && %s.%s)\n", n, st->nptr, k, lv, mb->name);
			out(g, "\t\t\t\tmemcpy(%s.%s, ady_out + ady_off, ady_dl_%s[ady_i * %zu + %zu]);\n", lv, mb->name, n,
			    st->nptr, k);
			out(g, "\t\t\tady_off += ady_dl_%s[ady_i * %zu + %zu];\n", n, st->nptr, k);
			k++;
		} else if (!size_member(st, j)) {
			out(g, "\t\t\tmemcpy(&%s.%s, &ady_t_%s[ady_i].%s, sizeof(%s.%s));\n", lv, mb->name, n, mb->name, lv,
			    mb->name);
		}
	}
	out(g, "\t\t}\n\t}\n");
}

/* The caller side of one call.  untrusted: an ECALL stub in NAME_u.c
 * (ady_ecall); else an OCALL stub in NAME_t.c (ady_ocall). */
static void emit_caller(gen *g, const edl_func *f, size_t index, int untrusted)
{
	char ct[160], cond[256], lv[512];
	uint64_t retw = f->ret.base == EDL_VOID ? 0 : wire_of(g, &f->ret);

	stub_proto(g, f, untrusted);
	out(g, "\n{\n");
	out(g, "\tuint8_t *ady_in = NULL, *ady_out = NULL, *ady_q;\n");
	out(g, "\tsize_t ady_in_len = %" PRIu64 ", ady_out_cap = %" PRIu64 ", ady_out_len = 0;\n", fixed_size(g, f),
	    retw);
	out(g, "\tady_cur ady_c;\n\tuint64_t ady_u = 0;\n\tady_err ady_r = ADY_OK;\n");
	if (retw)
		out(g, "\t%s ady_ret = 0;\n", ctype(g, &f->ret, ct, sizeof(ct)));
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		if (kind_of(p) < P_BUF)
			continue;
		out(g, "\tsize_t ady_n_%s = 0, ady_b_%s = 0, ady_w_%s = 0;\n", p->name, p->name, p->name);
		if (deep(g, &p->type))
			out(g, "\tsize_t *ady_dl_%s = NULL;\n", p->name);
		if (deep(g, &p->type) && is_out(p))
			out(g, "\tsize_t ady_do_%s = 0;\n", p->name);
		if (is_out(p) && !flat(&p->type))
			out(g, "\t%s *ady_t_%s = NULL;\n", ctype(g, &p->type, ct, sizeof(ct)), p->name);
		else if (is_out(p))
			out(g, "\tsize_t ady_o_%s = 0;\n", p->name);
	}
	out(g, "\n\t(void)ady_u;\n");
	void_counts(g, f);
	/* sizes */
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		if (kind_of(p) == P_BUF) {
			emit_size(g, f, p);
			snprintf(cond, sizeof(cond), "!%s && ady_b_%s", n, n);
			fail_with(g, "\t", cond, "ADY_ERR_INVALID_ARG");
		} else if (kind_of(p) == P_STR && (p->attrs & EDL_A_WSTRING)) {
			out(g, "\tif (%s)\n\t\tady_n_%s = ady_edl_wcslen(%s) + 1;\n", n, n, n);
			snprintf(cond, sizeof(cond), "__builtin_mul_overflow(ady_n_%s, sizeof(wchar_t), &ady_b_%s)", n, n);
			fail_with(g, "\t", cond, "ADY_ERR_OVERFLOW");
			out(g, "\tady_w_%s = ady_b_%s;\n", n, n);
		} else if (kind_of(p) == P_STR) {
			out(g, "\tif (%s)\n\t\tady_b_%s = strlen(%s) + 1;\n\tady_w_%s = ady_b_%s;\n\tady_n_%s = ady_b_%s;\n", n,
			    n, n, n, n, n, n);
		} else {
			continue;
		}
		if (is_in(p)) {
			snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_in_len, ady_w_%s, &ady_in_len)", n);
			fail_with(g, "\t", cond, "ADY_ERR_OVERFLOW");
		}
		if (is_out(p)) {
			snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_out_cap, ady_w_%s, &ady_out_cap)", n);
			fail_with(g, "\t", cond, "ADY_ERR_OVERFLOW");
		}
		if (deep(g, &p->type)) {
			/* every nested buffer's length, computed once: the encoder
			 * writes exactly these */
			size_t k = g->m->st[p->type.ref].nptr;
			out(g, "\tif (ady_n_%s) {\n\t\tsize_t ady_k;\n\n", n);
			snprintf(cond, sizeof(cond), "__builtin_mul_overflow(ady_n_%s, (size_t)%zu, &ady_k)", n, k);
			fail_with(g, "\t\t", cond, "ADY_ERR_OVERFLOW");
			out(g, "\t\tady_dl_%s = calloc(ady_k, sizeof(size_t));\n", n);
			snprintf(cond, sizeof(cond), "!ady_dl_%s", n);
			fail_with(g, "\t\t", cond, "ADY_ERR_NOMEM");
			out(g, "\t}\n\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++) {\n", n);
			out(g, "\t\tif ((ady_r = ady_edl_dlen_%s(&%s, &ady_dl_%s[ady_i * %zu])) != ADY_OK)\n\t\t\tgoto ady_done;\n",
			    g->m->st[p->type.ref].name, elem(g, p, n, 1, lv, sizeof(lv)), n, k);
			out(g, "\t\tfor (size_t ady_j = 0; ady_j < %zu; ady_j++) {\n", k);
			snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_in_len, ady_dl_%s[ady_i * %zu + ady_j], &ady_in_len)", n, k);
			fail_with(g, "\t\t\t", cond, "ADY_ERR_OVERFLOW");
			if (is_out(p)) { /* [in, out]: the same nested buffers come back */
				snprintf(cond, sizeof(cond),
					 "__builtin_add_overflow(ady_out_cap, ady_dl_%s[ady_i * %zu + ady_j], &ady_out_cap)", n, k);
				fail_with(g, "\t\t\t", cond, "ADY_ERR_OVERFLOW");
			}
			out(g, "\t\t}\n\t}\n");
		}
	}
	out(g, "\tady_in = calloc(1, ady_in_len ? ady_in_len : 1);\n\tady_out = calloc(1, ady_out_cap ? ady_out_cap : 1);\n");
	fail_with(g, "\t", "!ady_in || !ady_out", "ADY_ERR_NOMEM");
	/* fixed part */
	out(g, "\tady_q = ady_in;\n");
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		switch (kind_of(p)) {
		case P_VALUE:
			put_value(g, "\t", &p->type, "&ady_q", p->name);
			break;
		case P_UC:
			out(g, "\tady_edl_put(&ady_q, 8, (uint64_t)(uintptr_t)%s);\n", p->name);
			break;
		case P_BUF:
			out(g, "\tady_edl_put(&ady_q, 1, %s != NULL);\n", p->name);
			break;
		case P_STR:
			out(g, "\tady_edl_put(&ady_q, 1, %s != NULL);\n\tady_edl_put(&ady_q, 8, ady_w_%s);\n", p->name,
			    p->name);
			break;
		}
	}
	/* variable part */
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		if (!is_in(p))
			continue;
		if (flat(&p->type)) {
			out(g, "\tady_edl_putb(&ady_q, %s, ady_w_%s);\n", p->name, p->name);
		} else if (deep(g, &p->type)) {
			size_t k = g->m->st[p->type.ref].nptr;
			const char *sn = g->m->st[p->type.ref].name;
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", p->name);
			out(g, "\t\tady_edl_denc_%s(&ady_q, &%s, &ady_dl_%s[ady_i * %zu]);\n", sn, elem(g, p, p->name, 1, lv, sizeof(lv)),
			    p->name, k);
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", p->name);
			out(g, "\t\tady_edl_ddata_%s(&ady_q, &%s, &ady_dl_%s[ady_i * %zu]);\n", sn, elem(g, p, p->name, 1, lv, sizeof(lv)),
			    p->name, k);
		} else {
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", p->name);
			elem(g, p, p->name, 1, lv, sizeof(lv));
			put_value(g, "\t\t", &p->type, "&ady_q", lv);
		}
	}
	out(g, "\t(void)ady_q;\n");
	if (untrusted)
		out(g, "\tady_r = ady_ecall(ady_e, %zu, ady_in, ady_in_len, ady_out, ady_out_cap, &ady_out_len);\n", index);
	else
		out(g, "\tady_r = ady_ocall(%zu, ady_in, ady_in_len, ady_out, ady_out_cap, &ady_out_len);\n", index);
	out(g, "\tif (ady_r != ADY_OK)\n\t\tgoto ady_done;\n");
	/* The reply is exactly as long as what we asked for. */
	fail_with(g, "\t", "ady_out_len != ady_out_cap", "ADY_ERR_PROTOCOL");
	out(g, "\tady_cur_init(&ady_c, ady_out, ady_out_len);\n");
	if (retw)
		get_value(g, "\t", &f->ret, "&ady_c", "ady_ret", "goto ady_done;");
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		if (!is_out(p))
			continue;
		if (flat(&p->type)) {
			out(g, "\tady_o_%s = ady_out_len - ady_cur_left(&ady_c);\n", n);
			out(g, "\tif ((ady_r = ady_cur_skip(&ady_c, ady_w_%s)) != ADY_OK)\n\t\tgoto ady_done;\n", n);
			if (kind_of(p) == P_STR && (p->attrs & EDL_A_WSTRING)) {
				snprintf(cond, sizeof(cond),
					 "ady_w_%s && (ady_w_%s < sizeof(wchar_t) || memcmp(ady_out + ady_o_%s + ady_w_%s - sizeof(wchar_t), "
					 "\"\\0\\0\\0\\0\", sizeof(wchar_t)) != 0)",
					 n, n, n, n);
				fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
			} else if (kind_of(p) == P_STR) {
				snprintf(cond, sizeof(cond), "ady_w_%s && ady_out[ady_o_%s + ady_w_%s - 1] != 0", n, n, n);
				fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
			}
		} else {
			out(g, "\tif (ady_n_%s) {\n\t\tady_t_%s = calloc(ady_n_%s, sizeof(*ady_t_%s));\n", n, n, n, n);
			snprintf(cond, sizeof(cond), "!ady_t_%s", n);
			fail_with(g, "\t\t", cond, "ADY_ERR_NOMEM");
			out(g, "\t}\n\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++) {\n", n);
			if (deep(g, &p->type)) {
				size_t k = g->m->st[p->type.ref].nptr;
				out(g, "\t\tif ((ady_r = ady_edl_dchk_%s(&ady_c, &ady_t_%s[ady_i], &ady_dl_%s[ady_i * %zu])) != ADY_OK)\n"
				       "\t\t\tgoto ady_done;\n\t}\n",
				    g->m->st[p->type.ref].name, n, n, k);
				emit_deep_reply_check(g, p);
				continue;
			}
			snprintf(lv, sizeof(lv), "ady_t_%s[ady_i]", n);
			get_value(g, "\t\t", &p->type, "&ady_c", lv, "goto ady_done;");
			out(g, "\t}\n");
		}
	}
	fail_with(g, "\t", "ady_cur_left(&ady_c) != 0", "ADY_ERR_PROTOCOL");
	out(g, "\t/* Everything checked: publish. */\n");
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		if (!is_out(p))
			continue;
		if (flat(&p->type))
			out(g, "\tif (ady_w_%s)\n\t\tmemcpy(%s, ady_out + ady_o_%s, ady_w_%s);\n", n, n, n, n);
		else if (deep(g, &p->type))
			emit_deep_publish(g, p);
		else
			out(g, "\tif (ady_n_%s)\n\t\tmemcpy(%s, ady_t_%s, ady_b_%s);\n", n, n, n, n);
	}
	if (retw)
		out(g, "\tif (ady_retval)\n\t\t*ady_retval = ady_ret;\n");
	out(g, "ady_done:\n\tady_edl_free(ady_in, ady_in ? ady_in_len : 0);\n");
	out(g, "\tady_edl_free(ady_out, ady_out ? ady_out_cap : 0);\n");
	for (size_t i = 0; i < f->np; i++) {
		if (is_out(&f->p[i]) && !flat(&f->p[i].type))
			out(g, "\tady_edl_free(ady_t_%s, ady_t_%s ? ady_b_%s : 0);\n", f->p[i].name, f->p[i].name,
			    f->p[i].name);
		if (kind_of(&f->p[i]) == P_BUF && deep(g, &f->p[i].type))
			out(g, "\tfree(ady_dl_%s);\n", f->p[i].name);
	}
	out(g, "\treturn ady_r;\n}\n\n");
}

/* Deep copy, callee side: the elements (their nested lengths checked
 * against the sibling members), then every nested buffer, bounded by the
 * input actually present, into a fresh allocation of its own. */
static void emit_deep_in(gen *g, const edl_param *p)
{
	const edl_struct *st = &g->m->st[p->type.ref];
	const char *n = p->name;
	char cond[256], lv[512];

	out(g, "\tif (ady_n_%s) {\n\t\tsize_t ady_k;\n\n", n);
	snprintf(cond, sizeof(cond), "__builtin_mul_overflow(ady_n_%s, (size_t)%zu, &ady_k)", n, st->nptr);
	fail_with(g, "\t\t", cond, "ADY_ERR_OVERFLOW");
	out(g, "\t\tady_dl_%s = calloc(ady_k, sizeof(uint64_t));\n\t\tady_dp_%s = calloc(ady_k, sizeof(void *));\n", n, n);
	snprintf(cond, sizeof(cond), "!ady_dl_%s || !ady_dp_%s", n, n);
	fail_with(g, "\t\t", cond, "ADY_ERR_NOMEM");
	out(g, "\t}\n\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", n);
	out(g, "\t\tif ((ady_r = ady_edl_ddec_%s(&ady_c, &%s, &ady_dl_%s[ady_i * %zu])) != ADY_OK)\n\t\t\tgoto ady_done;\n",
	    st->name, elem(g, p, n, 0, lv, sizeof(lv)), n, st->nptr);
	out(g, "\t{\n\t\tuint64_t ady_sum = 0;\n\n\t\tfor (size_t ady_j = 0; ady_j < ady_n_%s * %zu; ady_j++)\n", n, st->nptr);
	snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_sum, ady_dl_%s[ady_j], &ady_sum)", n);
	fail_with(g, "\t\t\t", cond, "ADY_ERR_OVERFLOW");
	fail_with(g, "\t\t", "ady_sum > ady_cur_left(&ady_c)", "ADY_ERR_TRUNCATED");
	if (p->attrs & EDL_A_OUT) { /* [in, out]: the nested buffers go back too */
		snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_need, ady_sum, &ady_need)");
		fail_with(g, "\t\t", cond, "ADY_ERR_OVERFLOW");
		fail_with(g, "\t\t", "ady_need > ady_out_cap", "ADY_ERR_SHORT_BUFFER");
	}
	out(g, "\t}\n\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", n);
	out(g, "\t\tif ((ady_r = ady_edl_ddata_dec_%s(&ady_c, &%s, &ady_dl_%s[ady_i * %zu], &ady_dp_%s[ady_i * %zu])) != ADY_OK)\n"
	       "\t\t\tgoto ady_done;\n",
	    st->name, elem(g, p, n, 0, lv, sizeof(lv)), n, st->nptr, n, st->nptr);
}

/* The callee side: a handler of the byte-buffer API that decodes the
 * (private) input, calls the user's function and encodes the reply. */
static void emit_callee(gen *g, const edl_func *f, int untrusted)
{
	char ct[160], cond[256], lv[512];
	uint64_t retw = f->ret.base == EDL_VOID ? 0 : wire_of(g, &f->ret);
	int has_deep = 0;

	for (size_t i = 0; i < f->np; i++)
		has_deep |= kind_of(&f->p[i]) == P_BUF && deep(g, &f->p[i].type);
	out(g, "static ady_err ady_edl_h_%s(%sconst uint8_t *ady_in, size_t ady_in_len, uint8_t *ady_out,\n"
	       "\t\t\t\tsize_t ady_out_cap, size_t *ady_out_len)\n{\n",
	    f->name, untrusted ? "void *ady_ctx, " : "");
	if (f->trusted && !f->is_public) {
		/* Private ECALLs may only run inside an OCALL that allow()s them,
		 * and adyton refuses nested calls: never callable. */
		out(g, "\t(void)ady_in, (void)ady_in_len, (void)ady_out, (void)ady_out_cap, (void)ady_out_len;\n");
		out(g, "\treturn ADY_ERR_PERMISSION;\n}\n\n");
		return;
	}
	out(g, "\tady_cur ady_c;\n\tuint64_t ady_u = 0;\n\tady_err ady_r = ADY_OK;\n\tuint8_t *ady_q;\n");
	out(g, "\tsize_t ady_need = %" PRIu64 ", ady_data = 0;\n", retw);
	if (retw)
		out(g, "\t%s ady_ret;\n", ctype(g, &f->ret, ct, sizeof(ct)));
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		ctype(g, &p->type, ct, sizeof(ct));
		switch (kind_of(p)) {
		case P_VALUE:
			out(g, "\t%s %s;\n", ct, n);
			break;
		case P_UC:
			out(g, "\t__typeof__(");
			local_type(g, p, 1);
			out(g, ") %s = NULL;\n", n);
			break;
		case P_STR:
			out(g, "\tuint64_t ady_l_%s = 0;\n", n);
			/* fall through */
		case P_BUF:
			out(g, "\t__typeof__(");
			local_type(g, p, 0);
			out(g, ") %s = NULL;\n\tuint8_t ady_p_%s = 0;\n", n, n);
			out(g, "\tsize_t ady_n_%s = 0, ady_b_%s = 0, ady_w_%s = 0;\n", n, n, n);
			if (deep(g, &p->type))
				out(g, "\tuint64_t *ady_dl_%s = NULL;\n\tvoid **ady_dp_%s = NULL;\n", n, n);
			break;
		}
	}
	out(g, "\n\t(void)ady_u;\n");
	void_counts(g, f);
	if (untrusted)
		out(g, "\t(void)ady_ctx;\n");
	for (size_t i = 0; i < f->np; i++)
		if (kind_of(&f->p[i]) == P_VALUE)
			out(g, "\tmemset(&%s, 0, sizeof(%s));\n", f->p[i].name, f->p[i].name);
	out(g, "\tady_cur_init(&ady_c, ady_in, ady_in_len);\n");
	/* fixed part */
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		switch (kind_of(p)) {
		case P_VALUE:
			get_value(g, "\t", &p->type, "&ady_c", n, "goto ady_done;");
			break;
		case P_UC:
			out(g, "\tif ((ady_r = ady_edl_get(&ady_c, 8, &ady_u)) != ADY_OK)\n\t\tgoto ady_done;\n");
			out(g, "\t%s = (", n);
			local_type(g, p, 1);
			out(g, ")(uintptr_t)ady_u;\n");
			break;
		case P_BUF:
		case P_STR:
			out(g, "\tif ((ady_r = ady_cur_u8(&ady_c, &ady_p_%s)) != ADY_OK)\n\t\tgoto ady_done;\n", n);
			snprintf(cond, sizeof(cond), "ady_p_%s > 1", n);
			fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
			if (kind_of(p) == P_STR)
				out(g, "\tif ((ady_r = ady_cur_u64le(&ady_c, &ady_l_%s)) != ADY_OK)\n\t\tgoto ady_done;\n", n);
			break;
		}
	}
	/* sizes, all before any allocation */
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		if (kind_of(p) == P_BUF) {
			emit_size(g, f, p);
			/* NULL with a non-zero size */
			snprintf(cond, sizeof(cond), "!ady_p_%s && ady_b_%s", n, n);
			fail_with(g, "\t", cond, "ADY_ERR_INVALID_ARG");
		} else if (kind_of(p) == P_STR) {
			snprintf(cond, sizeof(cond), "ady_p_%s ? ady_l_%s == 0 : ady_l_%s != 0", n, n, n);
			fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
			/* bounded by the input actually present */
			snprintf(cond, sizeof(cond), "ady_l_%s > ady_cur_left(&ady_c)", n);
			fail_with(g, "\t", cond, "ADY_ERR_TRUNCATED");
			out(g, "\tady_b_%s = ady_w_%s = ady_n_%s = (size_t)ady_l_%s;\n", n, n, n, n);
			if (p->attrs & EDL_A_WSTRING) {
				/* whole wide characters only */
				snprintf(cond, sizeof(cond), "ady_b_%s %% sizeof(wchar_t) != 0", n);
				fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
				out(g, "\tady_n_%s = ady_b_%s / sizeof(wchar_t);\n", n, n);
			}
		} else {
			continue;
		}
		if (is_in(p)) {
			snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_data, ady_w_%s, &ady_data)", n);
			fail_with(g, "\t", cond, "ADY_ERR_OVERFLOW");
		}
		if (is_out(p)) {
			snprintf(cond, sizeof(cond), "__builtin_add_overflow(ady_need, ady_w_%s, &ady_need)", n);
			fail_with(g, "\t", cond, "ADY_ERR_OVERFLOW");
		}
	}
	fail_with(g, "\t", "ady_data > ady_cur_left(&ady_c)", "ADY_ERR_TRUNCATED");
	if (!has_deep) /* else checked once the nested buffers are read */
		fail_with(g, "\t", "ady_data < ady_cur_left(&ady_c)", "ADY_ERR_MALFORMED");
	fail_with(g, "\t", "ady_need > ady_out_cap", "ADY_ERR_SHORT_BUFFER");
	/* private copies; [out] buffers zeroed */
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		const char *n = p->name;
		if (kind_of(p) < P_BUF)
			continue;
		out(g, "\tif (ady_b_%s) {\n\t\t%s = calloc(1, ady_b_%s);\n", n, n, n);
		snprintf(cond, sizeof(cond), "!%s", n);
		fail_with(g, "\t\t", cond, "ADY_ERR_NOMEM");
		out(g, "\t}\n");
		if (!is_in(p))
			continue;
		if (flat(&p->type)) {
			out(g, "\tif (ady_b_%s && (ady_r = ady_cur_bytes(&ady_c, %s, ady_b_%s)) != ADY_OK)\n\t\tgoto ady_done;\n",
			    n, n, n);
		} else if (deep(g, &p->type)) {
			emit_deep_in(g, p);
		} else {
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++) {\n", n);
			elem(g, p, n, 0, lv, sizeof(lv));
			get_value(g, "\t\t", &p->type, "&ady_c", lv, "goto ady_done;");
			out(g, "\t}\n");
		}
		if (kind_of(p) == P_STR && (p->attrs & EDL_A_WSTRING)) {
			snprintf(cond, sizeof(cond), "ady_n_%s && %s[ady_n_%s - 1] != 0", n, n, n);
			fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
		} else if (kind_of(p) == P_STR) {
			/* the terminator must lie within the bound */
			snprintf(cond, sizeof(cond), "ady_b_%s && %s[ady_b_%s - 1] != '\\0'", n, n, n);
			fail_with(g, "\t", cond, "ADY_ERR_MALFORMED");
		}
	}
	if (has_deep)
		fail_with(g, "\t", "ady_cur_left(&ady_c) != 0", "ADY_ERR_MALFORMED");
	out(g, "\t%s%s(", retw ? "ady_ret = " : "", f->name);
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		/* [isary]: the private copy is a T *, the function takes a T */
		int star = kind_of(p) == P_BUF && (p->attrs & EDL_A_ISARY);
		out(g, "%s%s%s", i ? ", " : "", star ? "*" : "", p->name);
	}
	out(g, ");\n");
	/* outputs, only after the call returned */
	out(g, "\tady_q = ady_out;\n");
	if (retw)
		put_value(g, "\t", &f->ret, "&ady_q", "ady_ret");
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		if (!is_out(p))
			continue;
		if (flat(&p->type)) {
			out(g, "\tady_edl_putb(&ady_q, %s, ady_w_%s);\n", p->name, p->name);
		} else if (deep(g, &p->type)) {
			/* the fields as the function left them; the nested buffers
			 * this handler allocated, at the lengths that came in */
			const edl_struct *st = &g->m->st[p->type.ref];
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", p->name);
			out(g, "\t\tady_edl_drep_%s(&ady_q, &%s, &ady_dl_%s[ady_i * %zu]);\n", st->name,
			    elem(g, p, p->name, 0, lv, sizeof(lv)), p->name, st->nptr);
			out(g, "\tfor (size_t ady_j = 0; ady_j < ady_n_%s * %zu; ady_j++)\n", p->name, st->nptr);
			out(g, "\t\tady_edl_putb(&ady_q, ady_dp_%s[ady_j], (size_t)ady_dl_%s[ady_j]);\n", p->name, p->name);
		} else {
			out(g, "\tfor (size_t ady_i = 0; ady_i < ady_n_%s; ady_i++)\n", p->name);
			elem(g, p, p->name, 0, lv, sizeof(lv));
			put_value(g, "\t\t", &p->type, "&ady_q", lv);
		}
	}
	out(g, "\t(void)ady_q;\n\t*ady_out_len = ady_need;\nady_done:\n");
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *p = &f->p[i];
		if (kind_of(p) == P_BUF && deep(g, &p->type)) {
			/* the nested copies this handler made, whatever the
			 * function did to the pointers in the struct */
			out(g, "\tif (ady_dp_%s)\n\t\tfor (size_t ady_j = 0; ady_j < ady_n_%s * %zu; ady_j++)\n", p->name,
			    p->name, g->m->st[p->type.ref].nptr);
			out(g, "\t\t\tady_edl_free(ady_dp_%s[ady_j], (size_t)ady_dl_%s[ady_j]);\n", p->name, p->name);
			out(g, "\tfree(ady_dp_%s);\n\tfree(ady_dl_%s);\n", p->name, p->name);
		}
		if (kind_of(p) >= P_BUF)
			out(g, "\tady_edl_free(%s, ady_b_%s);\n", p->name, p->name);
	}
	out(g, "\treturn ady_r;\n}\n\n");
}

/* Bytes of pointer member k of *ady_v from its siblings, into lv, with
 * the same checks as a top-level [size=]/[count=] (fail: the statement
 * that fails). */
static void member_bytes(gen *g, const edl_struct *s, const edl_member *mb, const char *lv, const char *ind)
{
	char ct[160];

	snprintf(ct, sizeof(ct), "sizeof(%s)", edl_scalar(mb->type.base)->c);
	out(g, "%s{\n%s\tsize_t ady_cnt = 1, ady_esz = %s;\n\n", ind, ind,
	    mb->size.kind || mb->type.base == EDL_VOID ? "1" : ct);
	for (int k = 0; k < 2; k++) {
		const edl_sizearg *a = k ? &mb->size : &mb->count;
		const char *var = k ? "ady_esz" : "ady_cnt";
		if (a->kind == EDL_SZ_LIT) {
			out(g, "%s\t%s = (size_t)UINT64_C(%" PRIu64 ");\n", ind, var, a->lit);
		} else if (a->kind == EDL_SZ_PARAM) {
			const edl_member *q = &s->m[a->param];
			if (edl_scalar(q->type.base)->is_signed)
				out(g, "%s\tif (ady_v->%s < 0)\n%s\t\treturn ADY_ERR_INVALID_ARG;\n", ind, q->name, ind);
			out(g, "%s\t%s = (size_t)ady_v->%s;\n", ind, var, q->name);
		}
	}
	out(g, "%s\tif (__builtin_mul_overflow(ady_cnt, ady_esz, &%s))\n%s\t\treturn ADY_ERR_OVERFLOW;\n%s}\n", ind, lv, ind,
	    ind);
}

static void emit_deep_helpers(gen *g, const edl_struct *s)
{
	char lv[160];
	size_t k;

	/* caller: each nested buffer's length, once */
	out(g, "ADY_EDL_HELPER ady_err ady_edl_dlen_%s(const struct %s *ady_v, size_t *ady_l)\n{\n", s->name, s->name);
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (!mb->is_ptr)
			continue;
		if (mb->attrs & EDL_A_STRING) {
			out(g, "\tady_l[%zu] = ady_v->%s ? strlen(ady_v->%s) + 1 : 0;\n", k, mb->name, mb->name);
		} else {
			snprintf(lv, sizeof(lv), "ady_l[%zu]", k);
			member_bytes(g, s, mb, lv, "\t");
			out(g, "\tif (!ady_v->%s && ady_l[%zu])\n\t\treturn ADY_ERR_INVALID_ARG;\n", mb->name, k);
		}
		k++;
	}
	out(g, "\treturn ADY_OK;\n}\n\n");
	/* caller: the element, pointers as present + length */
	out(g, "ADY_EDL_HELPER void ady_edl_denc_%s(uint8_t **ady_q, const struct %s *ady_v, const size_t *ady_l)\n{\n",
	    s->name, s->name);
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (mb->is_ptr) {
			out(g, "\tady_edl_put(ady_q, 1, ady_v->%s != NULL);\n\tady_edl_put(ady_q, 8, ady_l[%zu]);\n", mb->name, k++);
		} else if (mb->dim) {
			out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++)\n", mb->dim);
			snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
			put_value(g, "\t\t", &mb->type, "ady_q", lv);
		} else {
			snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
			put_value(g, "\t", &mb->type, "ady_q", lv);
		}
	}
	out(g, "}\n\n");
	out(g, "ADY_EDL_HELPER void ady_edl_ddata_%s(uint8_t **ady_q, const struct %s *ady_v, const size_t *ady_l)\n{\n",
	    s->name, s->name);
	k = 0;
	for (size_t j = 0; j < s->n; j++)
		if (s->m[j].is_ptr)
			out(g, "\tady_edl_putb(ady_q, ady_v->%s, ady_l[%zu]);\n", s->m[j].name, k++);
	out(g, "}\n\n");
	/* callee: the element; every length must be what the siblings say */
	out(g, "ADY_EDL_HELPER ady_err ady_edl_ddec_%s(ady_cur *ady_c, struct %s *ady_v, uint64_t *ady_l)\n{\n", s->name,
	    s->name);
	out(g, "\tuint64_t ady_u = 0;\n\tuint8_t ady_p[%zu] = {0};\n\tady_err ady_r;\n\n\t(void)ady_u;\n", s->nptr);
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (mb->is_ptr) {
			out(g, "\tif ((ady_r = ady_cur_u8(ady_c, &ady_p[%zu])) != ADY_OK || (ady_r = ady_cur_u64le(ady_c, &ady_l[%zu])) != ADY_OK)\n"
			       "\t\treturn ady_r;\n",
			    k, k);
			out(g, "\tif (ady_p[%zu] > 1 || (!ady_p[%zu] && ady_l[%zu]))\n\t\treturn ADY_ERR_MALFORMED;\n\tady_v->%s = NULL;\n",
			    k, k, k, mb->name);
			k++;
		} else if (mb->dim) {
			out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++) {\n", mb->dim);
			snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
			get_value(g, "\t\t", &mb->type, "ady_c", lv, "return ady_r;");
			out(g, "\t}\n");
		} else {
			snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
			get_value(g, "\t", &mb->type, "ady_c", lv, "return ady_r;");
		}
	}
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (!mb->is_ptr)
			continue;
		if (mb->attrs & EDL_A_STRING) {
			out(g, "\tif (ady_p[%zu] && ady_l[%zu] == 0)\n\t\treturn ADY_ERR_MALFORMED;\n", k, k);
		} else {
			out(g, "\t{\n\t\tsize_t ady_b = 0;\n\n");
			member_bytes(g, s, mb, "ady_b", "\t\t");
			out(g, "\t\tif (!ady_p[%zu] && ady_b)\n\t\t\treturn ADY_ERR_INVALID_ARG;\n", k);
			out(g, "\t\tif (ady_p[%zu] && ady_l[%zu] != ady_b)\n\t\t\treturn ADY_ERR_MALFORMED;\n\t}\n", k, k);
		}
		k++;
	}
	out(g, "\treturn ADY_OK;\n}\n\n");
	/* callee, [in, out] reply: the fields, pointers as the lengths that came in */
	out(g, "ADY_EDL_HELPER void ady_edl_drep_%s(uint8_t **ady_q, const struct %s *ady_v, const uint64_t *ady_l)\n{\n",
	    s->name, s->name);
	out(g, "\t(void)ady_v;\n");
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (mb->is_ptr) {
			out(g, "\tady_edl_put(ady_q, 1, ady_l[%zu] != 0);\n\tady_edl_put(ady_q, 8, ady_l[%zu]);\n", k, k);
			k++;
		} else if (mb->dim) {
			out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++)\n", mb->dim);
			snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
			put_value(g, "\t\t", &mb->type, "ady_q", lv);
		} else {
			snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
			put_value(g, "\t", &mb->type, "ady_q", lv);
		}
	}
	out(g, "}\n\n");
	/* caller, [in, out] reply: fields into a scratch element; the nested
	 * lengths must be the ones sent */
	out(g, "ADY_EDL_HELPER ady_err ady_edl_dchk_%s(ady_cur *ady_c, struct %s *ady_v, const size_t *ady_l)\n{\n", s->name,
	    s->name);
	out(g, "\tuint64_t ady_u = 0, ady_n = 0;\n\tuint8_t ady_p = 0;\n\tady_err ady_r;\n\n\t(void)ady_u;\n");
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (mb->is_ptr) {
			out(g, "\tif ((ady_r = ady_cur_u8(ady_c, &ady_p)) != ADY_OK || (ady_r = ady_cur_u64le(ady_c, &ady_n)) != ADY_OK)\n"
			       "\t\treturn ady_r;\n");
			out(g, "\tif (ady_p != (ady_l[%zu] != 0) || ady_n != ady_l[%zu])\n\t\treturn ADY_ERR_PROTOCOL;\n\tady_v->%s = NULL;\n",
			    k, k, mb->name);
			k++;
		} else if (mb->dim) {
			out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++) {\n", mb->dim);
			snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
			get_value(g, "\t\t", &mb->type, "ady_c", lv, "return ady_r;");
			out(g, "\t}\n");
		} else {
			snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
			get_value(g, "\t", &mb->type, "ady_c", lv, "return ady_r;");
		}
	}
	out(g, "\treturn ADY_OK;\n}\n\n");
	/* callee: the nested buffers, private copies */
	out(g, "ADY_EDL_HELPER ady_err ady_edl_ddata_dec_%s(ady_cur *ady_c, struct %s *ady_v, const uint64_t *ady_l, void **ady_d)\n{\n",
	    s->name, s->name);
	out(g, "\tady_err ady_r;\n\n");
	k = 0;
	for (size_t j = 0; j < s->n; j++) {
		const edl_member *mb = &s->m[j];
		if (!mb->is_ptr)
			continue;
		out(g, "\tif (ady_l[%zu]) {\n\t\tif (!(ady_d[%zu] = calloc(1, (size_t)ady_l[%zu])))\n\t\t\treturn ADY_ERR_NOMEM;\n", k, k, k);
		out(g, "\t\tif ((ady_r = ady_cur_bytes(ady_c, ady_d[%zu], (size_t)ady_l[%zu])) != ADY_OK)\n\t\t\treturn ady_r;\n", k, k);
		if (mb->attrs & EDL_A_STRING)
			out(g, "\t\tif (((const char *)ady_d[%zu])[ady_l[%zu] - 1] != '\\0')\n\t\t\treturn ADY_ERR_MALFORMED;\n", k, k);
		out(g, "\t\tady_v->%s = ady_d[%zu];\n\t}\n", mb->name, k);
		k++;
	}
	out(g, "\treturn ADY_OK;\n}\n\n");
}

static void emit_types(gen *g)
{
	char ct[160];

	for (size_t i = 0; i < g->m->nen; i++) {
		const edl_enum *e = &g->m->en[i];
		out(g, "#ifndef ADY_EDL_TYPE_%s\n#define ADY_EDL_TYPE_%s\ntypedef enum %s {\n", e->name, e->name, e->name);
		for (size_t j = 0; j < e->n; j++)
			out(g, "\t%s = %" PRId64 ",\n", e->v[j].name, e->v[j].value);
		out(g, "} %s;\n#endif\n\n", e->name);
	}
	for (size_t i = 0; i < g->m->nst; i++) {
		const edl_struct *s = &g->m->st[i];
		const char *kw = s->is_union ? "union" : "struct";
		out(g, "#ifndef ADY_EDL_TYPE_%s\n#define ADY_EDL_TYPE_%s\ntypedef %s %s {\n", s->name, s->name, kw, s->name);
		for (size_t j = 0; j < s->n; j++) {
			out(g, "\t%s %s%s", ctype(g, &s->m[j].type, ct, sizeof(ct)), s->m[j].is_ptr ? "*" : "", s->m[j].name);
			if (s->m[j].dim)
				out(g, "[%u]", s->m[j].dim);
			out(g, ";\n");
		}
		out(g, "} %s;\n#endif\n\n", s->name);
	}
}

static void emit_indices(gen *g)
{
	size_t n = 0;

	out(g, "/* ECALL indices (the enclave's ECALL table order). */\nenum {\n");
	for (size_t i = 0; i < g->m->nfn; i++)
		if (g->m->fn[i].trusted)
			out(g, "\t%s_ECALL_%s = %zu,\n", g->up, g->m->fn[i].name, n++);
	out(g, "\t%s_ECALL_COUNT = %zu\n};\n\n", g->up, n);
	n = 0;
	out(g, "/* OCALL indices (the application's OCALL table order). */\nenum {\n");
	for (size_t i = 0; i < g->m->nfn; i++)
		if (!g->m->fn[i].trusted)
			out(g, "\t%s_OCALL_%s = %zu,\n", g->up, g->m->fn[i].name, n++);
	out(g, "\t%s_OCALL_COUNT = %zu\n};\n\n", g->up, n);
}

static void emit_header_top(gen *g, const char *side, const char *api)
{
	out(g, "/* Generated by adyton-edl from %s.edl: do not edit.  See docs/edl.md. */\n", g->base);
	out(g, "#ifndef ADY_EDL_%s_%s_H\n#define ADY_EDL_%s_%s_H\n\n", g->up, side, g->up, side);
	out(g, "#include <stddef.h>\n#include <stdint.h>\n\n#include <adyton/%s.h>\n\n", api);
	for (size_t i = 0; i < g->m->ninc; i++)
		out(g, "#include \"%s\"\n", g->m->inc[i]);
	if (g->m->ninc)
		out(g, "\n");
	out(g, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
	emit_types(g);
	emit_indices(g);
}

static void emit_header_end(gen *g)
{
	out(g, "#ifdef __cplusplus\n}\n#endif\n#endif\n");
}

/* Helpers every generated .c carries (static, so that the trusted and
 * untrusted files of several EDLs link together). */
static void emit_c_top(gen *g, const char *hdr)
{
	out(g, "/* Generated by adyton-edl from %s.edl: do not edit.  See docs/edl.md. */\n", g->base);
	out(g, "#include <stdint.h>\n#include <stdlib.h>\n#include <string.h>\n\n#include <adyton/cursor.h>\n\n");
	out(g, "#include \"%s_%s.h\"\n\n", g->base, hdr);
	out(g, "_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, \"adyton-edl: little-endian only\");\n");
	out(g, "_Static_assert(sizeof(short) == 2 && sizeof(int) == 4 && sizeof(long) == 8 && sizeof(long long) == 8 &&\n"
	       "\t\t       sizeof(size_t) == 8 && sizeof(wchar_t) == 4 && sizeof(float) == 4 && sizeof(double) == 8 &&\n"
	       "\t\t       sizeof(void *) == 8,\n"
	       "\t       \"adyton-edl: LP64 only\");\n\n");
	out(g, "#define ADY_EDL_HELPER static inline __attribute__((unused))\n\n");
	out(g, "ADY_EDL_HELPER void ady_edl_put(uint8_t **ady_q, unsigned ady_w, uint64_t ady_v)\n{\n"
	       "\tfor (unsigned ady_i = 0; ady_i < ady_w; ady_i++)\n\t\t(*ady_q)[ady_i] = (uint8_t)(ady_v >> (8 * ady_i));\n\t*ady_q += ady_w;\n}\n\n");
	out(g, "ADY_EDL_HELPER void ady_edl_putb(uint8_t **ady_q, const void *ady_p, size_t ady_n)\n{\n"
	       "\tif (ady_n)\n\t\tmemcpy(*ady_q, ady_p, ady_n);\n\t*ady_q += ady_n;\n}\n\n");
	out(g, "ADY_EDL_HELPER void ady_edl_putf(uint8_t **ady_q, float ady_v)\n{\n"
	       "\tuint32_t ady_b;\n\n\tmemcpy(&ady_b, &ady_v, 4);\n\tady_edl_put(ady_q, 4, ady_b);\n}\n\n");
	out(g, "ADY_EDL_HELPER void ady_edl_putd(uint8_t **ady_q, double ady_v)\n{\n"
	       "\tuint64_t ady_b;\n\n\tmemcpy(&ady_b, &ady_v, 8);\n\tady_edl_put(ady_q, 8, ady_b);\n}\n\n");
	out(g, "ADY_EDL_HELPER ady_err ady_edl_get(ady_cur *ady_c, unsigned ady_w, uint64_t *ady_v)\n{\n"
	       "\tuint8_t ady_b = 0;\n\tuint16_t ady_h = 0;\n\tuint32_t ady_x = 0;\n\tady_err ady_r;\n\n"
	       "\tswitch (ady_w) {\n"
	       "\tcase 1:\n\t\tady_r = ady_cur_u8(ady_c, &ady_b);\n\t\t*ady_v = ady_b;\n\t\treturn ady_r;\n"
	       "\tcase 2:\n\t\tady_r = ady_cur_u16le(ady_c, &ady_h);\n\t\t*ady_v = ady_h;\n\t\treturn ady_r;\n"
	       "\tcase 4:\n\t\tady_r = ady_cur_u32le(ady_c, &ady_x);\n\t\t*ady_v = ady_x;\n\t\treturn ady_r;\n"
	       "\tcase 8:\n\t\treturn ady_cur_u64le(ady_c, ady_v);\n"
	       "\tdefault:\n\t\treturn ADY_ERR_MALFORMED;\n\t}\n}\n\n");
	out(g, "ADY_EDL_HELPER size_t ady_edl_wcslen(const wchar_t *ady_s)\n{\n"
	       "\tsize_t ady_n = 0;\n\n\twhile (ady_s[ady_n])\n\t\tady_n++;\n\treturn ady_n;\n}\n\n");
	out(g, "ADY_EDL_HELPER float ady_edl_f32(uint64_t ady_u)\n{\n"
	       "\tuint32_t ady_b = (uint32_t)ady_u;\n\tfloat ady_f;\n\n\tmemcpy(&ady_f, &ady_b, 4);\n\treturn ady_f;\n}\n\n");
	out(g, "ADY_EDL_HELPER double ady_edl_f64(uint64_t ady_u)\n{\n\tdouble ady_d;\n\n\tmemcpy(&ady_d, &ady_u, 8);\n\treturn ady_d;\n}\n\n");
	out(g, "/* Private copies may hold secrets: wiped before they are freed. */\n");
	out(g, "ADY_EDL_HELPER void ady_edl_free(void *ady_p, size_t ady_n)\n{\n\tif (ady_p) {\n\t\tady_wipe(ady_p, ady_n);\n\t\tfree(ady_p);\n\t}\n}\n\n");
	for (size_t i = 0; i < g->m->nen; i++) {
		const edl_enum *e = &g->m->en[i];
		out(g, "ADY_EDL_HELPER ady_err ady_edl_dec_%s(ady_cur *ady_c, enum %s *ady_v)\n{\n", e->name, e->name);
		out(g, "\tuint64_t ady_u = 0;\n\tady_err ady_r = ady_edl_get(ady_c, 4, &ady_u);\n\n");
		out(g, "\tif (ady_r != ADY_OK)\n\t\treturn ady_r;\n\tswitch ((int32_t)(uint32_t)ady_u) {\n");
		for (size_t j = 0; j < e->n; j++) {
			size_t k;
			for (k = 0; k < j && e->v[k].value != e->v[j].value; k++)
				;
			if (k == j)
				out(g, "\tcase %" PRId64 ":\n", e->v[j].value);
		}
		out(g, "\t\tbreak;\n\tdefault: /* not a declared enumerator */\n\t\treturn ADY_ERR_MALFORMED;\n\t}\n");
		out(g, "\t*ady_v = (enum %s)(int32_t)(uint32_t)ady_u;\n\treturn ADY_OK;\n}\n\n", e->name);
	}
	for (size_t i = 0; i < g->m->nst; i++) {
		const edl_struct *s = &g->m->st[i];
		char lv[160];
		if (s->is_union) {
			/* the bytes of the longest member; the rest of a shorter
			 * member's storage is never read */
			out(g, "ADY_EDL_HELPER void ady_edl_enc_%s(uint8_t **ady_q, const union %s *ady_v)\n{\n"
			       "\tady_edl_putb(ady_q, ady_v, %" PRIu64 ");\n}\n\n",
			    s->name, s->name, s->wire);
			out(g, "ADY_EDL_HELPER ady_err ady_edl_dec_%s(ady_cur *ady_c, union %s *ady_v)\n{\n"
			       "\tmemset(ady_v, 0, sizeof(*ady_v));\n\treturn ady_cur_bytes(ady_c, ady_v, %" PRIu64 ");\n}\n\n",
			    s->name, s->name, s->wire);
			out(g, "_Static_assert(sizeof(union %s) >= %" PRIu64 ", \"adyton-edl: union %s\");\n\n", s->name, s->wire,
			    s->name);
			continue;
		}
		if (s->nptr) {
			emit_deep_helpers(g, s);
			continue;
		}
		out(g, "ADY_EDL_HELPER void ady_edl_enc_%s(uint8_t **ady_q, const struct %s *ady_v)\n{\n", s->name, s->name);
		for (size_t j = 0; j < s->n; j++) {
			const edl_member *mb = &s->m[j];
			if (mb->dim) {
				out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++)\n", mb->dim);
				snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
				put_value(g, "\t\t", &mb->type, "ady_q", lv);
			} else {
				snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
				put_value(g, "\t", &mb->type, "ady_q", lv);
			}
		}
		out(g, "}\n\n");
		out(g, "ADY_EDL_HELPER ady_err ady_edl_dec_%s(ady_cur *ady_c, struct %s *ady_v)\n{\n", s->name, s->name);
		out(g, "\tuint64_t ady_u = 0;\n\tady_err ady_r;\n\n\t(void)ady_u;\n");
		for (size_t j = 0; j < s->n; j++) {
			const edl_member *mb = &s->m[j];
			if (mb->dim) {
				out(g, "\tfor (size_t ady_i = 0; ady_i < %u; ady_i++) {\n", mb->dim);
				snprintf(lv, sizeof(lv), "ady_v->%s[ady_i]", mb->name);
				get_value(g, "\t\t", &mb->type, "ady_c", lv, "return ady_r;");
				out(g, "\t}\n");
			} else {
				snprintf(lv, sizeof(lv), "ady_v->%s", mb->name);
				get_value(g, "\t", &mb->type, "ady_c", lv, "return ady_r;");
			}
		}
		out(g, "\treturn ADY_OK;\n}\n\n");
	}
}

/* see edl.h */
ady_err edl_gen_trusted_h(const edl_model *m, const char *base, FILE *f)
{
	gen g;

	gen_init(&g, m, base, f);
	emit_header_top(&g, "T", "enclave");
	out(&g, "/* ECALLs: implemented by the enclave, with the declared signature.  The\n"
		" * generated handlers pass only private enclave copies. */\n");
	for (size_t i = 0; i < m->nfn; i++) {
		if (!m->fn[i].trusted)
			continue;
		user_proto(&g, &m->fn[i]);
		out(&g, ";\n");
	}
	out(&g, "\n/* OCALLs: generated.  ADY_OK means the call went through and *ady_retval\n"
		" * and every [out] buffer were set from a checked reply; on any other\n"
		" * result they are untouched. */\n");
	for (size_t i = 0; i < m->nfn; i++) {
		if (m->fn[i].trusted)
			continue;
		out(&g, "ADY_MUST_CHECK ");
		stub_proto(&g, &m->fn[i], 0);
		out(&g, ";\n");
	}
	out(&g, "\n");
	emit_header_end(&g);
	return gen_done(&g);
}

/* see edl.h */
ady_err edl_gen_trusted_c(const edl_model *m, const char *base, FILE *f)
{
	gen g;
	size_t n = 0, k = 0;

	gen_init(&g, m, base, f);
	emit_c_top(&g, "t");
	for (size_t i = 0; i < m->nfn; i++)
		if (m->fn[i].trusted)
			emit_callee(&g, &m->fn[i], 0);
	for (size_t i = 0; i < m->nfn; i++)
		if (!m->fn[i].trusted)
			emit_caller(&g, &m->fn[i], k++, 0);
	for (size_t i = 0; i < m->nfn; i++)
		n += m->fn[i].trusted;
	if (!n) {
		out(&g, "const ady_ecall_table ady_ecall_table_ = {0, NULL};\n");
		return gen_done(&g);
	}
	out(&g, "ADY_ECALLS(");
	k = 0;
	for (size_t i = 0; i < m->nfn; i++)
		if (m->fn[i].trusted)
			out(&g, "%sady_edl_h_%s", k++ ? ", " : "", m->fn[i].name);
	out(&g, ");\n");
	return gen_done(&g);
}

/* see edl.h */
ady_err edl_gen_untrusted_h(const edl_model *m, const char *base, FILE *f)
{
	gen g;

	gen_init(&g, m, base, f);
	emit_header_top(&g, "U", "host");
	out(&g, "/* ECALLs: generated.  ady_e: the enclave.  ADY_OK means the ECALL ran and\n"
		" * *ady_retval (may be NULL) and every [out] buffer were set from a checked\n"
		" * reply; on any other result they are untouched.  Private ECALLs have no\n"
		" * stub. */\n");
	for (size_t i = 0; i < m->nfn; i++) {
		if (!m->fn[i].trusted || !m->fn[i].is_public)
			continue;
		out(&g, "ADY_MUST_CHECK ");
		stub_proto(&g, &m->fn[i], 1);
		out(&g, ";\n");
	}
	out(&g, "\n/* OCALLs: implemented by the application, with the declared signature. */\n");
	for (size_t i = 0; i < m->nfn; i++) {
		if (m->fn[i].trusted)
			continue;
		user_proto(&g, &m->fn[i]);
		out(&g, ";\n");
	}
	out(&g, "\n/* The OCALL table to pass as ady_enclave_opts.ocalls, with\n * .nocalls = %s_OCALL_COUNT. */\n",
	    g.up);
	out(&g, "extern const ady_ocall_fn %s_ocall_table[];\n\n", base);
	emit_header_end(&g);
	return gen_done(&g);
}

/* see edl.h */
ady_err edl_gen_untrusted_c(const edl_model *m, const char *base, FILE *f)
{
	gen g;
	size_t k = 0, n = 0;

	gen_init(&g, m, base, f);
	emit_c_top(&g, "u");
	for (size_t i = 0; i < m->nfn; i++) {
		if (m->fn[i].trusted) {
			if (m->fn[i].is_public)
				emit_caller(&g, &m->fn[i], k, 1);
			k++;
		}
	}
	for (size_t i = 0; i < m->nfn; i++)
		if (!m->fn[i].trusted)
			emit_callee(&g, &m->fn[i], 1);
	out(&g, "const ady_ocall_fn %s_ocall_table[] = {", base);
	for (size_t i = 0; i < m->nfn; i++)
		if (!m->fn[i].trusted)
			out(&g, "%s\n\tady_edl_h_%s", n++ ? "," : "", m->fn[i].name);
	out(&g, "%s};\n", n ? "\n" : "NULL");
	return gen_done(&g);
}
