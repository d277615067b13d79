/* Private to adytond. */
#ifndef ADY_DAEMON_INTERNAL_H
#define ADY_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "adyton/error.h"
#include "adyton/layout.h"
#include "adyton/policy.h"
#include "backend/channel.h"
#include "backend/hostmain.h"
#include "platform/derive.h"

/* The enclave table's size (--total-enclaves: all users together; the
 * policy's max_enclaves bounds each user) and its bounds.  The client table
 * holds ADY_MIN_CLIENTS more connections than enclaves: one per enclave
 * when every application holds one, and room for the connections that hold
 * none (ps, capacity, launches in progress). */
#define ADY_DEFAULT_ENCLAVES 1024u
#define ADY_MAX_TOTAL_ENCLAVES 65536u
#define ADY_MIN_CLIENTS 1024u
/* Descriptors the daemon needs beyond one per client and one per enclave:
 * its sockets, a launch in progress (image, channel, program copy,
 * socketpair, counters), SQLite, the metrics listener and scrapes. */
#define ADY_FD_SLACK 64u
/* Connections of one user that hold no enclave (a launch in progress holds
 * one): one more is refused at once, so one user's idle connections cannot
 * fill the table for everyone (a user's other connections are bounded by the
 * policy's max_enclaves, each holding at least one enclave). */
#define ADY_MAX_IDLE_PER_UID 32
/* Answers a client has not read yet, beyond what its socket buffer holds:
 * one more and it is dropped (the daemon never waits for a client). */
#define ADY_CLIENT_QUEUE 16
#define ADY_CLIENT_QUEUE_BYTES (256u << 10)
/* An enclave host's locked memory: the enclave + this (RLIMIT_MEMLOCK). */
#define ADY_HOST_MEMLOCK_SLACK (16u << 20)

typedef struct ady_outmsg {
	uint16_t type;
	uint8_t *payload;         /* malloc'd, NULL when len is 0 */
	size_t len;
	int fd;                   /* a dup, closed when sent or dropped; -1: none */
} ady_outmsg;

typedef struct ady_client {
	bool used;
	bool drop;                /* its answers overflowed: dropped by the loop */
	int fd;                   /* non-blocking */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int64_t last;             /* CLOCK_MONOTONIC seconds of the last request */
	uint32_t qhead, qlen;     /* ring of unsent answers */
	size_t qbytes;
	ady_outmsg queue[ADY_CLIENT_QUEUE];
} ady_client;

typedef enum { ENC_FREE = 0, ENC_STARTING, ENC_READY, ENC_DYING } ady_enc_state;

/* What an enclave's ECALLs and exits have been (counts.c): read from its
 * host's counter pages (backend/hostmain.h). */
typedef struct ady_enclave_counts {
	uint64_t ecalls;
	uint64_t exits[ADY_HOST_EXIT_KINDS];
	uint64_t vm_exits[ADY_HOST_VM_EXIT_KINDS];
} ady_enclave_counts;

typedef struct ady_denclave {
	ady_enc_state state;
	bool answered;            /* the client has its LAUNCHED */
	uint64_t id;
	uint32_t backend;         /* ADY_BACKEND_PROCESS or ADY_BACKEND_KVM */
	int client;               /* index into clients, -1 once it left */
	uid_t owner;
	pid_t host_pid;
	int host_fd;              /* private socket to the enclave host */
	int chan_fd;              /* channel memfd (kept to hand out, then closed) */
	ady_chan_ctl *ctl;        /* the channel's control page, to mark it dead */
	const ady_host_count *counts; /* its host's counters (read-only, ADY_HOST_COUNTS_SIZE) */
	ady_enclave_counts seen;  /* counts.c: the most each counter has said */
	uint64_t chan_size;
	uint32_t threads;
	uint64_t msbuf_size;
	uint32_t flags;           /* ADY_LAUNCH_* */
	ady_identity ident;
	uint64_t memory;
	time_t started;
	uint64_t pages;           /* reserved in the pool (pool.c); 0 once released */
	char tenant[32];          /* its tenant at launch, "" for none */
	int64_t acct_t;           /* usage.c: CLOCK_REALTIME ms its last record ends; 0: none */
	double acct_cpu;          /* usage.c: its host's CPU seconds recorded so far */
} ady_denclave;

