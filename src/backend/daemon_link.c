/*
 * The application's link to adytond: where its socket is, connecting, and
 * starting a per-user daemon when none answers (see daemon_link.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backend/daemon_link.h"

#ifndef ADY_DAEMON_INSTALLED
#define ADY_DAEMON_INSTALLED "/usr/local/bin/adytond"
#endif

/* see daemon_link.h */
ady_err ady_daemon_socket_path(char *buf, size_t cap)
{
	const char *env = getenv("ADYTON_SOCKET"), *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env && *env)
		n = snprintf(buf, cap, "%s", env);
	else if (rt && *rt)
		n = snprintf(buf, cap, "%s/adyton/adytond.sock", rt);
	else
		n = snprintf(buf, cap, "/tmp/adyton-%u/adytond.sock", (unsigned)getuid());
	return n > 0 && (size_t)n < cap ? ADY_OK : ADY_ERR_RANGE;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static const char *daemon_program(void)
{
	const char *env = getenv("ADYTON_DAEMON");

	if (env && *env)
		return env;
#ifdef ADY_DAEMON_BUILD
	if (access(ADY_DAEMON_BUILD, X_OK) == 0)
		return ADY_DAEMON_BUILD;
#endif
	return ADY_DAEMON_INSTALLED;
}

/* Starts a per-user adytond on sock and waits until it answers. */
static int start_daemon(const char *sock)
{
	const char *prog = daemon_program(), *state = getenv("ADYTON_STATE_DIR");
	const char *idle = getenv("ADYTON_DAEMON_IDLE_EXIT");
	int status, fd;
	pid_t pid;

	if (access(prog, X_OK))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[12];
		int a = 0;
		argv[a++] = (char *)"adytond";
		argv[a++] = (char *)"--embedded";
		argv[a++] = (char *)"--daemonize";
		argv[a++] = (char *)"--idle-exit";
		argv[a++] = (char *)(idle && *idle ? idle : "30");
		argv[a++] = (char *)"--socket";
		argv[a++] = (char *)sock;
		if (state && *state) {
			argv[a++] = (char *)"--state-dir";
			argv[a++] = (char *)state;
		}
		argv[a] = NULL;
		/* none of the application's descriptors go with it */
		close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
		execv(prog, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (int i = 0; i < 500; i++) {
		fd = try_connect(sock);
		if (fd >= 0)
			return fd;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* see daemon_link.h */
int ady_daemon_connect(bool start)
{
	char path[PATH_MAX];
	int fd;

	/* a system daemon, when there is one, first */
	const char *env = getenv("ADYTON_SOCKET");
	if (!env || !*env) {
		fd = try_connect("/run/adyton/adytond.sock");
		if (fd >= 0)
			return fd;
	}
	if (ady_daemon_socket_path(path, sizeof(path)))
		return -1;
	fd = try_connect(path);
	if (fd >= 0 || !start)
		return fd;
	return start_daemon(path);
}

/* see daemon_link.h */
bool ady_daemon_reachable(const char **why)
{
	char path[PATH_MAX];

	if (access(daemon_program(), X_OK) == 0 || access("/run/adyton/adytond.sock", F_OK) == 0)
		return true;
	if (ady_daemon_socket_path(path, sizeof(path)) == ADY_OK && access(path, F_OK) == 0)
		return true;
	*why = "adytond is neither running nor installed";
	return false;
}
