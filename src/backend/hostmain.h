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
 *   fd ADY_HOST_FD_COUNTS     the enclave's counters (below), sealed, which only
 *                             adytond and this host map
 * and, for kvm only, the options ADY_HOST_OPT_SPIN and ADY_HOST_OPT_EXIT_PER_CALL.
 *
 * ady_host_main does, in this order, what both hosts must do alike: no
 * core dumps, die with the daemon, refuse to start dumpable or traced
 * (backend/sandbox.h), read and verify the image and let the backend load
 * it, check and map the channel (exactly the size adytond made, sealed),
 * map the counters (the same checks),
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

#include "adyton/config.h"
#include "adyton/error.h"
#include "adyton/image.h"
#include "backend/platform.h"

#define ADY_HOST_FD_IMAGE 3
#define ADY_HOST_FD_CHANNEL 4
#define ADY_HOST_FD_DAEMON_IN 5
#define ADY_HOST_FD_COUNTS 6
#define ADY_HOST_FD_DAEMON 3 /* where the daemon socket ends up */

/*
 * The counters behind adytond's ECALL and exit metrics: a memfd of
 * ADY_HOST_COUNTS_SIZE bytes that adytond makes, seals and maps read-only
 * for the enclave's life and after (its host may have been killed: the
 * counts stay readable), and that the application never sees.  Counting
 * costs no system call and no message: a store to a line of the slot's own.
 *
 *   page 0  one ady_host_count per thread slot, written only by the host
 *           thread that serves the slot: ECALLs that entered the enclave
 *           (process), the enclave's exits by kind (both), and the kvm
 *           vCPU's other VM exits (every enclave exit is one VM exit too);
 *   page 1  kvm: one 64-byte line per slot whose first u64 the guest's
 *           serve loop increments for each ECALL it takes in guest mode
 *           (the host never sees those: guest.h).
 *
 * Both pages are the enclave's own account: on process the enclave runs in
 * its host's address space, on kvm in ring 0 of its VM with page 1 mapped,
 * so an enclave can overstate (never lower: adytond keeps the highest value
 * it saw) its own counts.  The application cannot write them, and no
 * enclave reaches another enclave's counters.
 */
enum { ADY_HOST_EXIT_OCALL, ADY_HOST_EXIT_LOG, ADY_HOST_EXIT_ABORT, ADY_HOST_EXIT_PLATFORM, ADY_HOST_EXIT_KINDS };
enum { ADY_HOST_VM_IDLE, ADY_HOST_VM_WAKE, ADY_HOST_VM_OTHER, ADY_HOST_VM_EXIT_KINDS };
typedef struct ady_host_count {
	uint64_t ecalls;
	uint64_t exits[ADY_HOST_EXIT_KINDS];
	/* idle: no call within the spin (the vCPU sleeps in the host); wake:
	 * the application sleeps and the host wakes it; other: anything else
	 * that ends a KVM_RUN (a fault, a stop, a signal) */
	uint64_t vm_exits[ADY_HOST_VM_EXIT_KINDS];
} ady_host_count;
_Static_assert(sizeof(ady_host_count) == 64, "one cache line per slot");
#define ADY_HOST_COUNTS_SIZE 8192u
#define ADY_HOST_GUEST_COUNTS 4096u /* page 1: line i at + 64 * i, its ECALLs in the first u64 */
_Static_assert(ADY_MAX_THREADS * sizeof(ady_host_count) <= ADY_HOST_GUEST_COUNTS, "page 0 holds every slot");

/* Page 0 ([slot]) and page 1 of the counters, mapped by ady_host_main
 * before the backend's prepare. */
extern ady_host_count *ady_host_counts;
extern uint8_t *ady_host_guest_counts;

/* One more: a plain store (one writer per line), read by adytond at will. */
static inline void ady_host_count_one(uint64_t *c) { __atomic_store_n(c, *c + 1, __ATOMIC_RELAXED); }

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
