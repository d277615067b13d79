/*
 * src/backend/platform.h - the enclave hosts' side of the platform exits
 * (adyton/msbuf.h: EGETKEY, EREPORT, seed, quote; one table of them in
 * platform/platform.h) and of abort reports: each becomes one
 * request/answer with adytond on the host's private socket, which answers
 * from the identity it recorded at launch.  Shared by adyton-enclave-host
 * (process) and adyton-kvm-host (kvm); the hosts differ only in how an
 * enclave address maps to their memory (ady_platform_io_fn).
 */
#ifndef ADY_BACKEND_PLATFORM_H
#define ADY_BACKEND_PLATFORM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

/* The host's view of len bytes at enclave address addr, or NULL when they
 * are not all in memory the enclave itself may write: its measured W pages
 * (ady_layout_writable), never a TCS, code, the marshalling slots or
 * platform pages. */
typedef void *(*ady_platform_io_fn)(uint64_t addr, uint64_t len);

typedef struct ady_platform_link {
	int daemon_fd;             /* the private SOCK_SEQPACKET socket */
	pthread_mutex_t lock;      /* threads take turns on it */
	ady_platform_io_fn io;
} ady_platform_link;

/* One request/answer with adytond, threads taking turns: sends type with
 * req, receives the answer into ans (its length in *ans_len), which must
 * be of type want.  ADY_ERR_DAEMON when adytond does not answer,
 * ADY_ERR_PROTOCOL for an answer of another type. */
ADY_MUST_CHECK ady_err ady_platform_call(ady_platform_link *p, uint16_t type, const uint8_t *req, size_t req_len,
					 uint16_t want, uint8_t *ans, size_t ans_cap, size_t *ans_len);

/* Serves platform exit op (a row of platform/platform.h) whose io struct
 * is at enclave address arg.  The result for the enclave: ADY_OK
 * with the io struct filled, ADY_ERR_RANGE for an io struct out of place,
 * ADY_ERR_DAEMON when adytond does not answer, ADY_ERR_PROTOCOL for any
 * other op or a malformed answer. */
uint64_t ady_platform_exit(ady_platform_link *p, uint64_t op, uint64_t arg);

/* Tells adytond why the enclave aborted (for its log and `adyton ps`):
 * slot is a marshalling buffer of msbuf_size bytes holding an
 * ADY_MSBUF_ABORT exit; anything else is ignored. */
void ady_platform_report_abort(ady_platform_link *p, const uint8_t *slot, uint64_t msbuf_size);
/* The same for a reason of the host's own (n bytes, cut to
 * ADY_PROTO_MAX_REASON), from its memory rather than the shared slot. */
void ady_platform_report_reason(ady_platform_link *p, const char *reason, size_t n);

#endif
