/*
 * The run loop of adyton-kvm-host: one thread per thread slot waits on its
 * doorbell, runs the ECALL on its vCPU and serves the guest's exits:
 *
 *   port KVM_PORT_EXIT    ady_trts_exit: platform exits (keys, reports,
 *                         seed, quotes) go to adytond (backend/platform.h), OCALL/log/abort to the
 *                         application through the channel; result in rax
 *   port KVM_PORT_RETURN  the ECALL returned, status in rax
 *   port KVM_PORT_FAULT   an exception stub: the enclave is stopped
 *
 * Anything else the guest does that exits (other ports, HLT, a triple
 * fault, an access to guest-physical memory it does not have, a write to
 * the read-only platform pages) stops the enclave too.  A stopped enclave
 * is dead for good: every later ECALL answers ADY_ERR_ABORTED, the
 * application gets the reason as the abort reason, adytond logs it, and
 * this process stays up.  Registers read from the guest are untrusted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/kvm/host.h"
#include "backend/platform.h"
#include "backend/wire.h"
#include "trts/abi.h"

#define g ady_kvm_g

static ady_chan_ctl *ctl_of(uint32_t slot) { return (ady_chan_ctl *)g.chan + slot; }
static uint8_t *slot_of(uint32_t slot) { return g.chan + ADY_CHAN_CTL_SIZE + (uint64_t)slot * g.plan.msbuf_size; }

/*
 * The host view of an io struct at guest address gva: it must lie in pages
 * the enclave itself may write (its measured W pages), never in the slots
 * the application reads, the platform pages or a TCS.
 */
static void *enclave_io(uint64_t gva, uint64_t len)
{
	uint64_t off = gva - ADY_KVM_ENCLAVE_GVA;

	/* writable pages are added pages: below enclave_used, all backed */
	return gva >= ADY_KVM_ENCLAVE_GVA && ady_layout_writable(&g.plan.layout, off, len) ? g.enclave + off : NULL;
}

static ady_platform_link plat = {.daemon_fd = ADY_KVM_FD_DAEMON, .lock = PTHREAD_MUTEX_INITIALIZER, .io = enclave_io};

static void report_abort(uint32_t slot) { ady_platform_report_abort(&plat, slot_of(slot), g.plan.msbuf_size); }

/* Hands exit op (OCALL, LOG, ABORT; the request is in the slot) to the
 * application and waits for its answer. */
static uint64_t app_exit(uint32_t slot, uint32_t op)
{
	ady_chan_ctl *c = ctl_of(slot);

	__atomic_store_n(&c->kind, ADY_KIND_EXIT, __ATOMIC_RELAXED);
	__atomic_store_n(&c->op, op, __ATOMIC_RELAXED);
	ady_chan_post(c, ADY_TURN_APP);
	/* No liveness callback: if the application dies, adytond kills us. */
	if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_ANSWER, NULL, NULL) != ADY_OK)
		return ADY_ERR_ENCLAVE_LOST;
	if (__atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) != ADY_KIND_RESUME)
		return ADY_ERR_PROTOCOL;
	return (uint32_t)__atomic_load_n(&c->rc, __ATOMIC_RELAXED);
}

static uint64_t serve_exit(uint32_t slot, uint64_t op, uint64_t arg)
{
	switch (op) {
	case ADY_EXIT_GETKEY:
	case ADY_EXIT_REPORT:
	case ADY_EXIT_SEED:
	case ADY_EXIT_QUOTE:
		return ady_platform_exit(&plat, op, arg);
	case ADY_MS_ABORT:
		__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
		report_abort(slot);
		return app_exit(slot, ADY_MS_ABORT);
	case ADY_MS_OCALL:
	case ADY_MS_LOG:
		return app_exit(slot, (uint32_t)op);
	default:
		return ADY_ERR_PROTOCOL;
	}
}

static const char *vector_name(uint64_t v)
{
	static const char *const names[ADY_KVM_VECTORS] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "", "#TS", "#NP", "#SS", "#GP", "#PF",
		"", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

	return v < ADY_KVM_VECTORS && names[v] && names[v][0] ? names[v] : "?";
}

/* The guest's RIP for a stop reason (0 when KVM will not say). */
static unsigned long long rip(int fd)
{
	struct kvm_regs r;

	return ioctl(fd, KVM_GET_REGS, &r) ? 0 : (unsigned long long)r.rip;
}

/* linux/kvm.h KVM_INTERNAL_ERROR_*. */
static const char *internal_error_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	default:
		return "unknown";
	}
}

/*
 * Stops the enclave for good: marks it dead, puts the reason in the slot
 * as an ADY_MS_ABORT exit (so the application's abort reason says what
 * happened), tells adytond, and lets the application see it.
 */
