/* src/backend/daemon_link.h - the application's link to adytond. */
#ifndef ADY_BACKEND_DAEMON_LINK_H
#define ADY_BACKEND_DAEMON_LINK_H

#include <stdbool.h>
#include <stddef.h>

#include "adyton/error.h"

/* The per-user socket: $ADYTON_SOCKET, else $XDG_RUNTIME_DIR/adyton/adytond.sock,
 * else /tmp/adyton-UID/adytond.sock. */
ADY_MUST_CHECK ady_err ady_daemon_socket_path(char *buf, size_t cap);

/* Connects to the system daemon or the per-user one; when start is true
 * and none answers, starts a per-user adytond ($ADYTON_DAEMON, the build
 * tree's, or the installed one) and waits for it.  -1 on failure. */
int ady_daemon_connect(bool start);

/* Whether a daemon answers or can be started (one is running, or the
 * program is there); false with why otherwise. */
bool ady_daemon_reachable(const char **why);

#endif
