/*
 * check.c - name resolution and the rules of the EDL subset (docs/edl.md)
 * on a merged model: every type known, every pointer with a direction or
 * [user_check], sizes that name integer parameters, no [out] through a
 * const pointer, [string] only on [in] char pointers, allow() naming
 * trusted functions.
 */
#include <string.h>

#include "edl.h"

#define MAX_WIRE (1u << 20) /* encoded size of one struct */

static const edl_scalar_info scalars[EDL_BASE_COUNT_] = {
	[EDL_VOID] = {"void", 0, 0, 0},
	[EDL_CHAR] = {"char", 1, 1, 1},
	[EDL_SCHAR] = {"signed char", 1, 1, 1},
	[EDL_UCHAR] = {"unsigned char", 1, 0, 1},
	[EDL_SHORT] = {"short", 2, 1, 1},
	[EDL_USHORT] = {"unsigned short", 2, 0, 1},
	[EDL_INT] = {"int", 4, 1, 1},
	[EDL_UINT] = {"unsigned int", 4, 0, 1},
	[EDL_LONG] = {"long", 8, 1, 1},
	[EDL_ULONG] = {"unsigned long", 8, 0, 1},
	[EDL_LLONG] = {"long long", 8, 1, 1},
	[EDL_ULLONG] = {"unsigned long long", 8, 0, 1},
	[EDL_INT8] = {"int8_t", 1, 1, 1},
	[EDL_INT16] = {"int16_t", 2, 1, 1},
	[EDL_INT32] = {"int32_t", 4, 1, 1},
	[EDL_INT64] = {"int64_t", 8, 1, 1},
	[EDL_UINT8] = {"uint8_t", 1, 0, 1},
	[EDL_UINT16] = {"uint16_t", 2, 0, 1},
	[EDL_UINT32] = {"uint32_t", 4, 0, 1},
	[EDL_UINT64] = {"uint64_t", 8, 0, 1},
	[EDL_SIZE] = {"size_t", 8, 0, 1},
	[EDL_WCHAR] = {"wchar_t", 4, 1, 1},
	[EDL_FLOAT] = {"float", 4, 1, 0},
	[EDL_DOUBLE] = {"double", 8, 1, 0},
	[EDL_ENUM] = {"enum", 4, 1, 0},
	[EDL_STRUCT] = {"struct", 0, 0, 0},
	[EDL_NAMED] = {"?", 0, 0, 0},
};

/* see edl.h */
const edl_scalar_info *edl_scalar(edl_base b)
{
	return &scalars[(unsigned)b < EDL_BASE_COUNT_ ? b : EDL_NAMED];
}

static ady_err resolve(edl_ctx *ctx, const edl_model *m, edl_type *t, size_t nstructs)
{
	if (t->base == EDL_STRUCT || t->base == EDL_NAMED) {
		for (size_t i = 0; i < nstructs; i++) {
			if (strcmp(m->st[i].name, t->name) == 0) {
				t->base = EDL_STRUCT;
				t->ref = i;
				return ADY_OK;
			}
		}
	}
	if (t->base == EDL_ENUM || t->base == EDL_NAMED) {
		for (size_t i = 0; i < m->nen; i++) {
			if (strcmp(m->en[i].name, t->name) == 0) {
				t->base = EDL_ENUM;
				t->ref = i;
				return ADY_OK;
			}
		}
	}
	if (t->base == EDL_STRUCT)
		return edl_error(ctx, ADY_ERR_MALFORMED, t->loc, "unknown struct '%s' (declare it in the EDL before use)",
				 t->name);
	if (t->base == EDL_ENUM)
		return edl_error(ctx, ADY_ERR_MALFORMED, t->loc, "unknown enum '%s'", t->name);
	if (t->base == EDL_NAMED)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, t->loc,
				 "unknown type '%s': types from included headers are not supported; declare a struct "
				 "or enum in the EDL",
				 t->name);
	return ADY_OK;
}

