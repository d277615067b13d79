/*
 * The gate demo's test enclave: the demo enclave's own code
 * (apps/gate-demo/enclave.c, included to reach its key) and a
 * ground-truth ECALL that exports the private scalar.  gate_nginx_test
 * calls it only after it has scanned the application's memory and the
 * bytes the application saw, for that scalar.
 */
#define GATE_DEMO_T_H "gate_demo_test_t.h"
#include "../../apps/gate-demo/enclave.c"

int ecall_test_export_key(uint8_t k[32])
{
	if (!have_key || key.sk.xlen != 32)
		return -1;
	memcpy(k, key.sk.x, 32);
	return 0;
}
