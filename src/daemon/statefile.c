/*
 * adytond's private state files (root.key, attest.key, root.tpm, ak.crt);
 * see internal.h.  Written whole or not at all (ady_file_write_atomic:
 * first writer wins, or replace).  Read only when they are ours, regular and private: anything
 * else may have been planted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adyton/file.h"
#include "daemon/internal.h"

/* see internal.h */
ady_err ady_state_write(const char *dir, const char *name, const void *buf, size_t len, int replace)
{
	char path[PATH_MAX];
	ady_err err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	err = ady_file_write_atomic(path, buf, len, 0600, replace != 0);
	return err == ADY_ERR_IO && !replace && errno == EEXIST ? ADY_ERR_STATE : err;
}

/* see internal.h */
ady_err ady_state_read(const char *dir, const char *name, void *buf, size_t cap, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	*len = 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? ADY_ERR_STATE : errno == ELOOP ? ADY_ERR_PERMISSION : ADY_ERR_IO;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return ADY_ERR_PERMISSION;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > cap) {
		close(fd);
		return ADY_ERR_MALFORMED;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (n != st.st_size)
		return ADY_ERR_IO;
	*len = (size_t)n;
	return ADY_OK;
}
