/*
 * adyton-kvm-host: the process an enclave runs in on the kvm backend.
 * adytond starts it exactly like adyton-enclave-host (backend/hostmain.h,
 * whose skeleton it runs).  It loads and measures every page itself (the same code as the process
 * host: the same MRENCLAVE), builds one VM whose guest-physical memory is
 * the enclave's pages, the marshalling slots and a small platform area
 * (kvm.h), makes itself undumpable, keeps only the daemon socket, stderr
 * and the vCPUs, installs a seccomp allowlist, reports the identity it
 * measured, and serves calls: one thread and one vCPU per thread slot,
 * which waits for its slot's next call in guest mode (switchless, the
 * default; --spin-us=N: for N microseconds, 0 = ADY_CHAN_SPIN_IDLE) or
 * leaves the VM after every call (--exit-per-call; its host thread then
 * spins that long before it sleeps).  adytond passes what
 * the application asked for (ady_enclave_opts: spin_us,
 * ADY_OPEN_EXIT_PER_CALL).
 *
 * Guest memory is ordinary (mlocked, MADV_DONTDUMP) memory: KVM cannot map
 * memfd_secret pages into a guest (they are not in the kernel's direct map
 * and get_user_pages refuses them), so the launch is flagged
 * ADY_LAUNCH_WEAK_MEMORY: root can read the enclave through this process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "adyton/image.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/hostmain.h"
#include "backend/kvm/host.h"
#include "backend/sandbox.h"

ady_kvm_host ady_kvm_g;
#define g ady_kvm_g

#define die ady_host_die

/* The enclave's guest memory: the whole power-of-two range reserved (the
 * loader writes nothing past the added pages), the added pages backed. */
static void map_enclave(const ady_image *img)
{
	uint8_t *base = mmap(NULL, img->layout.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (base == MAP_FAILED)
		die("reserve enclave range", ADY_ERR_NOMEM);
	if (mmap(base, g.plan.enclave_used, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		die("map enclave memory", ADY_ERR_NOMEM);
	madvise(base, g.plan.enclave_used, MADV_DONTDUMP);
	if (mlock(base, g.plan.enclave_used))
		fprintf(stderr, "adyton-kvm-host[%d]: mlock: %s (enclave pages may be swapped)\n", ady_host_pid,
			strerror(errno));
	g.enclave = base;
}

/* What the host takes from the measured layout: entry points and thread
 * data (FS base, stack guard); platform exits check their io structs
 * against the plan's copy of the layout (ady_layout_writable). */
static void take_layout(const ady_layout *l, uint64_t fs_base[static ADY_MAX_THREADS])
{
	for (uint32_t i = 0; i < l->threads; i++) {
		const ady_sgx_tcs *tcs = (const ady_sgx_tcs *)(g.enclave + l->thread[i].tcs);
		uint64_t guard;

		g.tcs[i] = l->thread[i].tcs;
		if (tcs->oentry >= l->size || tcs->ofsbase != l->thread[i].td)
			die("TCS", ADY_ERR_LAYOUT);
		g.entry[i] = ADY_KVM_ENCLAVE_GVA + tcs->oentry;
		fs_base[i] = ADY_KVM_ENCLAVE_GVA + l->thread[i].td;
		/* %fs:0x28, the stack protector's canary: random per thread, as
		 * glibc gives the process host's threads. */
		if (getrandom(&guard, sizeof(guard), 0) != (ssize_t)sizeof(guard))
			die("getrandom", ADY_ERR_IO);
		((ady_thread_data *)(g.enclave + l->thread[i].td))->stack_guard = guard;
	}
}

/* What the run loop needs, and nothing else: the common allowlist
 * (backend/sandbox.h) and its own vCPUs' run and register ioctls. */
static int seccomp_rules(scmp_filter_ctx ctx)
{
	static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_SET_REGS};
	int rc = 0;

	for (uint32_t i = 0; i < g.plan.threads; i++)
		for (size_t k = 0; k < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); k++)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
					       ady_sandbox_eq(0, (uint64_t)g.vm.vcpu_fd[i]),
					       ady_sandbox_eq32(1, vcpu_ioctls[k]));
	return rc;
}

