/*
 * bench/keyguard/xts - AES-XTS-256 through the key guard enclave against
 * OpenSSL's EVP aes-256-xts in-process, in one run, as ratios.
 *
 * A "request" of 4 KiB, 64 KiB or 1 MiB is what one NBD read or write
 * costs the filter: a marshalling slot taken (libadyton's zero-copy slot
 * API), the data copied into it once with its control block, one
 * KG_E_CRYPT ECALL (the bulk, in-place path of the trusted runtime).  OpenSSL does the same request as
 * 4096-byte data units in place, re-keying only the tweak per sector (as
 * dm-crypt and nbdkit's luks filter do).  kg_xts in-process (no enclave)
 * is printed as a third line for scale.  Encryption is timed; decryption
 * runs at the same speed on AES-NI.
 *
 * "kg_xts on another core (floor)" is the least any design that runs the
 * cipher on another core than the caller can cost: two threads of this
 * process, both spinning, hand a request over in shared memory (copy in,
 * kg_xts in place on the other core, hand back), with no enclave, no
 * checks and no sleeping.  The process backend runs the enclave on
 * another core, so this row, not OpenSSL, is its ceiling; "cache line
 * round trip" says where the two vCPUs sit (tens of ns: one physical core;
 * hundreds: different cores or CCXs), which moves that ceiling by 3x.
 *
 * usage: xts [--seconds S] [IMAGE]   backends: sim, process, and kvm when
 * it opens (ADYTON_BACKEND=kvm is not needed: each is asked for by name).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "adyton/host.h"
#include "envelope.h"
#include "kg_crypto.h"
#include "keyguard.h"

#ifndef KG_ENCLAVE_DEFAULT
#define KG_ENCLAVE_DEFAULT "keyguard-enclave.signed"
#endif

#define SECTOR 4096u
static const size_t sizes[] = {4096, 64 << 10, 1 << 20};
static double seconds = 1.0;
static uint8_t key[64];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef int (*req_fn)(void *ctx, uint8_t *buf, size_t len, uint64_t sector);

/* Bytes per second of fn over requests of len bytes: warm-up, then as
 * many requests as fit in `seconds`, sectors advancing. */
static double rate(req_fn fn, void *ctx, uint8_t *buf, size_t len)
{
	uint64_t sector = 0, n = 0;
	double t0, t;

	for (int i = 0; i < 20; i++)
		if (fn(ctx, buf, len, sector))
			return -1;
	t0 = now();
	do {
		for (int i = 0; i < 8; i++, n++) {
			if (fn(ctx, buf, len, sector))
				return -1;
			sector += len / SECTOR;
		}
		t = now();
	} while (t - t0 < seconds);
	return (double)n * (double)len / (t - t0);
}

static int openssl_req(void *ctx, uint8_t *buf, size_t len, uint64_t sector)
{
	EVP_CIPHER_CTX *c = ctx;
	uint8_t iv[16] = {0};
	int n;

	for (size_t off = 0; off < len; off += SECTOR, sector++) {
		memcpy(iv, &sector, 8); /* little-endian host: plain64 */
		if (EVP_EncryptInit_ex(c, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(c, buf + off, &n, buf + off, SECTOR) != 1)
			return -1;
	}
	return 0;
}

static int kgxts_req(void *ctx, uint8_t *buf, size_t len, uint64_t sector)
{
	kg_xts_encrypt(ctx, sector, SECTOR, buf, buf, len);
	return 0;
}

/* The floor: a peer thread that runs kg_xts on what it is handed. */
typedef struct {
	const kg_xts *x;
	uint8_t *shared;
	uint32_t turn __attribute__((aligned(64))); /* 0 caller, 1 peer, 2 stop */
	size_t len;
	uint64_t sector;
} floor_ctx;

static void *floor_peer(void *arg)
{
	floor_ctx *f = arg;

	for (;;) {
		uint32_t t;

		while ((t = __atomic_load_n(&f->turn, __ATOMIC_ACQUIRE)) == 0)
			__builtin_ia32_pause();
		if (t == 2)
			return NULL;
		kg_xts_encrypt(f->x, f->sector, SECTOR, f->shared, f->shared, f->len);
		__atomic_store_n(&f->turn, 0, __ATOMIC_RELEASE);
	}
}

static int floor_req(void *ctx, uint8_t *buf, size_t len, uint64_t sector)
{
	floor_ctx *f = ctx;

	if (len)
		memcpy(f->shared, buf, len);
	f->len = len;
	f->sector = sector;
	__atomic_store_n(&f->turn, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&f->turn, __ATOMIC_ACQUIRE) != 0)
		__builtin_ia32_pause();
	return 0;
}

/* Mean ns of a one-cache-line ping-pong between the caller and the floor
 * peer (len 0: the peer encrypts nothing). */
static double line_round_trip(floor_ctx *f)
{
	enum { N = 200000 };
	double t0 = now();

	for (int i = 0; i < N; i++)
		floor_req(f, NULL, 0, 0);
	return (now() - t0) / N * 1e9;
}

typedef struct {
	ady_enclave *e;
} encl_ctx;

/* What the filter does per request (filter.c kg_pwrite): take a slot,
 * copy the plaintext into it once, append the control block, one bulk
 * KG_E_CRYPT ECALL in place; the ciphertext is then in the slot, where the
 * plugin's pwrite would read it. */
