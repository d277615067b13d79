/*
 * daemon_abuse: what a hostile or careless local user does to adytond,
 * one subcommand each; tests/integration/daemon_abuse_test.sh runs them
 * (as nobody against a system daemon, or against a private per-user one).
 * Every subcommand prints what it saw and exits 0 when the daemon held, 1
 * when the attack worked or the daemon failed, 2 on misuse.
 *
 *   race SECONDS DAEMON_PID  races PTRACE_SEIZE against the enclave hosts
 *                            the daemon execs for this user (issue 11 item 3)
 *                            while a child of ours launches enclaves that
 *                            hold a canary; 1 if it ever attached to one
 *   flood SECONDS            sends LIST requests and never reads the answers;
 *                            0 once the daemon drops it (item 4)
 *   latency N MAX_MS         N report exits (T_SELF_REPORT) of one enclave,
 *                            each under MAX_MS (while another client floods)
 *   idle N SECONDS           holds N connections that launch nothing for
 *                            SECONDS; prints how many the daemon closed at
 *                            once and how many later (item 5)
 *   malformed N              N malformed LAUNCH messages, each carrying a
 *                            descriptor, on fresh connections (item 6)
 *   sigchld N                with SIGCHLD ignored and SIGTERM/SIGCHLD/SIGHUP/
 *                            SIGINT blocked (inherited by a daemon it starts),
 *                            launches and closes N enclaves, then SIGTERMs
 *                            an enclave host and waits for it to die (item 7)
 *   launch IMAGE             launches IMAGE, runs its echo ECALL; prints the
 *                            error (item 9)
 *   launch-hold IMAGE        launches IMAGE and holds it until killed
 * The image is testenc (ADY_TEST_BINARY_DIR/tests/testenc.signed) unless
 * named.  The daemon is the one ADYTON_SOCKET names.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adyton/host.h"
#include "adyton/proto.h"
#include "backend/daemon_link.h"
#include "backend/process/client.h"
#include "backend/wire.h"
#include "../enclaves/testenc.h"

#define IMAGE ADY_TEST_BINARY_DIR "/tests/testenc.signed"

static const ady_enclave_opts process_opts = {.backend = ADY_BACKEND_PROCESS};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long read_long(const char *path)
{
	char buf[32] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -1;
}

/* The parent pid of pid, from /proc/PID/status; -1 when unknown. */
static long ppid_of(pid_t pid)
{
	char path[64], buf[2048];
	int fd;
	ssize_t n;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nPPid:\t");
	return p ? strtol(p + 7, NULL, 10) : -1;
}

/* Launches enclaves holding a canary (T_SECRET) until killed; a byte on
 * done for each that ran. */
static void launcher(int done)
{
	for (;;) {
		uint8_t seed[16];
		ady_enclave *e = NULL;
		size_t n;

		if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
			_exit(1);
		if (ady_enclave_open(IMAGE, &process_opts, &e) == ADY_OK) {
			if (ady_ecall(e, T_SECRET, seed, sizeof(seed), NULL, 0, &n) == ADY_OK)
				(void)!write(done, "", 1);
			ady_enclave_close(e);
		}
	}
}

