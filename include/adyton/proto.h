/*
 * adyton/proto.h - the adytond wire protocol: application <-> daemon over
 * the public UNIX socket, enclave host <-> daemon over a private socketpair.
 * Freestanding-safe, no allocation; every decoder checks every length.
 *
 * Frame: a 16-byte header, then `length` bytes of payload.
 *   0  magic   u32  ADY_PROTO_MAGIC ("ADYP")
 *   4  version u16  ADY_PROTO_VERSION; any other version is refused
 *   6  type    u16  ADY_PROTO_*; unknown types are refused
 *   8  length  u32  payload bytes; <= ADY_PROTO_MAX_PAYLOAD and exactly the
 *                   type's size for fixed-size types (checked in the header
 *                   decoder, before anyone allocates or reads the payload)
 *   12 reserved u32 zero
 * File descriptors travel as SCM_RIGHTS ancillary data of the same
 * sendmsg(): an image with LAUNCH, the channel memfd with LAUNCHED.
 * All integers little-endian; reserved fields must be zero (decoders refuse
 * anything else with ADY_ERR_PROTOCOL; short payloads ADY_ERR_TRUNCATED is
 * never returned: lengths are exact, so a mismatch is ADY_ERR_PROTOCOL).
 * The byte layout of each payload is documented next to its encoder in
 * src/format/proto.c; sizes below include explicit reserved bytes.  A
 * status field is an ady_err this build knows (< ADY_ERR_MAX_); when it is
 * not ADY_OK, LAUNCHED, KEY, REPORTED and SEEDED carry zeros after it.
 */
#ifndef ADYTON_PROTO_H
#define ADYTON_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "adyton/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ADY_PROTO_MAGIC 0x50594441u /* "ADYP" little-endian */
#define ADY_PROTO_VERSION 1u
#define ADY_PROTO_HEADER 16u
#define ADY_PROTO_MAX_PAYLOAD 65536u
#define ADY_PROTO_MAX_REASON 512u

enum {
	/* application -> daemon */
	ADY_PROTO_LAUNCH = 0x01,    /* ady_proto_launch + image fd */
	ADY_PROTO_LIST = 0x02,      /* empty */
	ADY_PROTO_DESTROY = 0x03,   /* ady_proto_destroy */
	ADY_PROTO_CAPACITY = 0x04,  /* empty: the enclave memory pool and tenant headroom */
	/* daemon -> application */
	ADY_PROTO_LAUNCHED = 0x81,  /* ady_proto_launched (+ channel memfd when status is OK) */
	ADY_PROTO_LISTING = 0x82,   /* ady_proto_listing header + count entries */
	ADY_PROTO_STATUS = 0x83,    /* ady_proto_status */
	ADY_PROTO_CAPACITY_INFO = 0x85, /* ady_proto_capacity (variable) */
	ADY_PROTO_REFUSED = 0x84,   /* ady_proto_aborted layout: why a launch was refused, in
				   * words (printable ASCII); sent just before its LAUNCHED */
	/* enclave host -> daemon */
	ADY_PROTO_HOST_READY = 0x21, /* ady_proto_host_ready */
	ADY_PROTO_GETKEY = 0x22,     /* ady_proto_getkey */
	ADY_PROTO_REPORT = 0x23,     /* ady_proto_report */
	ADY_PROTO_SEED = 0x24,       /* empty */
	ADY_PROTO_ABORTED = 0x25,    /* ady_proto_aborted (variable) */
	ADY_PROTO_QUOTE = 0x26,      /* ady_proto_quote */
	/* daemon -> enclave host */
	ADY_PROTO_KEY = 0xa2,        /* ady_proto_key */
	ADY_PROTO_REPORTED = 0xa3,   /* ady_proto_reported */
	ADY_PROTO_SEEDED = 0xa4,     /* ady_proto_seeded */
	ADY_PROTO_QUOTED = 0xa6,     /* ady_proto_quoted (variable) */
};

typedef struct ady_proto_hdr {
	uint16_t type;
	uint32_t length;
} ady_proto_hdr;

/* Flags of a launched enclave. */
#define ADY_LAUNCH_WEAK_MEMORY 0x1u /* no memfd_secret: mlocked, MADV_DONTDUMP memory instead */

/* Flags of a launch request. */
#define ADY_LAUNCH_EXIT_PER_CALL 0x1u /* kvm: a VM exit per call (ADY_OPEN_EXIT_PER_CALL) */

typedef struct ady_proto_launch {      /* 16 bytes */
	uint32_t backend;            /* ady_backend: PROCESS or KVM */
	uint32_t flags;              /* ADY_LAUNCH_EXIT_PER_CALL */
	uint32_t spin_us;            /* kvm: guest-mode wait for the next call; 0: default; <= ADY_LAUNCH_MAX_SPIN_US */
	uint32_t reserved;
} ady_proto_launch;
#define ADY_LAUNCH_MAX_SPIN_US 100000u

