/*
 * adytond: the adyton platform service.  One daemon per machine (system
 * mode, root, /run/adyton/adytond.sock) or per user (embedded mode, started
 * on demand by libadyton, $XDG_RUNTIME_DIR/adyton/adytond.sock).  It
 * launches enclaves under a policy, records who they are, and derives
 * their keys and reports from a platform root key it alone holds.
 * Single-threaded: one poll() loop over the listening socket, the
 * clients, the enclave hosts and a signalfd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/image.h"
#include "daemon/internal.h"
#ifdef ADY_HAVE_TPM
#include "daemon/tpm.h"
#endif

#ifndef ADY_LIBEXECDIR
#define ADY_LIBEXECDIR "/usr/local/libexec"
#endif

static ady_daemon D;
/* the poll set: every client and enclave host, and three of our own */
static struct pollfd *pfd;
static int *who;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: adytond [options]\n"
		"  --embedded          per-user daemon (default when not root): socket under\n"
		"                      $XDG_RUNTIME_DIR/adyton, state under $XDG_STATE_HOME/adyton,\n"
		"                      built-in policy (any signer, debug allowed)\n"
		"  --system            machine daemon: /run/adyton/adytond.sock, /var/lib/adyton,\n"
		"                      policy /etc/adyton/policy.conf (required)\n"
		"  --socket PATH       listen here instead\n"
		"  --state-dir DIR     keep the platform root key here instead\n"
		"  --policy FILE       launch/provisioning policy (SIGHUP reloads it)\n"
		"  --host PATH         the adyton-enclave-host program (process backend)\n"
		"  --kvm-host PATH     the adyton-kvm-host program (kvm backend)\n"
		"  --idle-exit SEC     exit after SEC seconds with no client and no enclave\n"
		"  --conn-timeout SEC  close a connection that holds no enclave after SEC\n"
		"                      seconds without a request (default 30)\n"
		"  --total-enclaves N  hold at most N enclaves at once, all users together\n"
		"                      (default 1024; the policy's max_enclaves bounds each user)\n"
		"  --usage-interval SEC  write usage records (STATE_DIR/usage.db) every SEC\n"
		"                      seconds (default 60; 0: keep no usage records)\n"
		"  --daemonize         detach (used by libadyton's on-demand start)\n"
		"  --verbose           log launches and exits to stderr\n"
		"  --metrics ADDR      serve Prometheus metrics at http://ADDR/metrics: \"PORT\"\n"
		"                      (on 127.0.0.1), \"HOST:PORT\" (IPv4 or [IPv6]) or\n"
		"                      \"unix:PATH\"; off by default\n"
		"  --tpm TCTI          keep the platform root key sealed by this TPM and certify\n"
		"                      the attestation key with TPM2_Quote (\"device:/dev/tpmrm0\",\n"
		"                      \"swtpm:path=SOCK\"); the file root key is the default\n"
		"  --tpm-pcrs LIST     with --tpm: seal a new root key to the current values of\n"
		"                      these SHA-256 PCRs (\"0,2,4,7\"; \"none\"); it unseals only\n"
		"                      while they hold them.  Default: what root.tpm was sealed to\n"
		"                      (none for a new one)\n"
		"  --enroll-ca KEY,CERT  with --tpm: enroll this TPM's AK (credential activation\n"
		"                      against its EK), write STATE_DIR/ak.crt signed by the\n"
		"                      CA's KEY (PEM), and exit\n"
		"  --print-platform-key  print the attestation public key (x||y, hex) that\n"
		"                      verifiers pin for this platform (of the state directory:\n"
		"                      mind --system / --state-dir), and exit; fails when there\n"
		"                      is none yet\n"
		"  --create            with --print-platform-key: create the platform keys if the\n"
		"                      state directory has none\n"
		"  --help\n");
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* holds[ci]: does client ci hold an enclave (starting, running or dying)? */
static bool *holds;

