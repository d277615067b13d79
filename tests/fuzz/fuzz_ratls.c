/*
 * libFuzzer target: the RA-TLS evidence parser (src/verify/ratls.c,
 * ady_ratls_evidence_decode), built without OpenSSL.  Evidence without the
 * optional nonce claim that the parser accepts must re-encode to the same
 * bytes through the enclave's encoder (src/trts/ratls.c): one value, one
 * encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ADY_RATLS_PARSER_ONLY
#include "../../src/verify/ratls.c"
/* the certificate writer is unused here */
#pragma clang diagnostic ignored "-Wunused-function"
#define ADY_RATLS_ENCODER_ONLY
#include "../../src/trts/ratls.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[ADY_QUOTE_MAX + 256];
	ady_ratls_evidence ev;
	struct wr w = {.p = out, .cap = sizeof(out)};

	if (ady_ratls_evidence_decode(data, size, &ev) != ADY_OK)
		return 0;
	if (ev.quote_len == 0 || ev.quote_len > ADY_QUOTE_MAX || ev.quote < data || ev.quote + ev.quote_len > data + size)
		abort();
	if (ev.has_nonce)
		return 0;
	cbor_evidence(&w, ev.quote, ev.quote_len, ev.pubkey_hash);
	if (w.err || w.len != size || memcmp(out, data, size) != 0)
		abort();
	return 0;
}
