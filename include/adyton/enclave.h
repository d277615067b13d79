/*
 * adyton/enclave.h - the API of the trusted runtime, for code that runs
 * inside an enclave (linked with libadyton-trts.a by adyton_add_enclave()).
 *
 * An enclave is freestanding: no system calls, no glibc.  The runtime
 * provides memcpy/memmove/memset/memcmp, strlen/strnlen/strcmp/strncmp/
 * strchr, malloc/calloc/realloc/free over the measured heap, and the
 * symbols Debian's libbearssl.a needs, so <string.h>, <stdlib.h> (for
 * those declarations only) and <bearssl.h> can be used as usual.
 *
 * Calls: the application calls ECALL i with an input byte string and an
 * output capacity; the runtime copies the input from the marshalling buffer
 * into enclave memory, calls ecalls[i] with enclave-private in/out buffers,
 * and copies out_len bytes of output back only if the ECALL returned
 * ADY_OK.  Handlers never see application memory.
 */
#ifndef ADYTON_ENCLAVE_H
#define ADYTON_ENCLAVE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An ECALL handler.  in: in_len bytes (enclave copy; NULL when in_len is 0).
 * out: out_cap bytes of enclave memory, zero-filled.  Set *out_len (<=
 * out_cap; else the call fails with ADY_ERR_SHORT_BUFFER) and return
 * ADY_OK, or return an error: then no output is copied back.
 */
typedef ady_err (*ady_ecall_fn)(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap,
				size_t *out_len);

typedef struct ady_ecall_table {
	uint32_t count;
	const ady_ecall_fn *fns;
} ady_ecall_table;

/* Every enclave defines its ECALL table once, in index order:
 *     ADY_ECALLS(greet, add);
 * The runtime refuses indices >= count (ADY_ERR_ECALL_INDEX). */
#define ADY_ECALLS(...)                                                                        \
	static const ady_ecall_fn ady_ecall_fns_[] = {__VA_ARGS__};                            \
	const ady_ecall_table ady_ecall_table_ = {                                             \
		(uint32_t)(sizeof(ady_ecall_fns_) / sizeof(ady_ecall_fns_[0])), ady_ecall_fns_}

/*
 * Calls OCALL index in the application with in_len bytes of input and up
 * to out_cap bytes of output; *out_len gets the output length (may be
 * NULL if out_cap is 0).  Valid only while an ECALL runs on this thread
 * (ADY_ERR_NOT_IN_ECALL).  The application's answer is validated: an
 * out_len above out_cap is refused (ADY_ERR_PROTOCOL) and nothing is
 * copied.  Data above the marshalling slot: ADY_ERR_TOO_LARGE.
 */
ADY_MUST_CHECK ady_err ady_ocall(uint32_t index, const void *in, size_t in_len, void *out,
				 size_t out_cap, size_t *out_len);

/* Bounded formatter: %d %i %u %x %X %p %s %c %% with l/ll/z modifiers,
 * field width and '0' flag.  Always NUL-terminates when cap > 0; returns
 * the length the full output would have had. */
int ady_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);
int ady_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sends one formatted line (at most 1 KiB) to the application's log
 * (stderr by default).  For debugging: whatever is logged leaves the
 * enclave in the clear. */
void ady_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Stops the enclave for good: the reason reaches the application
 * (ady_enclave_abort_reason) and every later ECALL fails with
 * ADY_ERR_ABORTED.  Never returns. */
_Noreturn void ady_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether [p, p+n) lies entirely inside / outside this enclave. */
int ady_is_within_enclave(const void *p, size_t n);
int ady_is_outside_enclave(const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
