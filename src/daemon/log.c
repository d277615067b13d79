/*
 * adytond's log lines (stderr, which the service manager or --log keeps)
 * and the signal reset every process it starts needs: the small things
 * each part of the daemon uses, in a file that uses none of them.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

#include "daemon/internal.h"

__attribute__((format(printf, 1, 0))) static void vlog(const char *fmt, va_list ap)
{
	fprintf(stderr, "adytond: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* see internal.h */
void ady_log_info(ady_daemon *d, const char *fmt, ...)
{
	va_list ap;

	if (!d->verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

/* see internal.h */
void ady_log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

/* see internal.h */
void ady_daemon_reset_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigset_t none;

	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL); /* EINVAL for glibc's reserved ones */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
