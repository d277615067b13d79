/* Private to the host library and its backends. */
#ifndef ADY_HOST_INTERNAL_H
#define ADY_HOST_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "adyton/host.h"
#include "adyton/image.h"
#include "platform/derive.h"

typedef struct ady_backend_ops {
	const char *name;
	ady_backend kind;
	/* Whether the backend can run here; *why gets a reason when not. */
	bool (*available)(const char **why);
	/* Maps and starts the enclave; sets e->msbuf to threads * msbuf_size
	 * bytes of marshalling slots and e->be to its own state. */
	ady_err (*create)(ady_enclave *e, const ady_image *img);
	/* Runs the ECALL whose header is *h (op ECALL, index, in_len,
	 * out_cap; its input already in slot `slot`'s data area), serving the
	 * enclave's exits with ady_host_serve_exit(); returns the entry's
	 * status and, when ADY_OK, the reply's header in *h (not yet checked
	 * against the request: the caller does). */
	ady_err (*enter)(ady_enclave *e, uint32_t slot, ady_msbuf_hdr *h);
	void (*destroy)(ady_enclave *e);
} ady_backend_ops;

extern const ady_backend_ops ady_backend_sim;
extern const ady_backend_ops ady_backend_process;
extern const ady_backend_ops ady_backend_kvm; /* by name only: auto skips it (see host.c) */

struct ady_enclave {
	const ady_backend_ops *ops;
	void *be;                     /* backend state */
	ady_enclave_info info;
	ady_identity ident;           /* what EGETKEY/EREPORT bind to (sim) */
	uint8_t *msbuf;               /* info.threads slots of info.msbuf_size */

	ady_enclave_opts opts;
	char *path;                   /* the image file (backends that re-open it) */

	pthread_mutex_t lock;
	pthread_cond_t slot_free;
	uint64_t busy;                /* bit i: slot i in a call */
	bool aborted;
	bool lost;                    /* the enclave's process is gone */
	char *abort_reason;

	/* host-side private copies for OCALLs, one pair per slot, grown lazily */
	uint8_t *ocall_buf[64];
};

/*
 * Serves one exit of the enclave running in slot: op is what the enclave
 * asked for (ADY_MSBUF_OCALL, ADY_MSBUF_LOG, ADY_MSBUF_ABORT); the request is in the
 * slot.  Returns what the enclave's exit returns: ADY_OK after an OCALL
 * whose reply (with the handler's status) is in the slot, or an error when
 * the request itself was malformed.
 */
uint64_t ady_host_serve_exit(ady_enclave *e, uint32_t slot, uint64_t op);

#endif
