/*
 * adyton-kvm-host: the process an enclave runs in on the kvm backend.
 * adytond starts it exactly like adyton-enclave-host, with
 *   fd 3: the signed image (read-only)
 *   fd 4: the channel memfd shared with the application (sealed size)
 *   fd 5: a private SOCK_SEQPACKET socket to adytond
 * It loads and measures every page itself (the same code as the process
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
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adyton/image.h"
#include "adyton/msbuf.h"
#include "adyton/proto.h"
#include "adyton/sgx.h"
#include "backend/channel.h"
#include "backend/kvm/host.h"
#include "backend/sandbox.h"
#include "backend/wire.h"

#define FD_IMAGE 3
#define FD_CHANNEL 4
#define FD_DAEMON_IN 5

ady_kvm_host ady_kvm_g;
#define g ady_kvm_g

static void die(const char *what, ady_err err)
{
	fprintf(stderr, "adyton-kvm-host[%d]: %s: %s\n", (int)g.pid, what, ady_strerror(err));
	_exit(1);
}

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
		fprintf(stderr, "adyton-kvm-host[%d]: mlock: %s (enclave pages may be swapped)\n", (int)g.pid,
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
static void install_seccomp(void)
{
	static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_SET_REGS};
	scmp_filter_ctx ctx = ady_sandbox_filter(ADY_KVM_FD_DAEMON);
	int rc = 0;

	if (!ctx)
		die("seccomp", ADY_ERR_NOMEM);
	for (uint32_t i = 0; i < g.plan.threads; i++)
		for (size_t k = 0; k < sizeof(vcpu_ioctls) / sizeof(vcpu_ioctls[0]); k++)
			rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
					       ady_sandbox_eq(0, (uint64_t)g.vm.vcpu_fd[i]),
					       ady_sandbox_eq32(1, vcpu_ioctls[k]));
	if (ady_sandbox_load(ctx, rc))
		die("seccomp", ADY_ERR_PERMISSION);
}

/* --exit-per-call, or --spin-us=N (0: the default; at most
 * ADY_LAUNCH_MAX_SPIN_US). */
