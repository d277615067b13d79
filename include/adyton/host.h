/*
 * adyton/host.h - the host library (uRTS) that applications link: create
 * an enclave from a signed image, call into it, serve its OCALLs, destroy
 * it.
 *
 * Thread safety: ady_ecall may be called from several threads at once on
 * the same enclave; each call takes one of the enclave's thread slots
 * (config "threads") and waits while all are busy.  ady_enclave_close
 * must not race with calls.
 *
 * Nested calls: an OCALL handler may not ECALL back into the same
 * enclave (ADY_ERR_NESTED); SGX allows it only when the EDL declares it,
 * and adyton does not support it yet.
 */
#ifndef ADYTON_HOST_H
#define ADYTON_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ady_enclave ady_enclave;

typedef enum ady_backend {
	ADY_BACKEND_AUTO = 0, /* the strongest available; ADYTON_BACKEND overrides */
	ADY_BACKEND_SIM,      /* in-process, no isolation: debugging only */
	ADY_BACKEND_PROCESS,  /* separate sandboxed process (issue: daemon + process backend) */
	ADY_BACKEND_KVM,      /* a minimal VM per enclave (issue: kvm backend) */
} ady_backend;

/*
 * An OCALL handler.  in: in_len bytes the enclave sent (valid during the
 * call).  out: out_cap bytes the enclave accepts; set *out_len <= out_cap.
 * The return value reaches the enclave as the OCALL's result; no output is
 * passed back unless it is ADY_OK.
 */
typedef ady_err (*ady_ocall_fn)(void *ctx, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
				size_t *out_len);

typedef struct ady_enclave_opts {
	ady_backend backend;
	const ady_ocall_fn *ocalls;  /* OCALL table, index order; may be NULL */
	uint32_t nocalls;
	void *ocall_ctx;             /* passed to every handler */
	/* Receives each ady_log() line of the enclave; NULL: stderr with an
	 * "enclave: " prefix. */
	void (*log)(void *ctx, const char *line, size_t len);
	void *log_ctx;
	/* When adytond refuses the launch and says why (a limit: the limit, the
	 * request and what is free), ady_enclave_open writes its words here,
	 * NUL-terminated and cut to refusal_cap; untouched otherwise.  NULL:
	 * not wanted.  ADY_PROTO_MAX_REASON + 1 bytes hold any. */
	char *refusal;
	size_t refusal_cap;
	uint32_t flags;              /* ADY_OPEN_* */
	/* How long (microseconds, at most 100000) each side spins before it
	 * sleeps.  kvm: a vCPU waits that long in guest mode for its slot's
	 * next call before it leaves the VM (0: 5 us, as long as the process
	 * host spins), or with ADY_OPEN_EXIT_PER_CALL its host thread waits
	 * that long; process and kvm: the application waits that long for an
	 * answer, if longer than its 50 us.  Longer keeps a bursty caller
	 * switchless and burns that much CPU after each call. */
	uint32_t spin_us;
} ady_enclave_opts;

/*
 * kvm backend: each vCPU leaves the VM after every call and its host
 * thread waits for the next (less CPU, a VM exit per call), instead of
 * waiting for the next call in guest mode for a few microseconds
 * (switchless, the default).  The other backends ignore it.  Also set when
 * the environment has ADYTON_KVM_EXIT_PER_CALL=1 (the test suites' switch).
 */
#define ADY_OPEN_EXIT_PER_CALL 0x1u

typedef struct ady_enclave_info {
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint64_t attributes;   /* SGX ATTRIBUTES.FLAGS the enclave runs with */
	ady_backend backend;   /* the one actually used */
	uint32_t threads;
	uint64_t msbuf_size;   /* per-slot size; data area is msbuf_size - 64 */
} ady_enclave_info;

/*
 * Loads, measures and verifies the signed image at path (adyton/image.h:
 * every image and signature error passes through) and starts it on the
 * chosen backend.  opts may be NULL (auto, no OCALLs).  The sim backend
 * runs the enclave with the DEBUG attribute whatever the image says.
 * On failure *out = NULL.
 */
ADY_MUST_CHECK ady_err ady_enclave_open(const char *path, const ady_enclave_opts *opts, ady_enclave **out);

/* Destroys the enclave and wipes its memory.  NULL is fine. */
void ady_enclave_close(ady_enclave *e);

