/*
 * parse.c - recursive-descent parser for the EDL subset (docs/edl.md) and
 * import resolution.  Each file parses into its own model; imports are
 * merged at the place they appear, so ECALL and OCALL indices follow the
 * order in which functions appear after imports are expanded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "edl.h"

typedef struct parser {
	edl_ctx *ctx;
	edl_lexer lx;
	edl_tok t; /* current token */
	const char *dir;
	edl_model *m;
} parser;

static ady_err parse_unit(edl_ctx *ctx, const char *file, const char *dir, const char *src, size_t len,
			  edl_model *out);

static ady_err next(parser *p) { return edl_lex_next(&p->lx, &p->t); }

/* The token after the current one, without consuming anything. */
static ady_err peek(parser *p, edl_tok *t)
{
	edl_lexer save = p->lx;
	ady_err err = edl_lex_next(&save, t);

	return err;
}

static int is_id(const edl_tok *t, const char *s)
{
	return t->kind == EDL_TOK_ID && t->len == strlen(s) && memcmp(t->text, s, t->len) == 0;
}

static int is_punct(const edl_tok *t, char c) { return t->kind == EDL_TOK_PUNCT && t->text[0] == c; }

static const char *describe(const edl_tok *t, char *buf, size_t cap)
{
	switch (t->kind) {
	case EDL_TOK_EOF:
		return "end of file";
	case EDL_TOK_STR:
		snprintf(buf, cap, "string \"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	default:
		snprintf(buf, cap, "'%.*s'", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	}
}

static ady_err unexpected(parser *p, const char *what)
{
	char buf[64];

	return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "expected %s, found %s", what,
			 describe(&p->t, buf, sizeof(buf)));
}

static ady_err unsupported(parser *p, const char *what)
{
	return edl_error(p->ctx, ADY_ERR_UNSUPPORTED, p->t.loc, "%s not supported", what);
}

static ady_err expect_punct(parser *p, char c)
{
	char what[8] = {'\'', c, '\'', 0};

	if (!is_punct(&p->t, c))
		return unexpected(p, what);
	return next(p);
}

static ady_err expect_id(parser *p, const char **name, edl_loc *loc)
{
	if (p->t.kind != EDL_TOK_ID)
		return unexpected(p, "an identifier");
	*name = edl_strndup(p->ctx, p->t.text, p->t.len);
	if (!*name)
		return p->ctx->code;
	if (loc)
		*loc = p->t.loc;
	return next(p);
}

/* Names that EDL or C give a meaning, never usable as identifiers. */
static int reserved(const edl_tok *t)
{
	static const char *const words[] = {
		"enclave", "trusted", "untrusted", "public", "include", "from", "import", "allow", "struct",
		"enum", "union", "const", "void", "char", "short", "int", "long", "unsigned", "signed", "float",
		"double", "if", "else", "for", "while", "do", "return", "switch", "case", "default", "break",
		"continue", "goto", "sizeof", "static", "extern", "typedef", "volatile", "register", "auto",
		"inline", "restrict", "_Bool", "bool", "size_t", "wchar_t", "int8_t", "int16_t", "int32_t",
		"int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_id(t, words[i]))
			return 1;
	return 0;
}

/* A new name: not reserved, not in adyton's generated-code namespace. */
static ady_err expect_name(parser *p, const char **name, edl_loc *loc)
{
	if (p->t.kind == EDL_TOK_ID && reserved(&p->t)) {
		char buf[64];
		return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "%s is a reserved word",
				 describe(&p->t, buf, sizeof(buf)));
	}
	if (p->t.kind == EDL_TOK_ID && p->t.len >= 4 && strncasecmp(p->t.text, "ady_", 4) == 0)
		return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc,
				 "names starting with ady_ are reserved for generated code");
	return expect_id(p, name, loc);
}

static const struct {
	const char *name;
	edl_base base;
} simple_types[] = {
	{"void", EDL_VOID},       {"float", EDL_FLOAT},     {"double", EDL_DOUBLE},   {"size_t", EDL_SIZE},
	{"wchar_t", EDL_WCHAR},   {"int8_t", EDL_INT8},     {"int16_t", EDL_INT16},   {"int32_t", EDL_INT32},
	{"int64_t", EDL_INT64},   {"uint8_t", EDL_UINT8},   {"uint16_t", EDL_UINT16}, {"uint32_t", EDL_UINT32},
	{"uint64_t", EDL_UINT64},
};

