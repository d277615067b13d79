/* The enclave hosts' common setup; see sandbox.h. */
#include "backend/sandbox.h"

#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Nobody traces us: 0, else -1 (or unknown).  /proc/self/status has one
 * "TracerPid:\t<pid>" line. */
static int untraced(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	const char *t;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	t = strstr(buf, "\nTracerPid:\t");
	return t && strncmp(t + sizeof("\nTracerPid:\t") - 1, "0\n", 2) == 0 ? 0 : -1;
}

/* see sandbox.h */
ady_err ady_sandbox_start(const char *name)
{
	/* adytond execs a host undumpable from the start (an unreadable
	 * private copy of the program); a tracer here means that did not hold
	 * (fs.suid_dumpable = 1, an ancestor with CAP_SYS_PTRACE). */
	if (prctl(PR_GET_DUMPABLE) != 0 || untraced())
		return ADY_ERR_PERMISSION;
	/* ps and pgrep see our name, not the private copy's "memfd:..." */
	(void)prctl(PR_SET_NAME, name);
	return ADY_OK;
}

/* see sandbox.h */
struct scmp_arg_cmp ady_sandbox_eq(unsigned arg, uint64_t v)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0};
	return c;
}

/* see sandbox.h */
struct scmp_arg_cmp ady_sandbox_eq32(unsigned arg, uint64_t v)
{
	struct scmp_arg_cmp c = {.arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, .datum_b = v};
	return c;
}

/* see sandbox.h */
scmp_filter_ctx ady_sandbox_filter(int daemon_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = 0;

	if (!ctx)
		return NULL;
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clock_gettime), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1, ady_sandbox_eq(0, (uint64_t)daemon_fd));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(recvmsg), 1, ady_sandbox_eq(0, (uint64_t)daemon_fd));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, ady_sandbox_eq(0, 2));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(exit_group), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigreturn), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(rt_sigprocmask), 0);
	/* A timed FUTEX_WAIT (the idle doorbell) interrupted by SIGSTOP is
	 * resumed after SIGCONT through restart_syscall, which only continues
	 * the interrupted call (futex_wait_restart here).  Other interrupted
	 * calls (recvmsg, KVM_RUN) are re-issued as themselves or return EINTR. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(restart_syscall), 0);
	if (rc) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

/* see sandbox.h */
ady_err ady_sandbox_load(scmp_filter_ctx ctx, int rules_rc)
{
	ady_err err = ADY_OK;

	if (rules_rc || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) || seccomp_load(ctx))
		err = ADY_ERR_PERMISSION;
	seccomp_release(ctx);
	return err;
}
