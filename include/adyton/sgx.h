/*
 * adyton/sgx.h - the SGX structures adyton reuses, byte for byte.
 *
 * Layouts follow the Intel SDM, Vol. 3D, chapter 38 ("SGX data structures")
 * and the Linux uapi <asm/sgx.h>.  All integers are little-endian and the
 * structures are packed; every size and every offset the SDM fixes is
 * checked at compile time below.  These structs describe bytes adyton
 * produces itself; bytes that arrive from elsewhere go through the decode
 * functions, which copy and then validate.  Freestanding-safe.
 */
#ifndef ADYTON_SGX_H
#define ADYTON_SGX_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_PAGE_SIZE 4096u

/* ATTRIBUTES.FLAGS (SDM 38.7.1) */
#define ADY_SGX_FLAGS_INIT 0x01ull
#define ADY_SGX_FLAGS_DEBUG 0x02ull
#define ADY_SGX_FLAGS_MODE64BIT 0x04ull
#define ADY_SGX_FLAGS_PROVISIONKEY 0x10ull
#define ADY_SGX_FLAGS_EINITTOKENKEY 0x20ull
#define ADY_SGX_FLAGS_KSS 0x80ull
/* XFRM: x87 and SSE state, the minimum every enclave has */
#define ADY_SGX_XFRM_LEGACY 0x03ull

/* SECINFO.FLAGS (SDM 38.11.1) */
#define ADY_SECINFO_R 0x01ull
#define ADY_SECINFO_W 0x02ull
#define ADY_SECINFO_X 0x04ull
#define ADY_SECINFO_PERMS 0x07ull
#define ADY_SECINFO_PT_SHIFT 8
#define ADY_SECINFO_PT_MASK (0xffull << ADY_SECINFO_PT_SHIFT)
#define ADY_SECINFO_PT_SECS (0ull << ADY_SECINFO_PT_SHIFT)
#define ADY_SECINFO_PT_TCS (1ull << ADY_SECINFO_PT_SHIFT)
#define ADY_SECINFO_PT_REG (2ull << ADY_SECINFO_PT_SHIFT)

/* KEYREQUEST.KEYNAME and KEYPOLICY (SDM 38.18.1) */
#define ADY_KEYNAME_EINITTOKEN 0
#define ADY_KEYNAME_PROVISION 1
#define ADY_KEYNAME_PROVISION_SEAL 2
#define ADY_KEYNAME_REPORT 3
#define ADY_KEYNAME_SEAL 4
#define ADY_KEYPOLICY_MRENCLAVE 0x0001
#define ADY_KEYPOLICY_MRSIGNER 0x0002

#define ADY_SGX_SIGSTRUCT_SIZE 1808u
#define ADY_RSA3072_BYTES 384u

typedef struct __attribute__((packed)) ady_sgx_attributes {
	uint64_t flags;
	uint64_t xfrm;
} ady_sgx_attributes;

/* SECS: only the fields adyton uses are meaningful; it is never handed to
 * hardware, it records what ECREATE would have. */
typedef struct __attribute__((packed)) ady_sgx_secs {
	uint64_t size;
	uint64_t base;
	uint32_t ssaframesize;
	uint32_t miscselect;
	uint8_t reserved1[24];
	ady_sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t configid[64];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint16_t configsvn;
	uint8_t reserved4[3834];
} ady_sgx_secs;

typedef struct __attribute__((packed)) ady_sgx_secinfo {
	uint64_t flags;
	uint8_t reserved[56];
} ady_sgx_secinfo;

typedef struct __attribute__((packed)) ady_sgx_tcs {
	uint64_t state;
	uint64_t flags;
	uint64_t ossa;
	uint32_t cssa;
	uint32_t nssa;
	uint64_t oentry;
	uint64_t aep;
	uint64_t ofsbase;
	uint64_t ogsbase;
	uint32_t fslimit;
	uint32_t gslimit;
	uint8_t reserved[4024];
} ady_sgx_tcs;