typedef struct ady_proto_launched {    /* 128 bytes (12 of them reserved) */
	uint32_t status;             /* ady_err; the rest is zero unless OK */
	uint32_t threads;
	uint64_t id;
	uint64_t msbuf_size;
	uint64_t channel_size;       /* bytes of the channel memfd */
	uint64_t attributes;         /* ATTRIBUTES.FLAGS */
	uint32_t host_pid;
	uint32_t flags;              /* ADY_LAUNCH_* */
	uint16_t isvprodid;
	uint16_t isvsvn;
	uint8_t mrenclave[32];
	uint8_t mrsigner[32];
} ady_proto_launched;

typedef struct ady_proto_destroy {     /* 8 bytes */
	uint64_t id;
} ady_proto_destroy;

typedef struct ady_proto_status {      /* 8 bytes (status u32, reserved u32) */
	uint32_t status;
} ady_proto_status;

#define ADY_LISTING_ENTRY 112u
#define ADY_TENANT_NAME_MAX 31u       /* [a-z0-9_], as in policy.conf */
#define ADY_LISTING_MAX ((ADY_PROTO_MAX_PAYLOAD - 8u) / ADY_LISTING_ENTRY)
typedef struct ady_listing_entry {   /* 112 bytes each */
	uint64_t id;
	uint32_t owner_uid;
	uint32_t host_pid;
	uint32_t backend;
	uint32_t flags;
	uint64_t memory;             /* enclave bytes (layout size) */
	uint64_t started;            /* CLOCK_REALTIME seconds */
	uint8_t mrenclave[32];
	uint64_t pages;              /* 4 KiB pages of the measured layout (what SGX puts in EPC) */
	char tenant[32];             /* [a-z0-9_]{0,31}, NUL-padded; empty: no tenant */
} ady_listing_entry;

/* CAPACITY_INFO: the pool (pages of 4 KiB) and the tenants the asker may
 * see (root: all of the policy's; others: their own). */
#define ADY_CAPACITY_MAX_TENANTS 32u  /* = ADY_POLICY_MAX_TENANTS */
#define ADY_CAPACITY_HEAD 48u
#define ADY_CAPACITY_TENANT 64u
typedef struct ady_capacity_tenant {  /* 64 bytes each (8 reserved) */
	char name[32];               /* [a-z0-9_]{1,31}, NUL-padded */
	uint64_t pages;              /* held by its enclaves */
	uint64_t max_pages;          /* its memory limit; 0: none */
	uint32_t count;              /* its enclaves */
	uint32_t max_enclaves;       /* 0: none */
} ady_capacity_tenant;
typedef struct ady_proto_capacity {    /* 48 + 64 * ntenants bytes */
	uint64_t total_pages;
	uint64_t free_pages;
	uint64_t allocated_pages;
	uint64_t high_water_pages;
	uint16_t cert_type;          /* quotes' certification: ADY_QUOTE_CERT_* (0xad01, 0xad02) */
	uint32_t ntenants;           /* <= ADY_CAPACITY_MAX_TENANTS */
	ady_capacity_tenant tenants[ADY_CAPACITY_MAX_TENANTS];
} ady_proto_capacity;

typedef struct ady_proto_host_ready {  /* 72 bytes */
	uint32_t status;             /* the host's own load/verify result */
	uint32_t flags;              /* ADY_LAUNCH_WEAK_MEMORY when memfd_secret was unavailable */
	uint8_t mrenclave[32];       /* as the host measured it */
	uint8_t mrsigner[32];
} ady_proto_host_ready;

typedef struct ady_proto_getkey {      /* 512 bytes */
	uint8_t keyrequest[512];
} ady_proto_getkey;

typedef struct ady_proto_key {         /* 24 bytes (status u32, reserved u32, key) */
	uint32_t status;
	uint8_t key[16];
} ady_proto_key;

typedef struct ady_proto_report {      /* 576 bytes */
	uint8_t targetinfo[512];
	uint8_t reportdata[64];
} ady_proto_report;

typedef struct ady_proto_reported {    /* 440 bytes (status u32, reserved u32, report) */
	uint32_t status;
	uint8_t report[432];
} ady_proto_reported;

typedef struct ady_proto_seeded {      /* 40 bytes (status u32, reserved u32, seed) */
	uint32_t status;
	uint8_t seed[32];
} ady_proto_seeded;

typedef struct ady_proto_aborted {     /* 4 + len bytes, len <= ADY_PROTO_MAX_REASON */
	uint32_t len;
	uint8_t reason[ADY_PROTO_MAX_REASON];
} ady_proto_aborted;

/* A quote of the calling enclave (adyton/quote.h): the daemon builds the
 * REPORTBODY from the identity it recorded at launch; only reportdata and
 * the verifier's nonce come from the enclave. */
#define ADY_PROTO_MAX_QUOTE 8192u    /* = ADY_QUOTE_MAX */
typedef struct ady_proto_quote {       /* 96 bytes */
	uint8_t reportdata[64];
	uint8_t nonce[32];
} ady_proto_quote;

