/*
 * ady_random (adyton/enclave.h): HMAC-DRBG (SHA-256, NIST SP 800-90A) from
 * BearSSL, seeded with 32 bytes of platform randomness (ADY_EXIT_SEED) and,
 * when CPUID advertises it, 32 bytes of RDRAND, and reseeded the same way
 * every 2^16 requests.  Both sources are required when present: a
 * platform that will not seed us, or an RDRAND that keeps failing, is an
 * error rather than a reason to run on less.  br_prng_seeder_system()
 * would make system calls, which an enclave cannot.
 */
#include <bearssl.h>
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "internal.h"

#define RESEED_INTERVAL (1u << 16)
/* SP 800-90A Table 2: at most 2^19 bits per HMAC_DRBG request. */
#define MAX_REQUEST 65536u
/* Intel DRNG guide 5.2.1: ten retries before declaring RDRAND broken. */
#define RDRAND_RETRIES 10

static struct {
	br_hmac_drbg_context drbg;
	uint32_t requests; /* since the last (re)seed */
	bool seeded;
	int lock;
	int rdrand;        /* 0 unknown, 1 present, 2 absent */
} rng;

static void lock(void)
{
	while (__atomic_exchange_n(&rng.lock, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void unlock(void) { __atomic_store_n(&rng.lock, 0, __ATOMIC_RELEASE); }

static bool have_rdrand(void)
{
	int s = __atomic_load_n(&rng.rdrand, __ATOMIC_RELAXED);

	if (!s) {
		uint32_t a = 1, b, c = 0, d;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		s = (c & (1u << 30)) ? 1 : 2; /* CPUID.01H:ECX.RDRAND[bit 30] */
		__atomic_store_n(&rng.rdrand, s, __ATOMIC_RELAXED);
	}
	return s == 1;
}

/* The instruction is spelled out so that no -mrdrnd is needed. */
static bool rdrand64(uint64_t *out)
{
	for (int i = 0; i < RDRAND_RETRIES; i++) {
		uint64_t v;
		uint8_t ok;
		__asm__ volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
		/* Some AMD parts returned all ones with CF set after resume. */
		if (ok && v != ~0ull) {
			*out = v;
			return true;
		}
	}
	return false;
}

static ady_err platform_seed(uint8_t seed[static 32])
{
	ady_thread_data *td = ady_trts_current();
	ady_exit_seed io;
	ady_err err;

	if (!td)
		return ADY_ERR_NOT_IN_ECALL;
	memset(&io, 0, sizeof(io));
	io.status = ADY_ERR_BACKEND;
	err = (ady_err)ady_trts_exit(td, ADY_EXIT_SEED, (uint64_t)(uintptr_t)&io);
	if (!err && io.status)
		err = io.status >= (uint32_t)ADY_ERR_MAX_ ? ADY_ERR_PROTOCOL : (ady_err)io.status;
	if (!err)
		memcpy(seed, io.seed, 32);
	ady_wipe(&io, sizeof(io));
	return err;
}

/* 64 bytes of seed material: the platform's, then RDRAND's (or zeros
 * where the CPU has none). */
static ady_err gather(uint8_t seed[static 64])
{
	ady_err err;

	memset(seed, 0, 64);
	err = platform_seed(seed);
	if (err)
		return err;
	if (have_rdrand()) {
		for (int i = 0; i < 4; i++) {
			uint64_t v;
			if (!rdrand64(&v)) {
				ady_wipe(seed, 64);
				return ADY_ERR_CRYPTO;
			}
			memcpy(seed + 32 + 8 * i, &v, 8);
		}
	}
	return ADY_OK;
}

/* see adyton/enclave.h */
ady_err ady_random(void *buf, size_t n)
{
	uint8_t *p = buf;

	if (!buf && n)
		return ADY_ERR_INVALID_ARG;
	while (n) {
		uint8_t seed[64];
		ady_err err;

		lock();
		if (rng.seeded && rng.requests < RESEED_INTERVAL) {
			size_t chunk = n < MAX_REQUEST ? n : MAX_REQUEST;
			br_hmac_drbg_generate(&rng.drbg, p, chunk);
			rng.requests++;
			unlock();
			p += chunk;
			n -= chunk;
			continue;
		}
		unlock();
		/* Gathered without the lock: it leaves the enclave.  Two threads
		 * that both reseed only add entropy. */
		err = gather(seed);
		if (err)
			return err;
		lock();
		if (!rng.seeded)
			br_hmac_drbg_init(&rng.drbg, &br_sha256_vtable, seed, sizeof(seed));
		else
			br_hmac_drbg_update(&rng.drbg, seed, sizeof(seed));
		rng.seeded = true;
		rng.requests = 0;
		unlock();
		ady_wipe(seed, sizeof(seed));
	}
	return ADY_OK;
}