static uint64_t wire_of(const edl_model *m, const edl_type *t)
{
	if (t->base == EDL_STRUCT)
		return m->st[t->ref].wire;
	return edl_scalar(t->base)->width;
}

/* Function, type and enumerator names share C's ordinary namespace. */
static ady_err check_names(edl_ctx *ctx, const edl_model *m)
{
	const char *seen[4096];
	edl_loc at[4096];
	size_t n = 0;

#define ADD(nm, lc)                                                                                          \
	do {                                                                                                 \
		for (size_t k_ = 0; k_ < n; k_++)                                                            \
			if (strcmp(seen[k_], (nm)) == 0)                                                     \
				return edl_error(ctx, ADY_ERR_MALFORMED, (lc), "'%s' is already declared at %s:%u:%u", \
						 (nm), at[k_].file, at[k_].line, at[k_].col);                \
		if (n == sizeof(seen) / sizeof(seen[0]))                                                     \
			return edl_error(ctx, ADY_ERR_TOO_LARGE, (lc), "too many names");                    \
		seen[n] = (nm);                                                                              \
		at[n++] = (lc);                                                                              \
	} while (0)

	for (size_t i = 0; i < m->nst; i++)
		ADD(m->st[i].name, m->st[i].loc);
	for (size_t i = 0; i < m->nen; i++) {
		ADD(m->en[i].name, m->en[i].loc);
		for (size_t j = 0; j < m->en[i].n; j++)
			ADD(m->en[i].v[j].name, m->en[i].v[j].loc);
	}
	for (size_t i = 0; i < m->nfn; i++)
		ADD(m->fn[i].name, m->fn[i].loc);
#undef ADD
	return ADY_OK;
}

static ady_err check_struct(edl_ctx *ctx, edl_model *m, size_t idx)
{
	edl_struct *s = &m->st[idx];
	uint64_t wire = 0, w;
	ady_err err;

	for (size_t i = 0; i < s->n; i++) {
		edl_member *mb = &s->m[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->m[j].name, mb->name) == 0)
				return edl_error(ctx, ADY_ERR_MALFORMED, mb->loc, "duplicate member '%s'", mb->name);
		/* Only earlier structs: no recursion, and helpers come out in order. */
		if ((err = resolve(ctx, m, &mb->type, idx)))
			return err;
		if (mb->type.base == EDL_VOID)
			return edl_error(ctx, ADY_ERR_MALFORMED, mb->loc, "member '%s' has type void", mb->name);
		w = wire_of(m, &mb->type) * (mb->dim ? mb->dim : 1);
		wire += w;
		if (wire > MAX_WIRE)
			return edl_error(ctx, ADY_ERR_TOO_LARGE, mb->loc, "struct '%s' encodes to more than %u bytes",
					 s->name, MAX_WIRE);
	}
	s->wire = wire;
	return ADY_OK;
}

static ady_err check_sizearg(edl_ctx *ctx, edl_func *f, size_t self, edl_sizearg *s, const char *what)
{
	if (s->kind != EDL_SZ_PARAM)
		return ADY_OK;
	for (size_t i = 0; i < f->np; i++) {
		const edl_param *q = &f->p[i];
		if (strcmp(q->name, s->name) != 0)
			continue;
		if (i == self)
			return edl_error(ctx, ADY_ERR_MALFORMED, s->loc, "%s=%s names the pointer itself", what, s->name);
		if (q->is_ptr || !edl_scalar(q->type.base)->is_integer)
			return edl_error(ctx, ADY_ERR_MALFORMED, s->loc, "%s=%s: '%s' is not an integer parameter", what,
					 s->name, s->name);
		s->param = i;
		return ADY_OK;
	}
	return edl_error(ctx, ADY_ERR_MALFORMED, s->loc, "%s=%s: no parameter named '%s' in %s", what, s->name,
			 s->name, f->name);
}

