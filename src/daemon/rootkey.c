/* The file-backed platform root key; see internal.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "daemon/internal.h"

static ady_err read_key(int fd, uint8_t key[static 32])
{
	struct stat st;
	ssize_t n;

	/* Ours, a regular file, private: anything else may be a planted key. */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size != 32 || st.st_uid != geteuid() ||
	    (st.st_mode & 077))
		return ADY_ERR_PERMISSION;
	n = pread(fd, key, 32, 0);
	return n == 32 ? ADY_OK : ADY_ERR_IO;
}

static ady_err create_key(const char *dir, const char *path, uint8_t key[static 32])
{
	char tmp[PATH_MAX];
	int fd, dfd;
	ady_err err = ADY_ERR_IO;

	if (getrandom(key, 32, 0) != 32)
		return ADY_ERR_IO;
	if (snprintf(tmp, sizeof(tmp), "%s/.root.key.%d", dir, (int)getpid()) >= (int)sizeof(tmp))
		return ADY_ERR_RANGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ADY_ERR_IO;
	if (write(fd, key, 32) == 32 && fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		/* link() fails if another daemon won the race: then use its key. */
		if (link(tmp, path) == 0) {
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
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	if (err)
		ady_wipe(key, 32);
	return err;
}

/* see internal.h */
ady_err ady_rootkey_load(const char *state_dir, uint8_t key[static 32])
{
	char path[PATH_MAX];
	ady_err err;
	int fd;

	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return ADY_ERR_IO;
	if (snprintf(path, sizeof(path), "%s/root.key", state_dir) >= (int)sizeof(path))
		return ADY_ERR_RANGE;
	for (int attempt = 0; attempt < 2; attempt++) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			err = read_key(fd, key);
			close(fd);
			return err;
		}
		if (errno != ENOENT)
			return ADY_ERR_IO;
		err = create_key(state_dir, path, key);
		if (err != ADY_ERR_STATE)
			return err;
	}
	return ADY_ERR_IO;
}
