/*
 * libFuzzer target: the IMA measurement-list decoder, security.ima v2 and
 * TPMT_SIGNATURE (src/format/ima.c).  A decoded entry's fields lie inside
 * the input, its digest length matches its algorithm, and decoding never
 * moves backwards.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "adyton/ima.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *base, size_t size, const void *p, size_t n)
{
	const uint8_t *q = p;

	if (n && (!q || q < base || (size_t)(q - base) > size || n > size - (size_t)(q - base)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ady_cur c;
	ady_ima_entry e;
	ady_ima_sigv2 s;
	ady_tpmt_signature t;
	size_t last = 0;

	ady_cur_init(&c, data, size);
	while (ady_cur_left(&c) && ady_ima_decode(&c, &e) == ADY_OK) {
		if (e.end <= last || e.end > size || e.digest_len != ady_ima_alg_len(e.alg))
			abort();
		inside(data, size, e.data, e.data_len);
		inside(data, size, e.digest, e.digest_len);
		inside(data, size, e.name, e.name_len);
		inside(data, size, e.extra, e.extra_len);
		if (e.tmpl == ADY_IMA_TEMPLATE_SIG && ady_ima_sigv2_decode(e.extra, e.extra_len, &s) == ADY_OK)
			inside(data, size, s.sig, s.sig_len);
		last = e.end;
	}
	if (ady_ima_sigv2_decode(data, size, &s) == ADY_OK)
		inside(data, size, s.sig, s.sig_len);
	if (ady_tpmt_signature_decode(data, size, &t) == ADY_OK) {
		inside(data, size, t.a, t.a_len);
		inside(data, size, t.b, t.b_len);
	}
	return 0;
}