/* [unsigned|signed] char | short [int] | int | long [long] [int] */
static ady_err parse_int_type(parser *p, int sign, edl_base *out)
{
	ady_err err;
	int longs = 0;

	if (is_id(&p->t, "char")) {
		*out = sign > 0 ? EDL_UCHAR : sign < 0 ? EDL_SCHAR : EDL_CHAR;
		return next(p);
	}
	if (is_id(&p->t, "short")) {
		*out = sign > 0 ? EDL_USHORT : EDL_SHORT;
		if ((err = next(p)))
			return err;
		return is_id(&p->t, "int") ? next(p) : ADY_OK;
	}
	if (is_id(&p->t, "int")) {
		*out = sign > 0 ? EDL_UINT : EDL_INT;
		return next(p);
	}
	while (is_id(&p->t, "long")) {
		if (++longs > 2)
			return unsupported(p, "'long long long' is");
		if ((err = next(p)))
			return err;
	}
	if (longs) {
		if (is_id(&p->t, "double"))
			return unsupported(p, "long double is");
		*out = longs == 2 ? (sign > 0 ? EDL_ULLONG : EDL_LLONG) : (sign > 0 ? EDL_ULONG : EDL_LONG);
		return is_id(&p->t, "int") ? next(p) : ADY_OK;
	}
	if (sign) { /* plain "unsigned" / "signed" */
		*out = sign > 0 ? EDL_UINT : EDL_INT;
		return ADY_OK;
	}
	return unexpected(p, "a type");
}

static ady_err parse_type(parser *p, edl_type *t)
{
	ady_err err;

	memset(t, 0, sizeof(*t));
	t->loc = p->t.loc;
	if (p->t.kind != EDL_TOK_ID)
		return unexpected(p, "a type");
	for (size_t i = 0; i < sizeof(simple_types) / sizeof(simple_types[0]); i++) {
		if (is_id(&p->t, simple_types[i].name)) {
			t->base = simple_types[i].base;
			return next(p);
		}
	}
	if (is_id(&p->t, "unsigned") || is_id(&p->t, "signed")) {
		int sign = is_id(&p->t, "unsigned") ? 1 : -1;
		if ((err = next(p)))
			return err;
		return parse_int_type(p, sign, &t->base);
	}
	if (is_id(&p->t, "char") || is_id(&p->t, "short") || is_id(&p->t, "int") || is_id(&p->t, "long"))
		return parse_int_type(p, 0, &t->base);
	if (is_id(&p->t, "struct") || is_id(&p->t, "enum")) {
		t->base = is_id(&p->t, "struct") ? EDL_STRUCT : EDL_ENUM;
		if ((err = next(p)))
			return err;
		return expect_id(p, &t->name, NULL);
	}
	if (is_id(&p->t, "union")) {
		t->base = EDL_UNION;
		if ((err = next(p)))
			return err;
		return expect_id(p, &t->name, NULL);
	}
	if (is_id(&p->t, "bool") || is_id(&p->t, "_Bool"))
		return unsupported(p, "bool is");
	if (reserved(&p->t))
		return unexpected(p, "a type");
	t->base = EDL_NAMED;
	return expect_id(p, &t->name, NULL);
}

/* The element type of T **: an address whose C spelling is "[const ]T *". */
static ady_err addr_type(parser *p, edl_type *t, int is_const)
{
	static const char *const tags[] = {[EDL_STRUCT] = "struct ", [EDL_UNION] = "union ", [EDL_ENUM] = "enum "};
	const char *inner, *tag = "";
	size_t n;
	char *s;

	if (t->base == EDL_STRUCT || t->base == EDL_UNION || t->base == EDL_ENUM)
		tag = tags[t->base];
	inner = t->name ? t->name : edl_scalar(t->base)->c;
	n = strlen(inner) + strlen(tag) + 16;
	if (!(s = edl_alloc(p->ctx, n)))
		return p->ctx->code;
	snprintf(s, n, "%s%s%s *", is_const ? "const " : "", tag, inner);
	t->base = EDL_ADDR;
	t->name = s;
	return ADY_OK;
}

