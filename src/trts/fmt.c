/*
 * A bounded printf subset for enclave logs and abort reasons.  Never
 * writes past cap, always terminates when cap > 0, returns the length the
 * whole output would have had (like C99 snprintf).  Unknown conversions
 * are printed literally rather than guessed at.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/enclave.h"

typedef struct {
	char *buf;
	size_t cap;
	size_t len;
} out;

static void put(out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(out *o, uint64_t v, unsigned base, bool upper, bool neg, unsigned width, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg && pad == '0')
		put(o, '-');
	for (unsigned i = n + (neg ? 1u : 0u); i < width; i++)
		put(o, pad);
	if (neg && pad != '0')
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
}

/* see adyton/enclave.h */
int ady_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	out o = {buf, buf ? cap : 0, 0};

	for (const char *p = fmt; *p; p++) {
		const char *start = p;
		unsigned width = 0, lng = 0;
		size_t prec = SIZE_MAX;
		char pad = ' ';
		bool size_t_mod = false;

		if (*p != '%') {
			put(&o, *p);
			continue;
		}
		p++;
		if (*p == '0') {
			pad = '0';
			p++;
		}
		while (*p >= '0' && *p <= '9' && width < 1000)
			width = width * 10 + (unsigned)(*p++ - '0');
		if (*p == '.') {
			p++;
			if (*p == '*') {
				int pr = va_arg(ap, int);
				prec = pr < 0 ? SIZE_MAX : (size_t)pr;
				p++;
			} else {
				prec = 0;
				while (*p >= '0' && *p <= '9' && prec < 100000)
					prec = prec * 10 + (size_t)(*p++ - '0');
			}
		}
		while (*p == 'l' && lng < 2) {
			lng++;
			p++;
		}
		if (*p == 'z') {
			size_t_mod = true;
			p++;
		}
		switch (*p) {
		case 'd':
		case 'i': {
			int64_t v = size_t_mod ? (int64_t)va_arg(ap, ptrdiff_t)
				    : lng ? (int64_t)va_arg(ap, long long) : (int64_t)va_arg(ap, int);
			uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			put_num(&o, mag, 10, false, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = size_t_mod ? (uint64_t)va_arg(ap, size_t)
				     : lng ? (uint64_t)va_arg(ap, unsigned long long) : (uint64_t)va_arg(ap, unsigned);
			put_num(&o, v, *p == 'u' ? 10 : 16, *p == 'X', false, width, pad);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, false, false, 0, ' ');
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (size_t i = 0; i < prec && s[i]; i++)
				put(&o, s[i]);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			/* unknown: print what we saw, stop at the end of the string */
			for (const char *q = start; q <= p && *q; q++)
				put(&o, *q);
			if (!*p)
				p--;
			break;
		}
	}
	if (o.cap)
		o.buf[o.len < o.cap ? o.len : o.cap - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

/* see adyton/enclave.h */
int ady_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = ady_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}
