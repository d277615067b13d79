/*
 * src/backend/hostmain.h - the one skeleton of both enclave hosts
 * (adyton-enclave-host, process; adyton-kvm-host, kvm) and the ABI between
 * adytond and them.
 *
 * adytond (src/daemon/enclaves.c) forks, switches to the client's user and
 * execs a host with
 *   fd ADY_HOST_FD_IMAGE      the signed image (read-only)
 *   fd ADY_HOST_FD_CHANNEL    the channel memfd shared with the application (sealed size)
 *   fd ADY_HOST_FD_DAEMON_IN  a private SOCK_SEQPACKET socket to adytond
 * and, for kvm only, the options ADY_HOST_OPT_SPIN and ADY_HOST_OPT_EXIT_PER_CALL.
 *
 * ady_host_main does, in this order, what both hosts must do alike: no
 * core dumps, die with the daemon, refuse to start dumpable or traced
 * (backend/sandbox.h), read and verify the image and let the backend load
 * it, check and map the channel (exactly the size adytond made, sealed),
 * keep no descriptor but the daemon socket (moved to ADY_HOST_FD_DAEMON)
 * and stderr, let the backend prepare (kvm: the VM), start one thread per
 * thread slot, install the seccomp allowlist on all of them, report the
 * measured identity to adytond (HOST_READY) and serve.
 */
#ifndef ADY_BACKEND_HOSTMAIN_H
#define ADY_BACKEND_HOSTMAIN_H

#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>

#include "adyton/error.h"
#include "adyton/image.h"
#include "backend/platform.h"

#define ADY_HOST_FD_IMAGE 3
#define ADY_HOST_FD_CHANNEL 4
#define ADY_HOST_FD_DAEMON_IN 5
#define ADY_HOST_FD_DAEMON 3 /* where the daemon socket ends up */

#define ADY_HOST_OPT_SPIN "--spin-us="            /* kvm: N microseconds, 0 = the default */
#define ADY_HOST_OPT_EXIT_PER_CALL "--exit-per-call" /* kvm: a VM exit per call */

typedef struct ady_host_backend {
	const char *name; /* the program's name: ps, messages */
	/* Maps and fills the enclave of img (its memory, its page rights) and
	 * keeps what it needs of it; *weak_memory when the enclave is not in
	 * memfd_secret memory.  Before the channel is mapped. */
	ady_err (*load)(const ady_image *img, bool *weak_memory);
	/* The channel is mapped (chan, chan_size bytes) and the descriptors
	 * are down to the daemon socket and stderr; may be NULL. */
	ady_err (*prepare)(uint8_t *chan, uint64_t chan_size);
	/* The backend's own seccomp rules on top of the common allowlist;
	 * returns the OR of the rule results.  May be NULL. */
	int (*seccomp_rules)(scmp_filter_ctx ctx);
	/* Serves thread slot (uintptr_t)slot forever. */
	void *(*serve)(void *slot);
} ady_host_backend;

/* The host's pid, taken at start (getpid is not allowed after the filter). */
extern int ady_host_pid;

/* Prints "NAME[pid]: what: error" and exits 1. */
_Noreturn void ady_host_die(const char *what, ady_err err);

/* Runs the host (see the top); plat is the backend's link to adytond,
 * whose daemon_fd must be ADY_HOST_FD_DAEMON.  Never returns. */
_Noreturn void ady_host_main(const ady_host_backend *b, ady_platform_link *plat);

#endif