static ady_err parse_sizearg(parser *p, edl_sizearg *s, const char *what)
{
	ady_err err;

	if (s->kind != EDL_SZ_NONE)
		return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "duplicate attribute '%s'", what);
	s->loc = p->t.loc;
	if ((err = next(p)) || (err = expect_punct(p, '=')))
		return err;
	if (p->t.kind == EDL_TOK_INT) {
		s->kind = EDL_SZ_LIT;
		s->lit = p->t.ival;
		err = next(p);
	} else if (p->t.kind == EDL_TOK_ID) {
		s->kind = EDL_SZ_PARAM;
		err = expect_id(p, &s->name, &s->loc);
	} else {
		return unexpected(p, "a number or a parameter name");
	}
	if (err)
		return err;
	if (!is_punct(&p->t, ',') && !is_punct(&p->t, ']'))
		return edl_error(p->ctx, ADY_ERR_UNSUPPORTED, p->t.loc,
				 "%s= takes a number or a parameter name; expressions are not supported", what);
	return ADY_OK;
}

static ady_err parse_attrs(parser *p, edl_param *pa)
{
	static const char *const unsupported_attrs[] = {"sizefunc"};
	static const struct {
		const char *name;
		unsigned bit;
	} flags[] = {{"in", EDL_A_IN},           {"out", EDL_A_OUT},         {"string", EDL_A_STRING},
		     {"user_check", EDL_A_USER_CHECK}, {"wstring", EDL_A_WSTRING}, {"isptr", EDL_A_ISPTR},
		     {"isary", EDL_A_ISARY},          {"readonly", EDL_A_READONLY}};
	ady_err err;

	pa->attr_loc = p->t.loc;
	if ((err = next(p)))
		return err;
	for (;;) {
		int found = 0;
		if (p->t.kind != EDL_TOK_ID)
			return unexpected(p, "an attribute");
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			if (is_id(&p->t, flags[i].name)) {
				if (pa->attrs & flags[i].bit)
					return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "duplicate attribute '%s'",
							 flags[i].name);
				pa->attrs |= flags[i].bit;
				found = 1;
				if ((err = next(p)))
					return err;
			}
		}
		if (!found && is_id(&p->t, "size")) {
			if ((err = parse_sizearg(p, &pa->size, "size")))
				return err;
		} else if (!found && is_id(&p->t, "count")) {
			if ((err = parse_sizearg(p, &pa->count, "count")))
				return err;
		} else if (!found) {
			for (size_t i = 0; i < sizeof(unsupported_attrs) / sizeof(unsupported_attrs[0]); i++)
				if (is_id(&p->t, unsupported_attrs[i]))
					return edl_error(p->ctx, ADY_ERR_UNSUPPORTED, p->t.loc,
							 "attribute [%s] is not supported", unsupported_attrs[i]);
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "unknown attribute '%.*s'",
					 (int)(p->t.len > 40 ? 40 : p->t.len), p->t.text);
		}
		if (is_punct(&p->t, ']'))
			return next(p);
		if ((err = expect_punct(p, ',')))
			return err;
	}
}

static ady_err parse_param(parser *p, edl_param *pa)
{
	ady_err err;

	pa->loc = p->t.loc;
	if (is_punct(&p->t, '[') && (err = parse_attrs(p, pa)))
		return err;
	if (is_id(&p->t, "const")) {
		pa->is_const = 1;
		if ((err = next(p)))
			return err;
	}
	if ((err = parse_type(p, &pa->type)))
		return err;
	if (is_id(&p->t, "const")) {
		if (pa->is_const)
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "duplicate 'const'");
		pa->is_const = 1;
		if ((err = next(p)))
			return err;
	}
	if (is_punct(&p->t, '*')) {
		pa->is_ptr = 1;
		if ((err = next(p)))
			return err;
		if (is_id(&p->t, "const"))
			return unsupported(p, "const pointers ('* const') are");
		if (is_punct(&p->t, '*')) {
			/* T **: a buffer of addresses (the SDK's sgx_tstdc.edl waiters) */
			if ((err = addr_type(p, &pa->type, pa->is_const)))
				return err;
			pa->is_const = 0;
			if ((err = next(p)))
				return err;
			if (is_punct(&p->t, '*'))
				return unsupported(p, "pointers to pointers to pointers are");
			if (is_id(&p->t, "const"))
				return unsupported(p, "const pointers ('* const') are");
		}
	}
	if ((err = expect_name(p, &pa->name, &pa->loc)))
		return err;
	while (is_punct(&p->t, '[')) {
		if (pa->is_ptr && !pa->ndims)
			return unsupported(p, "arrays of pointers are");
		if (pa->ndims == EDL_MAX_DIMS)
			return edl_error(p->ctx, ADY_ERR_RANGE, p->t.loc, "more than %d array dimensions", EDL_MAX_DIMS);
		if ((err = next(p)))
			return err;
		if (p->t.kind != EDL_TOK_INT)
			return p->t.kind == EDL_TOK_ID ? unsupported(p, "array lengths other than integer literals are")
						      : unexpected(p, "an array length");
		if (p->t.ival == 0 || p->t.ival > 65536)
			return edl_error(p->ctx, ADY_ERR_RANGE, p->t.loc, "array length must be 1..65536");
		pa->dims[pa->ndims++] = (uint32_t)p->t.ival;
		pa->is_ptr = 1;
		if ((err = next(p)) || (err = expect_punct(p, ']')))
			return err;
	}
	return ADY_OK;
}

