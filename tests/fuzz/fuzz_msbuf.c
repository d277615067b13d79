/*
 * libFuzzer target: the marshalling-slot header decoder
 * (src/format/msbuf.c, ady_msbuf_decode), the one parser of memory the
 * application controls while the enclave runs.  Input: u64 slot size (the
 * measured config's, taken modulo 16 MiB), then the slot's bytes.  A slot
 * shorter than the header is given its true size and must be refused
 * (ADY_ERR_RANGE).  An accepted header must keep every length inside the
 * data area, and re-encode (ady_msbuf_encode) to the same 64 bytes: reserved
 * bytes zero, nothing lost.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[ADY_MSBUF_HEADER];
	uint64_t slot_size;
	ady_msbuf_hdr h;
	ady_cur c;
	ady_err err;

	ady_cur_init(&c, data, size);
	if (ady_cur_u64le(&c, &slot_size))
		return 0;
	data += 8;
	size -= 8;
	if (size < ADY_MSBUF_HEADER) {
		/* the decoder reads the header only: a short slot is refused
		 * before any byte is read */
		if (ady_msbuf_decode(data, size, &h) != ADY_ERR_RANGE)
			abort();
		return 0;
	}
	slot_size = ADY_MSBUF_HEADER + slot_size % (16u << 20);
	err = ady_msbuf_decode(data, slot_size, &h);
	if (err == ADY_ERR_PROTOCOL)
		return 0;
	if (err != ADY_OK)
		abort();
	if (h.op < ADY_MSBUF_ECALL || h.op > ADY_MSBUF_REPLY || h.in_len > slot_size - ADY_MSBUF_HEADER ||
	    h.out_cap > slot_size - ADY_MSBUF_HEADER || h.out_len > slot_size - ADY_MSBUF_HEADER)
		abort();
	ady_msbuf_encode(again, &h);
	if (memcmp(again, data, ADY_MSBUF_HEADER) != 0)
		abort();
	return 0;
}
