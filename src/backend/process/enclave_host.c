/*
 * adyton-enclave-host: the process an enclave runs in on the process
 * backend.  adytond starts it as backend/hostmain.h says, and its start
 * is that skeleton's.  It loads and measures every page itself, verifies the SIGSTRUCT, maps the
 * enclave into memfd_secret memory (not in the kernel's direct map, not
 * readable through /proc/PID/mem or ptrace), makes itself undumpable, keeps
 * no descriptor but the daemon socket and stderr, installs a seccomp
 * allowlist, reports the identity it measured, and only then serves calls.
 *
 * Threads: one per thread slot, each waiting on its slot's doorbell.  The
 * enclave's platform exits (keys, reports, seed) go to adytond, which
 * answers from the identity it recorded at launch; the enclave's other
 * exits (OCALL, log, abort) go to the application through the channel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "adyton/image.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/hostmain.h"
#include "backend/map.h"
#include "backend/platform.h"
#include "platform/platform.h"

typedef uint64_t (*entry_fn)(uint64_t tcs, uint64_t op, uint64_t ms, uint64_t exit_fn);

static struct {
	uint8_t *base;
	uint64_t size;
	uint8_t *chan;
	uint64_t chan_size;
	uint64_t msbuf_size;
	uint32_t threads;
	uint64_t tcs[64];
	ady_layout layout;     /* the measured layout: where platform exits' io structs may lie */
} h;

static __thread uint32_t cur_slot;

static ady_chan_ctl *ctl_of(uint32_t slot) { return (ady_chan_ctl *)h.chan + slot; }
static uint8_t *slot_of(uint32_t slot) { return h.chan + ADY_CHAN_CTL_SIZE + (uint64_t)slot * h.msbuf_size; }

/* A platform exit's io struct: only in the enclave's writable pages,
 * never its TCS or code (on this backend the enclave's pages are one flat
 * mapping of the enclave's own memory). */
static void *enclave_io(uint64_t p, uint64_t n)
{
	uint64_t base = (uint64_t)(uintptr_t)h.base;

	return p >= base && ady_layout_writable(&h.layout, p - base, n) ? (void *)(uintptr_t)p : NULL;
}

static ady_platform_link plat = {.daemon_fd = ADY_HOST_FD_DAEMON, .lock = PTHREAD_MUTEX_INITIALIZER, .io = enclave_io};

static uint64_t host_exit(uint64_t op, uint64_t arg)
{
	ady_chan_ctl *c = ctl_of(cur_slot);
	uint32_t kind;

	ady_host_count *n = &ady_host_counts[cur_slot];

	if (ady_platform_op_find(op)) {
		ady_host_count_one(&n->exits[ADY_HOST_EXIT_PLATFORM]);
		return ady_platform_exit(&plat, op, arg);
	}
	switch (op) {
	case ADY_MSBUF_ABORT:
		ady_host_count_one(&n->exits[ADY_HOST_EXIT_ABORT]);
		ady_platform_report_abort(&plat, slot_of(cur_slot), h.msbuf_size);
		/* the application hears of it too */
		__attribute__((fallthrough));
	case ADY_MSBUF_OCALL:
	case ADY_MSBUF_LOG:
		if (op != ADY_MSBUF_ABORT)
			ady_host_count_one(&n->exits[op == ADY_MSBUF_OCALL ? ADY_HOST_EXIT_OCALL : ADY_HOST_EXIT_LOG]);
		__atomic_store_n(&c->kind, ADY_KIND_EXIT, __ATOMIC_RELAXED);
		__atomic_store_n(&c->op, (uint32_t)op, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_APP);
		/* No liveness callback: if the application dies, adytond kills us. */
		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_ANSWER, NULL, NULL) != ADY_OK)
			return ADY_ERR_ENCLAVE_LOST;
		kind = __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE);
		if (kind != ADY_KIND_RESUME)
			return ADY_ERR_PROTOCOL;
		return (uint32_t)__atomic_load_n(&c->rc, __ATOMIC_RELAXED);
	default:
		return ADY_ERR_PROTOCOL;
	}
}

