/*
 * adytond's private state files (root.key, attest.key, root.tpm, ak.crt);
 * see internal.h.  Written whole or not at all: a temp file, fsync, then
 * link() (first writer wins) or rename() (replace), then an fsync of the
 * directory.  Read only when they are ours, regular and private: anything
 * else may have been planted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/internal.h"

/* see internal.h */
ady_err ady_state_write(const char *dir, const char *name, const void *buf, size_t len, int replace)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	ady_err err = ADY_ERR_IO;
	int fd, dfd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, name, (int)getpid()) >= (int)sizeof(tmp) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ADY_ERR_IO;
	ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (ok) {
		if (replace ? rename(tmp, path) == 0 : link(tmp, path) == 0) {
			dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				(void)fsync(dfd);
				close(dfd);
			}
			err = ADY_OK;
		} else if (errno == EEXIST) {
			err = ADY_ERR_STATE;
		}
	}
	unlink(tmp);
	return err;
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