/* The enclave memory pool, counted in 4 KiB pages as the SGX driver counts
 * EPC (sgx_nr_total_epc_pages, sgx_nr_free_pages, ...). */
typedef struct ady_pool {
	uint64_t total;           /* policy epc, or the default share */
	uint64_t allocated;       /* reserved by admitted enclaves */
	uint64_t high_water;      /* the most ever allocated at once */
	uint64_t refused;         /* launches refused for want of pool or tenant room */
} ady_pool;
/* What the metrics count (metrics.c), kept by the loop. */
enum { ADY_LAUNCH_OK, ADY_LAUNCH_QUOTA, ADY_LAUNCH_POLICY, ADY_LAUNCH_ERROR, ADY_LAUNCH_RESULTS };
/* destroyed: the daemon ended it (closed, its client left); the others: it
 * ended by itself or by someone else's signal */
enum { ADY_EXIT_DESTROYED, ADY_EXIT_EXITED, ADY_EXIT_KILLED, ADY_EXIT_SECCOMP, ADY_EXIT_KINDS };
/* ECALL and exit counts of the enclaves that have ended, by backend
 * (process, kvm) and by tenant. */
#define ADY_COUNT_TENANTS (ADY_POLICY_MAX_TENANTS + 32u)
typedef struct ady_tenant_counts {
	char name[32];
	ady_enclave_counts c;
} ady_tenant_counts;
typedef struct ady_stats {
	uint64_t launches[ADY_LAUNCH_RESULTS];
	uint64_t exits[ADY_EXIT_KINDS];
	uint64_t quotes[2];       /* ok, refused */
	ady_enclave_counts ended[2]; /* process, kvm */
	uint32_t ntenants;
	ady_tenant_counts tenants[ADY_COUNT_TENANTS];
} ady_stats;

/* Default pool without an epc line: a quarter of physical memory. */
#define ADY_POOL_DEFAULT_DIVISOR 4u

/* The attestation key and the certification data its quotes carry. */
typedef struct ady_attest {
	struct evp_pkey_st *key;  /* ECDSA P-256 (EVP_PKEY) */
	uint8_t pub[64];          /* x||y */
	uint16_t cert_type;       /* ADY_QUOTE_CERT_ENROLLED or _TPM */
	uint8_t *cert;            /* malloc'd TPM certification data, or NULL */
	uint32_t cert_len;
} ady_attest;

typedef struct ady_daemon {
	ady_platform platform;
	ady_attest attest;
	ady_policy policy;
	const char *policy_path;  /* NULL: built-in embedded policy */
	const char *host_path;    /* adyton-enclave-host (process backend) */
	const char *kvm_host_path; /* adyton-kvm-host (kvm backend) */
	bool verbose;
	int conn_timeout;         /* s: a connection holding no enclave, silent this long, is closed */
	uint64_t next_id;
	ady_pool pool;
	ady_stats stats;
	int64_t started;          /* CLOCK_REALTIME seconds */
	uint32_t max_clients;     /* the tables' sizes, fixed at start */
	uint32_t max_enclaves;
	/* one past the highest slot in use (slots are taken lowest first):
	 * scans stop there, so a round costs what is held, not the table */
	uint32_t clients_hi;
	uint32_t enclaves_hi;
	ady_client *clients;      /* [max_clients] */
	ady_denclave *enclaves;   /* [max_enclaves] */
} ady_daemon;

/* adytond's start (setup.c).  ady_daemon_load_policy reads
 * d->policy_path (or takes the embedded default) and configures the pool:
 * 0, or -1 after a logged error; SIGHUP calls it again.
 * ady_daemon_find_host: an enclave host program: the option, the
 * environment variable, next to us, or libexec (name: adyton-enclave-host
 * or adyton-kvm-host).  ady_daemon_listen binds the socket at path with
 * mode (creating its directory) and holds path.lock for the daemon's life;
 * exits quietly when another daemon already serves it; -1 after a logged
 * error.  ady_daemon_detach: the --daemonize fork and setsid. */
int ady_daemon_load_policy(ady_daemon *d);
/* The client and enclave tables for at most enclaves enclaves (clients:
 * ADY_MIN_CLIENTS more), with RLIMIT_NOFILE raised to what they need; when
 * the hard limit is lower, fewer enclaves (logged).  0, or -1 after a
 * logged error. */
