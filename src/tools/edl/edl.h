/*
 * edl.h - adyton-edl, the EDL interface compiler: lexer, parser, checks and
 * code generator.  Host code (a developer tool); the generated code is what
 * runs at the enclave boundary.  The subset and the wire encoding are
 * documented in docs/edl.md.
 *
 * Ownership: everything a context parses lives in its arena and is freed by
 * edl_ctx_fini().  Errors: the first error stops parsing; its message
 * ("file:line:col: error: ...") is in ctx->err.  Warnings accumulate in
 * ctx->warn, one per line.
 */
#ifndef ADYTON_EDL_H
#define ADYTON_EDL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "adyton/error.h"

#define EDL_MAX_DEPTH 16        /* nested imports */
#define EDL_MAX_FILE (1u << 20) /* bytes per .edl file */
#define EDL_MAX_SEARCH 16       /* -I directories */

typedef struct edl_loc {
	const char *file;
	unsigned line, col;
} edl_loc;

typedef enum edl_tok_kind {
	EDL_TOK_EOF,
	EDL_TOK_ID,
	EDL_TOK_INT,
	EDL_TOK_STR,   /* text excludes the quotes */
	EDL_TOK_PUNCT, /* one of { } ( ) [ ] ; , = * - */
} edl_tok_kind;

typedef struct edl_tok {
	edl_tok_kind kind;
	const char *text;
	size_t len;
	uint64_t ival;
	edl_loc loc;
} edl_tok;

typedef enum edl_base {
	EDL_VOID,
	EDL_CHAR, EDL_SCHAR, EDL_UCHAR,
	EDL_SHORT, EDL_USHORT, EDL_INT, EDL_UINT,
	EDL_LONG, EDL_ULONG, EDL_LLONG, EDL_ULLONG,
	EDL_INT8, EDL_INT16, EDL_INT32, EDL_INT64,
	EDL_UINT8, EDL_UINT16, EDL_UINT32, EDL_UINT64,
	EDL_SIZE, EDL_WCHAR, EDL_FLOAT, EDL_DOUBLE,
	EDL_ENUM, EDL_STRUCT, EDL_UNION,
	EDL_NAMED,   /* a bare identifier, resolved to EDL_ENUM, EDL_STRUCT or EDL_UNION by the checks */
	EDL_FOREIGN, /* a type from an included header: only behind [isptr] or [isary] */
	EDL_ADDR,    /* the element of T **: an address, 8 bytes, name holds its C spelling "T *" */
	EDL_BASE_COUNT_
} edl_base;

/* C spelling, wire width in bytes, signedness, integer-ness of each scalar. */
typedef struct edl_scalar_info {
	const char *c;
	unsigned width;
	int is_signed;
	int is_integer;
} edl_scalar_info;
const edl_scalar_info *edl_scalar(edl_base b);

typedef struct edl_type {
	edl_base base;
	const char *name; /* tag for enum/struct/named */
	size_t ref;       /* index into model structs/enums once resolved */
	edl_loc loc;
} edl_type;

typedef enum edl_size_kind { EDL_SZ_NONE, EDL_SZ_LIT, EDL_SZ_PARAM } edl_size_kind;

typedef struct edl_sizearg {
	edl_size_kind kind;
	uint64_t lit;
	const char *name;
	size_t param; /* index of the named parameter (or sibling member), set by the checks */
	edl_loc loc;
} edl_sizearg;

typedef struct edl_member {
	edl_type type;
	const char *name;
	uint32_t dim; /* 0: not an array */
	/* deep copy: a pointer member with [size=]/[count=] naming a sibling, or [string] */
	int is_ptr;
	unsigned attrs; /* EDL_A_STRING only */
	edl_sizearg size, count;
	edl_loc loc, attr_loc;
} edl_member;

typedef struct edl_struct {
	const char *name;
	int is_union;
	edl_member *m;
	size_t n, cap;
	uint64_t wire;  /* encoded size, set by the checks (pointer members: 9 bytes) */
	size_t nptr;    /* pointer members (deep copy), set by the checks */
	edl_loc loc;
} edl_struct;

typedef struct edl_enumerator {
	const char *name;
	int64_t value;
	edl_loc loc;
} edl_enumerator;

typedef struct edl_enum {
	const char *name;
	edl_enumerator *v;
	size_t n, cap;
	edl_loc loc;
} edl_enum;

