/* The process backend's application side and daemon connection. */
#ifndef ADY_BACKEND_PROCESS_CLIENT_H
#define ADY_BACKEND_PROCESS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

struct ady_enclave;

/* The per-user socket: $ADYTON_SOCKET, else $XDG_RUNTIME_DIR/adyton/adytond.sock,
 * else /tmp/adyton-UID/adytond.sock. */
ADY_MUST_CHECK ady_err ady_daemon_socket_path(char *buf, size_t cap);

/* Connects to the system daemon or the per-user one; when start is true
 * and none answers, starts a per-user adytond ($ADYTON_DAEMON, the build
 * tree's, or the installed one) and waits for it.  -1 on failure. */
int ady_daemon_connect(bool start);

/* ADY_LAUNCH_* flags of a process-backend enclave. */
uint32_t ady_process_flags(const struct ady_enclave *e);

#endif