typedef struct __attribute__((packed)) ady_sgx_sigstruct {
	uint8_t header[12];
	uint32_t type;          /* bit 31: debug-signed */
	uint32_t vendor;        /* 0: not Intel */
	uint32_t date;          /* BCD yyyymmdd */
	uint8_t header2[16];
	uint32_t swdefined;
	uint8_t reserved1[84];
	uint8_t modulus[384];   /* little-endian */
	uint32_t exponent;      /* must be 3 */
	uint8_t signature[384]; /* little-endian */
	uint32_t miscselect;
	uint32_t miscmask;
	uint8_t reserved2[4];
	uint8_t isvfamilyid[16];
	ady_sgx_attributes attributes;
	ady_sgx_attributes attributemask;
	uint8_t enclavehash[32];
	uint8_t reserved3[16];
	uint8_t isvextprodid[16];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t reserved4[12];
	uint8_t q1[384];        /* little-endian */
	uint8_t q2[384];        /* little-endian */
} ady_sgx_sigstruct;

typedef struct __attribute__((packed)) ady_sgx_report_body {
	uint8_t cpusvn[16];
	uint32_t miscselect;
	uint8_t reserved1[12];
	uint8_t isvextprodid[16];
	ady_sgx_attributes attributes;
	uint8_t mrenclave[32];
	uint8_t reserved2[32];
	uint8_t mrsigner[32];
	uint8_t reserved3[32];
	uint8_t configid[64];
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint16_t configsvn;
	uint8_t reserved4[42];
	uint8_t isvfamilyid[16];
	uint8_t reportdata[64];
} ady_sgx_report_body;

typedef struct __attribute__((packed)) ady_sgx_report {
	ady_sgx_report_body body;
	uint8_t keyid[32];
	uint8_t mac[16];
} ady_sgx_report;

typedef struct __attribute__((packed)) ady_sgx_targetinfo {
	uint8_t mrenclave[32];
	ady_sgx_attributes attributes;
	uint8_t reserved1[2];
	uint16_t configsvn;
	uint32_t miscselect;
	uint8_t reserved2[8];
	uint8_t configid[64];
	uint8_t reserved3[384];
} ady_sgx_targetinfo;

typedef struct __attribute__((packed)) ady_sgx_keyrequest {
	uint16_t keyname;
	uint16_t keypolicy;
	uint16_t isvsvn;
	uint8_t reserved1[2];
	uint8_t cpusvn[16];
	ady_sgx_attributes attributemask;
	uint8_t keyid[32];
	uint32_t miscmask;
	uint16_t configsvn;
	uint8_t reserved2[434];
} ady_sgx_keyrequest;

#define ADY_CHECK_LAYOUT(T, f, off) _Static_assert(offsetof(T, f) == (off), #T "." #f " offset")
#define ADY_CHECK_SIZE(T, n) _Static_assert(sizeof(T) == (n), #T " size")

