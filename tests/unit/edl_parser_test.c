/*
 * adyton-edl lexer, parser and checks: every construct of the subset, every
 * error with its file:line:column, and the "not supported" constructs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/edl/edl.h"

#define EDL_DIR ADY_TEST_SOURCE_DIR "/tests/edl"

static ady_err parse(edl_ctx *ctx, const char *src)
{
	edl_ctx_init(ctx);
	return edl_parse_buffer(ctx, "t.edl", EDL_DIR, src, strlen(src));
}

/* src must fail with code and an error message starting with prefix
 * ("t.edl:L:C: error: ...") and containing text. */
static void expect_error(const char *src, ady_err code, const char *prefix, const char *text)
{
	edl_ctx ctx;
	ady_err err = parse(&ctx, src);

	if (err != code || strncmp(ctx.err, prefix, strlen(prefix)) != 0 || !strstr(ctx.err, text))
		fail_msg("source:\n%s\nexpected %d \"%s...%s\", got %d \"%s\"", src, code, prefix, text, err, ctx.err);
	edl_ctx_fini(&ctx);
}

static void test_lexer(void **state)
{
	static const char src[] = "enclave { // c\n /* multi\nline */ 0x1F 017 42 \"a.h\" [ ] = * - ; , ( ) }";
	static const edl_tok_kind kinds[] = {EDL_TOK_ID,    EDL_TOK_PUNCT, EDL_TOK_INT,   EDL_TOK_INT,   EDL_TOK_INT,
					     EDL_TOK_STR,   EDL_TOK_PUNCT, EDL_TOK_PUNCT, EDL_TOK_PUNCT, EDL_TOK_PUNCT,
					     EDL_TOK_PUNCT, EDL_TOK_PUNCT, EDL_TOK_PUNCT, EDL_TOK_PUNCT, EDL_TOK_PUNCT,
					     EDL_TOK_PUNCT, EDL_TOK_EOF};
	edl_ctx ctx;
	edl_lexer lx;
	edl_tok t;

	(void)state;
	edl_ctx_init(&ctx);
	edl_lex_init(&lx, &ctx, "x", src, strlen(src));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		assert_int_equal(edl_lex_next(&lx, &t), ADY_OK);
		assert_int_equal(t.kind, kinds[i]);
		if (i == 2) {
			assert_int_equal(t.ival, 0x1f);
			assert_int_equal(t.loc.line, 3);
			assert_int_equal(t.loc.col, 9);
		}
		if (i == 3)
			assert_int_equal(t.ival, 15);
		if (i == 5)
			assert_true(t.len == 3 && memcmp(t.text, "a.h", 3) == 0);
	}
	/* errors carry their position */
	edl_lex_init(&lx, &ctx, "x", "\n  @", 4);
	assert_int_equal(edl_lex_next(&lx, &t), ADY_ERR_MALFORMED);
	assert_string_equal(ctx.err, "x:2:3: error: unexpected character '@'");
	edl_ctx_fini(&ctx);
	edl_ctx_init(&ctx);
	edl_lex_init(&lx, &ctx, "x", "99999999999999999999", 20);
	assert_int_equal(edl_lex_next(&lx, &t), ADY_ERR_RANGE);
	edl_ctx_fini(&ctx);
}

