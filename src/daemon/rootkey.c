/* The file-backed platform root key; see internal.h. */
#include <errno.h>
#include <sys/random.h>
#include <string.h>
#include <sys/stat.h>

#include "adyton/cursor.h"
#include "daemon/internal.h"

/* see internal.h */
ady_err ady_rootkey_load(const char *state_dir, uint8_t key[static 32])
{
	uint8_t buf[33];
	size_t len;
	ady_err err = ADY_ERR_IO;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return ADY_ERR_IO;
	for (int attempt = 0; attempt < 2; attempt++) {
		err = ady_state_read(state_dir, "root.key", buf, sizeof(buf), &len);
		if (err == ADY_OK) {
			if (len != 32) {
				err = ADY_ERR_MALFORMED;
				break;
			}
			memcpy(key, buf, 32);
			break;
		}
		if (err != ADY_ERR_STATE)
			break;
		/* First start: a new key; the one that wins a race is read back. */
		if (getrandom(buf, 32, 0) != 32) {
			err = ADY_ERR_IO;
			break;
		}
		err = ady_state_write(state_dir, "root.key", buf, 32, 0);
		if (err && err != ADY_ERR_STATE)
			break;
		err = ADY_ERR_IO; /* unless the next read finds it */
	}
	ady_wipe(buf, sizeof(buf));
	return err;
}
