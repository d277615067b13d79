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
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/hostmain.h"
#include "backend/kvm/guest.h"
#include "backend/kvm/host.h"
#include "backend/platform.h"
#include "platform/platform.h"
#include "backend/wire.h"
#include "trts/abi.h"

#define g ady_kvm_g

/* guest.h, which assembly includes, against the C structures. */
_Static_assert(CTL_TURN == offsetof(ady_chan_ctl, turn) && CTL_KIND == offsetof(ady_chan_ctl, kind) &&
		       CTL_RC == offsetof(ady_chan_ctl, rc) &&
		       CTL_WAITING_APP == offsetof(ady_chan_ctl, waiting) + 4 * ADY_TURN_APP &&
		       CTL_INDEX == offsetof(ady_chan_ctl, index) && CTL_STATUS == offsetof(ady_chan_ctl, status) &&
		       CTL_IN_LEN == offsetof(ady_chan_ctl, in_len) && CTL_OUT_CAP == offsetof(ady_chan_ctl, out_cap) &&
		       CTL_OUT_LEN == offsetof(ady_chan_ctl, out_len),
	       "guest.h: ady_chan_ctl");
_Static_assert(TURN_APP == ADY_TURN_APP && TURN_HOST == ADY_TURN_HOST && KIND_ECALL == ADY_KIND_ECALL &&
		       KIND_DONE == ADY_KIND_DONE,
	       "guest.h: doorbell values");
_Static_assert(MS_HEADER == ADY_MSBUF_HEADER && MS_ECALL == ADY_MSBUF_ECALL && MS_REPLY == ADY_MSBUF_REPLY &&
		       ENTER_ECALL == ADY_ENTER_ECALL && ERR_PROTOCOL == ADY_ERR_PROTOCOL,
	       "guest.h: marshalling slot");
_Static_assert(ADY_KVM_MS_GVA - ADY_KVM_CTL_GVA == ADY_CHAN_CTL_SIZE, "the control page precedes the slots");
_Static_assert((int64_t)(ADY_KVM_COUNTS_GVA - ADY_KVM_CTL_GVA) == CTL_TO_COUNTS &&
		       sizeof(ady_chan_ctl) == 64 && ADY_HOST_COUNTS_SIZE - ADY_HOST_GUEST_COUNTS == ADY_KVM_PAGE,
	       "guest.h: the counter page, a 64-byte line per slot as the control page");

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

ady_platform_link ady_kvm_plat = {.daemon_fd = ADY_HOST_FD_DAEMON, .lock = PTHREAD_MUTEX_INITIALIZER, .io = enclave_io};

static uint64_t code_gva(void) { return ADY_KVM_PLAT_GPA + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE; }

/* No more calls: here, and in the guest's serve loop (guest.S), which
 * reads the word from its read-only code page. */
static void mark_dead(void)
{
	uint64_t *word = (uint64_t *)(g.vm.plat + ADY_KVM_CODE_PAGE * ADY_KVM_PAGE +
				      (size_t)((const uint8_t *)&ady_kvm_guest_dead - ady_kvm_guest_start));

	__atomic_store_n(&g.dead, 1, __ATOMIC_RELEASE);
	__atomic_store_n(word, 1, __ATOMIC_RELEASE);
}

