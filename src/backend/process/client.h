/* The application side of the process and kvm backends. */
#ifndef ADY_BACKEND_PROCESS_CLIENT_H
#define ADY_BACKEND_PROCESS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

struct ady_enclave;

/* ADY_LAUNCH_* flags of a process-backend enclave. */
uint32_t ady_process_flags(const struct ady_enclave *e);

#endif