typedef struct ady_proto_quoted {      /* 8 + len bytes (status u32, len u32, quote) */
	uint32_t status;             /* not OK: len is 0 */
	uint32_t len;                /* 1..ADY_PROTO_MAX_QUOTE when OK */
	uint8_t quote[ADY_PROTO_MAX_QUOTE];
} ady_proto_quoted;

/*
 * Header.  decode: magic, version, reserved, known type, and the length
 * rule for the type (fixed types: exactly their size; LISTING: 8 + 72*n
 * with n <= ADY_LISTING_MAX; ABORTED: 4..4+ADY_PROTO_MAX_REASON; QUOTED:
 * 8..8+ADY_PROTO_MAX_QUOTE).
 * ADY_ERR_PROTOCOL for any violation.
 */
void ady_proto_encode_header(uint8_t out[static 16], uint16_t type, uint32_t length);
ADY_MUST_CHECK ady_err ady_proto_decode_header(const uint8_t in[static 16], ady_proto_hdr *out);

/*
 * Payload encoders write into buf (cap bytes) and set *len; ADY_ERR_SHORT_BUFFER
 * when cap is too small (*len then holds the size needed), ADY_ERR_INVALID_ARG
 * for a message the decoder would refuse (unknown status, backend or flag,
 * nonzero reserved, data beside a failure status, ABORTED len over the cap).
 * Decoders take exactly the payload the header announced and validate every
 * field (reserved zero, counts, lengths); *m is all zero unless they succeed.
 */
ADY_MUST_CHECK ady_err ady_proto_encode_launch(const ady_proto_launch *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_launch(const uint8_t *p, size_t len, ady_proto_launch *m);
ADY_MUST_CHECK ady_err ady_proto_encode_launched(const ady_proto_launched *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_launched(const uint8_t *p, size_t len, ady_proto_launched *m);
ADY_MUST_CHECK ady_err ady_proto_encode_destroy(const ady_proto_destroy *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_destroy(const uint8_t *p, size_t len, ady_proto_destroy *m);
ADY_MUST_CHECK ady_err ady_proto_encode_status(const ady_proto_status *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_status(const uint8_t *p, size_t len, ady_proto_status *m);
/* LISTING: entries[0..count) after an 8-byte header (u32 count, u32 zero). */
ADY_MUST_CHECK ady_err ady_proto_encode_listing(const ady_listing_entry *entries, uint32_t count, uint8_t *buf,
					      size_t cap, size_t *len);
/* Decodes entry i (< *count) of a LISTING payload; call with i = 0 first to
 * learn the count (entry may be NULL to only count).  Every call validates
 * the whole payload.  ADY_ERR_RANGE (with *count set) when entry is not NULL
 * and i >= *count, e.g. for an empty listing. */
ADY_MUST_CHECK ady_err ady_proto_decode_listing(const uint8_t *p, size_t len, uint32_t i, uint32_t *count,
					      ady_listing_entry *entry);
ADY_MUST_CHECK ady_err ady_proto_encode_host_ready(const ady_proto_host_ready *m, uint8_t *buf, size_t cap,
						   size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_host_ready(const uint8_t *p, size_t len, ady_proto_host_ready *m);
ADY_MUST_CHECK ady_err ady_proto_encode_getkey(const ady_proto_getkey *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_getkey(const uint8_t *p, size_t len, ady_proto_getkey *m);
ADY_MUST_CHECK ady_err ady_proto_encode_key(const ady_proto_key *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_key(const uint8_t *p, size_t len, ady_proto_key *m);
ADY_MUST_CHECK ady_err ady_proto_encode_report(const ady_proto_report *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_report(const uint8_t *p, size_t len, ady_proto_report *m);
ADY_MUST_CHECK ady_err ady_proto_encode_reported(const ady_proto_reported *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_reported(const uint8_t *p, size_t len, ady_proto_reported *m);
ADY_MUST_CHECK ady_err ady_proto_encode_seeded(const ady_proto_seeded *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_seeded(const uint8_t *p, size_t len, ady_proto_seeded *m);
/* CAPACITY_INFO: ntenants agrees with the frame; names as in listings,
 * not empty; cert_type 0xad01 or 0xad02. */
ADY_MUST_CHECK ady_err ady_proto_encode_capacity(const ady_proto_capacity *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_capacity(const uint8_t *p, size_t len, ady_proto_capacity *m);
ADY_MUST_CHECK ady_err ady_proto_encode_aborted(const ady_proto_aborted *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_aborted(const uint8_t *p, size_t len, ady_proto_aborted *m);
ADY_MUST_CHECK ady_err ady_proto_encode_quote(const ady_proto_quote *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_quote(const uint8_t *p, size_t len, ady_proto_quote *m);
/* QUOTED: len agrees with the frame; status OK needs len >= 1, any other
 * status len 0. */
ADY_MUST_CHECK ady_err ady_proto_encode_quoted(const ady_proto_quoted *m, uint8_t *buf, size_t cap, size_t *len);
ADY_MUST_CHECK ady_err ady_proto_decode_quoted(const uint8_t *p, size_t len, ady_proto_quoted *m);

#ifdef __cplusplus
}
#endif
#endif
