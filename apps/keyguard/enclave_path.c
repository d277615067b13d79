/* apps/keyguard/enclave_path.c - see enclave_path.h */
#include "enclave_path.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fits(int n, size_t cap) { return n >= 0 && (size_t)n < cap; }

int kg_enclave_path(const char *self, const char *rel, char *out, size_t cap)
{
	const char *env = getenv("ADYTON_KEYGUARD_ENCLAVE");
	const char *slash = strrchr(self, '/');
	int dir_len = slash ? (int)(slash - self) : 1;
	const char *dir = slash ? self : ".";

	if (env && *env)
		return fits(snprintf(out, cap, "%s", env), cap) ? 0 : -1;
	if (!fits(snprintf(out, cap, "%.*s/%s", dir_len, dir, KG_ENCLAVE_FILE), cap))
		return -1;
	if (access(out, R_OK) == 0)
		return 0;
	return fits(snprintf(out, cap, "%.*s/%s/%s", dir_len, dir, rel, KG_ENCLAVE_FILE), cap) ? 0 : -1;
}