static void test_everything(void **state)
{
	static const char src[] =
		"enclave {\n"
		"  include \"a.h\"\n"
		"  include \"b.h\";\n"
		"  enum e { A, B = 7, C, D = -2, };\n"
		"  struct s { int a; uint8_t b[4]; enum e c; };\n"
		"  struct t { struct s x; s y; double z; };\n"
		"  trusted {\n"
		"    public unsigned long long f1(unsigned u, signed char sc, long int li, short int si, unsigned long ul,"
		"      long long ll, t tv, e ev, wchar_t w, float fl);\n"
		"    public void f2([in, size=n] const void *p, size_t n, [out, count=4] struct s *o,"
		"      [in, out, size=2, count=c] uint16_t *io, int c, [in, string] const char *str,"
		"      [in, out, string] char *s2, [user_check] void *uc, [in] const int *one);\n"
		"    void f3(void);\n"
		"    public int f4();\n"
		"  };\n"
		"  untrusted {\n"
		"    int o1([out, size=len] char *buf, size_t len) allow(f3, f4);\n"
		"    enum e o2(enum e x) allow();\n"
		"  };\n"
		"};\n";
	edl_ctx ctx;
	const edl_func *f;

	(void)state;
	if (parse(&ctx, src) != ADY_OK)
		fail_msg("%s", ctx.err);
	assert_int_equal(ctx.m.ninc, 2);
	assert_string_equal(ctx.m.inc[1], "b.h");
	assert_int_equal(ctx.m.nen, 1);
	assert_int_equal(ctx.m.en[0].n, 4);
	assert_int_equal(ctx.m.en[0].v[2].value, 8);
	assert_int_equal(ctx.m.en[0].v[3].value, -2);
	assert_int_equal(ctx.m.nst, 2);
	assert_int_equal(ctx.m.st[0].wire, 4 + 4 + 4);
	assert_int_equal(ctx.m.st[1].wire, 12 + 12 + 8);
	assert_int_equal(ctx.m.nfn, 6);
	f = &ctx.m.fn[0];
	assert_true(f->trusted && f->is_public);
	assert_int_equal(f->ret.base, EDL_ULLONG);
	assert_int_equal(f->p[0].type.base, EDL_UINT);
	assert_int_equal(f->p[1].type.base, EDL_SCHAR);
	assert_int_equal(f->p[2].type.base, EDL_LONG);
	assert_int_equal(f->p[3].type.base, EDL_SHORT);
	assert_int_equal(f->p[4].type.base, EDL_ULONG);
	assert_int_equal(f->p[5].type.base, EDL_LLONG);
	assert_int_equal(f->p[6].type.base, EDL_STRUCT);
	assert_int_equal(f->p[7].type.base, EDL_ENUM);
	f = &ctx.m.fn[1];
	assert_int_equal(f->np, 9);
	assert_int_equal(f->p[0].attrs, EDL_A_IN);
	assert_int_equal(f->p[0].size.kind, EDL_SZ_PARAM);
	assert_int_equal(f->p[0].size.param, 1);
	assert_true(f->p[0].is_const && f->p[0].is_ptr);
	assert_int_equal(f->p[2].attrs, EDL_A_OUT);
	assert_int_equal(f->p[2].count.kind, EDL_SZ_LIT);
	assert_int_equal(f->p[2].count.lit, 4);
	assert_int_equal(f->p[3].attrs, EDL_A_IN | EDL_A_OUT);
	assert_int_equal(f->p[3].count.param, 4);
	assert_int_equal(f->p[5].attrs, EDL_A_IN | EDL_A_STRING);
	assert_int_equal(f->p[6].attrs, EDL_A_IN | EDL_A_OUT | EDL_A_STRING);
	assert_int_equal(f->p[7].attrs, EDL_A_USER_CHECK);
	assert_false(ctx.m.fn[2].is_public);
	assert_int_equal(ctx.m.fn[2].np, 0);
	assert_int_equal(ctx.m.fn[3].np, 0);
	assert_false(ctx.m.fn[4].trusted);
	assert_int_equal(ctx.m.fn[4].nallow, 2);
	assert_string_equal(ctx.m.fn[4].allow[1], "f4");
	/* [user_check] is allowed, with a warning at its attribute */
	assert_non_null(strstr(ctx.warn, "t.edl:9:"));
	assert_non_null(strstr(ctx.warn, "warning: [user_check] on 'uc'"));
	edl_ctx_fini(&ctx);
}

