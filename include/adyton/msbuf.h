/*
 * adyton/msbuf.h - the marshalling buffer: the only memory an enclave and
 * its application share (HyperEnclave's marshalling buffer).
 *
 * Each enclave thread slot i owns one fixed-size slot of msbuf_size bytes
 * (from the measured config).  A slot is a 64-byte header followed by the
 * data area.  Both sides copy the header out exactly once per step and
 * validate the copy (ady_msbuf_decode); the data area is copied, never used in
 * place by the enclave.  Freestanding-safe.
 *
 * Header (little-endian):
 *   0  op       u32   ADY_MSBUF_*
 *   4  index    u32   ECALL/OCALL index
 *   8  in_len   u64   bytes of input in the data area
 *   16 out_cap  u64   capacity the caller offers for output
 *   24 out_len  u64   bytes of output in the data area (answers only)
 *   32 status   u32   ady_err of the call (answers only)
 *   36 reserved, zero (28 bytes)
 */
#ifndef ADYTON_MSBUF_H
#define ADYTON_MSBUF_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_MSBUF_HEADER 64u

enum {
	ADY_MSBUF_ECALL = 1, /* application -> enclave: call index with input */
	ADY_MSBUF_OCALL = 2, /* enclave -> application: call index with input */
	ADY_MSBUF_LOG = 3,   /* enclave -> application: in_len bytes of log text */
	ADY_MSBUF_ABORT = 4, /* enclave -> application: in_len bytes of reason */
	ADY_MSBUF_REPLY = 5, /* an answer to ECALL/OCALL: status, out_len */
};

/* Entry operations (second argument of the enclave entry). */
#define ADY_ENTER_ECALL 1u

/*
 * Platform exits: the enclave asks its platform (EGETKEY, EREPORT and
 * seed material) with exit_fn(op, arg), arg the address of the io struct
 * below in ENCLAVE memory.  These never touch the marshalling slot, which
 * the application can read: keys travel only between the enclave and its
 * enclave host (sim: the host library).  The platform fills the outputs
 * and status; the enclave copies them out and checks status.
 */
#define ADY_EXIT_GETKEY 16u
#define ADY_EXIT_REPORT 17u
#define ADY_EXIT_SEED 18u
#define ADY_EXIT_QUOTE 19u

typedef struct ady_exit_getkey {
	uint8_t keyrequest[512];   /* in: ady_sgx_keyrequest bytes */
	uint8_t key[16];           /* out */
	uint32_t status;           /* out: ady_err */
} ady_exit_getkey;

typedef struct ady_exit_report {
	uint8_t targetinfo[512];   /* in: ady_sgx_targetinfo bytes */
	uint8_t reportdata[64];    /* in */
	uint8_t report[432];       /* out: ady_sgx_report bytes */
	uint32_t status;           /* out */
} ady_exit_report;

typedef struct ady_exit_seed {
	uint8_t seed[32];          /* out: fresh platform randomness */
	uint32_t status;           /* out */
} ady_exit_seed;

/* A quote (adyton/quote.h) of this enclave, made by the platform from the
 * identity it recorded at launch.  8 KiB: callers keep it off small stacks
 * only if they must; the runtime's own use is on a 64 KiB+ stack. */
#define ADY_EXIT_QUOTE_MAX 8192u /* = ADY_QUOTE_MAX */
typedef struct ady_exit_quote {
	uint8_t reportdata[64];    /* in */
	uint8_t nonce[32];         /* in: the verifier's freshness nonce */
	uint8_t quote[ADY_EXIT_QUOTE_MAX]; /* out */
	uint32_t quote_len;        /* out: bytes of quote, <= ADY_EXIT_QUOTE_MAX */
	uint32_t status;           /* out */
} ady_exit_quote;

typedef struct ady_msbuf_hdr {
	uint32_t op;
	uint32_t index;
	uint64_t in_len;
	uint64_t out_cap;
	uint64_t out_len;
	uint32_t status;
} ady_msbuf_hdr;

/*
 * Copies the header of a slot of slot_size bytes out once and validates it:
 * known op, in_len, out_cap and out_len each <= the data area
 * (slot_size - ADY_MSBUF_HEADER), reserved bytes zero.  Returns
 * ADY_ERR_PROTOCOL for anything else and ADY_ERR_RANGE if slot_size is
 * below ADY_MSBUF_HEADER.  *out is valid only on ADY_OK.
 */
ADY_MUST_CHECK ady_err ady_msbuf_decode(const volatile uint8_t *slot, uint64_t slot_size, ady_msbuf_hdr *out);

/* Writes the header into the slot (reserved bytes zero). */
void ady_msbuf_encode(volatile uint8_t *slot, const ady_msbuf_hdr *h);

#ifdef __cplusplus
}
#endif
#endif
