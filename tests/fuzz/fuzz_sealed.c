/*
 * libFuzzer target: sealed-blob header and KEYREQUEST decoding
 * (src/format/sealed.c), with a round trip through the encoder for every
 * accepted header and the invariants the runtime relies on.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/sealed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ady_sealed_hdr h;
	ady_sgx_keyrequest kr;
	uint8_t hdr[ADY_SEALED_HDR_SIZE];
	size_t total;

	if (ady_sealed_decode(data, size, &h) == ADY_OK) {
		if (h.plain_text_offset > h.payload_size || h.key_request.keyname != ADY_KEYNAME_SEAL ||
		    h.key_request.keypolicy == 0 || (h.key_request.keypolicy & ~ADY_KEYPOLICY_KNOWN))
			abort();
		if (ady_sealed_total(h.payload_size - h.plain_text_offset, h.plain_text_offset, &total) != ADY_OK ||
		    total != size)
			abort();
		/* every accepted header is exactly what the encoder writes */
		ady_sealed_encode(&h, hdr);
		if (memcmp(hdr, data, sizeof(hdr)) != 0)
			abort();
	}
	if (ady_keyrequest_decode(data, size < 512 ? size : 512, &kr) == ADY_OK) {
		if (kr.keyname > ADY_KEYNAME_SEAL || (kr.keypolicy & ~ADY_KEYPOLICY_KNOWN) ||
		    memcmp(&kr, data, sizeof(kr)) != 0)
			abort();
	}
	return 0;
}
