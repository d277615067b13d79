/*
 * adyton ps: the enclaves adytond runs for this user (every user's when
 * run as root; the daemon decides).  It never starts a daemon: asking
 * which enclaves run must not create the service it asks about.
 * adyton ps --backends: which backends can start enclaves here, and why
 * not (kvm: its probe guest, adyton/host.h ady_backend_available).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/error.h"
#include "adyton/host.h"
#include "adyton/proto.h"
#include "backend/daemon_link.h"
#include "backend/process/client.h"
#include "backend/wire.h"

/* Shared with adyton.c's command table (no header of its own: two symbols). */
extern const char ady_cmd_ps_usage[];
int ady_cmd_ps(int argc, char **argv);

const char ady_cmd_ps_usage[] = "ps [--json] [--backends]";

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* A daemon that accepts but never answers must not hang a script. */
#define REPLY_TIMEOUT_SEC 5

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: ps: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", ady_cmd_ps_usage);
	return EXIT_USAGE;
}

static int fail(ady_err err)
{
	int e = errno;

	if (err == ADY_ERR_IO && e != 0)
		fprintf(stderr, "adyton: ps: %s: %s\n", ady_strerror(err), strerror(e));
	else
		fprintf(stderr, "adyton: ps: %s\n", ady_strerror(err));
	return EXIT_FAIL;
}

/* 1023 B, 4.0 KiB, 1.5 MiB, ... */
static void human_bytes(uint64_t n, char *buf, size_t cap)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(buf, cap, "%" PRIu64 " B", n);
		return;
	}
	v /= 1024;
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, cap, "%.1f %s", v, units[u]);
}

/* 42s, 3m07s, 5h02m, 2d04h */
static void human_duration(uint64_t s, char *buf, size_t cap)
{
	if (s < 60)
		snprintf(buf, cap, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, cap, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
}

/* started is the daemon's CLOCK_REALTIME; a clock stepped back is 0 s, not
 * an enormous unsigned uptime. */
static uint64_t uptime(uint64_t started, uint64_t now) { return now > started ? now - started : 0; }

static void print_header(void)
{
	printf("%-6s %-7s %-8s %-8s %-16s %10s %8s %8s %-12s %s\n", "ID", "OWNER", "HOST-PID", "BACKEND", "MRENCLAVE",
	       "MEMORY", "PAGES", "UPTIME", "TENANT", "FLAGS");
}

static void print_row(const ady_listing_entry *x, uint64_t now)
{
	char mr[65], mem[32], up[32];

	ady_hex_encode(x->mrenclave, 32, mr);
	mr[16] = '\0';
	human_bytes(x->memory, mem, sizeof(mem));
	human_duration(uptime(x->started, now), up, sizeof(up));
	printf("%-6" PRIu64 " %-7" PRIu32 " %-8" PRIu32 " %-8s %-16s %10s %8" PRIu64 " %8s %-12s %s\n", x->id,
	       x->owner_uid, x->host_pid, ady_backend_name((ady_backend)x->backend), mr, mem, x->pages, up,
	       x->tenant[0] ? x->tenant : "-", x->flags & ADY_LAUNCH_WEAK_MEMORY ? "weak-memory" : "-");
}

static void print_json_entry(const ady_listing_entry *x, uint64_t now, bool first)
{
	char mr[65];

	ady_hex_encode(x->mrenclave, 32, mr);
	/* backend names and flag names are fixed ASCII, tenant names [a-z0-9_]
	 * (checked by the decoder): nothing to escape */
	printf("%s\n  {\"id\": %" PRIu64 ", \"owner_uid\": %" PRIu32 ", \"host_pid\": %" PRIu32
	       ", \"backend\": \"%s\", \"mrenclave\": \"%s\", \"memory\": %" PRIu64 ", \"started\": %" PRIu64
	       ", \"uptime\": %" PRIu64 ", \"pages\": %" PRIu64 ", \"tenant\": %s%s%s, \"flags\": [%s]}",
	       first ? "" : ",", x->id, x->owner_uid, x->host_pid, ady_backend_name((ady_backend)x->backend), mr,
	       x->memory, x->started, uptime(x->started, now), x->pages, x->tenant[0] ? "\"" : "",
	       x->tenant[0] ? x->tenant : "null", x->tenant[0] ? "\"" : "",
	       x->flags & ADY_LAUNCH_WEAK_MEMORY ? "\"weak-memory\"" : "");
}

/* LIST -> LISTING (or a STATUS refusal).  *payload is malloc'ed. */
static ady_err query(int sock, uint8_t **payload, size_t *len)
{
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_SEC };
	uint8_t *buf;
	ady_proto_hdr h;
	ady_err err;

	*payload = NULL;
	*len = 0;
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return ADY_ERR_IO;
	buf = malloc(ADY_PROTO_MAX_PAYLOAD);
	if (!buf)
		return ADY_ERR_NOMEM;
	err = ady_wire_send(sock, ADY_PROTO_LIST, NULL, 0, -1);
	if (!err)
		err = ady_wire_recv(sock, &h, buf, ADY_PROTO_MAX_PAYLOAD, NULL);
	if (err)
		goto free_buf;
	switch (h.type) {
	case ADY_PROTO_LISTING:
		*payload = buf;
		*len = h.length;
		return ADY_OK;
	case ADY_PROTO_STATUS: {
		ady_proto_status st;

		err = ady_proto_decode_status(buf, h.length, &st);
		/* a STATUS of OK is not an answer to LIST */
		if (!err)
			err = st.status ? (ady_err)st.status : ADY_ERR_PROTOCOL;
		break;
	}
	default:
		err = ADY_ERR_PROTOCOL;
		break;
	}
free_buf:
	free(buf);
	return err;
}

