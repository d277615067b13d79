/*
 * src/backend/sandbox.h - what adyton-enclave-host (process) and
 * adyton-kvm-host (kvm) set up alike: the seccomp allowlist every served
 * call needs (doorbells, the daemon socket, stderr, leaving), to which a host
 * adds its own rules (kvm: its vCPUs' ioctls) before loading it.
 */
#ifndef ADY_BACKEND_SANDBOX_H
#define ADY_BACKEND_SANDBOX_H

#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

/* Argument arg equal to v (64-bit compare), or its low 32 bits equal to v
 * (for int and unsigned int arguments).  Spelled out: SCMP_A*() leave
 * datum_b to the compiler, which clang warns about. */
struct scmp_arg_cmp ady_sandbox_eq(unsigned arg, uint64_t v);
struct scmp_arg_cmp ady_sandbox_eq32(unsigned arg, uint64_t v);

/* The first check of an enclave host, before the image or any secret is
 * in it: undumpable, no tracer, and named `name` for ps (not the private
 * memfd copy adytond execs it from, issue 11 item 3).  ADY_ERR_PERMISSION
 * when the process is dumpable or traced: the host must stop. */
ADY_MUST_CHECK ady_err ady_sandbox_start(const char *name);

/* A filter that kills the process on anything but the common allowlist:
 * futex, clock_gettime (the doorbell spin's clock where the vDSO cannot
 * read it), sendmsg/recvmsg on daemon_fd, write to stderr, exit,
 * exit_group, rt_sigreturn, rt_sigprocmask, and restart_syscall (a
 * stopped and continued wait resumes through it).  NULL on failure. */
scmp_filter_ctx ady_sandbox_filter(int daemon_fd);

/* Loads ctx on every thread of the process (TSYNC) and releases it;
 * rules_rc is the OR of the caller's seccomp_rule_add results.
 * ADY_ERR_PERMISSION when anything failed. */
ADY_MUST_CHECK ady_err ady_sandbox_load(scmp_filter_ctx ctx, int rules_rc);

#endif
