/* Interface of the bench enclave (bench/enclave.c). */
#ifndef ADY_BENCH_H
#define ADY_BENCH_H

enum {
	BENCH_EMPTY = 0, /* no work, no output */
	BENCH_ECHO = 1,  /* out = in */
};

#endif
