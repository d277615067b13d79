/*
 * Quotes for enclave code (adyton/enclave.h): a platform exit with the io
 * struct in enclave memory, as keys.c does for EGETKEY/EREPORT.  The
 * platform builds the REPORTBODY from the identity it recorded at launch;
 * only report_data and the nonce come from here.
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "internal.h"

/* see adyton/enclave.h */
ady_err ady_get_quote(const uint8_t report_data[static 64], const uint8_t nonce[static 32], uint8_t *quote,
		      size_t cap, size_t *len)
{
	ady_thread_data *td = ady_trts_current();
	ady_exit_quote io;
	uint32_t status, n;
	ady_err err;

	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (!report_data || !nonce || (!quote && cap))
		return ADY_ERR_INVALID_ARG;
	if (!td)
		return ADY_ERR_NOT_IN_ECALL;
	memset(&io, 0, sizeof(io));
	memcpy(io.reportdata, report_data, sizeof(io.reportdata));
	memcpy(io.nonce, nonce, sizeof(io.nonce));
	io.status = ADY_ERR_BACKEND; /* a platform that answers nothing refused */
	err = (ady_err)ady_trts_exit(td, ADY_EXIT_QUOTE, (uint64_t)(uintptr_t)&io);
	/* Read each output once: the platform wrote them, we check them. */
	status = io.status;
	n = io.quote_len;
	if (!err && status)
		err = status >= (uint32_t)ADY_ERR_MAX_ ? ADY_ERR_PROTOCOL : (ady_err)status;
	if (!err && (n == 0 || n > sizeof(io.quote)))
		err = ADY_ERR_PROTOCOL;
	if (!err && n > cap) {
		*len = n;
		err = ADY_ERR_SHORT_BUFFER;
	}
	if (!err) {
		memcpy(quote, io.quote, n);
		*len = n;
	}
	return err;
}