/* ADY_HOST_OPT_EXIT_PER_CALL, or ADY_HOST_OPT_SPIN N (0: the default; at
 * most ADY_LAUNCH_MAX_SPIN_US). */
static bool host_option(const char *arg, bool *exit_per_call, long *spin_ns)
{
	const char *p = arg + strlen(ADY_HOST_OPT_SPIN);
	unsigned long us = 0;

	if (strcmp(arg, ADY_HOST_OPT_EXIT_PER_CALL) == 0) {
		*exit_per_call = true;
		return true;
	}
	if (strncmp(arg, ADY_HOST_OPT_SPIN, strlen(ADY_HOST_OPT_SPIN)) != 0 || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		us = us * 10 + (unsigned long)(*p - '0');
		if (us > ADY_LAUNCH_MAX_SPIN_US)
			return false;
	}
	if (*p)
		return false;
	if (us)
		*spin_ns = (long)us * 1000;
	return true;
}

static bool exit_per_call;
static long spin_ns = ADY_CHAN_SPIN_IDLE;
static uint64_t fs_base[ADY_MAX_THREADS];

/* see backend/hostmain.h: the guest memory plan, the enclave in ordinary
 * locked memory (KVM cannot map memfd_secret pages into a guest: they are
 * not in the kernel's direct map and get_user_pages refuses them), the
 * thread data. */
static ady_err load(const ady_image *img, bool *weak)
{
	ady_err err = ady_kvm_plan_build(&img->layout, ady_kvm_phys_bits(), &g.plan);

	if (err)
		return err;
	map_enclave(img);
	err = ady_image_fill(img, g.enclave, img->layout.size);
	if (err)
		return err;
	take_layout(&img->layout, fs_base);
	*weak = true;
	return ADY_OK;
}

/* The VM: over the channel (its control page and slots) and the enclave. */
static ady_err prepare(uint8_t *chan, uint64_t chan_size)
{
	ady_err err;

	(void)chan_size; /* the plan has it: ms_size */
	g.chan = chan;
	err = ady_kvm_vm_new(&g.vm, &g.plan, g.chan, ady_host_guest_counts, g.enclave, fs_base);
	if (err) {
		fprintf(stderr, "adyton-kvm-host[%d]: %s\n", ady_host_pid, g.vm.why);
		return err;
	}
	if (!g.vm.ro_slot)
		fprintf(stderr, "adyton-kvm-host[%d]: no KVM_CAP_READONLY_MEM: enclave code could rewrite its GDT and IDT\n",
			ady_host_pid);
	/* Switchless: the vCPU waits in guest mode as long as asked.  Without
	 * the TSC rate it cannot say how long: no spin. */
	if (exit_per_call || g.vm.tsc_khz == 0) {
		g.spin_ticks = 0;
		g.host_spin_ns = spin_ns;
	} else {
		g.spin_ticks = (uint64_t)g.vm.tsc_khz * (uint64_t)spin_ns / 1000000u;
		g.host_spin_ns = 0;
	}
	close(g.vm.kvm_fd); /* no more system-wide KVM requests */
	g.vm.kvm_fd = -1;
	return ADY_OK;
}

int main(int argc, char **argv)
{
	static const ady_host_backend backend = {.name = "adyton-kvm-host",
						 .load = load,
						 .prepare = prepare,
						 .seccomp_rules = seccomp_rules,
						 .serve = ady_kvm_serve};

	/* --probe: can this machine's KVM run enclave guests?  (the kvm test
	 * suites ask, tests/integration/need_kvm.sh) */
	if (argc == 2 && strcmp(argv[1], "--probe") == 0) {
		char why[256];
		if (ady_kvm_probe(why, sizeof(why)) != ADY_OK) {
			fprintf(stderr, "%s\n", why);
			return 1;
		}
		printf("kvm: usable\n");
		return 0;
	}
	if (argc > 3 || (argc >= 2 && !host_option(argv[1], &exit_per_call, &spin_ns)) ||
	    (argc == 3 && !host_option(argv[2], &exit_per_call, &spin_ns))) {
		fprintf(stderr, "adyton-kvm-host is started by adytond, not by hand (or: adyton-kvm-host --probe)\n");
		return 2;
	}
	ady_host_main(&backend, &ady_kvm_plat);
}