static ady_err parse_params(parser *p, edl_func *f)
{
	ady_err err;
	edl_tok after;

	if ((err = expect_punct(p, '(')))
		return err;
	if (is_punct(&p->t, ')'))
		return next(p);
	if (is_id(&p->t, "void")) {
		if ((err = peek(p, &after)))
			return err;
		if (is_punct(&after, ')')) {
			if ((err = next(p)))
				return err;
			return next(p);
		}
	}
	for (;;) {
		edl_param *pa = edl_push(p->ctx, &f->p, &f->np, &f->pcap, sizeof(*pa));
		if (!pa)
			return p->ctx->code;
		if ((err = parse_param(p, pa)))
			return err;
		if (is_punct(&p->t, ')'))
			return next(p);
		if ((err = expect_punct(p, ',')))
			return err;
	}
}

/* [cdecl], [stdcall], [fastcall], [dllimport]: calling conventions and
 * linkage of Windows builds; nothing on Linux x86-64, where there is one
 * calling convention.  Accepted so that SGX EDL files compile unchanged. */
static ady_err parse_func_attrs(parser *p)
{
	static const char *const windows[] = {"cdecl", "stdcall", "fastcall", "dllimport"};
	ady_err err;

	if ((err = next(p)))
		return err;
	for (;;) {
		size_t i;
		if (p->t.kind != EDL_TOK_ID)
			return unexpected(p, "a function attribute");
		for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++)
			if (is_id(&p->t, windows[i]))
				break;
		if (i == sizeof(windows) / sizeof(windows[0]))
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "unknown function attribute '%.*s'",
					 (int)(p->t.len > 40 ? 40 : p->t.len), p->t.text);
		edl_warn(p->ctx, p->t.loc, "function attribute [%s] is Windows-only: ignored", windows[i]);
		if ((err = next(p)))
			return err;
		if (is_punct(&p->t, ']'))
			return next(p);
		if ((err = expect_punct(p, ',')))
			return err;
	}
}

static ady_err parse_func(parser *p, int trusted)
{
	edl_func *f = edl_push(p->ctx, &p->m->fn, &p->m->nfn, &p->m->fncap, sizeof(*f));
	ady_err err;

	if (!f)
		return p->ctx->code;
	f->trusted = trusted;
	f->loc = p->t.loc;
	if (is_punct(&p->t, '[') && (err = parse_func_attrs(p)))
		return err;
	if (is_id(&p->t, "public")) {
		if (!trusted)
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "'public' applies to trusted functions only");
		f->is_public = 1;
		if ((err = next(p)))
			return err;
	}
	if (is_id(&p->t, "const"))
		return unsupported(p, "const return types are");
	if ((err = parse_type(p, &f->ret)))
		return err;
	if (is_punct(&p->t, '*'))
		return unsupported(p, "pointer return values are");
	if ((err = expect_name(p, &f->name, &f->loc)) || (err = parse_params(p, f)))
		return err;
	if (is_id(&p->t, "allow")) {
		if (trusted)
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "allow() applies to untrusted functions only");
		if ((err = next(p)) || (err = expect_punct(p, '(')))
			return err;
		while (!is_punct(&p->t, ')')) {
			const char **a = edl_push(p->ctx, &f->allow, &f->nallow, &f->allowcap, sizeof(*a));
			if (!a)
				return p->ctx->code;
			if ((err = expect_id(p, a, NULL)))
				return err;
			if (is_punct(&p->t, ')'))
				break;
			if ((err = expect_punct(p, ',')))
				return err;
		}
		if ((err = next(p)))
			return err;
	}
	if (is_id(&p->t, "propagate_errno") || is_id(&p->t, "transition_using_threads")) {
		char buf[80];
		snprintf(buf, sizeof(buf), "'%.*s' is", (int)p->t.len, p->t.text);
		return unsupported(p, buf);
	}
	return expect_punct(p, ';');
}