ADY_CHECK_SIZE(ady_sgx_attributes, 16);
ADY_CHECK_SIZE(ady_sgx_secs, 4096);
ADY_CHECK_LAYOUT(ady_sgx_secs, ssaframesize, 16);
ADY_CHECK_LAYOUT(ady_sgx_secs, attributes, 48);
ADY_CHECK_LAYOUT(ady_sgx_secs, mrenclave, 64);
ADY_CHECK_LAYOUT(ady_sgx_secs, mrsigner, 128);
ADY_CHECK_LAYOUT(ady_sgx_secs, configid, 192);
ADY_CHECK_LAYOUT(ady_sgx_secs, isvprodid, 256);
ADY_CHECK_LAYOUT(ady_sgx_secs, isvsvn, 258);
ADY_CHECK_LAYOUT(ady_sgx_secs, configsvn, 260);
ADY_CHECK_SIZE(ady_sgx_secinfo, 64);
ADY_CHECK_SIZE(ady_sgx_tcs, 4096);
ADY_CHECK_LAYOUT(ady_sgx_tcs, ossa, 16);
ADY_CHECK_LAYOUT(ady_sgx_tcs, cssa, 24);
ADY_CHECK_LAYOUT(ady_sgx_tcs, nssa, 28);
ADY_CHECK_LAYOUT(ady_sgx_tcs, oentry, 32);
ADY_CHECK_LAYOUT(ady_sgx_tcs, ofsbase, 48);
ADY_CHECK_LAYOUT(ady_sgx_tcs, ogsbase, 56);
ADY_CHECK_LAYOUT(ady_sgx_tcs, fslimit, 64);
ADY_CHECK_SIZE(ady_sgx_sigstruct, ADY_SGX_SIGSTRUCT_SIZE);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, type, 12);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, vendor, 16);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, date, 20);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, header2, 24);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, swdefined, 40);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, modulus, 128);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, exponent, 512);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, signature, 516);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, miscselect, 900);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, miscmask, 904);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, isvfamilyid, 912);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, attributes, 928);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, attributemask, 944);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, enclavehash, 960);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, isvextprodid, 1008);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, isvprodid, 1024);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, isvsvn, 1026);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, q1, 1040);
ADY_CHECK_LAYOUT(ady_sgx_sigstruct, q2, 1424);
ADY_CHECK_SIZE(ady_sgx_report_body, 384);
ADY_CHECK_LAYOUT(ady_sgx_report_body, miscselect, 16);
ADY_CHECK_LAYOUT(ady_sgx_report_body, isvextprodid, 32);
ADY_CHECK_LAYOUT(ady_sgx_report_body, attributes, 48);
ADY_CHECK_LAYOUT(ady_sgx_report_body, mrenclave, 64);
ADY_CHECK_LAYOUT(ady_sgx_report_body, mrsigner, 128);
ADY_CHECK_LAYOUT(ady_sgx_report_body, configid, 192);
ADY_CHECK_LAYOUT(ady_sgx_report_body, isvprodid, 256);
ADY_CHECK_LAYOUT(ady_sgx_report_body, isvsvn, 258);
ADY_CHECK_LAYOUT(ady_sgx_report_body, configsvn, 260);
ADY_CHECK_LAYOUT(ady_sgx_report_body, isvfamilyid, 304);
ADY_CHECK_LAYOUT(ady_sgx_report_body, reportdata, 320);
ADY_CHECK_SIZE(ady_sgx_report, 432);
ADY_CHECK_LAYOUT(ady_sgx_report, keyid, 384);
ADY_CHECK_LAYOUT(ady_sgx_report, mac, 416);
ADY_CHECK_SIZE(ady_sgx_targetinfo, 512);
ADY_CHECK_LAYOUT(ady_sgx_targetinfo, attributes, 32);
ADY_CHECK_LAYOUT(ady_sgx_targetinfo, configsvn, 50);
ADY_CHECK_LAYOUT(ady_sgx_targetinfo, miscselect, 52);
ADY_CHECK_LAYOUT(ady_sgx_targetinfo, configid, 64);
ADY_CHECK_SIZE(ady_sgx_keyrequest, 512);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, isvsvn, 4);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, cpusvn, 8);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, attributemask, 24);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, keyid, 40);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, miscmask, 72);
ADY_CHECK_LAYOUT(ady_sgx_keyrequest, configsvn, 76);

/* The constant SIGSTRUCT header bytes (SDM Table 38-19). */
extern const uint8_t ady_sigstruct_header[12];
extern const uint8_t ady_sigstruct_header2[16];

/*
 * Copies len bytes into *out and validates what the SDM fixes: len exactly
 * 1808, HEADER and HEADER2 constants, EXPONENT == 3, TYPE only bit 31,
 * VENDOR 0 or 0x8086, every reserved field zero.  ADY_ERR_TRUNCATED for a
 * short buffer, ADY_ERR_SIGSTRUCT for anything else wrong.  Does not check
 * the signature (that needs RSA, see adyton/image.h).  *out is zeroed on
 * failure.
 */
ADY_MUST_CHECK ady_err ady_sigstruct_decode(const uint8_t *buf, size_t len, ady_sgx_sigstruct *out);

/* Writes the two signed ranges, [0,128) then [900,1028), into out[256]. */
void ady_sigstruct_signed_bytes(const ady_sgx_sigstruct *ss, uint8_t out[static 256]);

#ifdef __cplusplus
}
#endif
#endif
