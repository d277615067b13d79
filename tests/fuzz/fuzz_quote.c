/*
 * libFuzzer target: the quote decoder (src/format/quote.c), its TPM
 * certification-data and TPMS_ATTEST decoders, the QUOTE/QUOTED messages
 * (src/format/proto.c) and the verifier policy parser
 * (src/format/vpolicy.c).  Every accepted quote re-encodes to the same
 * bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "adyton/proto.h"
#include "adyton/quote.h"
#include "adyton/vpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ady_quote q;
	static uint8_t out[ADY_QUOTE_MAX];
	static ady_proto_quoted mq;
	static ady_vpolicy vp;
	ady_quote_tpm t;
	ady_tpms_quote tq;
	ady_proto_quote m;
	unsigned line;
	size_t len;

	if (ady_quote_decode(data, size, &q) == ADY_OK) {
		if (ady_quote_encode(&q, out, sizeof(out), &len) != ADY_OK || len != size || memcmp(out, data, size))
			abort();
		if (q.cert_type == ADY_QUOTE_CERT_TPM) {
			if (ady_quote_decode_tpm(&q, &t) != ADY_OK)
				abort();
			if ((uint64_t)t.attest.off + t.attest.len > q.cert_len ||
			    (uint64_t)t.ek_cert.off + t.ek_cert.len > q.cert_len ||
			    (uint64_t)t.binding.off + t.binding.len > q.cert_len)
				abort();
			(void)ady_tpms_quote_decode(q.cert + t.attest.off, t.attest.len, &tq);
		}
	}
	(void)ady_tpms_quote_decode(data, size, &tq);
	if (ady_proto_decode_quote(data, size, &m) == ADY_OK && size != 96)
		abort();
	if (ady_proto_decode_quoted(data, size, &mq) == ADY_OK && (size_t)mq.len + 8 != size)
		abort();
	if (ady_vpolicy_parse((const char *)data, size, &vp, &line) == ADY_OK &&
	    (vp.nmrenclave + vp.nsigner == 0 || vp.nek_ca > ADY_VPOLICY_MAX_CA || vp.nak_ca > ADY_VPOLICY_MAX_CA))
		abort();
	return 0;
}