static ady_err parse_funcs(parser *p, int trusted)
{
	ady_err err;

	if ((err = next(p)) || (err = expect_punct(p, '{')))
		return err;
	while (!is_punct(&p->t, '}')) {
		if (p->t.kind == EDL_TOK_EOF)
			return unexpected(p, "'}'");
		if ((err = parse_func(p, trusted)))
			return err;
	}
	if ((err = next(p)))
		return err;
	return is_punct(&p->t, ';') ? next(p) : ADY_OK;
}

/* Member attributes (deep copy): [size=m], [count=m], [string]. */
static ady_err parse_member_attrs(parser *p, edl_member *mb)
{
	ady_err err;

	mb->attr_loc = p->t.loc;
	if ((err = next(p)))
		return err;
	for (;;) {
		if (is_id(&p->t, "size")) {
			if ((err = parse_sizearg(p, &mb->size, "size")))
				return err;
		} else if (is_id(&p->t, "count")) {
			if ((err = parse_sizearg(p, &mb->count, "count")))
				return err;
		} else if (is_id(&p->t, "string")) {
			if (mb->attrs & EDL_A_STRING)
				return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "duplicate attribute 'string'");
			mb->attrs |= EDL_A_STRING;
			if ((err = next(p)))
				return err;
		} else if (p->t.kind == EDL_TOK_ID) {
			return edl_error(p->ctx, ADY_ERR_UNSUPPORTED, p->t.loc,
					 "attribute '%.*s' on a struct member is not supported (size=, count=, string are)",
					 (int)(p->t.len > 40 ? 40 : p->t.len), p->t.text);
		} else {
			return unexpected(p, "an attribute");
		}
		if (is_punct(&p->t, ']'))
			return next(p);
		if ((err = expect_punct(p, ',')))
			return err;
	}
}

static ady_err parse_struct(parser *p, int is_union)
{
	edl_struct *s = edl_push(p->ctx, &p->m->st, &p->m->nst, &p->m->stcap, sizeof(*s));
	const char *what = is_union ? "union" : "struct";
	ady_err err;

	if (!s)
		return p->ctx->code;
	s->is_union = is_union;
	if ((err = next(p)) || (err = expect_name(p, &s->name, &s->loc)) || (err = expect_punct(p, '{')))
		return err;
	if (is_punct(&p->t, '}'))
		return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "%s '%s' has no members", what, s->name);
	while (!is_punct(&p->t, '}')) {
		edl_member *mb = edl_push(p->ctx, &s->m, &s->n, &s->cap, sizeof(*mb));
		if (!mb)
			return p->ctx->code;
		if (is_punct(&p->t, '[') && (err = parse_member_attrs(p, mb)))
			return err;
		if (is_id(&p->t, "const"))
			return unsupported(p, "const struct members are");
		if ((err = parse_type(p, &mb->type)))
			return err;
		if (is_punct(&p->t, '*')) {
			mb->is_ptr = 1;
			if ((err = next(p)))
				return err;
			if (is_punct(&p->t, '*'))
				return unsupported(p, "pointers to pointers as members are");
			if (is_id(&p->t, "const"))
				return unsupported(p, "const pointers ('* const') are");
		}
		if ((err = expect_name(p, &mb->name, &mb->loc)))
			return err;
		if (mb->is_ptr && is_punct(&p->t, '['))
			return unsupported(p, "arrays of pointers are");
		if (is_punct(&p->t, '[')) {
			if ((err = next(p)))
				return err;
			if (p->t.kind != EDL_TOK_INT)
				return unexpected(p, "an array length");
			if (p->t.ival == 0 || p->t.ival > 65536)
				return edl_error(p->ctx, ADY_ERR_RANGE, p->t.loc, "array length must be 1..65536");
			mb->dim = (uint32_t)p->t.ival;
			if ((err = next(p)) || (err = expect_punct(p, ']')))
				return err;
			if (is_punct(&p->t, '['))
				return unsupported(p, "multi-dimensional arrays are");
		}
		if ((err = expect_punct(p, ';')))
			return err;
	}
	if ((err = next(p)))
		return err;
	return expect_punct(p, ';');
}

