/* The hello enclave's interface, shared by the enclave and the app. */
#ifndef HELLO_H
#define HELLO_H

/* ECALLs */
enum {
	HELLO_ECALL_GREET = 0,  /* in: a name; out: the greeting (also printed via OCALL) */
	HELLO_ECALL_SHA256 = 1, /* in: any bytes; out: their SHA-256, computed inside */
};

/* OCALLs */
enum {
	HELLO_OCALL_PRINT = 0,  /* in: text to print; out: nothing */
};

#endif
