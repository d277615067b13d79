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
	[EDL_UNION] = {"union", 0, 0, 0},
	[EDL_NAMED] = {"?", 0, 0, 0},
	[EDL_FOREIGN] = {"?", 0, 0, 0},
	[EDL_ADDR] = {"void *", 8, 0, 0},
};

/* see edl.h */
const edl_scalar_info *edl_scalar(edl_base b)
{
	return &scalars[(unsigned)b < EDL_BASE_COUNT_ ? b : EDL_NAMED];
}

/* foreign: a name no EDL declares may be a type of an included header
 * (allowed behind [isptr]/[isary] only, where its C size is used). */
static ady_err resolve(edl_ctx *ctx, const edl_model *m, edl_type *t, size_t nstructs, int foreign)
{
	if (t->base == EDL_STRUCT || t->base == EDL_UNION || t->base == EDL_NAMED) {
		for (size_t i = 0; i < nstructs; i++) {
			if (strcmp(m->st[i].name, t->name) != 0)
				continue;
			if (t->base != EDL_NAMED && (t->base == EDL_UNION) != m->st[i].is_union)
				return edl_error(ctx, ADY_ERR_MALFORMED, t->loc, "'%s' is declared as a %s", t->name,
						 m->st[i].is_union ? "union" : "struct");
			t->base = m->st[i].is_union ? EDL_UNION : EDL_STRUCT;
			t->ref = i;
			return ADY_OK;
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
	if (t->base == EDL_STRUCT || t->base == EDL_UNION)
		return edl_error(ctx, ADY_ERR_MALFORMED, t->loc, "unknown %s '%s' (declare it in the EDL before use)",
				 t->base == EDL_UNION ? "union" : "struct", t->name);
	if (t->base == EDL_ENUM)
		return edl_error(ctx, ADY_ERR_MALFORMED, t->loc, "unknown enum '%s'", t->name);
	if (t->base == EDL_NAMED && foreign) {
		t->base = EDL_FOREIGN;
		return ADY_OK;
	}
	if (t->base == EDL_NAMED)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, t->loc,
				 "unknown type '%s': a type from an included header is supported only behind [isptr] "
				 "or [isary]; declare a struct, union or enum in the EDL",
				 t->name);
	return ADY_OK;
}

static uint64_t wire_of(const edl_model *m, const edl_type *t)
{
	if (t->base == EDL_STRUCT || t->base == EDL_UNION)
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

/* A union crosses as the bytes of its longest member, so its members must
 * be plain scalars (no enum to check, no struct to encode field by field). */
static ady_err check_union(edl_ctx *ctx, edl_model *m, size_t idx)
{
	edl_struct *s = &m->st[idx];
	uint64_t wire = 0, w;

	for (size_t i = 0; i < s->n; i++) {
		edl_member *mb = &s->m[i];
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->m[j].name, mb->name) == 0)
				return edl_error(ctx, ADY_ERR_MALFORMED, mb->loc, "duplicate member '%s'", mb->name);
		if (mb->is_ptr || mb->attrs || mb->size.kind || mb->count.kind)
			return edl_error(ctx, ADY_ERR_UNSUPPORTED, mb->loc,
					 "pointer member '%s' in union '%s' is not supported", mb->name, s->name);
		if (mb->type.base == EDL_NAMED || mb->type.base == EDL_STRUCT || mb->type.base == EDL_UNION ||
		    mb->type.base == EDL_ENUM || mb->type.base == EDL_VOID)
			return edl_error(ctx, ADY_ERR_UNSUPPORTED, mb->loc,
					 "member '%s' of union '%s': union members must be scalars or arrays of scalars",
					 mb->name, s->name);
		w = edl_scalar(mb->type.base)->width * (mb->dim ? mb->dim : 1);
		if (w > wire)
			wire = w;
	}
	s->wire = wire;
	return ADY_OK;
}

static ady_err check_member_size(edl_ctx *ctx, edl_struct *s, size_t self, edl_sizearg *a, const char *what)
{
	if (a->kind != EDL_SZ_PARAM)
		return ADY_OK;
	for (size_t i = 0; i < s->n; i++) {
		const edl_member *q = &s->m[i];
		if (strcmp(q->name, a->name) != 0)
			continue;
		if (i == self)
			return edl_error(ctx, ADY_ERR_MALFORMED, a->loc, "%s=%s names the member itself", what, a->name);
		if (q->is_ptr || q->dim || !edl_scalar(q->type.base)->is_integer)
			return edl_error(ctx, ADY_ERR_MALFORMED, a->loc, "%s=%s: '%s' is not an integer member", what,
					 a->name, a->name);
		a->param = i;
		return ADY_OK;
	}
	return edl_error(ctx, ADY_ERR_MALFORMED, a->loc, "%s=%s: no member named '%s' in struct '%s'", what, a->name,
			 a->name, s->name);
}

