/*
 * libFuzzer target: the RA-TLS evidence decoder (src/format/ratls.c,
 * ady_ratls_evidence_decode).  Evidence without the optional nonce claim
 * that the decoder accepts must re-encode to the same bytes through the
 * encoder the enclave runs (ady_ratls_evidence_encode): one value, one
 * encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/quote.h"
#include "adyton/ratls_format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[ADY_QUOTE_MAX + 256];
	ady_ratls_evidence ev;
	ady_wr w;

	if (ady_ratls_evidence_decode(data, size, &ev) != ADY_OK)
		return 0;
	if (ev.quote_len == 0 || ev.quote_len > ADY_QUOTE_MAX || ev.quote < data || ev.quote + ev.quote_len > data + size)
		abort();
	if (ev.has_nonce)
		return 0;
	ady_wr_init(&w, out, sizeof(out));
	ady_ratls_evidence_encode(&w, ev.quote, ev.quote_len, ev.pubkey_hash);
	if (ady_wr_err(&w) || ady_wr_len(&w) != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
