/*
 * adyton capacity: what this node offers a scheduler: the backends that
 * can run here, the attestation behind its quotes, the enclave memory pool
 * (total, free) and each visible tenant's headroom; as a table, JSON, or a
 * Node Feature Discovery feature file (--nfd-features PATH: key=value lines,
 * written whole through a temporary file and rename).  It asks adytond
 * (CAPACITY) and never starts one.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "adyton/file.h"
#include "adyton/error.h"
#include "adyton/host.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "backend/daemon_link.h"
#include "backend/process/client.h"
#include "backend/wire.h"
#include "host/internal.h"

/* Shared with adyton.c's command table (no header of its own: two symbols). */
extern const char ady_cmd_capacity_usage[];
int ady_cmd_capacity(int argc, char **argv);

const char ady_cmd_capacity_usage[] = "capacity [--json] [--nfd-features PATH]";

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define REPLY_TIMEOUT_SEC 5
#define MIB (1024.0 * 1024.0)

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "adyton: capacity: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: adyton %s\n", ady_cmd_capacity_usage);
	return EXIT_USAGE;
}

static ady_err query(ady_proto_capacity *m)
{
	static uint8_t buf[ADY_PROTO_MAX_PAYLOAD];
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_SEC};
	ady_proto_hdr h;
	ady_err err;
	int sock = ady_daemon_connect(false);

	if (sock < 0)
		return ADY_ERR_DAEMON;
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		close(sock);
		return ADY_ERR_IO;
	}
	err = ady_wire_send(sock, ADY_PROTO_CAPACITY, NULL, 0, -1);
	if (!err)
		err = ady_wire_recv(sock, &h, buf, sizeof(buf), NULL);
	close(sock);
	if (err)
		return ADY_ERR_DAEMON;
	if (h.type != ADY_PROTO_CAPACITY_INFO)
		return ADY_ERR_PROTOCOL;
	return ady_proto_decode_capacity(buf, h.length, m);
}

/* A tenant's headroom in pages: what its limit and the pool both allow. */
static uint64_t headroom(const ady_proto_capacity *m, const ady_capacity_tenant *t)
{
	uint64_t room = m->free_pages;

	if (t->max_pages) {
		uint64_t own = t->pages < t->max_pages ? t->max_pages - t->pages : 0;
		if (own < room)
			room = own;
	}
	if (t->max_enclaves && t->count >= t->max_enclaves)
		room = 0;
	return room;
}

static const char *attestation(uint16_t cert_type)
{
	return cert_type == 0xad02 ? "tpm" : "enrolled";
}

static const struct {
	const char *name;
	const ady_backend_ops *ops;
} backends[] = {{"process", &ady_backend_process}, {"kvm", &ady_backend_kvm}, {"sim", &ady_backend_sim}};
#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

static int write_nfd(const char *path, const ady_proto_capacity *m, const bool avail[NBACKENDS])
{
	char *text = NULL;
	size_t len = 0;
	int ret;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return -1;
	/* NFD "local" source: each line becomes the node label
	 * feature.node.kubernetes.io/KEY=VALUE (names and values within the
	 * label rules: [a-z0-9.-], values up to 63 characters) */
	for (size_t i = 0; i < NBACKENDS; i++)
		fprintf(f, "adyton.backend.%s=%s\n", backends[i].name, avail[i] ? "true" : "false");
	fprintf(f, "adyton.attestation=%s\n", attestation(m->cert_type));
	fprintf(f, "adyton.epc.total-mib=%" PRIu64 "\n", m->total_pages * 4096 / (1 << 20));
	fprintf(f, "adyton.epc.free-mib=%" PRIu64 "\n", m->free_pages * 4096 / (1 << 20));
	for (uint32_t i = 0; i < m->ntenants; i++) {
		char name[32];
		/* label names take '-' where tenant names have '_' */
		snprintf(name, sizeof(name), "%s", m->tenants[i].name);
		for (char *p = name; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "adyton.tenant.%s.headroom-mib=%" PRIu64 "\n", name,
			headroom(m, &m->tenants[i]) * 4096 / (1 << 20));
	}
	if (fclose(f)) {
		free(text);
		return -1;
	}
	/* NFD reads the file whenever it likes: never a partial one */
	ret = ady_file_write_atomic(path, text, len, 0644, true) == ADY_OK ? 0 : -1;
	free(text);
	return ret;
}