static ady_err parse_enum(parser *p)
{
	edl_enum *e = edl_push(p->ctx, &p->m->en, &p->m->nen, &p->m->encap, sizeof(*e));
	int64_t value = 0;
	ady_err err;

	if (!e)
		return p->ctx->code;
	if ((err = next(p)))
		return err;
	if (is_punct(&p->t, '{'))
		return unsupported(p, "anonymous enums are");
	if ((err = expect_name(p, &e->name, &e->loc)) || (err = expect_punct(p, '{')))
		return err;
	if (is_punct(&p->t, '}'))
		return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "enum '%s' has no enumerators", e->name);
	while (!is_punct(&p->t, '}')) {
		edl_enumerator *v = edl_push(p->ctx, &e->v, &e->n, &e->cap, sizeof(*v));
		if (!v)
			return p->ctx->code;
		if ((err = expect_name(p, &v->name, &v->loc)))
			return err;
		if (is_punct(&p->t, '=')) {
			int neg = 0;
			if ((err = next(p)))
				return err;
			if (is_punct(&p->t, '-')) {
				neg = 1;
				if ((err = next(p)))
					return err;
			}
			if (p->t.kind == EDL_TOK_ID)
				return unsupported(p, "enumerator values other than integer literals are");
			if (p->t.kind != EDL_TOK_INT)
				return unexpected(p, "an integer");
			if (p->t.ival > (uint64_t)INT32_MAX + (uint64_t)neg)
				return edl_error(p->ctx, ADY_ERR_RANGE, p->t.loc, "enumerator value out of int32 range");
			value = neg ? -(int64_t)p->t.ival : (int64_t)p->t.ival;
			if ((err = next(p)))
				return err;
		}
		if (value > INT32_MAX)
			return edl_error(p->ctx, ADY_ERR_RANGE, v->loc, "enumerator value out of int32 range");
		v->value = value++;
		if (is_punct(&p->t, '}'))
			break;
		if ((err = expect_punct(p, ',')))
			return err;
	}
	if ((err = next(p)))
		return err;
	return expect_punct(p, ';');
}

/* Reads path into an arena buffer. */
static ady_err read_file(edl_ctx *ctx, const char *path, edl_loc from, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f)
		return edl_error(ctx, ADY_ERR_IO, from, "cannot open %s: %s", path, strerror(errno));
	buf = edl_alloc(ctx, EDL_MAX_FILE + 1);
	if (!buf) {
		fclose(f);
		return ctx->code;
	}
	n = fread(buf, 1, EDL_MAX_FILE + 1, f);
	if (ferror(f)) {
		fclose(f);
		return edl_error(ctx, ADY_ERR_IO, from, "cannot read %s", path);
	}
	fclose(f);
	if (n > EDL_MAX_FILE)
		return edl_error(ctx, ADY_ERR_TOO_LARGE, from, "%s is larger than %u bytes", path, EDL_MAX_FILE);
	*out = buf;
	*len = n;
	return ADY_OK;
}

static char *dir_of(edl_ctx *ctx, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return edl_strndup(ctx, ".", 1);
	return edl_strndup(ctx, path, slash == path ? 1 : (size_t)(slash - path));
}

static char *join(edl_ctx *ctx, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = edl_alloc(ctx, a + b + 2);

	if (s)
		snprintf(s, a + b + 2, "%s/%s", dir, name);
	return s;
}

static ady_err note_dep(edl_ctx *ctx, const char *path)
{
	const char **d = edl_push(ctx, &ctx->deps, &ctx->ndeps, &ctx->depcap, sizeof(*d));

	if (!d)
		return ctx->code;
	*d = path;
	return ADY_OK;
}

/* Parses path (found by the caller) as an imported or top-level unit. */
static ady_err parse_path(edl_ctx *ctx, const char *path, edl_loc from, edl_model *out)
{
	char real[PATH_MAX], *src = NULL, *canon;
	size_t len = 0;
	ady_err err;

	if (!realpath(path, real))
		return edl_error(ctx, ADY_ERR_IO, from, "cannot open %s: %s", path, strerror(errno));
	for (size_t i = 0; i < ctx->depth; i++)
		if (strcmp(ctx->stack[i], real) == 0)
			return edl_error(ctx, ADY_ERR_MALFORMED, from, "import cycle through %s", path);
	if (ctx->depth >= EDL_MAX_DEPTH)
		return edl_error(ctx, ADY_ERR_RANGE, from, "imports nested deeper than %d", EDL_MAX_DEPTH);
	if (!(canon = edl_strndup(ctx, real, strlen(real))))
		return ctx->code;
	if ((err = read_file(ctx, path, from, &src, &len)) || (err = note_dep(ctx, path)))
		return err;
	ctx->stack[ctx->depth++] = canon;
	err = parse_unit(ctx, path, dir_of(ctx, path), src, len, out);
	ctx->depth--;
	return err;
}