/*
 * Calls ECALL index with in_len bytes of input and up to out_cap bytes of
 * output (out/out_len may be NULL when out_cap is 0).  Data is copied
 * through the marshalling slot; above its data area: ADY_ERR_TOO_LARGE.
 * Returns the ECALL's own result, or a call error (ADY_ERR_ECALL_INDEX,
 * ADY_ERR_ABORTED, ADY_ERR_NESTED, ADY_ERR_PROTOCOL ...).  *out_len is set
 * only on ADY_OK.
 */
ADY_MUST_CHECK ady_err ady_ecall(ady_enclave *e, uint32_t index, const void *in, size_t in_len, void *out,
				 size_t out_cap, size_t *out_len);

/*
 * Zero-copy calls: the caller holds one marshalling slot and writes the
 * input directly into its data area, and reads the output from there,
 * instead of ady_ecall's copy in and copy out.  Meant for bulk ECALLs
 * (adyton/enclave.h ADY_BULK_ECALLS), which the enclave also runs in
 * place; ordinary ECALLs work too (the enclave copies as always).
 *
 *     ady_ecall_slot s;
 *     if (ady_ecall_slot_open(e, &s) == ADY_OK) {
 *             fill(s.data, n);                          // input, n <= s.cap
 *             err = ady_ecall_slot_call(&s, INDEX, n, n, &got); // output in s.data
 *             ...
 *             ady_ecall_slot_close(&s);
 *     }
 *
 * The caller owns the ady_ecall_slot struct (no allocation).  Between
 * open and close the slot is this caller's alone: it counts as one of
 * the enclave's thread slots (config "threads"), so ady_ecall and other
 * opens wait while all slots are held; holding every slot and then
 * calling ady_ecall on the same enclave deadlocks.  A held slot may be
 * used for any number of calls, from one thread at a time.
 *
 * data is memory the enclave's side can read and write (on the process
 * and kvm backends, shared with another process): the input must not be
 * needed secret from the enclave, and the output is the enclave's reply,
 * stable only until the next call on the slot.  The enclave may leave
 * anything in data after a call, including on failure.  Close every
 * slot before ady_enclave_close.
 */
typedef struct ady_ecall_slot {
	uint8_t *data;   /* the slot's data area, cap bytes; NULL when closed */
	size_t cap;      /* info.msbuf_size - 64 */
	ady_enclave *e;  /* private */
	uint32_t index;  /* private: which slot */
} ady_ecall_slot;

/*
 * Takes a free slot of e, waiting while all are busy, and fills *s.
 * ADY_ERR_INVALID_ARG (NULL), ADY_ERR_NESTED (from an OCALL handler of
 * e), ADY_ERR_ENCLAVE_LOST, ADY_ERR_ABORTED.  On failure s->data = NULL.
 */
ADY_MUST_CHECK ady_err ady_ecall_slot_open(ady_enclave *e, ady_ecall_slot *s);

/*
 * Calls ECALL index with the first in_len bytes of s->data as input and
 * room for out_cap bytes of output, which lands at s->data[0, *out_len).
 * in_len, out_cap <= s->cap, else ADY_ERR_TOO_LARGE.  Results as
 * ady_ecall; *out_len (which may be NULL when out_cap is 0) is set only
 * on ADY_OK.  The slot stays held whatever the result.
 */
ADY_MUST_CHECK ady_err ady_ecall_slot_call(ady_ecall_slot *s, uint32_t index, size_t in_len, size_t out_cap,
					   size_t *out_len);

/* Gives the slot back and clears *s.  NULL or a closed slot is fine. */
void ady_ecall_slot_close(ady_ecall_slot *s);

/* Identity and parameters of a running enclave. */
void ady_enclave_get_info(const ady_enclave *e, ady_enclave_info *out);

/* The reason the enclave gave in ady_abort(), or NULL if it has not. */
const char *ady_enclave_abort_reason(const ady_enclave *e);

const char *ady_backend_name(ady_backend b);
/* "auto", "sim", "process", "kvm" -> *out; else ADY_ERR_INVALID_ARG. */
ADY_MUST_CHECK ady_err ady_backend_parse(const char *name, ady_backend *out);

/*
 * Whether ady_enclave_open can start enclaves on backend b here (for
 * ADY_BACKEND_AUTO: on the one it would pick, ADYTON_BACKEND honoured).  When it cannot, *why (why may be
 * NULL) is a static string that says why, e.g. for kvm "this KVM cannot
 * run enclave guests: ... (emulation failure: a paravirtualized-only
 * KVM?)"; ady_enclave_open then fails with ADY_ERR_BACKEND.  kvm is
 * checked by running a small guest once per process (a few ms).
 */
bool ady_backend_available(ady_backend b, const char **why);

#ifdef __cplusplus
}
#endif
#endif
