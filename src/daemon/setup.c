/*
 * adytond's start before the poll loop: the policy file, where the enclave
 * host programs are, the listening socket (one daemon per socket), and
 * detaching (see internal.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "adyton/file.h"
#include "daemon/internal.h"

#ifndef ADY_LIBEXECDIR
#define ADY_LIBEXECDIR "/usr/local/libexec"
#endif

/* see internal.h */
int ady_daemon_load_policy(ady_daemon *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned line = 0;
	ady_policy p;
	ady_err err;

	if (!d->policy_path) {
		ady_policy_embedded(&d->policy);
		ady_pool_configure(d);
		return 0;
	}
	err = ady_file_read(d->policy_path, 1 << 20, &text, &len);
	if (!err)
		err = ady_policy_parse((const char *)text, len, &p, &line);
	free(text);
	if (err) {
		ady_log_err("policy %s%s%u: %s", d->policy_path, line ? " line " : "", line, ady_strerror(err));
		return -1;
	}
	d->policy = p;
	ady_pool_configure(d);
	return 0;
}

/* see internal.h */
const char *ady_daemon_find_host(const char *opt, const char *envname, const char *name)
{
	static char paths[2][PATH_MAX];
	char *path = paths[strcmp(name, "adyton-kvm-host") == 0];
	char self[PATH_MAX];
	const char *env = getenv(envname);
	ssize_t n;

	if (opt)
		return opt;
	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			static const char *const rel[] = {"/", "/../libexec/adyton/"};
			for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
				if (strlen(self) + strlen(rel[i]) + strlen(name) >= PATH_MAX)
					continue;
				strcpy(path, self);
				strcat(path, rel[i]);
				strcat(path, name);
				if (access(path, X_OK) == 0)
					return path;
			}
		}
	}
	snprintf(path, PATH_MAX, "%s/adyton/%s", ADY_LIBEXECDIR, name);
	return path;
}

/* see internal.h */
int ady_daemon_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, mode) && errno != EEXIST ? -1 : 0;
}

/* see internal.h */
int ady_daemon_listen(const char *path, int mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[PATH_MAX], lock[PATH_MAX + 8];
	int fd, lfd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		ady_log_err("socket path too long: %s", path);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (ady_daemon_mkdirs(dir, 0700)) {
			ady_log_err("%s: %s", dir, strerror(errno));
			return -1;
		}
	}
	/* One daemon per socket: the lock is held for our whole life. */
	snprintf(lock, sizeof(lock), "%s.lock", path);
	lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB)) {
		if (lfd >= 0 && errno == EWOULDBLOCK)
			exit(0);
		ady_log_err("%s: %s", lock, strerror(errno));
		return -1;
	}
	/* The lock file names the daemon that holds it (for operators and tests). */
	char pid[24];
	int plen = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(lfd, 0) || pwrite(lfd, pid, (size_t)plen, 0) != plen)
		ady_log_err("%s: cannot record pid", lock);
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, (mode_t)mode) || listen(fd, 64)) {
		ady_log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* see internal.h */
void ady_daemon_detach(void)
{
	pid_t pid = fork();

	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	setsid();
	pid = fork();
	if (pid < 0)
		exit(1);
	if (pid > 0)
		_exit(0);
	/* Started on demand, we must not hold the starter's stdout/stderr open
	 * (a test runner would wait for us): logs go to $ADYTON_DAEMON_LOG. */
	const char *log = getenv("ADYTON_DAEMON_LOG");
	int null = open("/dev/null", O_RDWR);
	int lfd = log && *log ? open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(lfd >= 0 ? lfd : null, 2);
		if (null > 2)
			close(null);
	}
	if (lfd > 2)
		close(lfd);
}

/* see internal.h */
int ady_daemon_tables(ady_daemon *d, uint32_t enclaves)
{
	struct rlimit rl;
	uint64_t need;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		rl.rlim_cur = rl.rlim_max = 1024;
	need = 2ull * enclaves + ADY_MIN_CLIENTS + ADY_FD_SLACK;
	/* a descriptor per client and one per enclave host: the soft limit
	 * (1024 by default) is raised to what the tables need, as far as the
	 * hard limit allows; below that the tables shrink to fit */
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		uint32_t fit = rl.rlim_max > ADY_MIN_CLIENTS + ADY_FD_SLACK + 32
				       ? (uint32_t)((rl.rlim_max - ADY_MIN_CLIENTS - ADY_FD_SLACK) / 2)
				       : 16;
		ady_log_err("RLIMIT_NOFILE's hard limit %llu is below the %llu descriptors %u enclaves need: "
			    "holding at most %u enclaves",
			    (unsigned long long)rl.rlim_max, (unsigned long long)need, enclaves, fit);
		enclaves = fit;
		need = rl.rlim_max;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl)) {
			ady_log_err("setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)need, strerror(errno));
			return -1;
		}
	}
	d->max_enclaves = enclaves;
	d->max_clients = enclaves + ADY_MIN_CLIENTS;
	d->enclaves = calloc(d->max_enclaves, sizeof(*d->enclaves));
	d->clients = calloc(d->max_clients, sizeof(*d->clients));
	if (!d->enclaves || !d->clients) {
		ady_log_err("out of memory for %u enclaves", enclaves);
		return -1;
	}
	for (uint32_t i = 0; i < d->max_clients; i++)
		d->clients[i].fd = -1;
	return 0;
}
