#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"

/* see adyton/msbuf.h */
ady_err ady_msbuf_decode(const volatile uint8_t *slot, uint64_t slot_size, ady_msbuf_hdr *out)
{
	uint8_t copy[ADY_MSBUF_HEADER];
	ady_msbuf_hdr h;
	ady_cur c;
	uint64_t data;

	if (slot_size < ADY_MSBUF_HEADER)
		return ADY_ERR_RANGE;
	/* One read of shared memory per field: copy first, then validate the
	 * copy, so the other side cannot change a length after the check. */
	for (unsigned i = 0; i < ADY_MSBUF_HEADER; i++)
		copy[i] = slot[i];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);

	ady_cur_init(&c, copy, sizeof(copy));
	if (ady_cur_u32le(&c, &h.op) || ady_cur_u32le(&c, &h.index) || ady_cur_u64le(&c, &h.in_len) ||
	    ady_cur_u64le(&c, &h.out_cap) || ady_cur_u64le(&c, &h.out_len) || ady_cur_u32le(&c, &h.status) ||
	    ady_cur_zeros(&c, 28))
		return ADY_ERR_PROTOCOL;

	switch (h.op) {
	case ADY_MSBUF_ECALL:
	case ADY_MSBUF_OCALL:
	case ADY_MSBUF_LOG:
	case ADY_MSBUF_ABORT:
	case ADY_MSBUF_REPLY:
		break;
	default:
		return ADY_ERR_PROTOCOL;
	}
	data = slot_size - ADY_MSBUF_HEADER;
	if (h.in_len > data || h.out_cap > data || h.out_len > data)
		return ADY_ERR_PROTOCOL;
	*out = h;
	return ADY_OK;
}

/* see adyton/msbuf.h */
void ady_msbuf_encode(volatile uint8_t *slot, const ady_msbuf_hdr *h)
{
	uint8_t b[ADY_MSBUF_HEADER];
	ady_wr w;

	/* Built aside, then stored byte by byte: the slot is shared memory. */
	ady_wr_init(&w, b, sizeof(b));
	ady_wr_u32le(&w, h->op);
	ady_wr_u32le(&w, h->index);
	ady_wr_u64le(&w, h->in_len);
	ady_wr_u64le(&w, h->out_cap);
	ady_wr_u64le(&w, h->out_len);
	ady_wr_u32le(&w, h->status);
	ady_wr_zero(&w, 28);
	for (unsigned i = 0; i < ADY_MSBUF_HEADER; i++)
		slot[i] = b[i];
	__atomic_thread_fence(__ATOMIC_RELEASE);
}
