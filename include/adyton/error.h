/*
 * adyton/error.h - the one result type of adyton.
 *
 * Every fallible function returns ady_err: ADY_OK (0) on success, one of the
 * positive codes below on failure.  ady_strerror() names every code.  This
 * header is freestanding-safe: it is used by the enclave runtime, the
 * formats, the host library and the tools alike, and the numeric values
 * cross the enclave boundary, so codes are never renumbered, only appended.
 */
#ifndef ADYTON_ERROR_H
#define ADYTON_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef int ady_err;

#define ADY_MUST_CHECK __attribute__((warn_unused_result))

enum {
	ADY_OK = 0,

	/* generic */
	ADY_ERR_INVALID_ARG = 1,   /* a NULL or out-of-contract argument */
	ADY_ERR_NOMEM = 2,         /* allocation failed */
	ADY_ERR_TRUNCATED = 3,     /* input ended before a field did */
	ADY_ERR_RANGE = 4,         /* an offset/length points outside its container */
	ADY_ERR_OVERFLOW = 5,      /* an arithmetic overflow in a size computation */
	ADY_ERR_SHORT_BUFFER = 6,  /* output capacity too small; needed length reported */
	ADY_ERR_IO = 7,            /* a file or socket operation failed (see errno) */
	ADY_ERR_UNSUPPORTED = 8,   /* known but not supported here */
	ADY_ERR_MALFORMED = 9,     /* a field holds a value the format forbids */
	ADY_ERR_CRYPTO = 10,       /* a cryptographic library call failed */

	/* enclave images */
	ADY_ERR_ELF_MAGIC = 20,        /* not an ELF file */
	ADY_ERR_ELF_CLASS = 21,        /* not ELF64 little-endian, version 1 */
	ADY_ERR_ELF_MACHINE = 22,      /* not x86-64 */
	ADY_ERR_ELF_TYPE = 23,         /* not a static-PIE (ET_DYN without PT_INTERP) */
	ADY_ERR_ELF_PHDR = 24,         /* program headers malformed or not loaded */
	ADY_ERR_ELF_ALIGN = 25,        /* segment not page-congruent */
	ADY_ERR_ELF_OVERLAP = 26,      /* two loadable segments share a page */
	ADY_ERR_ELF_SEGMENT_RANGE = 27,/* segment outside the file or past 2^36 */
	ADY_ERR_ELF_WX = 28,           /* a segment both writable and executable */
	ADY_ERR_ELF_DYNAMIC = 29,      /* dynamic section asks for what adyton cannot do */
	ADY_ERR_ELF_RELOC = 30,        /* a relocation adyton cannot apply */
	ADY_ERR_ELF_NO_META = 31,      /* no .note.adyton section to hold the signature */
	ADY_ERR_ELF_ENTRY = 32,        /* entry point not in an executable segment */
	ADY_ERR_CONFIG = 33,           /* enclave config invalid */
	ADY_ERR_LAYOUT = 34,           /* the config does not fit an enclave layout */
	ADY_ERR_UNSIGNED = 35,         /* the image carries no signature */
	ADY_ERR_SIGSTRUCT = 36,        /* SIGSTRUCT malformed (header, exponent, reserved) */
	ADY_ERR_SIGNATURE = 37,        /* SIGSTRUCT signature or q1/q2 do not verify */
	ADY_ERR_MEASUREMENT = 38,      /* MRENCLAVE differs from SIGSTRUCT.ENCLAVEHASH */
	ADY_ERR_META = 39,             /* embedded config disagrees with the SIGSTRUCT */
	ADY_ERR_KEY = 40,              /* signing key unusable (not RSA-3072, e != 3) */

	/* calls and enclaves */
	ADY_ERR_ECALL_INDEX = 60,      /* no ECALL with that index */
	ADY_ERR_OCALL_INDEX = 61,      /* no OCALL with that index */
	ADY_ERR_TOO_LARGE = 62,        /* data does not fit the marshalling buffer */
	ADY_ERR_BUSY = 63,             /* the thread slot is already in a call */
	ADY_ERR_NESTED = 64,           /* ECALL from inside an OCALL handler (not supported) */
	ADY_ERR_ABORTED = 65,          /* the enclave aborted; it accepts no more calls */
	ADY_ERR_NOT_IN_ECALL = 66,     /* an OCALL outside an ECALL */
	ADY_ERR_BACKEND = 67,          /* the requested backend is not available */
	ADY_ERR_PROTOCOL = 68,         /* the other side broke the call protocol */
	ADY_ERR_PERMISSION = 69,       /* policy refuses this */
	ADY_ERR_STATE = 70,            /* called in a state where it is not allowed */
	ADY_ERR_ENCLAVE_LOST = 71,     /* the enclave's host process is gone (crash, kill, seccomp) */
	ADY_ERR_DAEMON = 72,           /* adytond cannot be reached or started */

	/* operations */
	ADY_ERR_QUOTA = 73,            /* the enclave memory pool or a tenant's limit has no room for it */

	ADY_ERR_MAX_
};

/* Returns a static, human-readable name for err; never NULL. */
const char *ady_strerror(ady_err err);

#ifdef __cplusplus
}
#endif
#endif