static uint64_t stop(uint32_t slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static uint64_t stop(uint32_t slot, const char *fmt, ...)
{
	char reason[256];
	ady_ms_hdr h = {0};
	va_list ap;
	int n;

	__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(reason))
		n = sizeof(reason) - 1;
	/* g.pid: getpid() is a system call the filter does not allow. */
	fprintf(stderr, "adyton-kvm-host[%d]: enclave stopped: %s\n", (int)g.pid, reason);
	memcpy(slot_of(slot) + ADY_MS_HEADER, reason, (size_t)n);
	h.op = ADY_MS_ABORT;
	h.in_len = (uint64_t)n;
	ady_ms_encode(slot_of(slot), &h);
	report_abort(slot);
	(void)app_exit(slot, ADY_MS_ABORT);
	return ADY_ERR_ABORTED;
}

/* Runs one ECALL on the slot's vCPU until it returns or the enclave stops. */
static uint64_t run_ecall(uint32_t slot)
{
	int fd = g.vm.vcpu_fd[slot];
	struct kvm_run *run = g.vm.run[slot];
	uint64_t sp = ady_kvm_scratch_top(&g.plan, slot) - 8, ret;
	struct kvm_regs r;

	if (__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE))
		return ADY_ERR_ABORTED;
	/* ady_enclave_entry(tcs, ADY_ENTER_ECALL, slot, 0) on the scratch
	 * stack, returning into the trampoline.  The rest of the guest state
	 * stays as the enclave left it: it is the enclave's own. */
	ret = ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE +
	      (uint64_t)(ady_kvm_guest_return - ady_kvm_guest_start);
	memcpy(g.vm.rw + (sp - g.plan.rw_gpa), &ret, 8);
	memset(&r, 0, sizeof(r));
	r.rip = g.entry[slot];
	r.rdi = ADY_KVM_ENCLAVE_GVA + g.tcs[slot];
	r.rsi = ADY_ENTER_ECALL;
	r.rdx = ADY_KVM_MS_GVA + (uint64_t)slot * g.plan.msbuf_size;
	r.rcx = 0;
	r.rsp = sp;
	r.rflags = 0x2;
	if (ioctl(fd, KVM_SET_REGS, &r))
		return stop(slot, "KVM_SET_REGS: %s", strerrordesc_np(errno));
	for (;;) {
		if (ioctl(fd, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return stop(slot, "KVM_RUN: %s", strerrordesc_np(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 || run->io.count != 1)
				return stop(slot, "port I/O to 0x%x", run->io.port);
			if (ioctl(fd, KVM_GET_REGS, &r))
				return stop(slot, "KVM_GET_REGS: %s", strerrordesc_np(errno));
			switch (run->io.port) {
			case KVM_PORT_RETURN:
				return (uint32_t)r.rax;
			case KVM_PORT_FAULT:
				return stop(slot, "vector %llu (%s) at RIP 0x%llx, address 0x%llx, error code 0x%llx",
					    (unsigned long long)r.rsi, vector_name(r.rsi), (unsigned long long)r.rcx,
					    (unsigned long long)r.r8, (unsigned long long)r.rdx);
			case KVM_PORT_EXIT:
				if (__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE))
					return ADY_ERR_ABORTED;
				r.rax = serve_exit(slot, r.rsi, r.rdx);
				if (ioctl(fd, KVM_SET_REGS, &r))
					return stop(slot, "KVM_SET_REGS: %s", strerrordesc_np(errno));
				continue;
			default:
				return stop(slot, "port I/O to 0x%x", run->io.port);
			}
		case KVM_EXIT_MMIO:
			return stop(slot, "%s guest-physical 0x%llx, outside its memory or read-only, at RIP 0x%llx",
				    run->mmio.is_write ? "write to" : "read from", (unsigned long long)run->mmio.phys_addr,
				    rip(fd));
		case KVM_EXIT_HLT:
			return stop(slot, "halted at RIP 0x%llx", rip(fd));
		case KVM_EXIT_SHUTDOWN:
			return stop(slot, "triple fault at RIP 0x%llx", rip(fd));
		case KVM_EXIT_FAIL_ENTRY:
			return stop(slot, "VM entry failed (reason 0x%llx)",
				    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTERNAL_ERROR:
			return stop(slot, "KVM internal error %u (%s) at RIP 0x%llx", run->internal.suberror,
				    internal_error_name(run->internal.suberror), rip(fd));
		default:
			return stop(slot, "vCPU exit %u", run->exit_reason);
		}
	}
}

/* see host.h */
void *ady_kvm_serve(void *arg)
{
	uint32_t slot = (uint32_t)(uintptr_t)arg;
	ady_chan_ctl *c = ctl_of(slot);

	for (;;) {
		uint64_t rc;

		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_IDLE, NULL, NULL) != ADY_OK)
			_exit(0);
		if (__atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) != ADY_KIND_ECALL ||
		    ady_chan_take_request(c, slot_of(slot), g.plan.msbuf_size) != ADY_OK)
			rc = ADY_ERR_PROTOCOL;
		else
			rc = ady_chan_put_reply(c, slot_of(slot), g.plan.msbuf_size, run_ecall(slot));
		__atomic_store_n(&c->rc, rc, __ATOMIC_RELAXED);
		__atomic_store_n(&c->kind, ADY_KIND_DONE, __ATOMIC_RELAXED);
		ady_chan_post(c, ADY_TURN_APP);
	}
	return NULL;
}