static void report_abort(uint32_t slot) { ady_platform_report_abort(&ady_kvm_plat, slot_of(slot), g.plan.msbuf_size); }

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
	uint64_t *exits = ady_host_counts[slot].exits;

	if (ady_platform_op_find(op)) {
		ady_host_count_one(&exits[ADY_HOST_EXIT_PLATFORM]);
		return ady_platform_exit(&ady_kvm_plat, op, arg);
	}
	switch (op) {
	case ADY_MSBUF_ABORT:
		ady_host_count_one(&exits[ADY_HOST_EXIT_ABORT]);
		mark_dead();
		report_abort(slot);
		return app_exit(slot, ADY_MSBUF_ABORT);
	case ADY_MSBUF_OCALL:
	case ADY_MSBUF_LOG:
		ady_host_count_one(&exits[op == ADY_MSBUF_OCALL ? ADY_HOST_EXIT_OCALL : ADY_HOST_EXIT_LOG]);
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

/* Answers the call in progress on c with rc (ADY_KIND_DONE). */
static void post(ady_chan_ctl *c, uint64_t rc)
{
	__atomic_store_n(&c->rc, rc, __ATOMIC_RELAXED);
	__atomic_store_n(&c->kind, ADY_KIND_DONE, __ATOMIC_RELAXED);
	ady_chan_post(c, ADY_TURN_APP);
}

/*
 * Stops the enclave for good: marks it dead and tells adytond the reason
 * (from this process's memory: the slot is the application's to write);
 * when a call is in progress on the slot (the application's turn is over:
 * it waits for us), also puts the reason in the slot as an
 * ADY_MSBUF_ABORT exit, lets the application see it (its abort reason) and
 * answers the call with ADY_ERR_ABORTED.  With no call in progress the
 * slot is the application's (it may be reading the last reply): untouched.
 */
static void stop(uint32_t slot, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stop(uint32_t slot, const char *fmt, ...)
{
	char reason[256];
	ady_msbuf_hdr h = {0};
	va_list ap;
	int n;

	mark_dead();
	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(reason))
		n = sizeof(reason) - 1;
	/* ady_host_pid: getpid() is a system call the filter does not allow. */
	fprintf(stderr, "adyton-kvm-host[%d]: enclave stopped: %s\n", ady_host_pid, reason);
	ady_platform_report_reason(&ady_kvm_plat, reason, (size_t)n);
	if (__atomic_load_n(&ctl_of(slot)->turn, __ATOMIC_ACQUIRE) != ADY_TURN_HOST)
		return;
	memcpy(slot_of(slot) + ADY_MSBUF_HEADER, reason, (size_t)n);
	h.op = ADY_MSBUF_ABORT;
	h.in_len = (uint64_t)n;
	ady_msbuf_encode(slot_of(slot), &h);
	(void)app_exit(slot, ADY_MSBUF_ABORT);
	post(ctl_of(slot), ADY_ERR_ABORTED);
}

/* The slot's vCPU in the serve loop (guest.h) until the enclave stops;
 * every exit of the loop and of the enclave is served here. */
static void run_loop(uint32_t slot)
{
	int fd = g.vm.vcpu_fd[slot];
	struct kvm_run *run = g.vm.run[slot];
	ady_chan_ctl *c = ctl_of(slot);
	uint64_t *vm_exits = ady_host_counts[slot].vm_exits;
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = code_gva() + (uint64_t)(ady_kvm_guest_serve - ady_kvm_guest_start);
	r.rsp = ady_kvm_scratch_top(&g.plan, slot);
	r.r12 = ADY_KVM_CTL_GVA + (uint64_t)slot * sizeof(ady_chan_ctl);
	r.r13 = ADY_KVM_MS_GVA + (uint64_t)slot * g.plan.msbuf_size;
	r.r14 = ADY_KVM_ENCLAVE_GVA + g.tcs[slot];
	r.r15 = g.entry[slot];
	r.rbp = g.plan.msbuf_size - ADY_MSBUF_HEADER;
	r.rbx = g.spin_ticks;
	r.rflags = 0x2;
	if (ioctl(fd, KVM_SET_REGS, &r)) {
		stop(slot, "KVM_SET_REGS: %s", strerrordesc_np(errno));
		return;
	}
	/* Each return of KVM_RUN is one VM exit: the enclave's own exits are
	 * counted by kind (serve_exit), the others here. */
	for (;;) {
		if (ioctl(fd, KVM_RUN, 0)) {
			ady_host_count_one(&vm_exits[ADY_HOST_VM_OTHER]);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			stop(slot, "KVM_RUN: %s", strerrordesc_np(errno));
			return;
		}
		if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
		    run->io.count != 1 || (run->io.port != KVM_PORT_IDLE && run->io.port != KVM_PORT_WAKE && run->io.port != KVM_PORT_EXIT))
			ady_host_count_one(&vm_exits[ADY_HOST_VM_OTHER]);
		switch (run->exit_reason) {
		case KVM_EXIT_IO:
			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 || run->io.count != 1) {
				stop(slot, "port I/O to 0x%x", run->io.port);
				return;
			}
			switch (run->io.port) {
			case KVM_PORT_IDLE:
				ady_host_count_one(&vm_exits[ADY_HOST_VM_IDLE]);
				if (__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE))
					return;
				/* No liveness callback: if the application dies, adytond kills us. */
				if (ady_chan_wait(c, ADY_TURN_HOST, g.host_spin_ns, NULL, NULL) != ADY_OK)
					_exit(0);
				continue;
			case KVM_PORT_WAKE:
				ady_host_count_one(&vm_exits[ADY_HOST_VM_WAKE]);
				ady_chan_wake(c);
				continue;
			case KVM_PORT_EXIT:
				if (ioctl(fd, KVM_GET_REGS, &r)) {
					stop(slot, "KVM_GET_REGS: %s", strerrordesc_np(errno));
					return;
				}
				if (__atomic_load_n(&g.dead, __ATOMIC_ACQUIRE)) {
					/* another thread's call stopped the enclave:
					 * a VM exit, not one the enclave is served */
					ady_host_count_one(&vm_exits[ADY_HOST_VM_OTHER]);
					post(c, ADY_ERR_ABORTED);
					return;
				}
				r.rax = serve_exit(slot, r.rsi, r.rdx);
				if (ioctl(fd, KVM_SET_REGS, &r)) {
					stop(slot, "KVM_SET_REGS: %s", strerrordesc_np(errno));
					return;
				}
				continue;
			case KVM_PORT_FAULT:
				if (ioctl(fd, KVM_GET_REGS, &r)) {
					stop(slot, "KVM_GET_REGS: %s", strerrordesc_np(errno));
					return;
				}
				stop(slot, "vector %llu (%s) at RIP 0x%llx, address 0x%llx, error code 0x%llx",
				     (unsigned long long)r.rsi, vector_name(r.rsi), (unsigned long long)r.rcx,
				     (unsigned long long)r.r8, (unsigned long long)r.rdx);
				return;
			default:
				stop(slot, "port I/O to 0x%x", run->io.port);
				return;
			}
		case KVM_EXIT_MMIO:
			stop(slot, "%s guest-physical 0x%llx, outside its memory or read-only, at RIP 0x%llx",
			     run->mmio.is_write ? "write to" : "read from", (unsigned long long)run->mmio.phys_addr,
			     rip(fd));
			return;
		case KVM_EXIT_HLT:
			stop(slot, "halted at RIP 0x%llx", rip(fd));
			return;
		case KVM_EXIT_SHUTDOWN:
			stop(slot, "triple fault at RIP 0x%llx", rip(fd));
			return;
		case KVM_EXIT_FAIL_ENTRY:
			stop(slot, "VM entry failed (reason 0x%llx)",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			return;
		case KVM_EXIT_INTERNAL_ERROR:
			stop(slot, "KVM internal error %u (%s) at RIP 0x%llx", run->internal.suberror,
			     internal_error_name(run->internal.suberror), rip(fd));
			return;
		default:
			stop(slot, "vCPU exit %u", run->exit_reason);
			return;
		}
	}
}

/* see host.h */
void *ady_kvm_serve(void *arg)
{
	uint32_t slot = (uint32_t)(uintptr_t)arg;
	ady_chan_ctl *c = ctl_of(slot);

	run_loop(slot);
	/* The enclave has stopped: every later call answers ADY_ERR_ABORTED. */
	for (;;) {
		if (ady_chan_wait(c, ADY_TURN_HOST, ADY_CHAN_SPIN_IDLE, NULL, NULL) != ADY_OK)
			_exit(0);
		post(c, __atomic_load_n(&c->kind, __ATOMIC_ACQUIRE) == ADY_KIND_ECALL ? ADY_ERR_ABORTED
										      : ADY_ERR_PROTOCOL);
	}
	return NULL;
}