static void client_holds(const ady_daemon *d)
{
	memset(holds, 0, d->clients_hi * sizeof(bool));
	for (int i = 0; i < (int)d->enclaves_hi; i++) {
		const ady_denclave *e = &d->enclaves[i];
		if (e->state != ENC_FREE && e->client >= 0 && (uint32_t)e->client < d->max_clients)
			holds[e->client] = true;
	}
}

static int spare_fd = -1;

static void accept_client(ady_daemon *d, int lfd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK), idle_of_uid = 0, slot = -1;

	if (fd < 0) {
		/* out of descriptors (ady_daemon_tables sizes the limit, but
		 * other processes share the system's): the pending connection
		 * would keep the loop spinning on the listening socket; refuse
		 * it through a descriptor kept for that */
		if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
			close(spare_fd);
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				close(fd);
			spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			ady_log_info(d, "connection refused: out of file descriptors");
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(fd);
		return;
	}
	client_holds(d);
	for (int i = 0; i < (int)d->clients_hi; i++) {
		if (!d->clients[i].used) {
			if (slot < 0)
				slot = i;
		} else if (d->clients[i].uid == cred.uid && !holds[i]) {
			idle_of_uid++;
		}
	}
	if (slot < 0 && d->clients_hi < d->max_clients)
		slot = (int)d->clients_hi;
	/* One user's idle connections must not lock the others out. */
	if (slot < 0 || idle_of_uid >= ADY_MAX_IDLE_PER_UID) {
		ady_log_info(d, "connection of uid %u refused: %s", (unsigned)cred.uid,
			     slot < 0 ? "no free slot" : "too many connections of this user that hold no enclave");
		close(fd);
		return;
	}
	d->clients[slot] = (ady_client){.used = true, .fd = fd, .uid = cred.uid, .gid = cred.gid, .pid = cred.pid,
					.last = now_ms()};
	if ((uint32_t)slot >= d->clients_hi)
		d->clients_hi = (uint32_t)slot + 1;
}

/* Closes connections that hold no enclave and were silent for the
 * connection timeout; returns the ms until the next one is due (-1: none). */
static int expire_clients(ady_daemon *d)
{
	int64_t now = now_ms(), limit = (int64_t)d->conn_timeout * 1000, next = -1;

	if (d->conn_timeout <= 0)
		return -1;
	client_holds(d);
	for (int i = 0; i < (int)d->clients_hi; i++) {
		ady_client *c = &d->clients[i];
		if (!c->used || holds[i])
			continue;
		int64_t left = c->last + limit - now;
		if (left <= 0) {
			ady_log_info(d, "connection of uid %u closed: idle, no enclave", (unsigned)c->uid);
			ady_daemon_client_gone(d, i);
		} else if (next < 0 || left < next) {
			next = left;
		}
	}
	return next > INT32_MAX ? INT32_MAX : (int)next;
}

