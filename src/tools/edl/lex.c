/*
 * lex.c - the EDL lexer: identifiers, integer literals (decimal, hex,
 * octal), string literals without escapes, the punctuation EDL uses, and
 * C comments.  Anything else is an error at its line and column.
 */
#include <string.h>

#include "edl.h"

static int is_id0(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_id(char c) { return is_id0(c) || is_digit(c); }

static int digit_val(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* see edl.h */
void edl_lex_init(edl_lexer *lx, edl_ctx *ctx, const char *file, const char *src, size_t len)
{
	lx->ctx = ctx;
	lx->file = file;
	lx->p = src;
	lx->end = src + len;
	lx->line = 1;
	lx->col = 1;
}

static void adv(edl_lexer *lx)
{
	if (*lx->p == '\n') {
		lx->line++;
		lx->col = 1;
	} else {
		lx->col++;
	}
	lx->p++;
}

static edl_loc here(const edl_lexer *lx)
{
	return (edl_loc){lx->file, lx->line, lx->col};
}

static ady_err skip_space(edl_lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			adv(lx);
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '/') {
			while (lx->p < lx->end && *lx->p != '\n')
				adv(lx);
		} else if (c == '/' && lx->end - lx->p >= 2 && lx->p[1] == '*') {
			edl_loc start = here(lx);
			adv(lx);
			adv(lx);
			for (;;) {
				if (lx->p >= lx->end)
					return edl_error(lx->ctx, ADY_ERR_MALFORMED, start, "unterminated comment");
				if (*lx->p == '*' && lx->end - lx->p >= 2 && lx->p[1] == '/') {
					adv(lx);
					adv(lx);
					break;
				}
				adv(lx);
			}
		} else {
			break;
		}
	}
	return ADY_OK;
}

/* see edl.h */
ady_err edl_lex_next(edl_lexer *lx, edl_tok *t)
{
	ady_err err = skip_space(lx);
	const char *s;
	char c;

	if (err)
		return err;
	memset(t, 0, sizeof(*t));
	t->loc = here(lx);
	s = lx->p;
	if (lx->p >= lx->end) {
		t->kind = EDL_TOK_EOF;
		return ADY_OK;
	}
	c = *lx->p;
	if (is_id0(c)) {
		while (lx->p < lx->end && is_id(*lx->p))
			adv(lx);
		t->kind = EDL_TOK_ID;
		t->text = s;
		t->len = (size_t)(lx->p - s);
		return ADY_OK;
	}
	if (is_digit(c)) {
		unsigned base = 10;
		uint64_t v = 0;
		if (c == '0' && lx->end - lx->p >= 2 && (lx->p[1] == 'x' || lx->p[1] == 'X')) {
			base = 16;
			adv(lx);
			adv(lx);
			if (lx->p >= lx->end || digit_val(*lx->p) >= 16)
				return edl_error(lx->ctx, ADY_ERR_MALFORMED, t->loc, "malformed hexadecimal number");
		} else if (c == '0') {
			base = 8;
		}
		while (lx->p < lx->end && is_id(*lx->p)) {
			int d = digit_val(*lx->p);
			if (d < 0 || (unsigned)d >= base)
				return edl_error(lx->ctx, ADY_ERR_MALFORMED, here(lx), "invalid digit '%c' in number",
						 *lx->p);
			if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, (unsigned)d, &v))
				return edl_error(lx->ctx, ADY_ERR_RANGE, t->loc, "number too large");
			adv(lx);
		}
		t->kind = EDL_TOK_INT;
		t->ival = v;
		t->text = s;
		t->len = (size_t)(lx->p - s);
		return ADY_OK;
	}
	if (c == '"') {
		adv(lx);
		s = lx->p;
		while (lx->p < lx->end && *lx->p != '"') {
			if (*lx->p == '\n' || *lx->p == '\\' || *lx->p == '\0')
				return edl_error(lx->ctx, ADY_ERR_MALFORMED, here(lx),
						 *lx->p == '\\' ? "escapes in strings are not supported"
								: "unterminated string");
			adv(lx);
		}
		if (lx->p >= lx->end)
			return edl_error(lx->ctx, ADY_ERR_MALFORMED, t->loc, "unterminated string");
		t->kind = EDL_TOK_STR;
		t->text = s;
		t->len = (size_t)(lx->p - s);
		adv(lx);
		return ADY_OK;
	}
	if (c != '\0' && strchr("{}()[];,=*-", c)) {
		adv(lx);
		t->kind = EDL_TOK_PUNCT;
		t->text = s;
		t->len = 1;
		return ADY_OK;
	}
	if (c == '#')
		return edl_error(lx->ctx, ADY_ERR_UNSUPPORTED, t->loc, "preprocessor directives are not supported");
	if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		return edl_error(lx->ctx, ADY_ERR_MALFORMED, t->loc, "unexpected character '%c'", c);
	return edl_error(lx->ctx, ADY_ERR_MALFORMED, t->loc, "unexpected byte 0x%02x", (unsigned char)c);
}
