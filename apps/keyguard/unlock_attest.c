/* Attesting the key guard enclave before unlocking it; see unlock_attest.h. */
#include "unlock_attest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "adyton/image.h"
#include "adyton/verify.h"
#include "adyton/vpolicy.h"
#include "sockio.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load_policy(const char *path, ady_vpolicy *pol)
{
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned line = 0;
	ady_err err;

	err = ady_file_read(path, 1u << 20, &text, &len);
	if (!err)
		err = ady_vpolicy_parse((const char *)text, len, pol, &line);
	free(text);
	if (err) {
		fprintf(stderr, "adyton-keyguard: policy %s%s%u: %s\n", path, line ? " line " : "", line,
			ady_strerror(err));
		return -1;
	}
	return 0;
}

/* see unlock_attest.h */
int kg_unlock_attest(int fd, const uint8_t enclave_pub[static KG_PUB_SIZE], const char *policy_path)
{
	static ady_vpolicy pol;
	static ady_verify_report rep;
	static uint8_t quote[KG_QUOTE_MAX];
	static const char label[] = KG_QUOTE_LABEL;
	uint8_t req[4 + 32], ans[8], bound[sizeof(label) - 1 + KG_PUB_SIZE], want[SHA256_DIGEST_LENGTH];
	uint32_t qerr, qlen;
	ady_err err;

	if (load_policy(policy_path, &pol))
		return 1;
	for (int i = 0; i < 4; i++)
		req[i] = (uint8_t)(KG_SOCK_QUOTE >> (8 * i));
	if (RAND_bytes(req + 4, 32) != 1) {
		fprintf(stderr, "adyton-keyguard: no randomness for the nonce\n");
		return 1;
	}
	if (kg_full_io(fd, req, sizeof(req), 1) || kg_full_io(fd, ans, sizeof(ans), 0)) {
		fprintf(stderr, "adyton-keyguard: the filter closed the connection (it may predate attestation)\n");
		return 1;
	}
	qerr = le32(ans);
	qlen = le32(ans + 4);
	if (qerr) {
		fprintf(stderr, "adyton-keyguard: the enclave could not get a quote: %s\n", ady_strerror((ady_err)qerr));
		return 1;
	}
	if (qlen == 0 || qlen > sizeof(quote) || kg_full_io(fd, quote, qlen, 0)) {
		fprintf(stderr, "adyton-keyguard: no quote from the filter\n");
		return 1;
	}
	err = ady_verify_quote(quote, qlen, &pol, req + 4, &rep);
	if (err || !rep.accepted) {
		const char *detail = "";

		for (unsigned i = 0; i < rep.nchecks; i++)
			if (rep.failed && strcmp(rep.checks[i].name, rep.failed) == 0)
				detail = rep.checks[i].detail;
		fprintf(stderr, "adyton-keyguard: the enclave is not trusted (failed check: %s%s%s)\n",
			rep.failed ? rep.failed : ady_strerror(err), detail[0] ? ": " : "", detail);
		return 1;
	}
	memcpy(bound, label, sizeof(label) - 1);
	memcpy(bound + sizeof(label) - 1, enclave_pub, KG_PUB_SIZE);
	SHA256(bound, sizeof(bound), want);
	if (memcmp(rep.quote.body.reportdata, want, 32) != 0) {
		fprintf(stderr, "adyton-keyguard: the enclave is not trusted (failed check: key_binding: "
				"the quote is not over the key the filter sent)\n");
		return 1;
	}
	return 0;
}
