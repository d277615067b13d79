#ifndef ADY_TOOLS_IO_H
#define ADY_TOOLS_IO_H

#include <stddef.h>
#include <sys/types.h>

#include "adyton/error.h"

/*
 * Writes all len bytes of data to fd, retrying short writes and EINTR:
 * at offset off with pwrite (the file offset is untouched), or with write
 * at the current position when off is negative (pipes, stdout).
 * ADY_ERR_IO on any other failure (errno says which).
 */
ADY_MUST_CHECK ady_err ady_tool_write_all(int fd, const void *data, size_t len, off_t off);

#endif
