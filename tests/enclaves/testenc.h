/* Interface of the test enclave (tests/enclaves/testenc.c). */
#ifndef TESTENC_H
#define TESTENC_H

enum {
	T_ECHO = 0,          /* out = in */
	T_ABORT = 1,         /* ady_abort with the input as reason */
	T_OCALL_ECHO = 2,    /* out = OCALL T_O_ECHO(in) */
	T_OCALL_NESTED = 3,  /* returns the status of OCALL T_O_NESTED */
	T_HEAP = 4,          /* heap stress inside; ADY_OK or the failure */
	T_GCM = 5,           /* AES-128-GCM of the zero test vector (BearSSL) */
	T_SMASH = 6,         /* overruns a stack buffer */
	T_OUT_LEN_LIE = 7,   /* claims out_cap + 1 bytes of output */
	T_OCALL_INDEX = 8,   /* OCALL with index in[0..3] (u32 LE), returns its status */
	T_LOG = 9,           /* ady_log("log line %d", 42) */
	T_FILL = 10,         /* out_cap bytes of i & 0xff */
	T_OCALL_BIG = 11,    /* OCALL with out_cap above the slot */
	T_PRIVATE = 12,      /* ADY_OK iff in and out are enclave memory, not the app's */
	T_STATUS = 13,       /* returns the u32 LE status in in[0..3] */
	T_SECRET = 14,       /* keeps 4 KiB derived from the 16-byte seed in heap (see testenc.c) */
	T_SYSCALL = 15,      /* executes a raw getpid system call (the process backend kills it) */
	T_WILD = 16,         /* writes to the u64 LE address in in[0..7] */
	T_WHERE = 17,        /* out: u64 LE address of its code, of a heap buffer holding `ret` */
	T_READ = 18,         /* out: the u64 at the u64 LE address in in[0..7] */
	T_JUMP = 19,         /* calls the u64 LE address in in[0..7] */
	T_SELF_REPORT = 20,  /* out: a 432-byte REPORT of itself for itself */
	T_PLAT_IO = 21,      /* platform exit u32 LE in[0..3] with its io struct at place in[4..7] (T_IO_*):
			      * returns what the exit returned */
	T_COUNT
};

/* Where T_PLAT_IO puts the io struct. */
enum {
	T_IO_HEAP = 0,       /* a heap buffer: the one right place */
	T_IO_CODE = 1,       /* its own code page (R X) */
	T_IO_TCS = 2,        /* thread 0's TCS */
	T_IO_LAYOUT = 3,     /* the measured layout page (R) */
	T_IO_HEAP_END = 4,   /* the last 16 bytes of the heap and on into the guard page */
	T_IO_OUTSIDE = 5,    /* one page past the enclave's end */
};

enum {
	T_O_ECHO = 0,        /* out = in (the app may lie about out_len) */
	T_O_NESTED = 1,      /* tries to ECALL back into the enclave */
	T_O_COUNT
};

#endif
