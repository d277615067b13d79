/*
 * hosts.h - the gate's per-host state and the continuous host check
 * (README.md, "serve, hosts, the agent").
 *
 * The state of each host (its last round: when, the verdict, the verified
 * IMA entry count / byte offset / PCR 10 the next round starts from and
 * the TPM boot they belong to (the quote's resetCount/restartCount), the
 * attestation key of adytond that the host's TPM certified, and the
 * co-location key K of the HMAC flow) is a table gate_hosts in the
 * gate's state, beside the certificate table (certdb.c): in the SQLite
 * file (default) or in the PostgreSQL database ("postgresql:CONNINFO",
 * libpq) that several gates share.  Every operation is one statement and
 * nothing is cached, so a verdict one gate writes is what another gate's
 * issue reads next.
 */
#ifndef ADYTON_GATE_HOSTS_H
#define ADYTON_GATE_HOSTS_H

#include <stdbool.h>
#include <stdint.h>

#include "adyton/error.h"
#include "gate.h"

typedef struct gate_host_row {
	char name[129];
	int64_t checked;            /* Unix time of the last round, 0: never */
	bool ok;                    /* the last round passed */
	char failed[32];            /* its check name when it did not */
	char reason[512];
	gate_pcr10 verified;        /* replay state after the last good round */
	gate_boot boot;             /* the TPM boot it belongs to (resetCount, restartCount) */
	uint64_t entries_checked;   /* entries checked in the last round */
	uint64_t ahead;             /* entries left for the next round */
	bool have_platform_key;
	uint8_t platform_key[64];   /* adytond's attestation key x||y the TPM certified */
	bool have_coloc_key;
	uint8_t coloc_key[64];      /* K of the HMAC volume flow */
	bool stored;                /* read from the table (gate_hosts_get) */
} gate_host_row;

/* A connection to the hosts table, one backend or the other. */
typedef struct gate_hosts gate_hosts;

/* where: a SQLite path or "sqlite:PATH" (the file is created), or
 * "postgresql:CONNINFO" (the database must exist); the table is created
 * if missing (on PostgreSQL under an advisory lock, so that gates starting
 * together do not race).  *out is the caller's, for gate_hosts_close;
 * NULL on failure.  ADY_ERR_INVALID_ARG: empty path; ADY_ERR_IO: cannot
 * open, connect or create the table. */
ADY_MUST_CHECK ady_err gate_hosts_open(const char *where, gate_hosts **out);
/* Accepts NULL. */
void gate_hosts_close(gate_hosts *h);
/* ADY_ERR_STATE when the host has no row. */
ADY_MUST_CHECK ady_err gate_hosts_get(gate_hosts *h, const char *name, gate_host_row *out);
/* Writes the row of row->name whole.  A stored row (from gate_hosts_get)
 * is updated only if it is still there: ADY_ERR_STATE when it was
 * forgotten meanwhile (by any gate), and nothing is written.  A new row
 * (stored false) is inserted, or replaces one written meanwhile. */
ADY_MUST_CHECK ady_err gate_hosts_put(gate_hosts *h, const gate_host_row *row);
/* Deletes a host's row (its replay state, keys, verdict): the next round
 * starts from an empty log, as after a reboot.  ADY_ERR_STATE: no such row. */
ADY_MUST_CHECK ady_err gate_hosts_forget(gate_hosts *h, const char *name);
ADY_MUST_CHECK ady_err gate_hosts_each(gate_hosts *h, void (*fn)(void *ctx, const gate_host_row *row), void *ctx);

/*
 * What issue asks of a host before it certifies an enclave on it: its
 * last round passed, at most max_age seconds ago; then co-location:
 * coloc "tpm": the enclave quote's attestation key is the one the host's
 * TPM certified in that round; "hmac": hmac_hex is HMAC-SHA512(K, nonce)
 * for the K the gate gave the host's agent.  1 = admitted (row filled);
 * 0 = refused with *failed ("host" or "colocation") and reason; -1 =
 * error (reason says).
 */
int gate_host_admit(const char *state, const char *host, long max_age, const char *coloc, const char *hmac_hex,
		    const uint8_t *quote, size_t qlen, const uint8_t nonce[static 32], gate_host_row *row,
		    const char **failed, char *reason, size_t cap);

/* adyton-gate serve | hosts | fetch (serve.c). */
int gate_cli_serve(int argc, char **argv);
int gate_cli_hosts(int argc, char **argv);
int gate_cli_fetch(int argc, char **argv);

#endif