static bool idle(const ady_daemon *d)
{
	for (int i = 0; i < (int)d->clients_hi; i++)
		if (d->clients[i].used)
			return false;
	for (int i = 0; i < (int)d->enclaves_hi; i++)
		if (d->enclaves[i].state != ENC_FREE)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"embedded", no_argument, NULL, 'e'},   {"system", no_argument, NULL, 's'},
		{"socket", required_argument, NULL, 'S'}, {"state-dir", required_argument, NULL, 'd'},
		{"policy", required_argument, NULL, 'p'}, {"host", required_argument, NULL, 'H'},
		{"kvm-host", required_argument, NULL, 'K'},
		{"idle-exit", required_argument, NULL, 'i'}, {"daemonize", no_argument, NULL, 'D'},
		{"verbose", no_argument, NULL, 'v'},    {"help", no_argument, NULL, 'h'},
		{"print-platform-key", no_argument, NULL, 'P'},
		{"tpm", required_argument, NULL, 'T'},  {"enroll-ca", required_argument, NULL, 'E'},
		{"tpm-pcrs", required_argument, NULL, 'R'},
		{"conn-timeout", required_argument, NULL, 'C'}, {"create", no_argument, NULL, 'c'},
		{"metrics", required_argument, NULL, 'M'}, {"usage-interval", required_argument, NULL, 'U'},
		{"total-enclaves", required_argument, NULL, 'N'},
		{NULL, 0, NULL, 0}};
	uint32_t pcrs = ADY_DAEMON_PCRS_ANY;
	bool state_given;
	char sock_buf[PATH_MAX], state_buf[PATH_MAX];
	const char *sock = NULL, *state = NULL, *host = NULL, *kvm_host = NULL, *tcti = NULL, *enroll = NULL;
	const char *metrics = NULL;
	int usage_interval = ADY_USAGE_INTERVAL;
	unsigned long total_enclaves = ADY_DEFAULT_ENCLAVES;
	int system_mode = geteuid() == 0, do_daemonize = 0, idle_exit = 0, print_key = 0, create = 0, o;
	ady_daemon *d = &D;
	sigset_t mask;
	int lfd, sfd, metrics_fd = -1;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e': system_mode = 0; break;
		case 's': system_mode = 1; break;
		case 'S': sock = optarg; break;
		case 'd': state = optarg; break;
		case 'p': d->policy_path = optarg; break;
		case 'H': host = optarg; break;
		case 'K': kvm_host = optarg; break;
		case 'i': idle_exit = atoi(optarg); break;
		case 'D': do_daemonize = 1; break;
		case 'v': d->verbose = true; break;
		case 'P': print_key = 1; break;
		case 'c': create = 1; break;
		case 'M': metrics = optarg; break;
		case 'U':
			usage_interval = atoi(optarg);
			if (usage_interval < 0 || (usage_interval == 0 && strcmp(optarg, "0") != 0)) {
				ady_log_err("--usage-interval: \"%s\" is not a number of seconds (0: no records)", optarg);
				return 2;
			}
			break;
		case 'N': {
			char *end;
			errno = 0;
			total_enclaves = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || optarg[0] == '-' || total_enclaves == 0 ||
			    total_enclaves > ADY_MAX_TOTAL_ENCLAVES) {
				ady_log_err("--total-enclaves: \"%s\" is not a number 1-%u", optarg,
					    ADY_MAX_TOTAL_ENCLAVES);
				return 2;
			}
			break;
		}
		case 'C':
			d->conn_timeout = atoi(optarg);
			if (d->conn_timeout <= 0) {
				ady_log_err("--conn-timeout: \"%s\" is not a number of seconds above 0", optarg);
				return 2;
			}
			break;
		case 'T': tcti = optarg; break;
		case 'E': enroll = optarg; break;
		case 'R':
			if (ady_daemon_parse_pcrs(optarg, &pcrs)) {
				ady_log_err("--tpm-pcrs: \"%s\" is not \"none\" or PCR numbers 0-23 like 0,2,7", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	state_given = state != NULL;
	if (create && !print_key) {
		ady_log_err("--create goes with --print-platform-key");
		return 2;
	}
	if (!d->conn_timeout)
		d->conn_timeout = 30;
	if ((enroll || pcrs != ADY_DAEMON_PCRS_ANY) && !tcti) {
		ady_log_err("%s needs --tpm", enroll ? "--enroll-ca" : "--tpm-pcrs");
		return 2;
	}
	if ((print_key || enroll) && !sock)
		sock = "/dev/null"; /* not listened on: only the state dir matters */
	if (system_mode) {
		if (!sock)
			sock = "/run/adyton/adytond.sock";
		if (!state)
			state = "/var/lib/adyton";
		if (!d->policy_path)
			d->policy_path = "/etc/adyton/policy.conf";
	} else {
		const char *rt = getenv("XDG_RUNTIME_DIR"), *st = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
		if (!sock) {
			if (!rt || !*rt) {
				ady_log_err("XDG_RUNTIME_DIR is not set: give --socket");
				return 1;
			}
			snprintf(sock_buf, sizeof(sock_buf), "%s/adyton/adytond.sock", rt);
			sock = sock_buf;
		}
		if (!state) {
			if (st && *st)
				snprintf(state_buf, sizeof(state_buf), "%s/adyton", st);
			else if (home && *home)
				snprintf(state_buf, sizeof(state_buf), "%s/.local/state/adyton", home);
			else {
				ady_log_err("neither XDG_STATE_HOME nor HOME is set: give --state-dir");
				return 1;
			}
			state = state_buf;
		}
	}
	d->host_path = ady_daemon_find_host(host, "ADYTON_ENCLAVE_HOST", "adyton-enclave-host");
	d->kvm_host_path = ady_daemon_find_host(kvm_host, "ADYTON_KVM_HOST", "adyton-kvm-host");
	if (!print_key && !enroll && ady_daemon_load_policy(d))
		return 1;
	/* Printing a key must not make one: run in the wrong mode or with the
	 * wrong --state-dir it would create a platform nobody uses. */
	if (print_key && !create &&
	    (!(ady_daemon_state_has(state, "root.key") || ady_daemon_state_has(state, "root.tpm")) || !ady_daemon_state_has(state, "attest.key"))) {
		ady_log_err("no platform key in %s (%s): give the state directory of the daemon you mean "
			    "(--system, --state-dir), or add --create to make one there",
			    state, state_given ? "--state-dir"
				     : system_mode ? "the system daemon's state directory"
						   : "the per-user daemon's state directory; the system daemon's is "
						     "/var/lib/adyton");
		return 1;
	}
	{
		char parent[PATH_MAX];
		snprintf(parent, sizeof(parent), "%s", state);
		char *slash = strrchr(parent, '/');
		if (slash && slash != parent) {
			*slash = '\0';
			if (ady_daemon_mkdirs(parent, 0700)) {
				ady_log_err("%s: %s", parent, strerror(errno));
				return 1;
			}
		}
	}
	{
		int done;
		if (ady_daemon_load_keys(d, state, tcti, pcrs, enroll, &done))
			return 1;
		if (done)
			return 0;
	}
	if (print_key) {
		for (int i = 0; i < 64; i++)
			printf("%02x", d->attest.pub[i]);
		printf("\n");
		ady_attest_free(&d->attest);
		ady_wipe(d->platform.root, sizeof(d->platform.root));
		return ferror(stdout) ? 1 : 0;
	}
	if (ady_daemon_tables(d, (uint32_t)total_enclaves))
		return 1;
	holds = calloc(d->max_clients, sizeof(bool));
	pfd = calloc(3u + d->max_clients + d->max_enclaves, sizeof(*pfd));
	who = calloc(3u + d->max_clients + d->max_enclaves, sizeof(*who));
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!holds || !pfd || !who) {
		ady_log_err("out of memory");
		return 1;
	}
	if (do_daemonize)
		ady_daemon_detach();
	/* Started by an application (libadyton's on-demand start), we inherit
	 * its signal state: an ignored SIGCHLD would auto-reap the enclave
	 * hosts behind our back, never reaching ady_daemon_reap. */
	ady_daemon_reset_signals();
	signal(SIGPIPE, SIG_IGN);
	lfd = ady_daemon_listen(sock, system_mode ? 0666 : 0600);
	if (lfd < 0)
		return 1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return 1;
	d->started = (int64_t)time(NULL);
#ifdef ADY_HAVE_SQLITE
	if (usage_interval > 0 && ady_usage_open(d, state, usage_interval))
		return 1;
#else
	(void)usage_interval;
#endif
	/* after the signal mask: the scrape thread inherits it, so every
	 * signal reaches the loop's signalfd */
	if (metrics) {
#ifdef ADY_HAVE_METRICS
		if (ady_metrics_start(d, metrics))
			return 1;
		metrics_fd = ady_metrics_fd();
#else
		ady_log_err("--metrics: this adytond was built without libmicrohttpd");
		return 1;
#endif
	}
	ady_log_info(d, "listening on %s (%s mode), enclave host %s, enclave memory pool %llu pages", sock,
		     system_mode ? "system" : "embedded", d->host_path, (unsigned long long)d->pool.total);

	for (;;) {
		int n = 0, rc, expiry = expire_clients(d);

		pfd[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
		who[n++] = 0;
		pfd[n] = (struct pollfd){.fd = sfd, .events = POLLIN};
		who[n++] = 0;
		/* a scrape waits for a snapshot (metrics.c); -1 when metrics are off */
		pfd[n] = (struct pollfd){.fd = metrics_fd, .events = POLLIN};
		who[n++] = 0;
		for (int i = 0; i < (int)d->clients_hi; i++) {
			if (d->clients[i].used) {
				pfd[n] = (struct pollfd){.fd = d->clients[i].fd,
							 .events = POLLIN | (d->clients[i].qlen ? POLLOUT : 0)};
				who[n++] = 1 + i;
			}
		}
		for (int i = 0; i < (int)d->enclaves_hi; i++) {
			if (d->enclaves[i].state == ENC_STARTING || d->enclaves[i].state == ENC_READY) {
				pfd[n] = (struct pollfd){.fd = d->enclaves[i].host_fd, .events = POLLIN};
				who[n++] = -1 - i;
			}
		}
		int idle_ms = idle_exit > 0 && idle(d) ? idle_exit * 1000 : -1;
		int timeout = idle_ms < 0 ? expiry : expiry < 0 || idle_ms < expiry ? idle_ms : expiry;
#ifdef ADY_HAVE_SQLITE
		int due = ady_usage_due(idle(d));
		if (due >= 0 && (timeout < 0 || due < timeout))
			timeout = due;
#endif
		rc = poll(pfd, (nfds_t)n, timeout);
		if (rc < 0 && errno != EINTR)
			return 1;
#ifdef ADY_HAVE_SQLITE
		ady_usage_tick(d, false);
#endif
		if (rc == 0 && idle_ms >= 0 && idle_ms == timeout) {
			ady_log_info(d, "idle for %d s: exiting", idle_exit);
			break;
		}
		if (rc <= 0)
			continue;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGCHLD) {
					ady_daemon_reap(d);
				} else if (si.ssi_signo == SIGHUP) {
					if (ady_daemon_load_policy(d) == 0)
						ady_log_info(d, "policy reloaded");
				} else {
					goto out;
				}
			}
		}
		for (int k = 3; k < n; k++) {
			if (!pfd[k].revents)
				continue;
			if (who[k] > 0) {
				int ci = who[k] - 1;
				if (d->clients[ci].used && (pfd[k].revents & POLLOUT) &&
				    ady_daemon_client_flush(d, ci) != ADY_OK)
					ady_daemon_client_gone(d, ci);
				if (d->clients[ci].used && (pfd[k].revents & ~POLLOUT) &&
				    ady_daemon_client_msg(d, ci) != ADY_OK)
					ady_daemon_client_gone(d, ci);
			} else {
				int ei = -1 - who[k];
				if ((d->enclaves[ei].state == ENC_STARTING || d->enclaves[ei].state == ENC_READY) &&
				    ady_daemon_host_msg(d, ei) != ADY_OK)
					ady_daemon_kill_enclave(d, ei);
			}
		}
		for (int i = 0; i < (int)d->clients_hi; i++) {
			if (d->clients[i].used && d->clients[i].drop) {
				ady_log_info(d, "client of uid %u dropped: it does not read its answers",
					     (unsigned)d->clients[i].uid);
				ady_daemon_client_gone(d, i);
			}
		}
		ady_daemon_shrink(d);
		if (pfd[0].revents & POLLIN)
			accept_client(d, lfd);
#ifdef ADY_HAVE_METRICS
		/* last: the snapshot has everything this round did */
		if (pfd[2].revents & POLLIN)
			ady_metrics_publish(d);
#endif
	}
out:
#ifdef ADY_HAVE_SQLITE
	ady_usage_tick(d, true);
	ady_usage_close();
#endif
#ifdef ADY_HAVE_METRICS
	ady_metrics_stop();
#endif
	for (int i = 0; i < (int)d->enclaves_hi; i++)
		ady_daemon_kill_enclave(d, i);
	unlink(sock);
	ady_attest_free(&d->attest);
	ady_wipe(d->platform.root, sizeof(d->platform.root));
	return 0;
}