static int cmd_race(double seconds, pid_t daemon)
{
	unsigned long attached = 0, hosts = 0, tries = 0, launched = 0;
	long last_host = -1;
	double end = now() + seconds;
	int done[2];
	pid_t child;

	if (pipe2(done, O_CLOEXEC | O_NONBLOCK))
		return 2;
	fcntl(done[1], F_SETFL, 0);
	child = fork();
	if (child < 0)
		return 2;
	if (child == 0)
		launcher(done[1]);
	close(done[1]);
	/* The daemon forks the host: the newest pids are the candidates.  Seize
	 * them over and over: the kernel refuses while the process is root's
	 * or undumpable, and lets us in the moment it is a dumpable process of
	 * ours. */
	while (now() < end) {
		long last = read_long("/proc/sys/kernel/ns_last_pid");
		for (long p = last - 1; p <= last + 2; p++) {
			if (p <= 1 || p == child || p == getpid())
				continue;
			tries++;
			if (ptrace(PTRACE_SEIZE, (pid_t)p, NULL, NULL) != 0)
				continue;
			if (ppid_of((pid_t)p) == daemon) {
				attached++;
				if (p != last_host) {
					hosts++;
					last_host = p;
					printf("attached to enclave host %ld (a child of adytond %d)\n", p, (int)daemon);
				}
			}
			/* Stop it and let it go: only the attach counts. */
			if (ptrace(PTRACE_INTERRUPT, (pid_t)p, NULL, NULL) == 0) {
				int st;
				if (waitpid((pid_t)p, &st, __WALL) == (pid_t)p && !WIFEXITED(st) && !WIFSIGNALED(st))
					(void)ptrace(PTRACE_DETACH, (pid_t)p, NULL, NULL);
			}
		}
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	for (;;) {
		char b[256];
		ssize_t n = read(done[0], b, sizeof(b));
		if (n <= 0)
			break;
		launched += (unsigned long)n;
	}
	close(done[0]);
	printf("race: %lu seize attempts in %.0f s, %lu enclaves launched with a canary, attached %lu times to %lu "
	       "enclave host(s)\n",
	       tries, seconds, launched, attached, hosts);
	return attached ? 1 : 0;
}

static int connect_daemon(void)
{
	int fd = ady_daemon_connect(false);

	if (fd < 0)
		fprintf(stderr, "cannot connect to adytond (ADYTON_SOCKET=%s)\n", getenv("ADYTON_SOCKET"));
	return fd;
}

static int cmd_flood(double seconds)
{
	uint8_t hdr[ADY_PROTO_HEADER];
	int fd = connect_daemon();
	unsigned long sent = 0;
	double end = now() + seconds;

	if (fd < 0)
		return 2;
	ady_proto_encode_header(hdr, ADY_PROTO_LIST, 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (now() < end) {
		ssize_t n = send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL);
		if (n == (ssize_t)sizeof(hdr)) {
			sent++;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* our buffer is full: the daemon is not reading, or we
			 * are ahead; wait a little, and keep never reading */
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			(void)poll(&p, 1, 50);
			continue;
		}
		printf("flood: dropped by the daemon after %lu unread requests (%s)\n", sent,
		       n < 0 ? strerror(errno) : "short send");
		return 0;
	}
	printf("flood: still connected after %lu unread requests and %.0f s\n", sent, seconds);
	return 1;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "latency: an exit took forever (the daemon is stuck)\n";
	(void)!write(1, msg, sizeof(msg) - 1);
	_exit(1);
}

static int cmd_latency(int n, double max_ms)
{
	ady_enclave *e = NULL;
	uint8_t report[512];
	double worst = 0, total = 0;
	ady_err err;

	signal(SIGALRM, on_alarm);
	alarm(60);
	err = ady_enclave_open(IMAGE, &process_opts, &e);
	if (err) {
		printf("latency: launch: %s\n", ady_strerror(err));
		return 1;
	}
	for (int i = 0; i < n; i++) {
		size_t len;
		double t0 = now();
		err = ady_ecall(e, T_SELF_REPORT, NULL, 0, report, sizeof(report), &len);
		double ms = (now() - t0) * 1e3;
		if (err) {
			printf("latency: report exit %d: %s\n", i, ady_strerror(err));
			ady_enclave_close(e);
			return 1;
		}
		total += ms;
		if (ms > worst)
			worst = ms;
	}
	ady_enclave_close(e);
	printf("latency: %d report exits, mean %.2f ms, worst %.2f ms (limit %.0f ms)\n", n, total / n, worst, max_ms);
	return worst <= max_ms ? 0 : 1;
}

/* Is fd closed by the peer (EOF or error)? */
static bool closed_by_peer(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	if (poll(&p, 1, 0) <= 0)
		return false;
	return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

static int cmd_idle(int n, double seconds)
{
	int *fds = calloc((size_t)n, sizeof(int));
	int opened = 0, early = 0, late = 0;

	if (!fds)
		return 2;
	for (int i = 0; i < n; i++) {
		fds[i] = ady_daemon_connect(false);
		if (fds[i] >= 0)
			opened++;
	}
	usleep(500000);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0 && closed_by_peer(fds[i])) {
			close(fds[i]);
			fds[i] = -1;
			early++;
		}
	printf("idle: %d connections opened, %d closed by the daemon at once\n", opened, early);
	fflush(stdout);
	usleep((useconds_t)(seconds * 1e6));
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0) {
			if (closed_by_peer(fds[i]))
				late++;
			close(fds[i]);
		}
	printf("idle: %d closed by the daemon after %.0f s idle, %d still open\n", late, seconds,
	       opened - early - late);
	free(fds);
	return 0;
}

static int cmd_malformed(int n)
{
	uint8_t msg[ADY_PROTO_HEADER + 16];
	int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (passed < 0)
		return 2;
	/* A LAUNCH of the right length (the header's framing rules pass it)
	 * whose fields are not a launch request: an unknown backend, unknown
	 * flags, reserved bytes set. */
	ady_proto_encode_header(msg, ADY_PROTO_LAUNCH, 16);
	memset(msg + ADY_PROTO_HEADER, 0xee, 16);
	for (int i = 0; i < n; i++) {
		struct iovec iov = {msg, sizeof(msg)};
		union {
			struct cmsghdr a;
			char b[CMSG_SPACE(sizeof(int))];
		} ctl = {0};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				   .msg_controllen = sizeof(ctl.b)};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		int fd = connect_daemon();
		char b;

		if (fd < 0)
			return 1;
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &passed, sizeof(int));
		if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
			printf("malformed: send %d: %s\n", i, strerror(errno));
			close(fd);
			return 1;
		}
		/* the daemon ends the session: wait for that, so that it has
		 * handled this one before the next */
		struct timeval tv = {5, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (recv(fd, &b, 1, 0) > 0) {
			printf("malformed: the daemon answered a malformed LAUNCH\n");
			close(fd);
			return 1;
		}
		close(fd);
	}
	printf("malformed: %d malformed LAUNCH messages with a descriptor sent\n", n);
	return 0;
}

