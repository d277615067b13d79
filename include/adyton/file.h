/*
 * adyton/file.h - whole files on the host side: bounded reads, atomic
 * writes.  Used by the tools, adytond and the applications for images,
 * policies, PEM files, quotes and state.
 */
#ifndef ADYTON_FILE_H
#define ADYTON_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads a whole file (at most max bytes, else ADY_ERR_RANGE) into a
 * malloc'd buffer; ADY_ERR_IO for anything but a regular file.
 * ady_fd_read does the same on an open descriptor, with pread: its offset
 * is neither used nor moved (descriptors passed between processes). */
ADY_MUST_CHECK ady_err ady_file_read(const char *path, size_t max, uint8_t **out, size_t *out_len);
ADY_MUST_CHECK ady_err ady_fd_read(int fd, size_t max, uint8_t **out, size_t *out_len);

/*
 * Writes all len bytes of data to fd, retrying short writes and EINTR:
 * at offset off with pwrite (the file offset is untouched), or with write
 * at the current position when off is negative (pipes, stdout).
 * ADY_ERR_IO on any other failure (errno says which).
 */
ADY_MUST_CHECK ady_err ady_fd_write_all(int fd, const void *data, size_t len, off_t off);

/*
 * Writes path atomically: a temporary file next to it (created 0600, so
 * key material is never readable by others, not even briefly), written,
 * chmod'ed to mode and fsync'ed, then renamed over path (replace) or
 * hard-linked to it, which fails instead of overwriting (ADY_ERR_IO with
 * errno EEXIST); then the directory is fsync'ed.  Readers never see a
 * partial file, and a crash leaves the old file or the new one.
 * ADY_ERR_IO otherwise with errno set.
 */
ADY_MUST_CHECK ady_err ady_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
					     bool replace);

#ifdef __cplusplus
}
#endif
#endif