static bool host_option(const char *arg, bool *exit_per_call, long *spin_ns)
{
	const char *p = arg + strlen("--spin-us=");
	unsigned long us = 0;

	if (strcmp(arg, "--exit-per-call") == 0) {
		*exit_per_call = true;
		return true;
	}
	if (strncmp(arg, "--spin-us=", strlen("--spin-us=")) != 0 || *p < '0' || *p > '9')
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

static pthread_barrier_t started;

/* seccomp goes on only once every thread has finished starting (glibc
 * registers rseq and the robust list in the new thread). */
static void *thread_main(void *arg)
{
	pthread_barrier_wait(&started);
	return ady_kvm_serve(arg);
}

int main(int argc, char **argv)
{
	ady_msg_host_ready ready = {0};
	uint64_t fs_base[ADY_MAX_THREADS] = {0};
	uint8_t buf[256];
	ady_image *img = NULL;
	uint8_t *file;
	size_t len;
	struct stat st;
	ady_msg_status st_msg;
	ady_msg_hdr hd;
	ady_err err;
	bool exit_per_call = false;
	long spin_ns = ADY_CHAN_SPIN_IDLE;
	int null;

	g.pid = getpid();
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
	if (prctl(PR_SET_DUMPABLE, 0) || prctl(PR_SET_PDEATHSIG, SIGKILL))
		die("prctl", ADY_ERR_PERMISSION);
	if (getppid() == 1)
		_exit(1);
	if (ady_sandbox_start("adyton-kvm-host"))
		die("started dumpable or traced", ADY_ERR_PERMISSION);

	err = ady_fd_read(FD_IMAGE, ADY_IMAGE_MAX_FILE, &file, &len);
	if (err)
		die("image", err);
	err = ady_image_new(file, len, &img);
	free(file);
	if (err)
		die("load image", err);
	err = ady_kvm_plan_build(&img->layout, ady_kvm_phys_bits(), &g.plan);
	if (err)
		die("guest memory plan", err);
	map_enclave(img);
	err = ady_image_fill(img, g.enclave, img->layout.size);
	if (err)
		die("load enclave", err);
	take_layout(&img->layout, fs_base);
	memcpy(ready.mrenclave, img->mrenclave, 32);
	memcpy(ready.mrsigner, img->mrsigner, 32);
	ready.status = ADY_OK;
	ady_image_free(img);

	/* The channel: exactly the size the daemon made and sealed. */
	g.chan_size = ady_chan_size(g.plan.threads, g.plan.msbuf_size);
	if (fstat(FD_CHANNEL, &st) || (uint64_t)st.st_size != g.chan_size ||
	    (fcntl(FD_CHANNEL, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		die("channel", ADY_ERR_PROTOCOL);
	g.chan = mmap(NULL, g.chan_size, PROT_READ | PROT_WRITE, MAP_SHARED, FD_CHANNEL, 0);
	if (g.chan == MAP_FAILED)
		die("map channel", ADY_ERR_NOMEM);

	/* Keep only the daemon socket (as fd 3) and stderr; the KVM
	 * descriptors opened below are the only others. */
	if (dup2(FD_DAEMON_IN, ADY_KVM_FD_DAEMON) != ADY_KVM_FD_DAEMON)
		die("dup2", ADY_ERR_IO);
	if (close_range(ADY_KVM_FD_DAEMON + 1, ~0u, 0))
		die("close_range", ADY_ERR_IO);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) != 0 || dup2(null, 1) != 1)
		die("/dev/null", ADY_ERR_IO);
	if (null > 2)
		close(null);

	err = ady_kvm_vm_new(&g.vm, &g.plan, g.chan, g.enclave, fs_base);
	if (err) {
		fprintf(stderr, "adyton-kvm-host[%d]: %s\n", (int)g.pid, g.vm.why);
		die("create VM", err);
	}
	if (!g.vm.ro_slot)
		fprintf(stderr, "adyton-kvm-host[%d]: no KVM_CAP_READONLY_MEM: enclave code could rewrite its GDT and IDT\n",
			(int)g.pid);
	/* Switchless: as long as the process host's thread spins, in guest
	 * mode.  Without the TSC rate it cannot say how long: no spin. */
	if (exit_per_call || g.vm.tsc_khz == 0) {
		g.spin_ticks = 0;
		g.host_spin_ns = spin_ns;
	} else {
		g.spin_ticks = (uint64_t)g.vm.tsc_khz * (uint64_t)spin_ns / 1000000u;
		g.host_spin_ns = 0;
	}
	close(g.vm.kvm_fd); /* no more system-wide KVM requests */
	g.vm.kvm_fd = -1;

	if (pthread_barrier_init(&started, NULL, g.plan.threads))
		die("pthread_barrier_init", ADY_ERR_NOMEM);
	for (uint32_t i = 1; i < g.plan.threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)i))
			die("pthread_create", ADY_ERR_NOMEM);
	}
	pthread_barrier_wait(&started);
	install_seccomp();

	/* KVM cannot map memfd_secret memory: say so (see the top). */
	ready.flags = ADY_LAUNCH_WEAK_MEMORY;
	err = ady_msg_encode_host_ready(&ready, buf, sizeof(buf), &len);
	if (!err)
		err = ady_wire_send(ADY_KVM_FD_DAEMON, ADY_MSG_HOST_READY, buf, len, -1);
	if (!err)
		err = ady_wire_recv(ADY_KVM_FD_DAEMON, &hd, buf, sizeof(buf), NULL);
	if (!err && hd.type != ADY_MSG_STATUS)
		err = ADY_ERR_PROTOCOL;
	if (!err)
		err = ady_msg_decode_status(buf, hd.length, &st_msg);
	if (err || st_msg.status != ADY_OK)
		_exit(1);
	ady_kvm_serve((void *)(uintptr_t)0);
	return 0;
}