int ady_daemon_tables(ady_daemon *d, uint32_t enclaves);
const char *ady_daemon_find_host(const char *opt, const char *envname, const char *name);
int ady_daemon_listen(const char *path, int mode);
void ady_daemon_detach(void);
/* mkdir -p path (each missing component with mode): 0 or -1 (errno). */
int ady_daemon_mkdirs(const char *path, mode_t mode);

/* adytond's keys at start (keys.c): the platform root key (a file, or
 * sealed to the TPM when tcti is set, to the PCRs in pcrs), the
 * attestation key and its certification.  enroll ("KEY,CERT"): only
 * enroll the TPM attestation key, then stop (*done).  0, or 1 after a
 * logged error. */
int ady_daemon_load_keys(ady_daemon *d, const char *state, const char *tcti, uint32_t pcrs, const char *enroll,
			 int *done);

/* Whether state file name exists in state: a file that says which root
 * the state directory uses (keys.c). */
int ady_daemon_state_has(const char *state, const char *name);

/* "--tpm-pcrs" LIST: "none" or comma-separated PCR indices 0-23 -> mask;
 * -1 on a malformed list.  ADY_DAEMON_PCRS_ANY: no --tpm-pcrs. */
#define ADY_DAEMON_PCRS_ANY 0xffffffffu /* = ADY_TPM_PCRS_ANY */
int ady_daemon_parse_pcrs(const char *s, uint32_t *mask);

/* Log lines on stderr, "adytond: " first (log.c): info only with
 * --verbose, errors always. */
