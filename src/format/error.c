/*
 * error.c - names of the ady_err codes (adyton/error.h).
 */
#include "adyton/error.h"

/* see adyton/error.h */
const char *ady_strerror(ady_err err)
{
	/* A switch, not an array indexed by code: the codes have gaps and a
	 * value from across the enclave boundary may be anything. */
	switch (err) {
	case ADY_OK: return "success";
	case ADY_ERR_INVALID_ARG: return "invalid argument";
	case ADY_ERR_NOMEM: return "out of memory";
	case ADY_ERR_TRUNCATED: return "input truncated";
	case ADY_ERR_RANGE: return "offset or length out of range";
	case ADY_ERR_OVERFLOW: return "arithmetic overflow in a size";
	case ADY_ERR_SHORT_BUFFER: return "output buffer too small";
	case ADY_ERR_IO: return "I/O error";
	case ADY_ERR_UNSUPPORTED: return "not supported";
	case ADY_ERR_MALFORMED: return "malformed input";
	case ADY_ERR_CRYPTO: return "cryptographic operation failed";
	case ADY_ERR_ELF_MAGIC: return "not an ELF file";
	case ADY_ERR_ELF_CLASS: return "ELF file not 64-bit little-endian version 1";
	case ADY_ERR_ELF_MACHINE: return "ELF file not for x86-64";
	case ADY_ERR_ELF_TYPE: return "ELF file not a static PIE";
	case ADY_ERR_ELF_PHDR: return "ELF program headers malformed";
	case ADY_ERR_ELF_ALIGN: return "ELF segment not page-congruent";
	case ADY_ERR_ELF_OVERLAP: return "ELF segments overlap";
	case ADY_ERR_ELF_SEGMENT_RANGE: return "ELF segment outside the file or the enclave range";
	case ADY_ERR_ELF_WX: return "ELF segment both writable and executable";
	case ADY_ERR_ELF_DYNAMIC: return "ELF dynamic section unsupported";
	case ADY_ERR_ELF_RELOC: return "ELF relocation unsupported";
	case ADY_ERR_ELF_NO_META: return "ELF image has no valid .note.adyton";
	case ADY_ERR_ELF_ENTRY: return "ELF entry point not in an executable segment";
	case ADY_ERR_CONFIG: return "invalid enclave config";
	case ADY_ERR_LAYOUT: return "enclave config does not fit a layout";
	case ADY_ERR_UNSIGNED: return "enclave image not signed";
	case ADY_ERR_SIGSTRUCT: return "SIGSTRUCT malformed";
	case ADY_ERR_SIGNATURE: return "SIGSTRUCT signature invalid";
	case ADY_ERR_MEASUREMENT: return "MRENCLAVE differs from the signed hash";
	case ADY_ERR_META: return "enclave config disagrees with its SIGSTRUCT";
	case ADY_ERR_KEY: return "signing key not RSA-3072 with exponent 3";
	case ADY_ERR_ECALL_INDEX: return "no ECALL with that index";
	case ADY_ERR_OCALL_INDEX: return "no OCALL with that index";
	case ADY_ERR_TOO_LARGE: return "data too large for the marshalling buffer";
	case ADY_ERR_BUSY: return "enclave thread busy";
	case ADY_ERR_NESTED: return "nested ECALL not supported";
	case ADY_ERR_ABORTED: return "enclave aborted";
	case ADY_ERR_NOT_IN_ECALL: return "OCALL outside an ECALL";
	case ADY_ERR_BACKEND: return "backend not available";
	case ADY_ERR_PROTOCOL: return "call protocol violated";
	case ADY_ERR_PERMISSION: return "permission denied by policy";
	case ADY_ERR_STATE: return "operation not allowed in this state";
	case ADY_ERR_ENCLAVE_LOST: return "enclave host process died";
	case ADY_ERR_DAEMON: return "adytond cannot be reached or started";
	case ADY_ERR_QUOTA: return "enclave memory or enclave count limit reached";
	default: return "unknown error";
	}
}
