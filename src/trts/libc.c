/*
 * The freestanding C library subset enclaves get, including what Debian's
 * libbearssl.a needs (it is built with -fstack-protector-strong and
 * _FORTIFY_SOURCE: __memcpy_chk & co., __errno_location).  Compiled with
 * -fno-builtin so the compiler does not turn these loops back into calls
 * to themselves.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "adyton/enclave.h"

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
	void *ret = d;
	/* rep movsb is the fast path on every CPU with ERMSB */
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return ret;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	void *ret = d;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

void *memchr(const void *p, int c, size_t n)
{
	const uint8_t *s = p;

	for (size_t i = 0; i < n; i++)
		if (s[i] == (uint8_t)c)
			return (void *)(s + i);
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}

/* _FORTIFY_SOURCE checks: a destination smaller than the copy is a bug
 * that would overwrite enclave memory; stop rather than corrupt. */
void *__memcpy_chk(void *d, const void *s, size_t n, size_t dlen);
void *__memmove_chk(void *d, const void *s, size_t n, size_t dlen);
void *__memset_chk(void *d, int c, size_t n, size_t dlen);

void *__memcpy_chk(void *d, const void *s, size_t n, size_t dlen)
{
	if (n > dlen)
		ady_abort("memcpy overflows its destination");
	return memcpy(d, s, n);
}

void *__memmove_chk(void *d, const void *s, size_t n, size_t dlen)
{
	if (n > dlen)
		ady_abort("memmove overflows its destination");
	return memmove(d, s, n);
}

void *__memset_chk(void *d, int c, size_t n, size_t dlen)
{
	if (n > dlen)
		ady_abort("memset overflows its destination");
	return memset(d, c, n);
}

/* One errno for the enclave: BearSSL only writes it in code paths an
 * enclave never takes (system seeding). */
static int enclave_errno;
int *__errno_location(void);
int *__errno_location(void) { return &enclave_errno; }
