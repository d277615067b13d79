/*
 * msg.h - the key broker's wire format (apps/kbs/README.md).  Every
 * message is one frame, little-endian:
 *
 *   u32 magic "KBS1"  u16 type  u16 flags (0)  u32 body length  | body
 *
 * with the body length capped (KBS_MAX_BODY) before anything is
 * allocated, and each type's body read through a bounded cursor
 * (adyton/cursor.h) and consumed exactly: a trailing byte is malformed.
 * Strings are u16 length + bytes (no NUL inside), blobs u32 length +
 * bytes.  Bodies:
 *
 *   CHALLENGE   name                          -> NONCE | ERROR
 *   NONCE       nonce[32]
 *   FETCH       name nonce[32] pub[65] quote  -> RELEASE | ERROR
 *   RELEASE     kind u8, bpub[65], iv[12], ct (blob, ciphertext || tag[16])
 *   ERROR       code u32, reason (string)
 *   PUT         token[32] name kind u8 policy (blob, text) data (blob)  -> OK | ERROR
 *   REVOKE      token[32] name                -> OK | ERROR
 *   GET_POLICY  token[32] name                -> POLICY | ERROR
 *   POLICY      kind u8, revoked u8, policy (blob, text)
 *   LIST        token[32]                     -> LISTING | ERROR
 *   LISTING     count u32, count x (name, kind u8, revoked u8)
 *   OK          (empty)
 *
 * Decoded messages point into the frame they came from (no copies): the
 * frame must outlive the message.
 */
#ifndef ADYTON_KBS_MSG_H
#define ADYTON_KBS_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "adyton/error.h"

#define KBS_MAGIC 0x3153424bu      /* "KBS1" */
#define KBS_HEADER 12u
#define KBS_MAX_BODY (160u * 1024u)
#define KBS_MAX_NAME 128u
#define KBS_MAX_POLICY (16u * 1024u)
#define KBS_MAX_DATA (64u * 1024u)
#define KBS_MAX_QUOTE 8192u          /* = ADY_QUOTE_MAX */
#define KBS_MAX_REASON 240u
#define KBS_MAX_LIST 1024u
#define KBS_PUB 65u                  /* uncompressed P-256 point 04||x||y */
#define KBS_NONCE 32u
#define KBS_TOKEN 32u
#define KBS_IV 12u
#define KBS_TAG 16u

enum kbs_type {
	KBS_CHALLENGE = 1,
	KBS_NONCE_MSG = 2,
	KBS_FETCH = 3,
	KBS_RELEASE = 4,
	KBS_ERROR = 5,
	KBS_PUT = 6,
	KBS_REVOKE = 7,
	KBS_GET_POLICY = 8,
	KBS_POLICY = 9,
	KBS_LIST = 10,
	KBS_LISTING = 11,
	KBS_OK = 12,
};

enum kbs_kind { KBS_KIND_SECRET = 1, KBS_KIND_CONFIG = 2 };

typedef struct kbs_str {
	const uint8_t *p;
	size_t len;
} kbs_str;

typedef struct kbs_msg {
	uint16_t type;
	kbs_str name;
	const uint8_t *nonce;        /* KBS_NONCE bytes */
	const uint8_t *pub;          /* KBS_PUB bytes (enclave's, or the broker's in RELEASE) */
	const uint8_t *token;        /* KBS_TOKEN bytes */
	const uint8_t *iv;
	kbs_str quote;
	kbs_str ct;                  /* RELEASE: ciphertext || tag */
	kbs_str policy;
	kbs_str data;
	kbs_str reason;
	kbs_str list;                /* LISTING: the entries, validated, undecoded */
	uint32_t code;
	uint32_t count;
	uint8_t kind;
	uint8_t revoked;
} kbs_msg;

/* Reads a frame header: *type and *body_len (<= KBS_MAX_BODY).
 * ADY_ERR_MALFORMED: bad magic, non-zero flags, unknown type;
 * ADY_ERR_TOO_LARGE: a body over the cap. */
ADY_MUST_CHECK ady_err kbs_header_decode(const uint8_t hdr[static KBS_HEADER], uint16_t *type, uint32_t *body_len);

/* Decodes one whole frame (header and body, exactly len bytes) into *m.
 * ADY_ERR_TRUNCATED / ADY_ERR_MALFORMED / ADY_ERR_TOO_LARGE; on error *m
 * is zeroed. */
ADY_MUST_CHECK ady_err kbs_msg_decode(const uint8_t *frame, size_t len, kbs_msg *m);

/* Encodes *m (the fields its type uses) as a frame into a malloc'd buffer
 * (*out, *out_len; free() it).  The same limits as the decoder apply:
 * ADY_ERR_INVALID_ARG for a message the decoder would refuse. */
ADY_MUST_CHECK ady_err kbs_msg_encode(const kbs_msg *m, uint8_t **out, size_t *out_len);

/* A resource name: 1..KBS_MAX_NAME bytes of [A-Za-z0-9._-]. */
int kbs_name_valid(const uint8_t *p, size_t len);

/* Iterates a LISTING's entries: *off starts at 0; returns 1 with the next
 * entry, 0 at the end. */
int kbs_list_next(const kbs_msg *m, size_t *off, kbs_str *name, uint8_t *kind, uint8_t *revoked);

/* Validates a configuration resource (argv, environment, files; README.md):
 *   entries until the end: u8 tag, then
 *     1 ARGV  u16 len + bytes        2 ENV  u16 len + "KEY=VALUE" (KEY not empty)
 *     3 FILE  u16 len + path, u32 len + content
 * ADY_ERR_MALFORMED / ADY_ERR_TRUNCATED. */
ADY_MUST_CHECK ady_err kbs_config_validate(const uint8_t *p, size_t len);

/* Reads / writes one frame on a stream socket (at most KBS_MAX_BODY of
 * body).  kbs_frame_read returns a malloc'd frame; ADY_ERR_IO on a short
 * read, EOF or timeout, header errors as kbs_header_decode. */
ADY_MUST_CHECK ady_err kbs_frame_read(int fd, uint8_t **frame, size_t *len);
ADY_MUST_CHECK ady_err kbs_frame_write(int fd, const uint8_t *frame, size_t len);

/* The same over any byte stream (a TLS session: transport.h); read and
 * write behave as read(2)/write(2). */
typedef struct kbs_io {
	void *ctx;
	ssize_t (*read)(void *ctx, void *p, size_t n);
	ssize_t (*write)(void *ctx, const void *p, size_t n);
} kbs_io;
ADY_MUST_CHECK ady_err kbs_frame_read_io(const kbs_io *io, uint8_t **frame, size_t *len);
ADY_MUST_CHECK ady_err kbs_frame_write_io(const kbs_io *io, const uint8_t *frame, size_t len);
ADY_MUST_CHECK ady_err kbs_call_io(const kbs_io *io, const kbs_msg *req, uint8_t **frame, kbs_msg *resp);

/* Connects to a broker at a UNIX socket path, with a 30 s I/O timeout. */
int kbs_connect(const char *path);

/* One round trip: encodes req, sends it, reads the answer into *frame
 * (decoded in *resp, pointing into *frame; free(*frame)). */
ADY_MUST_CHECK ady_err kbs_call(int fd, const kbs_msg *req, uint8_t **frame, kbs_msg *resp);

#endif
