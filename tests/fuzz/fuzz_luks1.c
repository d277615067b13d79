/* libFuzzer target for the LUKS1 header decoder (adyton/luks1.h): any
 * bytes either decode into a header that satisfies the documented
 * invariants or are refused with the output zeroed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/luks1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ady_luks1_hdr h;
	ady_err err = ady_luks1_decode(data, size, &h);

	if (err) {
		static const ady_luks1_hdr zero;
		if (memcmp(&h, &zero, sizeof(h)) != 0)
			abort();
		return 0;
	}
	if (h.payload_offset == 0 || h.key_bytes != ADY_LUKS1_KEY_BYTES || !memchr(h.uuid, 0, sizeof(h.uuid)))
		abort();
	for (unsigned i = 0; i < ADY_LUKS1_SLOTS; i++) {
		const ady_luks1_slot *s = &h.slot[i];
		if (s->active == ADY_LUKS1_SLOT_ENABLED &&
		    (s->material_offset == 0 ||
		     s->material_offset + ady_luks1_material_size(&h, s) / ADY_LUKS1_SECTOR > h.payload_offset))
			abort();
	}
	return 0;
}