static int enclave_req(void *ctx, uint8_t *buf, size_t len, uint64_t sector)
{
	encl_ctx *c = ctx;
	ady_ecall_slot s;
	size_t got = 0;
	ady_err err;

	if (ady_ecall_slot_open(c->e, &s))
		return -1;
	memcpy(s.data, buf, len);
	memcpy(s.data + len, &sector, 8);
	s.data[len + 8] = KG_OP_ENCRYPT;
	memset(s.data + len + 9, 0, 7);
	err = ady_ecall_slot_call(&s, KG_E_CRYPT, len + KG_CTL_SIZE, len, &got);
	ady_ecall_slot_close(&s);
	return err || got != len;
}

static ady_enclave *open_unlocked(const char *image, ady_backend b)
{
	ady_enclave_opts opts = {.backend = b};
	uint8_t pub[KG_PUB_SIZE], in[4 + KG_ENV_MAX], out[16];
	size_t n = 0, env_len = 0;
	ady_enclave *e = NULL;

	if (ady_enclave_open(image, &opts, &e))
		return NULL;
	in[0] = SECTOR & 0xff, in[1] = SECTOR >> 8, in[2] = 0, in[3] = 0;
	if (ady_ecall(e, KG_E_PUBKEY, NULL, 0, pub, sizeof(pub), &n) ||
	    kg_envelope_seal(pub, KG_PURPOSE_RAWKEY, key, sizeof(key), in + 4, &env_len) ||
	    ady_ecall(e, KG_E_OPEN_PLAIN, in, 4 + env_len, out, sizeof(out), &n) || n < 4 || out[0] != KG_ST_OK) {
		ady_enclave_close(e);
		return NULL;
	}
	return e;
}

int main(int argc, char **argv)
{
	const char *image = KG_ENCLAVE_DEFAULT;
	static const ady_backend backends[] = {ADY_BACKEND_SIM, ADY_BACKEND_PROCESS, ADY_BACKEND_KVM};
	double base[3], local[3];
	uint8_t *buf = aligned_alloc(4096, 1 << 20);
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	kg_xts x;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else
			image = argv[i];
	}
	if (!buf || !c || RAND_bytes(key, sizeof(key)) != 1 || RAND_bytes(buf, 1 << 20) != 1)
		return 1;
	if (!kg_xts_supported()) {
		fprintf(stderr, "xts: no AES-NI\n");
		return 77;
	}
	if (EVP_EncryptInit_ex(c, EVP_aes_256_xts(), NULL, key, NULL) != 1)
		return 1;
	kg_xts_init(&x, key);

	printf("AES-XTS-256 encryption, 4096-byte sectors, MB/s (ratio to OpenSSL EVP aes-256-xts in-process)\n");
	printf("%-28s %16s %16s %16s\n", "", "4 KiB", "64 KiB", "1 MiB");
	printf("%-28s", "openssl (in-process)");
	for (int s = 0; s < 3; s++) {
		base[s] = rate(openssl_req, c, buf, sizes[s]);
		printf(" %9.0f (1.00)", base[s] / 1e6);
	}
	printf("\n");
	/* Each code path this CPU has, the best last (what the enclave runs). */
	for (int p = 0, best = kg_xts_select(-1); p <= best; p++) {
		static const char *const names[] = {"kg_xts aes-ni (in-process)", "kg_xts vaes256 (in-process)",
						    "kg_xts vaes512 (in-process)"};
		kg_xts_select(p);
		printf("%-28s", names[p]);
		for (int s = 0; s < 3; s++) {
			local[s] = rate(kgxts_req, &x, buf, sizes[s]);
			printf(" %9.0f (%.2f)", local[s] / 1e6, local[s] / base[s]);
		}
		printf("\n");
	}
	kg_xts_select(-1);
	{
		floor_ctx f = {.x = &x, .shared = aligned_alloc(4096, 1 << 20)};
		pthread_t peer;

		if (!f.shared || pthread_create(&peer, NULL, floor_peer, &f))
			return 1;
		printf("%-28s", "kg_xts other core (floor)");
		for (int s = 0; s < 3; s++) {
			local[s] = rate(floor_req, &f, buf, sizes[s]);
			printf(" %9.0f (%.2f)", local[s] / 1e6, local[s] / base[s]);
		}
		printf("\n");
		printf("%-28s %12.0f ns\n", "cache line round trip", line_round_trip(&f));
		__atomic_store_n(&f.turn, 2, __ATOMIC_RELEASE);
		pthread_join(peer, NULL);
		free(f.shared);
	}
	for (int b = 0; b < 3; b++) {
		encl_ctx ec = {.e = open_unlocked(image, backends[b])};
		char label[64];

		snprintf(label, sizeof(label), "enclave (%s)", ady_backend_name(backends[b]));
		printf("%-28s", label);
		if (!ec.e) {
			printf(" not available\n");
			continue;
		}
		for (int s = 0; s < 3; s++) {
			double r = rate(enclave_req, &ec, buf, sizes[s]);
			if (r < 0)
				printf(" %16s", "failed");
			else
				printf(" %9.0f (%.2f)", r / 1e6, r / base[s]);
		}
		printf("\n");
		ady_enclave_close(ec.e);
	}
	kg_xts_wipe(&x);
	EVP_CIPHER_CTX_free(c);
	free(buf);
	return 0;
}
