/*
 * adytond's keys at start: the platform root key (a file, or sealed to a
 * TPM), the attestation key and its TPM certification, from the state
 * directory, with errors an operator can act on (see internal.h).
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/internal.h"
#ifdef ADY_HAVE_TPM
#include "daemon/tpm.h"
#endif

/* see internal.h */
int ady_daemon_state_has(const char *state, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", state, name) >= (int)sizeof(path))
		return 0; /* then the state directory itself is unusable */
	return lstat(path, &st) == 0;
}

/* Why a state file (root.key, attest.key, root.tpm, ak.crt) was refused,
 * in words an operator can act on. */
static void state_file_err(const char *state, const char *name, const char *what, ady_err err)
{
	switch (err) {
	case ADY_ERR_PERMISSION:
		ady_log_err("%s/%s (%s) is not a private regular file of this user (a symlink, another owner, or "
			    "readable by others): refused, it may have been planted",
			    state, name, what);
		break;
	case ADY_ERR_MALFORMED:
		ady_log_err("%s/%s (%s) is damaged: wrong size or format", state, name, what);
		break;
	case ADY_ERR_CRYPTO:
		ady_log_err("%s/%s (%s) does not decrypt under this platform's root key (from another state "
			    "directory, or altered)",
			    state, name, what);
		break;
	default:
		ady_log_err("%s/%s (%s): %s", state, name, what, ady_strerror(err));
		break;
	}
}

/* see internal.h */
int ady_daemon_parse_pcrs(const char *s, uint32_t *mask)
{
	*mask = 0;
	if (strcmp(s, "none") == 0)
		return 0;
	for (;;) {
		char *end;
		unsigned long i;

		if (*s < '0' || *s > '9')
			return -1;
		i = strtoul(s, &end, 10);
		if (i > 23 || (*mask >> i & 1))
			return -1;
		*mask |= 1u << i;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

/* see internal.h */
int ady_daemon_load_keys(ady_daemon *d, const char *state, const char *tcti, uint32_t pcrs, const char *enroll,
			 int *done)
{
	ady_err err;

	*done = 0;
	/* A state directory is bound to one root: switching silently would
	 * make a new root and orphan the sealed attestation key. */
	if (!tcti && ady_daemon_state_has(state, "root.tpm")) {
		ady_log_err("%s holds a TPM-sealed root key (root.tpm): start with --tpm", state);
		return 1;
	}
	if (tcti && ady_daemon_state_has(state, "root.key")) {
		ady_log_err("%s holds a file root key (root.key): --tpm needs a fresh state directory", state);
		return 1;
	}
	if (!tcti) {
		err = ady_rootkey_load(state, d->platform.root);
		if (err) {
			state_file_err(state, "root.key", "the platform root key", err);
			return 1;
		}
		err = ady_attest_load(state, d->platform.root, &d->attest);
		if (err) {
			state_file_err(state, "attest.key", "the attestation key", err);
			return 1;
		}
		return 0;
	}
#ifdef ADY_HAVE_TPM
	{
		ady_tpm *t;
		char key[PATH_MAX];
		const char *comma = enroll ? strchr(enroll, ',') : NULL;

		if (enroll && (!comma || (size_t)(comma - enroll) >= sizeof(key))) {
			ady_log_err("--enroll-ca wants KEY,CERT");
			return 1;
		}
		if (ady_tpm_open(tcti, &t))
			return 1;
		if (enroll) {
			memcpy(key, enroll, (size_t)(comma - enroll));
			key[comma - enroll] = '\0';
			err = ady_tpm_enroll(t, state, key, comma + 1);
			ady_tpm_close(t);
			if (err) {
				ady_log_err("enrolling the TPM attestation key: %s", ady_strerror(err));
				return 1;
			}
			*done = 1;
			return 0;
		}
		_Static_assert(ADY_DAEMON_PCRS_ANY == ADY_TPM_PCRS_ANY, "one 'any'");
		err = ady_tpm_rootkey_load(t, state, pcrs, d->platform.root);
		if (err) {
			ady_tpm_close(t);
			if (err == ADY_ERR_PERMISSION || err == ADY_ERR_MALFORMED)
				state_file_err(state, "root.tpm", "the TPM-sealed root key", err);
			else
				ady_log_err("TPM-sealed root key in %s: %s", state, ady_strerror(err));
			return 1;
		}
		err = ady_attest_load(state, d->platform.root, &d->attest);
		if (err) {
			ady_tpm_close(t);
			state_file_err(state, "attest.key", "the attestation key", err);
			return 1;
		}
		err = ady_tpm_certify(t, state, &d->attest);
		ady_tpm_close(t);
		if (err == ADY_ERR_STATE) {
			/* Not enrolled: the key is still sealed under the TPM
			 * root, but quotes can only be ENROLLED-type. */
			ady_log_err("TPM attestation key not enrolled (no valid %s/ak.crt): quotes carry ENROLLED "
				    "certification",
				    state);
			return 0;
		}
		if (err) {
			ady_log_err("TPM certification of the attestation key: %s", ady_strerror(err));
			return 1;
		}
		return 0;
	}
#else
	(void)enroll, (void)pcrs;
	ady_log_err("--tpm: this adytond was built without tpm2-tss");
	return 1;
#endif
}