static int same_loc(edl_loc a, edl_loc b)
{
	return a.line == b.line && a.col == b.col && strcmp(a.file, b.file) == 0;
}

static ady_err merge_struct(edl_ctx *ctx, edl_model *m, const edl_struct *s)
{
	edl_struct *d;

	for (size_t i = 0; i < m->nst; i++) {
		if (strcmp(m->st[i].name, s->name) == 0) {
			if (same_loc(m->st[i].loc, s->loc))
				return ADY_OK;
			return edl_error(ctx, ADY_ERR_MALFORMED, s->loc, "redefinition of struct '%s' (first at %s:%u:%u)",
					 s->name, m->st[i].loc.file, m->st[i].loc.line, m->st[i].loc.col);
		}
	}
	if (!(d = edl_push(ctx, &m->st, &m->nst, &m->stcap, sizeof(*d))))
		return ctx->code;
	*d = *s;
	return ADY_OK;
}

static ady_err merge_enum(edl_ctx *ctx, edl_model *m, const edl_enum *e)
{
	edl_enum *d;

	for (size_t i = 0; i < m->nen; i++) {
		if (strcmp(m->en[i].name, e->name) == 0) {
			if (same_loc(m->en[i].loc, e->loc))
				return ADY_OK;
			return edl_error(ctx, ADY_ERR_MALFORMED, e->loc, "redefinition of enum '%s' (first at %s:%u:%u)",
					 e->name, m->en[i].loc.file, m->en[i].loc.line, m->en[i].loc.col);
		}
	}
	if (!(d = edl_push(ctx, &m->en, &m->nen, &m->encap, sizeof(*d))))
		return ctx->code;
	*d = *e;
	return ADY_OK;
}

static ady_err merge_func(edl_ctx *ctx, edl_model *m, const edl_func *f)
{
	edl_func *d;

	for (size_t i = 0; i < m->nfn; i++) {
		if (strcmp(m->fn[i].name, f->name) == 0) {
			if (same_loc(m->fn[i].loc, f->loc))
				return ADY_OK;
			return edl_error(ctx, ADY_ERR_MALFORMED, f->loc, "redefinition of function '%s' (first at %s:%u:%u)",
					 f->name, m->fn[i].loc.file, m->fn[i].loc.line, m->fn[i].loc.col);
		}
	}
	if (!(d = edl_push(ctx, &m->fn, &m->nfn, &m->fncap, sizeof(*d))))
		return ctx->code;
	*d = *f;
	return ADY_OK;
}

static ady_err merge_include(edl_ctx *ctx, edl_model *m, const char *inc)
{
	const char **d;

	for (size_t i = 0; i < m->ninc; i++)
		if (strcmp(m->inc[i], inc) == 0)
			return ADY_OK;
	if (!(d = edl_push(ctx, &m->inc, &m->ninc, &m->inccap, sizeof(*d))))
		return ctx->code;
	*d = inc;
	return ADY_OK;
}

/* from "file" import * | name, name ... ; */
static ady_err parse_import(parser *p)
{
	edl_ctx *ctx = p->ctx;
	edl_model sub = {0};
	edl_loc from = p->t.loc;
	const char *name, *path = NULL;
	ady_err err;

	if ((err = next(p)))
		return err;
	if (p->t.kind != EDL_TOK_STR)
		return unexpected(p, "a file name string");
	if (!(name = edl_strndup(ctx, p->t.text, p->t.len)))
		return ctx->code;
	from = p->t.loc;
	if (name[0] == '/') {
		path = name;
	} else {
		const char *cand = join(ctx, p->dir, name);
		for (size_t i = 0; cand && access(cand, R_OK) != 0 && i < ctx->nsearch; i++)
			cand = join(ctx, ctx->search[i], name);
		if (!cand)
			return ctx->code;
		path = cand;
	}
	if (access(path, R_OK) != 0)
		return edl_error(ctx, ADY_ERR_IO, from, "cannot find \"%s\" (looked next to %s and in %zu -I directories)",
				 name, p->lx.file, ctx->nsearch);
	if ((err = next(p)))
		return err;
	if (!is_id(&p->t, "import"))
		return unexpected(p, "'import'");
	if ((err = next(p)) || (err = parse_path(ctx, path, from, &sub)))
		return err;
	for (size_t i = 0; i < sub.ninc; i++)
		if ((err = merge_include(ctx, p->m, sub.inc[i])))
			return err;
	for (size_t i = 0; i < sub.nen; i++)
		if ((err = merge_enum(ctx, p->m, &sub.en[i])))
			return err;
	for (size_t i = 0; i < sub.nst; i++)
		if ((err = merge_struct(ctx, p->m, &sub.st[i])))
			return err;
	if (is_punct(&p->t, '*')) {
		for (size_t i = 0; i < sub.nfn; i++)
			if ((err = merge_func(ctx, p->m, &sub.fn[i])))
				return err;
		if ((err = next(p)))
			return err;
		return expect_punct(p, ';');
	}
	for (;;) {
		size_t i;
		if (p->t.kind != EDL_TOK_ID)
			return unexpected(p, "'*' or a function name");
		for (i = 0; i < sub.nfn; i++)
			if (is_id(&p->t, sub.fn[i].name))
				break;
		if (i == sub.nfn)
			return edl_error(ctx, ADY_ERR_MALFORMED, p->t.loc, "'%.*s' is not declared in %s",
					 (int)(p->t.len > 64 ? 64 : p->t.len), p->t.text, path);
		if ((err = merge_func(ctx, p->m, &sub.fn[i])) || (err = next(p)))
			return err;
		if (is_punct(&p->t, ';'))
			return next(p);
		if ((err = expect_punct(p, ',')))
			return err;
	}
}

