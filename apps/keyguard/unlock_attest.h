/*
 * apps/keyguard/unlock_attest.h - `adyton-keyguard unlock --policy`: before
 * the password leaves the tool, the enclave behind the unlock socket proves
 * what it is (keyguard.h, "unlock socket").
 */
#ifndef KG_UNLOCK_ATTEST_H
#define KG_UNLOCK_ATTEST_H

#include <stdint.h>

#include "keyguard.h"

/*
 * Sends a fresh random nonce on the unlock connection fd, receives the
 * enclave's quote, and verifies it with libadyton-verify under the
 * verifier policy in policy_path (adyton/vpolicy.h), with that nonce; then
 * checks that the quote's report_data binds enclave_pub, the key the
 * password will be encrypted to.  0 when all holds; otherwise 1, with the
 * reason (the failed check, by name) on stderr.
 */
int kg_unlock_attest(int fd, const uint8_t enclave_pub[static KG_PUB_SIZE], const char *policy_path);

#endif