static void test_imports(void **state)
{
	edl_ctx ctx;
	size_t ntrusted = 0;

	(void)state;
	edl_ctx_init(&ctx);
	if (edl_parse_file(&ctx, EDL_DIR "/edltest.edl") != ADY_OK)
		fail_msg("%s", ctx.err);
	/* import * brings types, includes and functions; a named import only
	 * the named function */
	assert_int_equal(ctx.m.nst, 7);
	assert_int_equal(ctx.m.nen, 1);
	assert_int_equal(ctx.m.ninc, 1);
	assert_string_equal(ctx.m.fn[0].name, "ocall_log");
	for (size_t i = 0; i < ctx.m.nfn; i++) {
		ntrusted += ctx.m.fn[i].trusted;
		assert_string_not_equal(ctx.m.fn[i].name, "ecall_not_imported");
	}
	assert_int_equal(ntrusted, 34);
	assert_string_equal(ctx.m.fn[1].name, "ecall_imported_named");
	assert_int_equal(ctx.ndeps, 4);
	edl_ctx_fini(&ctx);

	/* the SampleEnclave-style set */
	edl_ctx_init(&ctx);
	if (edl_parse_file(&ctx, EDL_DIR "/sample/Enclave.edl") != ADY_OK)
		fail_msg("%s", ctx.err);
	assert_int_equal(ctx.ndeps, 4);
	edl_ctx_fini(&ctx);

	expect_error("enclave { from \"nonexistent.edl\" import *; };", ADY_ERR_IO, "t.edl:1:16: error:",
		     "cannot find \"nonexistent.edl\"");
	expect_error("enclave { from \"edltest_more.edl\" import nope; };", ADY_ERR_MALFORMED, "t.edl:1:42: error:",
		     "'nope' is not declared in");
	expect_error("enclave { from \"edltest_more.edl\" import *; trusted { public int ecall_not_imported(void); }; };",
		     ADY_ERR_MALFORMED, "t.edl:1:66: error:", "'ecall_not_imported' is already declared at");
	expect_error("enclave { import \"x.edl\"; };", ADY_ERR_UNSUPPORTED, "t.edl:1:11: error:", "not supported");
	expect_error("enclave { from \"edltest_more.edl\" include; };", ADY_ERR_MALFORMED, "t.edl:1:35: error:",
		     "expected 'import'");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("", ADY_ERR_MALFORMED, "t.edl:1:1: error:", "expected 'enclave', found end of file");
	expect_error("enclave {", ADY_ERR_MALFORMED, "t.edl:1:10: error:", "expected '}'");
	expect_error("enclave { } x", ADY_ERR_MALFORMED, "t.edl:1:13: error:", "expected end of file");
	expect_error("enclave { bogus }", ADY_ERR_MALFORMED, "t.edl:1:11: error:", "expected include, from");
	expect_error("enclave { /* open", ADY_ERR_MALFORMED, "t.edl:1:11: error:", "unterminated comment");
	expect_error("enclave { include \"a.h }", ADY_ERR_MALFORMED, "t.edl:1:19: error:", "unterminated string");
	expect_error("enclave { include \"a\\n.h\" }", ADY_ERR_MALFORMED, "t.edl:1:21: error:", "escapes");
	expect_error("enclave { include \"<a.h>\" }", ADY_ERR_MALFORMED, "t.edl:1:19: error:", "bad header name");
	expect_error("enclave {\n trusted { public int f(int a) };\n};", ADY_ERR_MALFORMED, "t.edl:2:32: error:",
		     "expected ';'");
	expect_error("enclave { trusted { public f(); }; };", ADY_ERR_MALFORMED, "t.edl:1:29: error:",
		     "expected an identifier");
	expect_error("enclave { trusted { public int f(int a, int a); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:45: error:", "duplicate parameter 'a'");
	expect_error("enclave { trusted { public int f(void); public int f(void); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:52: error:", "already declared");
	expect_error("enclave { trusted { public void f(int *p); }; };", ADY_ERR_MALFORMED, "t.edl:1:40: error:",
		     "pointer 'p' needs a direction");
	expect_error("enclave { trusted { public void f([in] int v); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "not a pointer");
	expect_error("enclave { trusted { public void f([out] const int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[out] on 'p', which points to const");
	expect_error("enclave { trusted { public void f([out, string] char *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[string] on 'p' needs [in]");
	expect_error("enclave { trusted { public void f([in, string, size=4] char *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "cannot have size=");
	expect_error("enclave { trusted { public void f([in, string] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "needs a char pointer");
	expect_error("enclave { trusted { public void f([in] void *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "needs size=");
	expect_error("enclave { trusted { public void f([in, size=n] void *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:45: error:", "no parameter named 'n'");
	expect_error("enclave { trusted { public void f([in, size=n] void *p, double n); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:45: error:", "not an integer parameter");
	expect_error("enclave { trusted { public void f([in, size=p] void *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:45: error:", "names the pointer itself");
	expect_error("enclave { trusted { public void f([in, size=4, size=4] void *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:48: error:", "duplicate attribute 'size'");
	expect_error("enclave { trusted { public void f([in, in] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:40: error:", "duplicate attribute 'in'");
	expect_error("enclave { trusted { public void f([user_check, in] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "cannot be combined");
	expect_error("enclave { trusted { public void f([size=4] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "needs [in], [out] or [in, out]");
	expect_error("enclave { trusted { public void f([bogus] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:36: error:", "unknown attribute 'bogus'");
	expect_error("enclave { trusted { public void f(void v); }; };", ADY_ERR_MALFORMED, "t.edl:1:40: error:",
		     "has type void");
	expect_error("enclave { trusted { public void f(struct nope v); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "unknown struct 'nope'");
	expect_error("enclave { trusted { public void f(enum nope v); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "unknown enum 'nope'");
	expect_error("enclave { struct a { struct b x; }; struct b { int y; }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:22: error:", "unknown struct 'b'");
	expect_error("enclave { struct a { int x; int x; }; };", ADY_ERR_MALFORMED, "t.edl:1:33: error:",
		     "duplicate member 'x'");
	expect_error("enclave { struct a { }; };", ADY_ERR_MALFORMED, "t.edl:1:22: error:", "has no members");
	expect_error("enclave { struct a { int x[0]; }; };", ADY_ERR_RANGE, "t.edl:1:28: error:", "1..65536");
	expect_error("enclave { enum e { A = 2147483648 }; };", ADY_ERR_RANGE, "t.edl:1:24: error:", "int32");
	expect_error("enclave { enum e { A = 2147483647, B }; };", ADY_ERR_RANGE, "t.edl:1:36: error:", "int32");
	expect_error("enclave { enum e { A }; enum f { A }; };", ADY_ERR_MALFORMED, "t.edl:1:34: error:",
		     "'A' is already declared at t.edl:1:20");
	expect_error("enclave { untrusted { public void o(void); }; };", ADY_ERR_MALFORMED, "t.edl:1:23: error:",
		     "'public' applies to trusted");
	expect_error("enclave { trusted { public void f(void) allow(g); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:41: error:", "allow() applies to untrusted");
	expect_error("enclave { untrusted { void o(void) allow(nope); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:28: error:", "allow(nope) in 'o': no trusted function 'nope'");
	expect_error("enclave { trusted { public void int(void); }; };", ADY_ERR_MALFORMED, "t.edl:1:33: error:",
		     "reserved word");
	expect_error("enclave { trusted { public void ady_x(void); }; };", ADY_ERR_MALFORMED, "t.edl:1:33: error:",
		     "reserved for generated code");
	expect_error("enclave { trusted { public void f(int v[4]); }; };", ADY_ERR_MALFORMED, "t.edl:1:39: error:",
		     "pointer 'v' needs a direction");
}

/* The rest of the SGX/Open Enclave language (issue 17): what parses, into
 * which model, and each new construct's errors. */
static void test_language(void **state)
{
	static const char src[] =
		"enclave {\n"
		"  union u { uint32_t a; uint64_t b; uint8_t c[12]; };\n"
		"  struct d { size_t n; [size=n] uint8_t *p; [count=k] int32_t *q; int k; [string] char *s; };\n"
		"  trusted {\n"
		"    public void f1([in] int a[4], [out] int b[2][3], [in, out] union u c[2], union u v);\n"
		"    public void f2([in, isptr, readonly, size=len] buffer_t buf, size_t len, [user_check, isary] array_t x);\n"
		"    public void f3([in, wstring] const wchar_t *w, [in, count=2] struct d *dd);\n"
		"  };\n"
		"  untrusted { [cdecl, dllimport] void o1([in, count=n] const void **w, size_t n); };\n"
		"  trusted { public void f4([in, isary] array_t y); };\n"
		"  untrusted { [stdcall] void o2(void) allow(f1); };\n"
		"};\n";
	edl_ctx ctx;
	const edl_func *f;

	(void)state;
	if (parse(&ctx, src) != ADY_OK)
		fail_msg("%s", ctx.err);
	assert_int_equal(ctx.m.nst, 2);
	assert_true(ctx.m.st[0].is_union);
	assert_int_equal(ctx.m.st[0].wire, 12); /* the longest member */
	assert_int_equal(ctx.m.st[1].nptr, 3);
	assert_int_equal(ctx.m.st[1].wire, 8 + 9 + 9 + 4 + 9);
	assert_int_equal(ctx.m.nfn, 6);
	/* blocks merged in declaration order */
	assert_string_equal(ctx.m.fn[3].name, "o1");
	assert_string_equal(ctx.m.fn[4].name, "f4");
	f = &ctx.m.fn[0];
	assert_int_equal(f->p[0].count.lit, 4);
	assert_int_equal(f->p[1].ndims, 2);
	assert_int_equal(f->p[1].count.lit, 6);
	assert_int_equal(f->p[2].type.base, EDL_UNION);
	assert_int_equal(f->p[3].type.base, EDL_UNION);
	assert_false(f->p[3].is_ptr);
	f = &ctx.m.fn[1];
	assert_int_equal(f->p[0].type.base, EDL_FOREIGN);
	assert_true(f->p[0].is_ptr);
	assert_true(f->p[0].attrs & EDL_A_READONLY);
	assert_int_equal(f->p[2].type.base, EDL_FOREIGN);
	f = &ctx.m.fn[3];
	assert_int_equal(f->p[0].type.base, EDL_ADDR);
	assert_string_equal(f->p[0].type.name, "const void *");
	assert_non_null(strstr(ctx.warn, "t.edl:9:16: warning: function attribute [cdecl] is Windows-only: ignored"));
	assert_non_null(strstr(ctx.warn, "function attribute [dllimport] is Windows-only"));
	assert_non_null(strstr(ctx.warn, "function attribute [stdcall] is Windows-only"));
	edl_ctx_fini(&ctx);

	/* unions */
	expect_error("enclave { union u { int *a; }; };", ADY_ERR_UNSUPPORTED, "t.edl:1:26: error:", "pointer member 'a'");
	expect_error("enclave { struct s { int a; }; union u { struct s a; }; };", ADY_ERR_UNSUPPORTED,
		     "t.edl:1:51: error:", "scalars or arrays of scalars");
	expect_error("enclave { union u { int a; }; trusted { public union u f(void); }; };", ADY_ERR_UNSUPPORTED,
		     "t.edl:1:48: error:", "returning a union");
	expect_error("enclave { union u { int a; }; trusted { public void f(struct u v); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:55: error:", "'u' is declared as a union");
	expect_error("enclave { union u { }; };", ADY_ERR_MALFORMED, "t.edl:1:21: error:", "union 'u' has no members");
	/* array parameters */
	expect_error("enclave { trusted { public void f([in, count=2] int a[4]); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "fixed size");
	expect_error("enclave { trusted { public void f([in] int a[0]); }; };", ADY_ERR_RANGE, "t.edl:1:46: error:",
		     "1..65536");
	expect_error("enclave { trusted { public void f([in] int a[n]); }; };", ADY_ERR_UNSUPPORTED,
		     "t.edl:1:46: error:", "array lengths other than integer literals");
	expect_error("enclave { trusted { public void f([in] int a[2][2][2][2][2]); }; };", ADY_ERR_RANGE,
		     "t.edl:1:57: error:", "more than 4 array dimensions");
	expect_error("enclave { trusted { public void f([in] int a[65536][65536]); }; };", ADY_ERR_TOO_LARGE,
		     "t.edl:1:44: error:", "more than");
	expect_error("enclave { trusted { public void f([out] const int a[4]); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "points to const");
	expect_error("enclave { trusted { public void f([in] int *a[4]); }; };", ADY_ERR_UNSUPPORTED,
		     "t.edl:1:46: error:", "arrays of pointers");
	/* isptr, isary, readonly */
	expect_error("enclave { trusted { public void f([in, isptr] buf_t p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[isptr] pointer 'p' needs size=");
	expect_error("enclave { trusted { public void f([in, isptr, size=4] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[isptr] on 'p' needs a pointer type from an included header");
	expect_error("enclave { trusted { public void f([in, isary, size=4] array_t p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "size= and count= are not allowed");
	expect_error("enclave { trusted { public void f([in, isary, isptr] array_t p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[isptr] and [isary]");
	expect_error("enclave { trusted { public void f([in] array_t p); }; };", ADY_ERR_UNSUPPORTED,
		     "t.edl:1:40: error:", "only behind [isptr] or [isary]");
	expect_error("enclave { trusted { public void f([in, out, readonly] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[readonly] on 'p' needs [in]");
	expect_error("enclave { trusted { public void f([out, readonly] int *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "cannot be used with [out]");
	/* wstring */
	expect_error("enclave { trusted { public void f([in, wstring] char *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "needs a wchar_t pointer");
	expect_error("enclave { trusted { public void f([in, string, wstring] wchar_t *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[string] and [wstring]");
	expect_error("enclave { trusted { public void f([out, wstring] wchar_t *p); }; };", ADY_ERR_MALFORMED,
		     "t.edl:1:35: error:", "[wstring] on 'p' needs [in]");
	/* deep copy */
	expect_error("enclave { struct s { int *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:27: error:",
		     "pointer member 'a' needs [size=], [count=]");
	expect_error("enclave { struct s { [size=n] int *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:28: error:",
		     "no member named 'n' in struct 's'");
	expect_error("enclave { struct s { [size=a] int *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:28: error:",
		     "names the member itself");
	expect_error("enclave { struct s { double n; [size=n] int *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:38: error:",
		     "'n' is not an integer member");
	expect_error("enclave { struct s { [string] int *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:22: error:",
		     "needs a char pointer");
	expect_error("enclave { struct s { [string, size=4] char *a; }; };", ADY_ERR_MALFORMED, "t.edl:1:22: error:",
		     "cannot have size= or count=");
	expect_error("enclave { struct s { [in] char *a; }; };", ADY_ERR_UNSUPPORTED, "t.edl:1:23: error:",
		     "attribute 'in' on a struct member is not supported");
	expect_error("enclave { struct s { [size=4] int a; }; };", ADY_ERR_MALFORMED, "t.edl:1:22: error:",
		     "which is not a pointer");
	expect_error("enclave { struct s { int n; [count=n] struct t *a; }; struct t { int x; }; };",
		     ADY_ERR_MALFORMED, "t.edl:1:39: error:", "unknown struct 't'");
	expect_error("enclave { struct t { int x; }; struct s { int n; [count=n] struct t *a; }; };",
		     ADY_ERR_UNSUPPORTED, "t.edl:1:70: error:", "nested buffers of structs");
	expect_error("enclave { struct s { int n; [count=n] int *a; }; struct o { struct s x; }; };",
		     ADY_ERR_UNSUPPORTED, "t.edl:1:70: error:", "inside another struct");
	expect_error("enclave { struct s { int n; [count=n] int *a; }; trusted { public void f(struct s v); }; };",
		     ADY_ERR_UNSUPPORTED, "t.edl:1:83: error:", "pass 'v' through an [in] pointer");
	expect_error("enclave { struct s { int n; [count=n] int *a; }; trusted { public void f([out] struct s *v); }; };",
		     ADY_ERR_UNSUPPORTED, "t.edl:1:74: error:", "need [in]");
	/* function attributes other than the Windows ones */
	expect_error("enclave { trusted { [bogus] public void f(void); }; };", ADY_ERR_MALFORMED, "t.edl:1:22: error:",
		     "unknown function attribute 'bogus'");
}

static void test_unsupported(void **state)
{
	static const struct {
		const char *src, *prefix, *text;
	} cases[] = {
		{"enclave { typedef int x; };", "t.edl:1:11: error:", "typedef is not supported"},
		{"#define X 1\nenclave { };", "t.edl:1:1: error:", "preprocessor directives are not supported"},
		{"enclave { trusted { public void f([in, sizefunc=g] int *p); }; };", "t.edl:1:40: error:",
		 "attribute [sizefunc] is not supported"},
		{"enclave { trusted { public void f([in, size=n*2] int *p, size_t n); }; };", "t.edl:1:46: error:",
		 "expressions are not supported"},
		{"enclave { trusted { public void f([in] int ***p); }; };", "t.edl:1:46: error:",
		 "pointers to pointers to pointers are not supported"},
		{"enclave { trusted { public int *f(void); }; };", "t.edl:1:32: error:",
		 "pointer return values are not supported"},
		{"enclave { struct s { int a; }; trusted { public struct s f(void); }; };", "t.edl:1:49: error:",
		 "returning a struct"},
		{"enclave { untrusted { void o(void) propagate_errno; }; };", "t.edl:1:36: error:",
		 "'propagate_errno' is not supported"},
		{"enclave { untrusted { void o(void) transition_using_threads; }; };", "t.edl:1:36: error:",
		 "'transition_using_threads' is not supported"},
		{"enclave { trusted { public void f(sgx_status_t s); }; };", "t.edl:1:35: error:",
		 "unknown type 'sgx_status_t'"},
		{"enclave { trusted { public void f(long double d); }; };", "t.edl:1:40: error:", "long double is not supported"},
		{"enclave { trusted { public void f(bool b); }; };", "t.edl:1:35: error:", "bool is not supported"},
		{"enclave { enum { A }; };", "t.edl:1:16: error:", "anonymous enums are not supported"},
		{"enclave { enum e { A = B }; };", "t.edl:1:24: error:", "integer literals are not supported"},
		{"enclave { struct s { int a; }; trusted { public void f([in, size=8] struct s *p); }; };",
		 "t.edl:1:61: error:", "size= on 'p' (a struct, union or enum pointer) is not supported"},
		{"enclave { trusted { public void f([in] int * const p); }; };", "t.edl:1:46: error:",
		 "const pointers"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].src, ADY_ERR_UNSUPPORTED, cases[i].prefix, cases[i].text);
}

/* The generator's output for the golden EDL, written to memory: the
 * declared signatures and the calling convention of docs/edl.md. */
static void test_generate(void **state)
{
	edl_ctx ctx;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	edl_ctx_init(&ctx);
	if (edl_parse_file(&ctx, EDL_DIR "/edltest.edl") != ADY_OK)
		fail_msg("%s", ctx.err);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(edl_gen_untrusted_h(&ctx.m, "edltest", f), ADY_OK);
	assert_int_equal(edl_gen_trusted_h(&ctx.m, "edltest", f), ADY_OK);
	assert_int_equal(edl_gen_untrusted_c(&ctx.m, "edltest", f), ADY_OK);
	assert_int_equal(edl_gen_trusted_c(&ctx.m, "edltest", f), ADY_OK);
	fclose(f);
	assert_non_null(strstr(buf, "ady_err ecall_neg(ady_enclave *ady_e, int64_t *ady_retval, int64_t v);"));
	assert_non_null(strstr(buf, "int64_t ecall_neg(int64_t v);"));
	assert_non_null(strstr(buf, "ady_err ocall_add(int *ady_retval, int a, int b);"));
	assert_non_null(strstr(buf, "int ocall_add(int a, int b);"));
	assert_non_null(strstr(buf, "ady_err ocall_log(const char *msg);"));
	assert_non_null(strstr(buf, "void ecall_private(void);"));
	assert_null(strstr(buf, "ady_err ecall_private("));
	assert_non_null(strstr(buf, "EDLTEST_ECALL_ecall_scalars = 1,"));
	assert_non_null(strstr(buf, "extern const ady_ocall_fn edltest_ocall_table[];"));
	assert_non_null(strstr(buf, "ADY_ECALLS(ady_edl_h_ecall_imported_named, ady_edl_h_ecall_scalars"));
	assert_non_null(strstr(buf, "#include \"edltest_user.h\""));
	assert_non_null(strstr(buf, "typedef struct rect {\n\tstruct point lo;\n\tstruct point hi;\n} rect;"));
	free(buf);
	edl_ctx_fini(&ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lexer),  cmocka_unit_test(test_everything),  cmocka_unit_test(test_imports),
		cmocka_unit_test(test_errors), cmocka_unit_test(test_unsupported), cmocka_unit_test(test_generate),
		cmocka_unit_test(test_language),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