void ady_log_info(ady_daemon *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ady_log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Root key: state_dir/root.key, 32 random bytes created on first start
 * (ady_state_write: 0600, temp file + fsync + link + fsync of the
 * directory); ADY_ERR_PERMISSION for a file not ours or not private,
 * ADY_ERR_MALFORMED for one not of 32 bytes. */
ADY_MUST_CHECK ady_err ady_rootkey_load(const char *state_dir, uint8_t key[static 32]);

/* State files (statefile.c).  ady_state_write: dir/name (0600) written
 * whole through a temp file and fsync; replace: rename over an existing
 * one, else link() and ADY_ERR_STATE when it exists (another daemon won the
 * race: use its file).  ady_state_read: dir/name into buf, only if it is
 * ours, a regular file (no symlink) and private (ADY_ERR_PERMISSION: it
 * may have been planted), 1..cap bytes (else ADY_ERR_MALFORMED);
 * ADY_ERR_STATE when it does not exist. */
ADY_MUST_CHECK ady_err ady_state_write(const char *dir, const char *name, const void *buf, size_t len, int replace);
ADY_MUST_CHECK ady_err ady_state_read(const char *dir, const char *name, void *buf, size_t cap, size_t *len);

/* The attestation key: state_dir/attest.key, sealed with the root key,
 * created on first start (attest.c).  ADY_ERR_CRYPTO when the file does
 * not open under this root (another platform's state). */
ADY_MUST_CHECK ady_err ady_attest_load(const char *state_dir, const uint8_t root[static 32], ady_attest *a);
void ady_attest_free(ady_attest *a);

/* Sends an answer to client ci without ever blocking: what the socket
 * does not take now is queued (payload copied, fd dup'd) and sent when it
 * drains (ady_daemon_client_flush); ADY_ERR_BUSY when the queue is full (the
 * client does not read: the caller drops it), ADY_ERR_IO when the peer left. */
ADY_MUST_CHECK ady_err ady_daemon_client_send(ady_daemon *d, int ci, uint16_t type, const uint8_t *payload,
					      size_t len, int fd);
/* Sends what is queued for ci while its socket takes it (POLLOUT). */
ADY_MUST_CHECK ady_err ady_daemon_client_flush(ady_daemon *d, int ci);
/* Default signal dispositions and an empty signal mask: what adytond
 * inherited (an application that ignores SIGCHLD, a blocked SIGTERM) is not
 * what it or its enclave hosts may run with. */
void ady_daemon_reset_signals(void);

/* The pool (pool.c).  Pages of a layout: the sum of its added regions. */
uint64_t ady_pool_pages(const ady_layout *l);
/* Pages of physical memory / ADY_POOL_DEFAULT_DIVISOR, in 4 KiB pages. */
uint64_t ady_pool_default_pages(void);
/* Sets the pool's total from the policy (start and SIGHUP); what runs keeps
 * its pages. */
void ady_pool_configure(ady_daemon *d);
uint64_t ady_pool_free(const ady_daemon *d);
/* Pages and number of the running (starting, dying) enclaves of a tenant. */
void ady_pool_tenant_usage(const ady_daemon *d, const char *tenant, uint64_t *pages, uint32_t *count);
/* May a client of uid/gid add an enclave of this many pages?  tenant
 * receives its tenant's name ("" for none).  ADY_ERR_QUOTA with why (a
 * NUL-terminated sentence naming the limit, the request and what is free)
 * when the pool or the tenant's memory or enclave limit has no room;
 * counts the refusal. */
ADY_MUST_CHECK ady_err ady_pool_admit(ady_daemon *d, uid_t uid, gid_t gid, uint64_t pages, char tenant[static 32],
				      char *why, size_t cap);
void ady_pool_reserve(ady_daemon *d, ady_denclave *e, uint64_t pages);
void ady_pool_release(ady_daemon *d, ady_denclave *e);

/* ECALL and exit counts (counts.c).  read: e's counts now, from its
 * host's counter pages (no value below what it said before; saturating
 * sums).  end: adds e's last counts to the ended ones (by backend and
 * tenant) and unmaps its pages; at the reap.  tenant: the ended counts of
 * a tenant, added when new; NULL when the table is full (then that
 * tenant's ended enclaves are not counted).  add: to += c, saturating. */
void ady_counts_read(ady_denclave *e, ady_enclave_counts *out);
void ady_counts_end(ady_daemon *d, ady_denclave *e);
void ady_counts_unmap(ady_denclave *e);
ady_enclave_counts *ady_counts_tenant(ady_stats *s, const char *tenant);
void ady_counts_add(ady_enclave_counts *to, const ady_enclave_counts *c);

/* Prometheus metrics (metrics.c, with libmicrohttpd).  start: listens on
 * spec ("unix:PATH", "HOST:PORT", "PORT" on 127.0.0.1) and serves from its
 * own thread; -1 with the reason logged.  fd: readable when a scrape waits
 * for a snapshot (-1 when metrics are off): the loop then calls publish,
 * which hands the scrape thread a snapshot of its state (built without the
 * mutex, swapped in under it; no I/O) and reads each enclave's counters.
 * stop: ends the thread. */
int ady_metrics_start(ady_daemon *d, const char *spec);
int ady_metrics_fd(void);
void ady_metrics_publish(ady_daemon *d);
void ady_metrics_stop(void);

/* Usage records (usage.c, with libsqlite3): state_dir/usage.db.
 * open: -1 with the reason logged.  start: an enclave's accounting begins
 * now.  due: ms until the next interval (-1: records off, or idle with
 * nothing left to write).  tick: writes
 * every enclave's span since its last record when due (or force).  end:
 * its last span, with its host's total CPU seconds.  The functions are
 * no-ops while records are off. */
#define ADY_USAGE_INTERVAL 60
int ady_usage_open(ady_daemon *d, const char *state_dir, int interval_s);
void ady_usage_start(ady_denclave *e);
int ady_usage_due(bool idle);
void ady_usage_tick(ady_daemon *d, bool force);
void ady_usage_end(ady_denclave *e, double cpu);
void ady_usage_close(void);

/* Client requests (launch, list, destroy).  A returned error ends the
 * client's session (malformed input). */
ADY_MUST_CHECK ady_err ady_daemon_client_msg(ady_daemon *d, int ci);
/* Enclave host requests. A returned error kills the host. */
ADY_MUST_CHECK ady_err ady_daemon_host_msg(ady_daemon *d, int ei);
/* The client left: its enclaves are killed. */
void ady_daemon_client_gone(ady_daemon *d, int ci);
/* Lowers clients_hi and enclaves_hi past the free slots at the top (after
 * a round that may have freed some). */
void ady_daemon_shrink(ady_daemon *d);
/* Reaps exited enclave hosts: marks their channels dead, tells pending clients. */
void ady_daemon_reap(ady_daemon *d);
void ady_daemon_kill_enclave(ady_daemon *d, int ei);

#endif
