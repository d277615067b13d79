/* The enclave side of adyton/sockio.edl from libadyton-trts, out of tree. */
#include <adyton/enclave.h>
#include <adyton/sockio_enclave.h>

#include "oot_sockio_t.h"

int ecall_hello(int fd)
{
	return ady_sockio_write(&fd, (const unsigned char *)"hello", 5);
}