/* Serves one thread slot forever. */
static void *serve(void *arg)
{
	uint32_t slot = (uint32_t)(uintptr_t)arg;
	ady_chan_ctl *c = ctl_of(slot);
	const ady_sgx_tcs *tcs = (const ady_sgx_tcs *)(h.base + h.tcs[slot]);
	entry_fn entry = (entry_fn)(uintptr_t)(h.base + tcs->oentry);

	cur_slot = slot;
	for (;;) {
		uint64_t rc;

		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_IDLE, NULL, NULL) != ADY_OK)
			_exit(0);
		if (__atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) != ADY_KIND_ECALL ||
		    ady_chan_take_request(c, slot_of(slot), h.msbuf_size) != ADY_OK) {
			rc = ADY_ERR_PROTOCOL;
		} else {
			ady_host_count_one(&ady_host_counts[slot].ecalls);
			rc = entry((uint64_t)(uintptr_t)tcs, ADY_ENTER_ECALL, (uint64_t)(uintptr_t)slot_of(slot),
				   (uint64_t)(uintptr_t)host_exit);
			rc = ady_chan_put_reply(c, slot_of(slot), h.msbuf_size, rc);
		}
		__atomic_store_n(&c->rc, rc, __ATOMIC_RELAXED);
		__atomic_store_n(&c->kind, ADY_KIND_DONE, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_APP);
	}
	return NULL;
}

/* The enclave's memory: memfd_secret when the kernel has it, else locked,
 * undumpable anonymous memory (weaker: root can read it). */
static void map_enclave(const ady_image *img, bool *weak)
{
	uint64_t used = ady_map_used(&img->layout);
	int fd;

	h.size = img->layout.size;
	h.base = mmap(NULL, h.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h.base == MAP_FAILED)
		ady_host_die("reserve enclave range", ADY_ERR_NOMEM);
	fd = (int)syscall(SYS_memfd_secret, O_CLOEXEC);
	if (fd >= 0 && ftruncate(fd, (off_t)used) == 0 &&
	    mmap(h.base, used, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED) {
		close(fd);
		/* Secret memory cannot be executable (its mount is noexec), and
		 * code is public anyway (it is in the image file): executable
		 * pages get ordinary memory, everything else stays secret. */
		for (uint32_t i = 0; i < img->layout.nregions; i++) {
			const ady_region *r = &img->layout.region[i];
			if ((r->secinfo & ADY_SECINFO_X) &&
			    mmap(h.base + r->offset, r->size, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
				ady_host_die("map enclave code", ADY_ERR_NOMEM);
		}
		return;
	}
	if (fd >= 0)
		close(fd);
	*weak = true;
	if (mmap(h.base, used, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		ady_host_die("map enclave memory", ADY_ERR_NOMEM);
	madvise(h.base, used, MADV_DONTDUMP);
	if (mlock(h.base, used))
		fprintf(stderr, "adyton-enclave-host[%d]: mlock: %s (enclave pages may be swapped)\n", ady_host_pid,
			strerror(errno));
}

/* see hostmain.h: the enclave in memfd_secret memory (map_enclave),
 * loaded, its page rights set. */
static ady_err load(const ady_image *img, bool *weak)
{
	ady_err err;

	map_enclave(img, weak);
	err = ady_image_fill(img, h.base, h.size);
	if (!err)
		err = ady_map_protect(h.base, &img->layout);
	if (err)
		return err;
	h.layout = img->layout;
	h.threads = img->layout.threads;
	h.msbuf_size = img->layout.msbuf_size;
	for (uint32_t i = 0; i < h.threads; i++)
		h.tcs[i] = img->layout.thread[i].tcs;
	return ADY_OK;
}

static ady_err prepare(uint8_t *chan, uint64_t chan_size)
{
	h.chan = chan;
	h.chan_size = chan_size;
	return ADY_OK;
}

int main(int argc, char **argv)
{
	static const ady_host_backend backend = {
		.name = "adyton-enclave-host", .load = load, .prepare = prepare, .serve = serve};

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "adyton-enclave-host is started by adytond, not by hand\n");
		return 2;
	}
	ady_host_main(&backend, &plat);
}