/* see ady_cmd_capacity_usage */
int ady_cmd_capacity(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"nfd-features", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	static ady_proto_capacity m;
	bool json = false, avail[NBACKENDS];
	const char *why[NBACKENDS] = {NULL};
	const char *nfd = NULL;
	ady_err err;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, ":jn:", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'n': nfd = optarg; break;
		case ':': return usage_error("%s needs a value", argv[optind - 1]);
		default: return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument %s", argv[optind]);
	err = query(&m);
	if (err) {
		fprintf(stderr, "adyton: capacity: %s\n",
			err == ADY_ERR_DAEMON ? "no adytond answers (adyton capacity never starts one)"
					      : ady_strerror(err));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < NBACKENDS; i++)
		avail[i] = backends[i].ops->available(&why[i]);
	if (nfd && write_nfd(nfd, &m, avail)) {
		perror("adyton: capacity: --nfd-features");
		return EXIT_FAIL;
	}
	if (json) {
		printf("{\"backends\": {");
		for (size_t i = 0; i < NBACKENDS; i++)
			printf("%s\"%s\": %s", i ? ", " : "", backends[i].name, avail[i] ? "true" : "false");
		printf("}, \"attestation\": \"%s\", \"epc_total_bytes\": %" PRIu64 ", \"epc_free_bytes\": %" PRIu64
		       ", \"epc_allocated_bytes\": %" PRIu64 ", \"tenants\": [",
		       attestation(m.cert_type), m.total_pages * 4096, m.free_pages * 4096, m.allocated_pages * 4096);
		for (uint32_t i = 0; i < m.ntenants; i++) {
			const ady_capacity_tenant *t = &m.tenants[i];
			/* names are [a-z0-9_] (checked by the decoder) */
			printf("%s{\"name\": \"%s\", \"allocated_bytes\": %" PRIu64 ", \"enclaves\": %" PRIu32
			       ", \"memory_limit_bytes\": %" PRIu64 ", \"enclaves_limit\": %" PRIu32
			       ", \"headroom_bytes\": %" PRIu64 "}",
			       i ? ", " : "", t->name, t->pages * 4096, t->count, t->max_pages * 4096, t->max_enclaves,
			       headroom(&m, t) * 4096);
		}
		printf("]}\n");
	} else {
		printf("backends:    ");
		for (size_t i = 0; i < NBACKENDS; i++)
			if (avail[i])
				printf("%s ", backends[i].name);
		printf("\n");
		for (size_t i = 0; i < NBACKENDS; i++)
			if (!avail[i])
				printf("unavailable: %s: %s\n", backends[i].name, why[i] ? why[i] : "(no reason given)");
		printf("attestation: %s\n", attestation(m.cert_type));
		printf("epc:         %.1f MiB total, %.1f MiB free (%" PRIu64 " of %" PRIu64 " pages)\n",
		       (double)m.total_pages * 4096 / MIB, (double)m.free_pages * 4096 / MIB, m.free_pages,
		       m.total_pages);
		if (m.ntenants)
			printf("%-31s %12s %12s %8s %12s\n", "TENANT", "ALLOCATED", "LIMIT", "ENCLAVES", "HEADROOM");
		for (uint32_t i = 0; i < m.ntenants; i++) {
			const ady_capacity_tenant *t = &m.tenants[i];
			char lim[32];
			if (t->max_pages)
				snprintf(lim, sizeof(lim), "%.1f MiB", (double)t->max_pages * 4096 / MIB);
			else
				snprintf(lim, sizeof(lim), "-");
			printf("%-31s %8.1f MiB %12s %8" PRIu32 " %8.1f MiB\n", t->name, (double)t->pages * 4096 / MIB,
			       lim, t->count, (double)headroom(&m, t) * 4096 / MIB);
		}
	}
	return ferror(stdout) ? EXIT_FAIL : EXIT_OK;
}