static ady_err check_param(edl_ctx *ctx, edl_model *m, edl_func *f, size_t idx)
{
	edl_param *p = &f->p[idx];
	unsigned a = p->attrs, dir = a & (EDL_A_IN | EDL_A_OUT);
	ady_err err;

	for (size_t j = 0; j < idx; j++)
		if (strcmp(f->p[j].name, p->name) == 0)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->loc, "duplicate parameter '%s'", p->name);
	if ((err = resolve(ctx, m, &p->type, m->nst)))
		return err;
	if (!p->is_ptr) {
		if (a || p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "attributes on '%s', which is not a pointer",
					 p->name);
		if (p->type.base == EDL_VOID)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->loc, "parameter '%s' has type void", p->name);
		return ADY_OK;
	}
	if (!a && !p->size.kind && !p->count.kind)
		return edl_error(ctx, ADY_ERR_MALFORMED, p->loc,
				 "pointer '%s' needs a direction ([in], [out], [in, out]) or [user_check]", p->name);
	if (a & EDL_A_USER_CHECK) {
		if (a != EDL_A_USER_CHECK || p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc,
					 "[user_check] on '%s' cannot be combined with other attributes", p->name);
		edl_warn(ctx, p->attr_loc,
			 "[user_check] on '%s': the pointer is passed as a raw address, nothing is copied or checked; "
			 "it means nothing on isolating backends",
			 p->name);
		return ADY_OK;
	}
	if (!dir)
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "pointer '%s' needs [in], [out] or [in, out]",
				 p->name);
	if ((a & EDL_A_OUT) && p->is_const)
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[out] on '%s', which points to const", p->name);
	if (a & EDL_A_STRING) {
		if (!(a & EDL_A_IN))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[string] on '%s' needs [in]", p->name);
		if (p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[string] on '%s' cannot have size= or count=",
					 p->name);
		if (p->type.base != EDL_CHAR)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[string] on '%s' needs a char pointer",
					 p->name);
		return ADY_OK;
	}
	if (p->type.base == EDL_VOID && !p->size.kind)
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "void pointer '%s' needs size=", p->name);
	if ((p->type.base == EDL_STRUCT || p->type.base == EDL_ENUM) && p->size.kind)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, p->size.loc,
				 "size= on '%s' (a struct or enum pointer) is not supported; use count=", p->name);
	if ((err = check_sizearg(ctx, f, idx, &p->size, "size")))
		return err;
	return check_sizearg(ctx, f, idx, &p->count, "count");
}

static ady_err check_func(edl_ctx *ctx, edl_model *m, edl_func *f)
{
	ady_err err;

	if ((err = resolve(ctx, m, &f->ret, m->nst)))
		return err;
	if (f->ret.base == EDL_STRUCT)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, f->ret.loc,
				 "returning a struct from '%s' is not supported; use an [out] pointer", f->name);
	for (size_t i = 0; i < f->np; i++)
		if ((err = check_param(ctx, m, f, i)))
			return err;
	for (size_t i = 0; i < f->nallow; i++) {
		size_t j;
		for (j = 0; j < m->nfn; j++)
			if (m->fn[j].trusted && strcmp(m->fn[j].name, f->allow[i]) == 0)
				break;
		if (j == m->nfn)
			return edl_error(ctx, ADY_ERR_MALFORMED, f->loc, "allow(%s) in '%s': no trusted function '%s'",
					 f->allow[i], f->name, f->allow[i]);
	}
	return ADY_OK;
}

/* see edl.h */
ady_err edl_check(edl_ctx *ctx, edl_model *m)
{
	ady_err err;

	if ((err = check_names(ctx, m)))
		return err;
	for (size_t i = 0; i < m->nst; i++)
		if ((err = check_struct(ctx, m, i)))
			return err;
	for (size_t i = 0; i < m->nfn; i++)
		if ((err = check_func(ctx, m, &m->fn[i])))
			return err;
	return ADY_OK;
}