/* pid is no more (reaped), within 5 s. */
static bool dies(pid_t pid)
{
	for (int i = 0; i < 250; i++) {
		if (kill(pid, 0) && errno == ESRCH)
			return true;
		usleep(20000);
	}
	return false;
}

static pid_t newest_host(void)
{
	static uint8_t buf[ADY_PROTO_MAX_PAYLOAD];
	ady_proto_hdr h;
	uint32_t n = 0;
	uint64_t best = 0;
	pid_t pid = -1;
	int fd = connect_daemon();

	if (fd < 0)
		return -1;
	if (ady_wire_send(fd, ADY_PROTO_LIST, NULL, 0, -1) || ady_wire_recv(fd, &h, buf, sizeof(buf), NULL) ||
	    h.type != ADY_PROTO_LISTING || ady_proto_decode_listing(buf, h.length, 0, &n, NULL)) {
		close(fd);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++) {
		ady_listing_entry x;
		if (ady_proto_decode_listing(buf, h.length, i, &n, &x) == ADY_OK && x.id > best) {
			best = x.id;
			pid = (pid_t)x.host_pid;
		}
	}
	close(fd);
	return pid;
}

static int cmd_sigchld(int n)
{
	sigset_t mask;
	ady_enclave *e = NULL;
	ady_err err;
	pid_t host;

	/* What a careless application does before it uses libadyton. */
	signal(SIGCHLD, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	for (int i = 0; i < n; i++) {
		size_t len;
		uint8_t b = (uint8_t)i, out = 0;
		err = ady_enclave_open(IMAGE, &process_opts, &e);
		if (!err)
			err = ady_ecall(e, T_ECHO, &b, 1, &out, 1, &len);
		ady_enclave_close(e);
		e = NULL;
		if (err) {
			printf("sigchld: launch %d of %d: %s\n", i + 1, n, ady_strerror(err));
			return 1;
		}
	}
	printf("sigchld: %d enclaves launched and closed\n", n);
	err = ady_enclave_open(IMAGE, &process_opts, &e);
	if (err) {
		printf("sigchld: one more launch: %s\n", ady_strerror(err));
		return 1;
	}
	host = newest_host();
	if (host <= 0 || kill(host, SIGTERM)) {
		printf("sigchld: no enclave host to signal\n");
		ady_enclave_close(e);
		return 1;
	}
	if (!dies(host)) {
		printf("sigchld: enclave host %d ignored SIGTERM (blocked or ignored signals inherited)\n", (int)host);
		ady_enclave_close(e);
		return 1;
	}
	printf("sigchld: enclave host %d died of SIGTERM\n", (int)host);
	ady_enclave_close(e);
	return 0;
}

static int cmd_launch(const char *image)
{
	ady_enclave *e = NULL;
	uint8_t out[4];
	size_t len;
	ady_err err = ady_enclave_open(image, &process_opts, &e);

	if (!err)
		err = ady_ecall(e, T_ECHO, (const uint8_t *)"abcd", 4, out, sizeof(out), &len);
	ady_enclave_close(e);
	if (err) {
		printf("launch: %s\n", ady_strerror(err));
		return 1;
	}
	printf("launch: echo ok\n");
	return 0;
}

/* Launches image and holds it until killed. */
static int cmd_launch_hold(const char *image)
{
	ady_enclave *e = NULL;
	ady_err err = ady_enclave_open(image, &process_opts, &e);

	if (err) {
		printf("launch-hold: %s\n", ady_strerror(err));
		return 1;
	}
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "race") == 0)
		return cmd_race(atof(argv[2]), (pid_t)atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return cmd_flood(atof(argv[2]));
	if (argc == 4 && strcmp(argv[1], "latency") == 0)
		return cmd_latency(atoi(argv[2]), atof(argv[3]));
	if (argc == 4 && strcmp(argv[1], "idle") == 0)
		return cmd_idle(atoi(argv[2]), atof(argv[3]));
	if (argc == 3 && strcmp(argv[1], "malformed") == 0)
		return cmd_malformed(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "sigchld") == 0)
		return cmd_sigchld(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "launch") == 0)
		return cmd_launch(argv[2]);
	if (argc == 3 && strcmp(argv[1], "launch-hold") == 0)
		return cmd_launch_hold(argv[2]);
	fprintf(stderr, "usage: daemon_abuse race SECONDS DAEMON_PID | flood SECONDS | latency N MAX_MS |\n"
			"       idle N SECONDS | malformed N | sigchld N | launch IMAGE | launch-hold IMAGE\n");
	return 2;
}
