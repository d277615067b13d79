/*
 * Whole-file reads and atomic writes on the host side (adyton/file.h).
 */
#define _GNU_SOURCE
#include "adyton/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* see adyton/file.h */
ady_err ady_fd_read(int fd, size_t max, uint8_t **out, size_t *out_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0, cap;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (fd < 0 || !out || !out_len)
		return ADY_ERR_INVALID_ARG;
	if (fstat(fd, &st) != 0)
		return ADY_ERR_IO;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return ADY_ERR_IO;
	}
	if ((uint64_t)st.st_size > max)
		return ADY_ERR_RANGE;
	/* One byte beyond st_size lets the loop notice a file that grew. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf)
		return ADY_ERR_NOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t ncap;
			uint8_t *nbuf;

			if (cap > max)
				goto too_large;
			ncap = cap > max / 2 ? max + 1 : cap * 2;
			nbuf = realloc(buf, ncap);
			if (!nbuf) {
				free(buf);
				return ADY_ERR_NOMEM;
			}
			buf = nbuf;
			cap = ncap;
		}
		/* pread: the descriptor may be shared (passed between
		 * processes), so its offset is neither used nor moved. */
		n = pread(fd, buf + len, cap - len, (off_t)len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return ADY_ERR_IO;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		goto too_large;
	*out_len = len;
	*out = buf;
	return ADY_OK;
too_large:
	free(buf);
	return ADY_ERR_RANGE;
}

/* see adyton/file.h */
ady_err ady_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len)
{
	ady_err err;
	int fd, saved;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!path || !out || !out_len)
		return ADY_ERR_INVALID_ARG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ADY_ERR_IO;
	err = ady_fd_read(fd, max, out, out_len);
	saved = errno;
	close(fd);
	errno = saved;
	return err;
}

/* see adyton/file.h */
ady_err ady_fd_write_all(int fd, const void *data, size_t len, off_t off)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ADY_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return ADY_OK;
}

static ady_err fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd;
	ady_err err = ADY_OK;

	if (!copy)
		return ADY_ERR_NOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return ADY_ERR_IO;
	if (fsync(fd) != 0 && errno != EINVAL)
		err = ADY_ERR_IO;
	close(fd);
	return err;
}

/* see adyton/file.h */
ady_err ady_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, bool replace)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t plen;
	ady_err err;
	char *tmp;
	int fd, e;

	if (!path || (!data && len))
		return ADY_ERR_INVALID_ARG;
	plen = strlen(path);
	tmp = malloc(plen + sizeof(suffix));
	if (!tmp)
		return ADY_ERR_NOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, suffix, sizeof(suffix));
	/* mkostemp creates the file 0600: key material is never readable by
	 * others, not even briefly. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = ADY_ERR_IO;
		goto free_tmp;
	}
	err = ady_fd_write_all(fd, data, len, -1);
	if (err)
		goto unlink_tmp;
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
		err = ADY_ERR_IO;
		goto unlink_tmp;
	}
	if (close(fd) != 0) {
		fd = -1;
		err = ADY_ERR_IO;
		goto unlink_tmp;
	}
	fd = -1;
	if (replace) {
		if (rename(tmp, path) != 0) {
			err = ADY_ERR_IO;
			goto unlink_tmp;
		}
	} else {
		if (link(tmp, path) != 0) {
			err = ADY_ERR_IO;
			goto unlink_tmp;
		}
		unlink(tmp);
	}
	free(tmp);
	return fsync_dir_of(path);

unlink_tmp:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = e;
free_tmp:
	free(tmp);
	return err;
}