enum {
	EDL_A_IN = 1u,
	EDL_A_OUT = 2u,
	EDL_A_STRING = 4u,
	EDL_A_USER_CHECK = 8u,
	EDL_A_WSTRING = 16u,
	EDL_A_ISPTR = 32u,
	EDL_A_ISARY = 64u,
	EDL_A_READONLY = 128u,
};

#define EDL_MAX_DIMS 4

typedef struct edl_param {
	edl_type type;
	int is_const; /* const pointee (pointer) or const value */
	int is_ptr; /* a pointer, an array parameter, or [isptr]/[isary] */
	unsigned attrs;
	edl_sizearg size, count;
	uint32_t dims[EDL_MAX_DIMS]; /* array parameter T name[d0][d1]...; ndims 0: none */
	size_t ndims;
	const char *name;
	edl_loc loc, attr_loc;
} edl_param;

typedef struct edl_func {
	const char *name;
	edl_type ret;
	edl_param *p;
	size_t np, pcap;
	int trusted, is_public;
	const char **allow;
	size_t nallow, allowcap;
	edl_loc loc;
} edl_func;

/* A parsed file, merged with what it imports. */
typedef struct edl_model {
	const char **inc;
	size_t ninc, inccap;
	edl_struct *st;
	size_t nst, stcap;
	edl_enum *en;
	size_t nen, encap;
	edl_func *fn; /* trusted and untrusted, in declaration order */
	size_t nfn, fncap;
} edl_model;

struct edl_arena;

typedef struct edl_ctx {
	struct edl_arena *arena;
	ady_err code;
	char err[1024];
	char warn[4096];
	size_t warn_len;
	const char *search[EDL_MAX_SEARCH];
	size_t nsearch;
	const char *stack[EDL_MAX_DEPTH]; /* files being parsed (import cycles) */
	size_t depth;
	const char **deps; /* every file read, for a depfile */
	size_t ndeps, depcap;
	edl_model m;
} edl_ctx;

typedef struct edl_lexer {
	edl_ctx *ctx;
	const char *file;
	const char *p, *end;
	unsigned line, col;
} edl_lexer;

void edl_ctx_init(edl_ctx *ctx);
void edl_ctx_fini(edl_ctx *ctx);
/* Adds an import search directory (after the importing file's own). */
ADY_MUST_CHECK ady_err edl_add_search(edl_ctx *ctx, const char *dir);

/* Arena allocation (zeroed); NULL on failure with ctx->code = NOMEM. */
void *edl_alloc(edl_ctx *ctx, size_t n);
char *edl_strndup(edl_ctx *ctx, const char *s, size_t n);
/* Grows *v (n used, *cap allocated, elements of size el) by one zeroed
 * element and returns it, or NULL. */
void *edl_push(edl_ctx *ctx, void *v, size_t *n, size_t *cap, size_t el);

/* Diagnostics.  edl_error records the first error (later ones are
 * dropped) and returns code. */
ady_err edl_error(edl_ctx *ctx, ady_err code, edl_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void edl_warn(edl_ctx *ctx, edl_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lexer over src[0, len) (need not be NUL-terminated); file names the
 * source in diagnostics. */
void edl_lex_init(edl_lexer *lx, edl_ctx *ctx, const char *file, const char *src, size_t len);
ADY_MUST_CHECK ady_err edl_lex_next(edl_lexer *lx, edl_tok *t);

/* Parses a top-level EDL file (imports resolved relative to dir, then the
 * search path), merges its imports and runs the checks into ctx->m. */
ADY_MUST_CHECK ady_err edl_parse_file(edl_ctx *ctx, const char *path);
ADY_MUST_CHECK ady_err edl_parse_buffer(edl_ctx *ctx, const char *file, const char *dir, const char *src,
					size_t len);

/* Resolves names and checks every rule of docs/edl.md on a merged model
 * (run by the two functions above). */
ADY_MUST_CHECK ady_err edl_check(edl_ctx *ctx, edl_model *m);

/* The generated files for a model; base is the C identifier prefix
 * (the EDL file's base name) and names the header the .c includes. */
ADY_MUST_CHECK ady_err edl_gen_trusted_h(const edl_model *m, const char *base, FILE *f);
ADY_MUST_CHECK ady_err edl_gen_trusted_c(const edl_model *m, const char *base, FILE *f);
ADY_MUST_CHECK ady_err edl_gen_untrusted_h(const edl_model *m, const char *base, FILE *f);
ADY_MUST_CHECK ady_err edl_gen_untrusted_c(const edl_model *m, const char *base, FILE *f);

#endif