/* JSON string body: the reasons are our own ASCII, but say so safely. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* --backends: one line (or JSON object) per backend, auto's pick last. */
static int print_backends(bool json)
{
	static const ady_backend all[] = {ADY_BACKEND_KVM, ADY_BACKEND_PROCESS, ADY_BACKEND_SIM};

	if (json)
		printf("[");
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *why = NULL;
		bool ok = ady_backend_available(all[i], &why);

		if (json) {
			printf("%s\n  {\"backend\": \"%s\", \"available\": %s, \"reason\": ", i ? "," : "",
			       ady_backend_name(all[i]), ok ? "true" : "false");
			if (ok || !why)
				printf("null");
			else
				print_json_string(why);
			printf("}");
		} else {
			printf("%-8s %s%s%s\n", ady_backend_name(all[i]), ok ? "available" : "unavailable",
			       ok || !why ? "" : ": ", ok || !why ? "" : why);
		}
	}
	if (json)
		printf("\n]\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* see ady_cmd_ps_usage */
int ady_cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "backends", no_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	bool backends = false;
	ady_listing_entry x;
	uint8_t *payload;
	uint32_t count;
	bool json = false;
	size_t len;
	uint64_t now;
	ady_err err;
	int ch, sock;

	while ((ch = getopt_long(argc, argv, ":j", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'B')
			backends = true;
		else if (ch == ':')
			return usage_error("option %s needs an argument", argv[optind - 1]);
		else
			return usage_error("unknown option %s", argv[optind - 1]);
	}
	if (argc != optind)
		return usage_error("%s", "expected no arguments");
	if (backends)
		return print_backends(json);

	sock = ady_daemon_connect(false);
	if (sock < 0) {
		/* Not an error: no daemon means no enclaves (of the process
		 * backend; sim enclaves live inside their applications). */
		fprintf(stderr, "no adytond running\n");
		if (json)
			printf("[]\n");
		return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
	}
	err = query(sock, &payload, &len);
	close(sock);
	if (err)
		return fail(err);
	err = ady_proto_decode_listing(payload, len, 0, &count, NULL);
	if (err) {
		free(payload);
		return fail(err);
	}
	now = (uint64_t)time(NULL);
	if (json)
		printf("[");
	else
		print_header();
	for (uint32_t i = 0; i < count; i++) {
		err = ady_proto_decode_listing(payload, len, i, &count, &x);
		if (err)
			break;
		if (json)
			print_json_entry(&x, now, i == 0);
		else
			print_row(&x, now);
	}
	free(payload);
	if (json)
		printf("%s]\n", count ? "\n" : "");
	if (err)
		return fail(err);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
