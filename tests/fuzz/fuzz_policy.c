/*
 * libFuzzer target: the adytond policy text parser.  A parsed policy must
 * keep the header's invariants, and printing it back as text must parse
 * to the same policy; a refusal is ADY_ERR_CONFIG with a line in the text.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
	if (!cond)
		abort();
}

static size_t put_hash(char *s, const uint8_t h[32])
{
	for (int i = 0; i < 32; i++)
		snprintf(s + 2 * i, 3, "%02x", h[i]);
	return 64;
}

/* Renders p in the text form; 80 bytes per line is plenty. */
static size_t render(const ady_policy *p, char *s, size_t cap)
{
	size_t n = 0;

	n += (size_t)snprintf(s + n, cap - n, "allow_debug = %s\n", p->allow_debug ? "yes" : "no");
	if (p->any_signer)
		n += (size_t)snprintf(s + n, cap - n, "signer = any\n");
	for (uint32_t i = 0; i < p->nsigners; i++) {
		n += (size_t)snprintf(s + n, cap - n, "signer = ");
		n += put_hash(s + n, p->signers[i]);
		s[n++] = '\n';
	}
	for (uint32_t i = 0; i < p->nprovision; i++) {
		n += (size_t)snprintf(s + n, cap - n, "provision = ");
		n += put_hash(s + n, p->provision[i].mrsigner);
		if (!p->provision[i].any_product)
			n += (size_t)snprintf(s + n, cap - n, ":%u", (unsigned)p->provision[i].isvprodid);
		s[n++] = '\n';
	}
	n += (size_t)snprintf(s + n, cap - n, "max_enclaves = %u\nmax_memory = %llu\n", (unsigned)p->max_enclaves,
			      (unsigned long long)p->max_memory);
	return n;
}

static bool same(const ady_policy *a, const ady_policy *b)
{
	if (a->allow_debug != b->allow_debug || a->any_signer != b->any_signer || a->nsigners != b->nsigners ||
	    a->nprovision != b->nprovision || a->max_enclaves != b->max_enclaves || a->max_memory != b->max_memory)
		return false;
	if (memcmp(a->signers, b->signers, 32 * (size_t)a->nsigners) != 0)
		return false;
	for (uint32_t i = 0; i < a->nprovision; i++) {
		const ady_policy_provision *x = &a->provision[i], *y = &b->provision[i];

		if (memcmp(x->mrsigner, y->mrsigner, 32) != 0 || x->any_product != y->any_product ||
		    (!x->any_product && x->isvprodid != y->isvprodid))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[2 * ADY_POLICY_MAX_SIGNERS * 96 + 256];
	ady_policy p, q;
	unsigned line = 0, lines = 1;
	ady_err err = ady_policy_parse((const char *)data, size, &p, &line);

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (err != ADY_OK) {
		check(err == ADY_ERR_CONFIG);
		check(line >= 1 && line <= lines);
		return 0;
	}
	check(line == 0);
	check(p.nsigners <= ADY_POLICY_MAX_SIGNERS && p.nprovision <= ADY_POLICY_MAX_SIGNERS);
	check(!(p.any_signer && p.nsigners));
	for (uint32_t i = 0; i < p.nsigners; i++) {
		check(ady_policy_check_launch(&p, p.signers[i], 0) == ADY_OK);
		check(ady_policy_check_launch(&p, p.signers[i], 0x2) == (p.allow_debug ? ADY_OK : ADY_ERR_PERMISSION));
	}
	for (uint32_t i = 0; i < p.nprovision; i++)
		check(ady_policy_may_provision(&p, p.provision[i].mrsigner, p.provision[i].isvprodid));

	size_t n = render(&p, text, sizeof(text));
	check(n < sizeof(text));
	check(ady_policy_parse(text, n, &q, &line) == ADY_OK);
	check(same(&p, &q));
	return 0;
}