/* A pointer member: a nested buffer (deep copy) whose size a sibling
 * member gives, or a string. */
static ady_err check_ptr_member(edl_ctx *ctx, edl_struct *s, size_t i)
{
	edl_member *mb = &s->m[i];
	ady_err err;

	if (mb->type.base == EDL_STRUCT || mb->type.base == EDL_UNION || mb->type.base == EDL_ENUM)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, mb->loc,
				 "pointer member '%s': nested buffers of structs, unions or enums are not supported",
				 mb->name);
	if (mb->attrs & EDL_A_STRING) {
		if (mb->size.kind || mb->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, mb->attr_loc,
					 "[string] on member '%s' cannot have size= or count=", mb->name);
		if (mb->type.base != EDL_CHAR)
			return edl_error(ctx, ADY_ERR_MALFORMED, mb->attr_loc, "[string] on member '%s' needs a char pointer",
					 mb->name);
		return ADY_OK;
	}
	if (!mb->size.kind && !mb->count.kind)
		return edl_error(ctx, ADY_ERR_MALFORMED, mb->loc,
				 "pointer member '%s' needs [size=], [count=] (naming a sibling member) or [string]",
				 mb->name);
	if (mb->type.base == EDL_VOID && !mb->size.kind)
		return edl_error(ctx, ADY_ERR_MALFORMED, mb->attr_loc, "void pointer member '%s' needs size=", mb->name);
	if ((err = check_member_size(ctx, s, i, &mb->size, "size")))
		return err;
	return check_member_size(ctx, s, i, &mb->count, "count");
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
		if ((err = resolve(ctx, m, &mb->type, idx, 0)))
			return err;
		if (mb->is_ptr) {
			if ((err = check_ptr_member(ctx, s, i)))
				return err;
			s->nptr++;
			w = 9; /* u8 present, u64 length in bytes */
		} else {
			if (mb->attrs || mb->size.kind || mb->count.kind)
				return edl_error(ctx, ADY_ERR_MALFORMED, mb->attr_loc,
						 "attributes on member '%s', which is not a pointer", mb->name);
			if (mb->type.base == EDL_VOID)
				return edl_error(ctx, ADY_ERR_MALFORMED, mb->loc, "member '%s' has type void", mb->name);
			if (mb->type.base == EDL_STRUCT && m->st[mb->type.ref].nptr)
				return edl_error(ctx, ADY_ERR_UNSUPPORTED, mb->loc,
						 "member '%s': a struct with pointer members inside another struct is not "
						 "supported",
						 mb->name);
			w = wire_of(m, &mb->type) * (mb->dim ? mb->dim : 1);
		}
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

static int deep(const edl_model *m, const edl_type *t)
{
	return t->base == EDL_STRUCT && m->st[t->ref].nptr;
}

/* Array parameters, [isptr] and [isary] become pointers with a known
 * element count; checked here so that the generator sees only pointers. */
static ady_err check_shape(edl_ctx *ctx, edl_param *p)
{
	unsigned a = p->attrs;

	if ((a & EDL_A_ISPTR) && (a & EDL_A_ISARY))
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[isptr] and [isary] on '%s'", p->name);
	if (a & (EDL_A_ISPTR | EDL_A_ISARY)) {
		const char *what = (a & EDL_A_ISPTR) ? "isptr" : "isary";
		if (p->is_ptr || p->type.base != EDL_FOREIGN)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc,
					 "[%s] on '%s' needs a %s type from an included header, used without '*'", what,
					 p->name, (a & EDL_A_ISPTR) ? "pointer" : "array");
		if ((a & EDL_A_ISARY) && (p->size.kind || p->count.kind))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc,
					 "[isary] on '%s': the size is sizeof(%s); size= and count= are not allowed",
					 p->name, p->type.name);
		if (a & (EDL_A_STRING | EDL_A_WSTRING))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[%s] on '%s' cannot be a string", what,
					 p->name);
		p->is_ptr = 1;
		return ADY_OK;
	}
	if (p->ndims) {
		uint64_t n = 1;
		if (p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc,
					 "array parameter '%s' has a fixed size; size= and count= are not allowed", p->name);
		if (a & (EDL_A_STRING | EDL_A_WSTRING))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "array parameter '%s' cannot be a string",
					 p->name);
		if (p->type.base == EDL_VOID)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->loc, "array parameter '%s' of void", p->name);
		for (size_t i = 0; i < p->ndims; i++) {
			n *= p->dims[i];
			if (n > MAX_WIRE)
				return edl_error(ctx, ADY_ERR_TOO_LARGE, p->loc, "array parameter '%s' has more than %u elements",
						 p->name, MAX_WIRE);
		}
		p->count.kind = EDL_SZ_LIT;
		p->count.lit = n;
		p->count.loc = p->loc;
	}
	return ADY_OK;
}

