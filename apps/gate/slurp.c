/*
 * slurp.c - gate_slurp (cli.h), shared by adyton-gate and adyton-agent.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#define MAX_FILE (256u << 20)

/* see cli.h */
uint8_t *gate_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n == cap) {
			uint8_t *q;

			if (cap >= MAX_FILE)
				goto fail;
			cap = cap ? 2 * cap : 65536;
			q = realloc(p, cap + 1);
			if (!q)
				goto fail;
			p = q;
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	p[n] = 0;
	*len = n;
	return p;
fail:
	free(p);
	fclose(f);
	return NULL;
}