static ady_err parse_item(parser *p)
{
	ady_err err;

	if (is_id(&p->t, "include")) {
		const char *inc;
		if ((err = next(p)))
			return err;
		if (p->t.kind != EDL_TOK_STR)
			return unexpected(p, "a header name string");
		if (!(inc = edl_strndup(p->ctx, p->t.text, p->t.len)))
			return p->ctx->code;
		if (!inc[0] || strpbrk(inc, "<>"))
			return edl_error(p->ctx, ADY_ERR_MALFORMED, p->t.loc, "bad header name");
		if ((err = merge_include(p->ctx, p->m, inc)) || (err = next(p)))
			return err;
		return is_punct(&p->t, ';') ? next(p) : ADY_OK;
	}
	if (is_id(&p->t, "from"))
		return parse_import(p);
	if (is_id(&p->t, "import"))
		return unsupported(p, "'import' without 'from' is");
	if (is_id(&p->t, "trusted"))
		return parse_funcs(p, 1);
	if (is_id(&p->t, "untrusted"))
		return parse_funcs(p, 0);
	if (is_id(&p->t, "struct"))
		return parse_struct(p, 0);
	if (is_id(&p->t, "union"))
		return parse_struct(p, 1);
	if (is_id(&p->t, "enum"))
		return parse_enum(p);
	if (is_id(&p->t, "typedef"))
		return unsupported(p, "typedef is");
	return unexpected(p, "include, from, trusted, untrusted, struct, union or enum");
}

static ady_err parse_unit(edl_ctx *ctx, const char *file, const char *dir, const char *src, size_t len,
			  edl_model *out)
{
	parser p = {.ctx = ctx, .dir = dir ? dir : ".", .m = out};
	ady_err err;

	if (!file || !p.dir)
		return ctx->code ? ctx->code : ADY_ERR_NOMEM;
	edl_lex_init(&p.lx, ctx, file, src, len);
	if ((err = next(&p)))
		return err;
	if (!is_id(&p.t, "enclave"))
		return unexpected(&p, "'enclave'");
	if ((err = next(&p)) || (err = expect_punct(&p, '{')))
		return err;
	while (!is_punct(&p.t, '}')) {
		if (p.t.kind == EDL_TOK_EOF)
			return unexpected(&p, "'}'");
		if ((err = parse_item(&p)))
			return err;
	}
	if ((err = next(&p)))
		return err;
	if (is_punct(&p.t, ';') && (err = next(&p)))
		return err;
	if (p.t.kind != EDL_TOK_EOF)
		return unexpected(&p, "end of file");
	return ADY_OK;
}

/* see edl.h */
ady_err edl_parse_buffer(edl_ctx *ctx, const char *file, const char *dir, const char *src, size_t len)
{
	ady_err err = parse_unit(ctx, file, dir, src, len, &ctx->m);

	return err ? err : edl_check(ctx, &ctx->m);
}

/* see edl.h */
ady_err edl_parse_file(edl_ctx *ctx, const char *path)
{
	edl_loc none = {path, 0, 0};
	ady_err err = parse_path(ctx, path, none, &ctx->m);

	return err ? err : edl_check(ctx, &ctx->m);
}
