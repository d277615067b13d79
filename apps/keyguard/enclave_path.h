/* apps/keyguard/enclave_path.h - where adyton-keyguard and the nbdkit
 * filter find the signed keyguard enclave when none is named. */
#ifndef KG_ENCLAVE_PATH_H
#define KG_ENCLAVE_PATH_H

#include <stddef.h>

#define KG_ENCLAVE_FILE "keyguard-enclave.signed"

/*
 * Writes to out (cap bytes) the default enclave for the program or module
 * at self (an absolute path): $ADYTON_KEYGUARD_ENCLAVE if set, else
 * DIR/keyguard-enclave.signed (the build tree, where the tool, the filter
 * and the enclave share a directory), else DIR/rel/keyguard-enclave.signed
 * (the installed layout; rel is relative to DIR) -- the first that exists,
 * or that last one when none does, so an error names where it was
 * expected.  DIR is self's directory.  0, or -1 when out is too small.
 */
int kg_enclave_path(const char *self, const char *rel, char *out, size_t cap);

#endif