static ady_err check_param(edl_ctx *ctx, edl_model *m, edl_func *f, size_t idx)
{
	edl_param *p = &f->p[idx];
	unsigned a, dir;
	ady_err err;

	for (size_t j = 0; j < idx; j++)
		if (strcmp(f->p[j].name, p->name) == 0)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->loc, "duplicate parameter '%s'", p->name);
	if ((err = resolve(ctx, m, &p->type, m->nst, (p->attrs & (EDL_A_ISPTR | EDL_A_ISARY)) != 0)) ||
	    (err = check_shape(ctx, p)))
		return err;
	a = p->attrs;
	dir = a & (EDL_A_IN | EDL_A_OUT);
	if (!p->is_ptr) {
		if (a || p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "attributes on '%s', which is not a pointer",
					 p->name);
		if (p->type.base == EDL_VOID)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->loc, "parameter '%s' has type void", p->name);
		if (deep(m, &p->type))
			return edl_error(ctx, ADY_ERR_UNSUPPORTED, p->loc,
					 "struct '%s' has pointer members: pass '%s' through an [in] pointer (deep copy)",
					 p->type.name, p->name);
		return ADY_OK;
	}
	if (!a && !p->size.kind && (!p->count.kind || p->ndims))
		return edl_error(ctx, ADY_ERR_MALFORMED, p->loc,
				 "pointer '%s' needs a direction ([in], [out], [in, out]) or [user_check]", p->name);
	if ((a & EDL_A_READONLY) && ((a & EDL_A_OUT) || !(a & (EDL_A_IN | EDL_A_USER_CHECK))))
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc,
				 "[readonly] on '%s' needs [in] (or [user_check]) and cannot be used with [out]", p->name);
	if (a & EDL_A_USER_CHECK) {
		unsigned extra = a & ~(EDL_A_USER_CHECK | EDL_A_ISPTR | EDL_A_ISARY | EDL_A_READONLY);
		if (extra || p->size.kind || (p->count.kind && !p->ndims))
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
	if (p->type.base == EDL_ADDR)
		edl_warn(ctx, p->attr_loc,
			 "'%s' is a buffer of addresses: they are copied as 64-bit values, never followed", p->name);
	if (deep(m, &p->type) && !(a & EDL_A_IN))
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, p->attr_loc,
				 "[out] on '%s': structs with pointer members (deep copy) need [in] (the nested sizes come "
				 "in with the struct)",
				 p->name);
	if (a & (EDL_A_STRING | EDL_A_WSTRING)) {
		const char *what = (a & EDL_A_STRING) ? "string" : "wstring";
		if ((a & EDL_A_STRING) && (a & EDL_A_WSTRING))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[string] and [wstring] on '%s'", p->name);
		if (!(a & EDL_A_IN))
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[%s] on '%s' needs [in]", what, p->name);
		if (p->size.kind || p->count.kind)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[%s] on '%s' cannot have size= or count=",
					 what, p->name);
		if ((a & EDL_A_STRING) && p->type.base != EDL_CHAR)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[string] on '%s' needs a char pointer",
					 p->name);
		if ((a & EDL_A_WSTRING) && p->type.base != EDL_WCHAR)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "[wstring] on '%s' needs a wchar_t pointer",
					 p->name);
		return ADY_OK;
	}
	if ((p->type.base == EDL_VOID || (a & EDL_A_ISPTR)) && !p->size.kind)
		return edl_error(ctx, ADY_ERR_MALFORMED, p->attr_loc, "%s '%s' needs size=",
				 (a & EDL_A_ISPTR) ? "[isptr] pointer" : "void pointer", p->name);
	if ((p->type.base == EDL_STRUCT || p->type.base == EDL_UNION || p->type.base == EDL_ENUM) && p->size.kind)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, p->size.loc,
				 "size= on '%s' (a struct, union or enum pointer) is not supported; use count=", p->name);
	if ((err = check_sizearg(ctx, f, idx, &p->size, "size")))
		return err;
	return check_sizearg(ctx, f, idx, &p->count, "count");
}

static ady_err check_func(edl_ctx *ctx, edl_model *m, edl_func *f)
{
	ady_err err;

	if ((err = resolve(ctx, m, &f->ret, m->nst, 0)))
		return err;
	if (f->ret.base == EDL_STRUCT || f->ret.base == EDL_UNION)
		return edl_error(ctx, ADY_ERR_UNSUPPORTED, f->ret.loc,
				 "returning a %s from '%s' is not supported; use an [out] pointer",
				 f->ret.base == EDL_UNION ? "union" : "struct", f->name);
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
		if ((err = m->st[i].is_union ? check_union(ctx, m, i) : check_struct(ctx, m, i)))
			return err;
	for (size_t i = 0; i < m->nfn; i++)
		if ((err = check_func(ctx, m, &m->fn[i])))
			return err;
	return ADY_OK;
}
