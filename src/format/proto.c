/*
 * proto.c - the adytond wire protocol (adyton/proto.h).
 *
 * Every payload is written and read field by field, little-endian, in the
 * order of the layout comment next to its encoder; a struct is never copied
 * to or from the wire.  Every byte of a payload is either a field or a
 * reserved byte that must be zero, so a decoded message re-encodes to the
 * same bytes.  Encoders refuse (ADY_ERR_INVALID_ARG) a message their
 * decoder would refuse, so that adyton never sends what it would not take.
 */
#include <stdbool.h>
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/host.h"
#include "adyton/proto.h"
#include "internal.h"

/* Payload sizes of the fixed-size types. */
#define LAUNCH_SIZE 16u
#define LAUNCHED_SIZE 128u
#define DESTROY_SIZE 8u
#define STATUS_SIZE 8u
#define HOST_READY_SIZE 72u
#define GETKEY_SIZE 512u
#define KEY_SIZE 24u
#define REPORT_SIZE 576u
#define REPORTED_SIZE 440u
#define SEEDED_SIZE 40u
#define LISTING_HEAD 8u
#define ABORTED_HEAD 4u
#define QUOTE_SIZE 96u
#define QUOTED_HEAD 8u

/* Each size is the sum of its fields and explicit reserved bytes. */
_Static_assert(LAUNCH_SIZE == 4 + 4 + 8, "launch layout");
_Static_assert(LAUNCHED_SIZE == 4 + 4 + 8 + 8 + 8 + 8 + 4 + 4 + 2 + 2 + 4 + 32 + 32 + 8, "launched layout");
_Static_assert(DESTROY_SIZE == 8, "destroy layout");
_Static_assert(STATUS_SIZE == 4 + 4, "status layout");
_Static_assert(ADY_LISTING_ENTRY == 8 + 4 + 4 + 4 + 4 + 8 + 8 + 32 + 8 + 32, "listing entry layout");
_Static_assert(HOST_READY_SIZE == 4 + 4 + 32 + 32, "host_ready layout");
_Static_assert(GETKEY_SIZE == sizeof(((ady_proto_getkey *)0)->keyrequest), "getkey layout");
_Static_assert(KEY_SIZE == 4 + 4 + sizeof(((ady_proto_key *)0)->key), "key layout");
_Static_assert(REPORT_SIZE == sizeof(((ady_proto_report *)0)->targetinfo) + sizeof(((ady_proto_report *)0)->reportdata),
	       "report layout");
_Static_assert(REPORTED_SIZE == 4 + 4 + sizeof(((ady_proto_reported *)0)->report), "reported layout");
_Static_assert(SEEDED_SIZE == 4 + 4 + sizeof(((ady_proto_seeded *)0)->seed), "seeded layout");
_Static_assert(sizeof(((ady_proto_aborted *)0)->reason) == ADY_PROTO_MAX_REASON, "aborted layout");
/* The largest frame of each variable type fits the payload cap. */
_Static_assert(LISTING_HEAD + (uint64_t)ADY_LISTING_MAX * ADY_LISTING_ENTRY <= ADY_PROTO_MAX_PAYLOAD, "listing cap");
_Static_assert(ABORTED_HEAD + ADY_PROTO_MAX_REASON <= ADY_PROTO_MAX_PAYLOAD, "aborted cap");
_Static_assert(REPORT_SIZE <= ADY_PROTO_MAX_PAYLOAD, "fixed sizes under the cap");
_Static_assert(QUOTE_SIZE == sizeof(((ady_proto_quote *)0)->reportdata) + sizeof(((ady_proto_quote *)0)->nonce),
	       "quote layout");
_Static_assert(QUOTED_HEAD + ADY_PROTO_MAX_QUOTE <= ADY_PROTO_MAX_PAYLOAD, "quoted cap");

/* ---- header ---------------------------------------------------------- */

enum frame_kind {
	FRAME_FIXED,   /* exactly .size bytes */
	FRAME_LISTING, /* LISTING_HEAD + ADY_LISTING_ENTRY * n, n <= ADY_LISTING_MAX */
	FRAME_ABORTED, /* ABORTED_HEAD .. ABORTED_HEAD + ADY_PROTO_MAX_REASON */
	FRAME_QUOTED,  /* QUOTED_HEAD .. QUOTED_HEAD + ADY_PROTO_MAX_QUOTE */
	FRAME_CAPACITY, /* ADY_CAPACITY_HEAD + ADY_CAPACITY_TENANT * n, n <= ADY_CAPACITY_MAX_TENANTS */
};

static const struct frame_rule {
	uint16_t type;
	uint8_t kind;
	uint32_t size;
} frame_rules[] = {
	{ ADY_PROTO_LAUNCH, FRAME_FIXED, LAUNCH_SIZE },
	{ ADY_PROTO_LIST, FRAME_FIXED, 0 },
	{ ADY_PROTO_DESTROY, FRAME_FIXED, DESTROY_SIZE },
	{ ADY_PROTO_CAPACITY, FRAME_FIXED, 0 },
	{ ADY_PROTO_CAPACITY_INFO, FRAME_CAPACITY, 0 },
	{ ADY_PROTO_LAUNCHED, FRAME_FIXED, LAUNCHED_SIZE },
	{ ADY_PROTO_LISTING, FRAME_LISTING, 0 },
	{ ADY_PROTO_STATUS, FRAME_FIXED, STATUS_SIZE },
	{ ADY_PROTO_HOST_READY, FRAME_FIXED, HOST_READY_SIZE },
	{ ADY_PROTO_GETKEY, FRAME_FIXED, GETKEY_SIZE },
	{ ADY_PROTO_REPORT, FRAME_FIXED, REPORT_SIZE },
	{ ADY_PROTO_SEED, FRAME_FIXED, 0 },
	{ ADY_PROTO_ABORTED, FRAME_ABORTED, 0 },
	{ ADY_PROTO_REFUSED, FRAME_ABORTED, 0 },
	{ ADY_PROTO_KEY, FRAME_FIXED, KEY_SIZE },
	{ ADY_PROTO_REPORTED, FRAME_FIXED, REPORTED_SIZE },
	{ ADY_PROTO_SEEDED, FRAME_FIXED, SEEDED_SIZE },
	{ ADY_PROTO_QUOTE, FRAME_FIXED, QUOTE_SIZE },
	{ ADY_PROTO_QUOTED, FRAME_QUOTED, 0 },
};

static bool length_ok(const struct frame_rule *r, uint32_t length)
{
	switch (r->kind) {
	case FRAME_FIXED:
		return length == r->size;
	case FRAME_LISTING:
		/* Checked against the cap first, so the division below is
		 * over a bounded value and n cannot wrap. */
		return length >= LISTING_HEAD && length <= ADY_PROTO_MAX_PAYLOAD &&
		       (length - LISTING_HEAD) % ADY_LISTING_ENTRY == 0 &&
		       (length - LISTING_HEAD) / ADY_LISTING_ENTRY <= ADY_LISTING_MAX;
	case FRAME_ABORTED:
		return length >= ABORTED_HEAD && length <= ABORTED_HEAD + ADY_PROTO_MAX_REASON;
	case FRAME_QUOTED:
		return length >= QUOTED_HEAD && length <= QUOTED_HEAD + ADY_PROTO_MAX_QUOTE;
	case FRAME_CAPACITY:
		return length >= ADY_CAPACITY_HEAD &&
		       length <= ADY_CAPACITY_HEAD + ADY_CAPACITY_TENANT * ADY_CAPACITY_MAX_TENANTS &&
		       (length - ADY_CAPACITY_HEAD) % ADY_CAPACITY_TENANT == 0;
	default:
		return false;
	}
}

/*
 * Header, 16 bytes:
 *   0  magic    u32  ADY_PROTO_MAGIC
 *   4  version  u16  ADY_PROTO_VERSION
 *   6  type     u16  ADY_PROTO_*
 *   8  length   u32  payload bytes
 *   12 reserved u32  zero
 */
/* see adyton/proto.h */
void ady_proto_encode_header(uint8_t out[static 16], uint16_t type, uint32_t length)
{
	ady_wr w;

	ady_wr_init(&w, out, ADY_PROTO_HEADER);
	ady_wr_u32le(&w, ADY_PROTO_MAGIC);
	ady_wr_u16le(&w, (uint16_t)ADY_PROTO_VERSION);
	ady_wr_u16le(&w, type);
	ady_wr_u32le(&w, length);
	ady_wr_zero(&w, 4);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_header(const uint8_t in[static 16], ady_proto_hdr *out)
{
	ady_cur c;
	uint32_t magic, length, reserved;
	uint16_t version, type;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	out->type = 0;
	out->length = 0;
	if (!in)
		return ADY_ERR_INVALID_ARG;
	ady_cur_init(&c, in, ADY_PROTO_HEADER);
	if (ady_cur_u32le(&c, &magic) || ady_cur_u16le(&c, &version) || ady_cur_u16le(&c, &type) ||
	    ady_cur_u32le(&c, &length) || ady_cur_u32le(&c, &reserved))
		return ADY_ERR_PROTOCOL;
	if (magic != ADY_PROTO_MAGIC || version != ADY_PROTO_VERSION || reserved != 0)
		return ADY_ERR_PROTOCOL;
	/* The cap is checked before the per-type rule so that no rule ever
	 * sees a length the daemon would not allocate. */
	if (length > ADY_PROTO_MAX_PAYLOAD)
		return ADY_ERR_PROTOCOL;
	for (size_t i = 0; i < sizeof(frame_rules) / sizeof(frame_rules[0]); i++) {
		if (frame_rules[i].type != type)
			continue;
		if (!length_ok(&frame_rules[i], length))
			return ADY_ERR_PROTOCOL;
		out->type = type;
		out->length = length;
		return ADY_OK;
	}
	return ADY_ERR_PROTOCOL;
}

/* ---- shared helpers -------------------------------------------------- */

/* Short-buffer protocol: *len reports the needed size on SHORT_BUFFER. */
static ady_err w_open(ady_wr *w, size_t need, uint8_t *buf, size_t cap, size_t *len)
{
	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (cap < need) {
		*len = need;
		return ADY_ERR_SHORT_BUFFER;
	}
	if (!buf && need)
		return ADY_ERR_INVALID_ARG;
	/* The writer covers exactly the payload: a layout mistake becomes a
	 * short or failed writer (w_end), never an overrun. */
	ady_wr_init(w, buf, need);
	return ADY_OK;
}

static ady_err w_begin(ady_wr *w, const void *m, size_t need, uint8_t *buf, size_t cap, size_t *len)
{
	if (len)
		*len = 0;
	if (!m || !len)
		return ADY_ERR_INVALID_ARG;
	return w_open(w, need, buf, cap, len);
}

static ady_err w_end(const ady_wr *w, size_t need, size_t *len)
{
	if (ady_wr_err(w) || ady_wr_len(w) != need)
		return ADY_ERR_RANGE;
	*len = need;
	return ADY_OK;
}

/* Value-less read of reserved bytes for a chain checked once at the end. */
static void get_zeros(ady_cur *c, size_t n)
{
	if (ady_cur_zeros(c, n))
		return;
}

/* Opens exactly the announced payload; *m is zeroed until the decode
 * succeeds, so a failed decode never leaves half a message behind. */
static ady_err r_begin(ady_cur *c, const uint8_t *p, size_t len, size_t need, void *m, size_t msize)
{
	if (!m)
		return ADY_ERR_INVALID_ARG;
	memset(m, 0, msize);
	if (!p && len)
		return ADY_ERR_INVALID_ARG;
	if (len != need)
		return ADY_ERR_PROTOCOL;
	ady_cur_init(c, p, len);
	return ADY_OK;
}

/* Publishes t into m if every read succeeded, the payload was consumed
 * exactly, and the field rules hold. */
static ady_err r_end(const ady_cur *c, bool valid, void *m, const void *t, size_t msize)
{
	if (ady_cur_err(c) || ady_cur_left(c) != 0 || !valid)
		return ADY_ERR_PROTOCOL;
	memcpy(m, t, msize);
	return ADY_OK;
}

/* A status is an ady_err; a code this build does not know is refused. */
static bool status_ok(uint32_t status) { return status < (uint32_t)ADY_ERR_MAX_; }

static bool backend_ok(uint32_t backend) { return backend <= (uint32_t)ADY_BACKEND_KVM; }

static bool launch_flags_ok(uint32_t flags) { return (flags & ~(uint32_t)ADY_LAUNCH_WEAK_MEMORY) == 0; }

static bool zero_bytes(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- LAUNCH ---------------------------------------------------------- */

/*
 * LAUNCH, 16 bytes:
 *   0 backend  u32  ady_backend: AUTO, SIM, PROCESS or KVM
 *   4 flags    u32  ADY_LAUNCH_EXIT_PER_CALL; no other bit
 *   8 spin_us  u32  <= ADY_LAUNCH_MAX_SPIN_US
 *  12 reserved u32  zero
 */
static bool launch_ok(const ady_proto_launch *m)
{
	return backend_ok(m->backend) && (m->flags & ~(uint32_t)ADY_LAUNCH_EXIT_PER_CALL) == 0 &&
	       m->spin_us <= ADY_LAUNCH_MAX_SPIN_US && m->reserved == 0;
}

/* see adyton/proto.h */
ady_err ady_proto_encode_launch(const ady_proto_launch *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, LAUNCH_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!launch_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->backend);
	ady_wr_u32le(&w, m->flags);
	ady_wr_u32le(&w, m->spin_us);
	ady_wr_u32le(&w, m->reserved);
	return w_end(&w, LAUNCH_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_launch(const uint8_t *p, size_t len, ady_proto_launch *m)
{
	ady_proto_launch t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, LAUNCH_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.backend = get_u32(&c);
	t.flags = get_u32(&c);
	t.spin_us = get_u32(&c);
	t.reserved = get_u32(&c);
	return r_end(&c, launch_ok(&t), m, &t, sizeof(t));
}

/* ---- LAUNCHED -------------------------------------------------------- */

/*
 * LAUNCHED, 128 bytes:
 *   0   status       u32  ady_err
 *   4   threads      u32
 *   8   id           u64
 *   16  msbuf_size   u64
 *   24  channel_size u64
 *   32  attributes   u64  ATTRIBUTES.FLAGS
 *   40  host_pid     u32
 *   44  flags        u32  ADY_LAUNCH_*
 *   48  isvprodid    u16
 *   50  isvsvn       u16
 *   52  reserved     u32  zero (aligns the hashes)
 *   56  mrenclave    32 bytes
 *   88  mrsigner     32 bytes
 *   120 reserved     u64  zero
 * Unless status is ADY_OK every field after it is zero: a refusal carries
 * no half-launched enclave's identity.
 */
static bool launched_ok(const ady_proto_launched *m)
{
	if (!status_ok(m->status) || !launch_flags_ok(m->flags))
		return false;
	if (m->status == ADY_OK)
		return true;
	return m->threads == 0 && m->id == 0 && m->msbuf_size == 0 && m->channel_size == 0 && m->attributes == 0 &&
	       m->host_pid == 0 && m->flags == 0 && m->isvprodid == 0 && m->isvsvn == 0 &&
	       zero_bytes(m->mrenclave, sizeof(m->mrenclave)) && zero_bytes(m->mrsigner, sizeof(m->mrsigner));
}

/* see adyton/proto.h */
ady_err ady_proto_encode_launched(const ady_proto_launched *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, LAUNCHED_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!launched_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_u32le(&w, m->threads);
	ady_wr_u64le(&w, m->id);
	ady_wr_u64le(&w, m->msbuf_size);
	ady_wr_u64le(&w, m->channel_size);
	ady_wr_u64le(&w, m->attributes);
	ady_wr_u32le(&w, m->host_pid);
	ady_wr_u32le(&w, m->flags);
	ady_wr_u16le(&w, m->isvprodid);
	ady_wr_u16le(&w, m->isvsvn);
	ady_wr_zero(&w, 4);
	ady_wr_bytes(&w, m->mrenclave, sizeof(m->mrenclave));
	ady_wr_bytes(&w, m->mrsigner, sizeof(m->mrsigner));
	ady_wr_zero(&w, 8);
	return w_end(&w, LAUNCHED_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_launched(const uint8_t *p, size_t len, ady_proto_launched *m)
{
	ady_proto_launched t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, LAUNCHED_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	t.threads = get_u32(&c);
	t.id = get_u64(&c);
	t.msbuf_size = get_u64(&c);
	t.channel_size = get_u64(&c);
	t.attributes = get_u64(&c);
	t.host_pid = get_u32(&c);
	t.flags = get_u32(&c);
	t.isvprodid = get_u16(&c);
	t.isvsvn = get_u16(&c);
	get_zeros(&c, 4);
	get_bytes(&c, t.mrenclave, sizeof(t.mrenclave));
	get_bytes(&c, t.mrsigner, sizeof(t.mrsigner));
	get_zeros(&c, 8);
	return r_end(&c, launched_ok(&t), m, &t, sizeof(t));
}

/* ---- DESTROY --------------------------------------------------------- */

/*
 * DESTROY, 8 bytes:
 *   0 id u64
 */
/* see adyton/proto.h */
ady_err ady_proto_encode_destroy(const ady_proto_destroy *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, DESTROY_SIZE, buf, cap, len);

	if (err)
		return err;
	ady_wr_u64le(&w, m->id);
	return w_end(&w, DESTROY_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_destroy(const uint8_t *p, size_t len, ady_proto_destroy *m)
{
	ady_proto_destroy t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, DESTROY_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.id = get_u64(&c);
	return r_end(&c, true, m, &t, sizeof(t));
}

/* ---- STATUS ---------------------------------------------------------- */

/*
 * STATUS, 8 bytes:
 *   0 status   u32  ady_err
 *   4 reserved u32  zero
 */
/* see adyton/proto.h */
ady_err ady_proto_encode_status(const ady_proto_status *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, STATUS_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!status_ok(m->status))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_zero(&w, 4);
	return w_end(&w, STATUS_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_status(const uint8_t *p, size_t len, ady_proto_status *m)
{
	ady_proto_status t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, STATUS_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	get_zeros(&c, 4);
	return r_end(&c, status_ok(t.status), m, &t, sizeof(t));
}

/* ---- LISTING --------------------------------------------------------- */

/*
 * LISTING, 8 + 112 * count bytes, count <= ADY_LISTING_MAX:
 *   0 count    u32
 *   4 reserved u32  zero
 *   8 entries, 112 bytes each:
 *     0  id        u64
 *     8  owner_uid u32
 *     12 host_pid  u32
 *     16 backend   u32  ady_backend
 *     20 flags     u32  ADY_LAUNCH_*
 *     24 memory    u64
 *     32 started   u64
 *     40 mrenclave 32 bytes
 *     72 pages     u64
 *     80 tenant    32 bytes: [a-z0-9_]{0,31}, then zeros (at least one)
 */
static bool tenant_ok(const char t[static 32])
{
	size_t i = 0;

	while (i < 32 && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
		i++;
	if (i > ADY_TENANT_NAME_MAX)
		return false;
	for (; i < 32; i++)
		if (t[i] != 0)
			return false;
	return true;
}

static bool entry_ok(const ady_listing_entry *e)
{
	return backend_ok(e->backend) && launch_flags_ok(e->flags) && tenant_ok(e->tenant);
}

static void read_entry(ady_cur *c, ady_listing_entry *e)
{
	e->id = get_u64(c);
	e->owner_uid = get_u32(c);
	e->host_pid = get_u32(c);
	e->backend = get_u32(c);
	e->flags = get_u32(c);
	e->memory = get_u64(c);
	e->started = get_u64(c);
	get_bytes(c, e->mrenclave, sizeof(e->mrenclave));
	e->pages = get_u64(c);
	get_bytes(c, (uint8_t *)e->tenant, sizeof(e->tenant));
}

/* see adyton/proto.h */
ady_err ady_proto_encode_listing(const ady_listing_entry *entries, uint32_t count, uint8_t *buf, size_t cap,
			       size_t *len)
{
	ady_wr w;
	size_t need;
	ady_err err;

	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (count > ADY_LISTING_MAX || (!entries && count))
		return ADY_ERR_INVALID_ARG;
	/* count <= ADY_LISTING_MAX: the product is below the payload cap. */
	need = LISTING_HEAD + (size_t)count * ADY_LISTING_ENTRY;
	err = w_open(&w, need, buf, cap, len);
	if (err)
		return err;
	for (uint32_t i = 0; i < count; i++) {
		if (!entry_ok(&entries[i]))
			return ADY_ERR_INVALID_ARG;
	}
	ady_wr_u32le(&w, count);
	ady_wr_zero(&w, 4);
	for (uint32_t i = 0; i < count; i++) {
		const ady_listing_entry *e = &entries[i];

		ady_wr_u64le(&w, e->id);
		ady_wr_u32le(&w, e->owner_uid);
		ady_wr_u32le(&w, e->host_pid);
		ady_wr_u32le(&w, e->backend);
		ady_wr_u32le(&w, e->flags);
		ady_wr_u64le(&w, e->memory);
		ady_wr_u64le(&w, e->started);
		ady_wr_bytes(&w, e->mrenclave, sizeof(e->mrenclave));
		ady_wr_u64le(&w, e->pages);
		ady_wr_bytes(&w, (const uint8_t *)e->tenant, sizeof(e->tenant));
	}
	return w_end(&w, need, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_listing(const uint8_t *p, size_t len, uint32_t i, uint32_t *count, ady_listing_entry *entry)
{
	ady_listing_entry t, e;
	ady_cur c;
	uint32_t n;

	if (!count)
		return ADY_ERR_INVALID_ARG;
	*count = 0;
	if (entry)
		memset(entry, 0, sizeof(*entry));
	if (!p && len)
		return ADY_ERR_INVALID_ARG;
	if (len < LISTING_HEAD || len > ADY_PROTO_MAX_PAYLOAD)
		return ADY_ERR_PROTOCOL;
	ady_cur_init(&c, p, len);
	n = get_u32(&c);
	get_zeros(&c, 4);
	if (ady_cur_err(&c) || n > ADY_LISTING_MAX || ady_cur_left(&c) != (size_t)n * ADY_LISTING_ENTRY)
		return ADY_ERR_PROTOCOL;
	/* Every entry is checked on every call, so that a bad entry fails the
	 * whole message however it is iterated (at most ~910 entries). */
	memset(&t, 0, sizeof(t));
	for (uint32_t k = 0; k < n; k++) {
		read_entry(&c, &e);
		if (ady_cur_err(&c) || !entry_ok(&e))
			return ADY_ERR_PROTOCOL;
		if (k == i)
			t = e;
	}
	*count = n;
	if (!entry)
		return ADY_OK;
	if (i >= n)
		return ADY_ERR_RANGE;
	*entry = t;
	return ADY_OK;
}

/* ---- HOST_READY ------------------------------------------------------ */

/*
 * HOST_READY, 72 bytes:
 *   0  status    u32  ady_err, the host's own load/verify result
 *   4  flags     u32  ADY_LAUNCH_*
 *   8  mrenclave 32 bytes
 *   40 mrsigner  32 bytes
 */
static bool host_ready_ok(const ady_proto_host_ready *m)
{
	return status_ok(m->status) && launch_flags_ok(m->flags);
}

/* see adyton/proto.h */
ady_err ady_proto_encode_host_ready(const ady_proto_host_ready *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, HOST_READY_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!host_ready_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_u32le(&w, m->flags);
	ady_wr_bytes(&w, m->mrenclave, sizeof(m->mrenclave));
	ady_wr_bytes(&w, m->mrsigner, sizeof(m->mrsigner));
	return w_end(&w, HOST_READY_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_host_ready(const uint8_t *p, size_t len, ady_proto_host_ready *m)
{
	ady_proto_host_ready t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, HOST_READY_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	t.flags = get_u32(&c);
	get_bytes(&c, t.mrenclave, sizeof(t.mrenclave));
	get_bytes(&c, t.mrsigner, sizeof(t.mrsigner));
	return r_end(&c, host_ready_ok(&t), m, &t, sizeof(t));
}

/* ---- GETKEY ---------------------------------------------------------- */

/*
 * GETKEY, 512 bytes:
 *   0 keyrequest 512 bytes  SGX KEYREQUEST, validated by the daemon's EGETKEY
 */
/* see adyton/proto.h */
ady_err ady_proto_encode_getkey(const ady_proto_getkey *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, GETKEY_SIZE, buf, cap, len);

	if (err)
		return err;
	ady_wr_bytes(&w, m->keyrequest, sizeof(m->keyrequest));
	return w_end(&w, GETKEY_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_getkey(const uint8_t *p, size_t len, ady_proto_getkey *m)
{
	ady_proto_getkey t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, GETKEY_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	get_bytes(&c, t.keyrequest, sizeof(t.keyrequest));
	return r_end(&c, true, m, &t, sizeof(t));
}

/* ---- KEY ------------------------------------------------------------- */

/*
 * KEY, 24 bytes:
 *   0 status   u32  ady_err
 *   4 reserved u32  zero
 *   8 key      16 bytes, zero unless status is ADY_OK
 */
static bool key_ok(const ady_proto_key *m)
{
	return status_ok(m->status) && (m->status == ADY_OK || zero_bytes(m->key, sizeof(m->key)));
}

/* see adyton/proto.h */
ady_err ady_proto_encode_key(const ady_proto_key *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, KEY_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!key_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_zero(&w, 4);
	ady_wr_bytes(&w, m->key, sizeof(m->key));
	return w_end(&w, KEY_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_key(const uint8_t *p, size_t len, ady_proto_key *m)
{
	ady_proto_key t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, KEY_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	get_zeros(&c, 4);
	get_bytes(&c, t.key, sizeof(t.key));
	err = r_end(&c, key_ok(&t), m, &t, sizeof(t));
	ady_wipe(&t, sizeof(t));
	return err;
}

/* ---- REPORT ---------------------------------------------------------- */

/*
 * REPORT, 576 bytes:
 *   0   targetinfo 512 bytes  SGX TARGETINFO, validated by the daemon's EREPORT
 *   512 reportdata 64 bytes
 */
/* see adyton/proto.h */
ady_err ady_proto_encode_report(const ady_proto_report *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, REPORT_SIZE, buf, cap, len);

	if (err)
		return err;
	ady_wr_bytes(&w, m->targetinfo, sizeof(m->targetinfo));
	ady_wr_bytes(&w, m->reportdata, sizeof(m->reportdata));
	return w_end(&w, REPORT_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_report(const uint8_t *p, size_t len, ady_proto_report *m)
{
	ady_proto_report t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, REPORT_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	get_bytes(&c, t.targetinfo, sizeof(t.targetinfo));
	get_bytes(&c, t.reportdata, sizeof(t.reportdata));
	return r_end(&c, true, m, &t, sizeof(t));
}

/* ---- REPORTED -------------------------------------------------------- */

/*
 * REPORTED, 440 bytes:
 *   0 status   u32  ady_err
 *   4 reserved u32  zero
 *   8 report   432 bytes  SGX REPORT, zero unless status is ADY_OK
 */
static bool reported_ok(const ady_proto_reported *m)
{
	return status_ok(m->status) && (m->status == ADY_OK || zero_bytes(m->report, sizeof(m->report)));
}

/* see adyton/proto.h */
ady_err ady_proto_encode_reported(const ady_proto_reported *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, REPORTED_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!reported_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_zero(&w, 4);
	ady_wr_bytes(&w, m->report, sizeof(m->report));
	return w_end(&w, REPORTED_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_reported(const uint8_t *p, size_t len, ady_proto_reported *m)
{
	ady_proto_reported t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, REPORTED_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	get_zeros(&c, 4);
	get_bytes(&c, t.report, sizeof(t.report));
	return r_end(&c, reported_ok(&t), m, &t, sizeof(t));
}

/* ---- SEEDED ---------------------------------------------------------- */

/*
 * SEEDED, 40 bytes:
 *   0 status   u32  ady_err
 *   4 reserved u32  zero
 *   8 seed     32 bytes, zero unless status is ADY_OK
 */
static bool seeded_ok(const ady_proto_seeded *m)
{
	return status_ok(m->status) && (m->status == ADY_OK || zero_bytes(m->seed, sizeof(m->seed)));
}

/* see adyton/proto.h */
ady_err ady_proto_encode_seeded(const ady_proto_seeded *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, SEEDED_SIZE, buf, cap, len);

	if (err)
		return err;
	if (!seeded_ok(m))
		return ADY_ERR_INVALID_ARG;
	ady_wr_u32le(&w, m->status);
	ady_wr_zero(&w, 4);
	ady_wr_bytes(&w, m->seed, sizeof(m->seed));
	return w_end(&w, SEEDED_SIZE, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_seeded(const uint8_t *p, size_t len, ady_proto_seeded *m)
{
	ady_proto_seeded t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, SEEDED_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.status = get_u32(&c);
	get_zeros(&c, 4);
	get_bytes(&c, t.seed, sizeof(t.seed));
	err = r_end(&c, seeded_ok(&t), m, &t, sizeof(t));
	ady_wipe(&t, sizeof(t));
	return err;
}

/* ---- CAPACITY_INFO ---------------------------------------------------- */

/*
 * CAPACITY_INFO, 48 + 64 * ntenants bytes, ntenants <= 32:
 *   0  total_pages      u64
 *   8  free_pages       u64
 *   16 allocated_pages  u64
 *   24 high_water_pages u64
 *   32 cert_type        u16  0xad01 | 0xad02
 *   34 reserved         u16  zero
 *   36 ntenants         u32
 *   40 reserved         u64  zero
 *   48 tenants, 64 bytes each:
 *     0  name          32 bytes: [a-z0-9_]{1,31}, then zeros
 *     32 pages         u64
 *     40 max_pages     u64
 *     48 count         u32
 *     52 max_enclaves  u32
 *     56 reserved      u64  zero
 */
_Static_assert(ADY_CAPACITY_HEAD == 8 * 4 + 2 + 2 + 4 + 8, "capacity layout");
_Static_assert(ADY_CAPACITY_TENANT == 32 + 8 + 8 + 4 + 4 + 8, "capacity tenant layout");
_Static_assert(ADY_CAPACITY_HEAD + ADY_CAPACITY_TENANT * ADY_CAPACITY_MAX_TENANTS <= ADY_PROTO_MAX_PAYLOAD,
	       "capacity cap");

static bool capacity_ok(const ady_proto_capacity *m)
{
	if ((m->cert_type != 0xad01 && m->cert_type != 0xad02) || m->ntenants > ADY_CAPACITY_MAX_TENANTS)
		return false;
	for (uint32_t i = 0; i < m->ntenants; i++)
		if (!m->tenants[i].name[0] || !tenant_ok(m->tenants[i].name))
			return false;
	return true;
}

/* see adyton/proto.h */
ady_err ady_proto_encode_capacity(const ady_proto_capacity *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	size_t need;
	ady_err err;

	if (len)
		*len = 0;
	if (!m || !len || !capacity_ok(m))
		return ADY_ERR_INVALID_ARG;
	need = ADY_CAPACITY_HEAD + (size_t)m->ntenants * ADY_CAPACITY_TENANT;
	err = w_begin(&w, m, need, buf, cap, len);
	if (err)
		return err;
	ady_wr_u64le(&w, m->total_pages);
	ady_wr_u64le(&w, m->free_pages);
	ady_wr_u64le(&w, m->allocated_pages);
	ady_wr_u64le(&w, m->high_water_pages);
	ady_wr_u16le(&w, m->cert_type);
	ady_wr_zero(&w, 2);
	ady_wr_u32le(&w, m->ntenants);
	ady_wr_zero(&w, 8);
	for (uint32_t i = 0; i < m->ntenants; i++) {
		const ady_capacity_tenant *t = &m->tenants[i];

		ady_wr_bytes(&w, t->name, sizeof(t->name));
		ady_wr_u64le(&w, t->pages);
		ady_wr_u64le(&w, t->max_pages);
		ady_wr_u32le(&w, t->count);
		ady_wr_u32le(&w, t->max_enclaves);
		ady_wr_zero(&w, 8);
	}
	return w_end(&w, need, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_capacity(const uint8_t *p, size_t len, ady_proto_capacity *m)
{
	ady_proto_capacity t;
	ady_cur c;
	ady_err err;

	if (!m)
		return ADY_ERR_INVALID_ARG;
	if (len < ADY_CAPACITY_HEAD || len > ADY_CAPACITY_HEAD + ADY_CAPACITY_TENANT * ADY_CAPACITY_MAX_TENANTS ||
	    (len - ADY_CAPACITY_HEAD) % ADY_CAPACITY_TENANT) {
		memset(m, 0, sizeof(*m));
		return ADY_ERR_PROTOCOL;
	}
	err = r_begin(&c, p, len, len, m, sizeof(*m));
	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.total_pages = get_u64(&c);
	t.free_pages = get_u64(&c);
	t.allocated_pages = get_u64(&c);
	t.high_water_pages = get_u64(&c);
	t.cert_type = get_u16(&c);
	get_zeros(&c, 2);
	t.ntenants = get_u32(&c);
	get_zeros(&c, 8);
	/* the count is announced twice (frame and field): they must agree */
	if (ady_cur_err(&c) || t.ntenants > ADY_CAPACITY_MAX_TENANTS ||
	    (size_t)t.ntenants * ADY_CAPACITY_TENANT != ady_cur_left(&c))
		return ADY_ERR_PROTOCOL;
	for (uint32_t i = 0; i < t.ntenants; i++) {
		ady_capacity_tenant *x = &t.tenants[i];

		get_bytes(&c, (uint8_t *)x->name, sizeof(x->name));
		x->pages = get_u64(&c);
		x->max_pages = get_u64(&c);
		x->count = get_u32(&c);
		x->max_enclaves = get_u32(&c);
		get_zeros(&c, 8);
	}
	return r_end(&c, capacity_ok(&t), m, &t, sizeof(t));
}

/* ---- ABORTED --------------------------------------------------------- */

/*
 * ABORTED, 4 + len bytes, len <= ADY_PROTO_MAX_REASON:
 *   0 len    u32  must equal the payload length minus 4
 *   4 reason len bytes (not NUL-terminated)
 * Decoding zeroes reason[len..ADY_PROTO_MAX_REASON).
 */
/* see adyton/proto.h */
ady_err ady_proto_encode_aborted(const ady_proto_aborted *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err;

	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (!m || m->len > ADY_PROTO_MAX_REASON)
		return ADY_ERR_INVALID_ARG;
	err = w_begin(&w, m, ABORTED_HEAD + (size_t)m->len, buf, cap, len);
	if (err)
		return err;
	ady_wr_u32le(&w, m->len);
	ady_wr_bytes(&w, m->reason, m->len);
	return w_end(&w, ABORTED_HEAD + (size_t)m->len, len);
}

/* see adyton/proto.h */
ady_err ady_proto_decode_aborted(const uint8_t *p, size_t len, ady_proto_aborted *m)
{
	ady_proto_aborted t;
	ady_cur c;
	ady_err err;

	if (!m)
		return ADY_ERR_INVALID_ARG;
	if (len < ABORTED_HEAD || len > ABORTED_HEAD + ADY_PROTO_MAX_REASON) {
		memset(m, 0, sizeof(*m));
		return ADY_ERR_PROTOCOL;
	}
	err = r_begin(&c, p, len, len, m, sizeof(*m));
	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	t.len = get_u32(&c);
	/* len is announced twice (frame and field); they must agree, or a
	 * reader trusting the field would read past the frame. */
	if (ady_cur_err(&c) || t.len != ady_cur_left(&c))
		return ADY_ERR_PROTOCOL;
	get_bytes(&c, t.reason, t.len);
	return r_end(&c, true, m, &t, sizeof(t));
}

/*
 * QUOTE, 96 bytes:
 *   0  reportdata 64
 *   64 nonce      32
 */
ady_err ady_proto_encode_quote(const ady_proto_quote *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err = w_begin(&w, m, QUOTE_SIZE, buf, cap, len);

	if (err)
		return err;
	ady_wr_bytes(&w, m->reportdata, sizeof(m->reportdata));
	ady_wr_bytes(&w, m->nonce, sizeof(m->nonce));
	return w_end(&w, QUOTE_SIZE, len);
}

ady_err ady_proto_decode_quote(const uint8_t *p, size_t len, ady_proto_quote *m)
{
	ady_proto_quote t;
	ady_cur c;
	ady_err err = r_begin(&c, p, len, QUOTE_SIZE, m, sizeof(*m));

	if (err)
		return err;
	memset(&t, 0, sizeof(t));
	get_bytes(&c, t.reportdata, sizeof(t.reportdata));
	get_bytes(&c, t.nonce, sizeof(t.nonce));
	return r_end(&c, true, m, &t, sizeof(t));
}

/*
 * QUOTED, 8 + len bytes:
 *   0  status u32
 *   4  len    u32  (0 unless status is OK; then 1..ADY_PROTO_MAX_QUOTE)
 *   8  quote  len bytes
 */
static bool quoted_ok(const ady_proto_quoted *m)
{
	if (!status_ok(m->status) || m->len > ADY_PROTO_MAX_QUOTE)
		return false;
	return m->status == ADY_OK ? m->len > 0 : m->len == 0;
}

ady_err ady_proto_encode_quoted(const ady_proto_quoted *m, uint8_t *buf, size_t cap, size_t *len)
{
	ady_wr w;
	ady_err err;

	if (!len)
		return ADY_ERR_INVALID_ARG;
	*len = 0;
	if (!m || !quoted_ok(m))
		return ADY_ERR_INVALID_ARG;
	err = w_begin(&w, m, QUOTED_HEAD + (size_t)m->len, buf, cap, len);
	if (err)
		return err;
	ady_wr_u32le(&w, m->status);
	ady_wr_u32le(&w, m->len);
	ady_wr_bytes(&w, m->quote, m->len);
	return w_end(&w, QUOTED_HEAD + (size_t)m->len, len);
}

ady_err ady_proto_decode_quoted(const uint8_t *p, size_t len, ady_proto_quoted *m)
{
	ady_proto_quoted *t;
	ady_cur c;
	ady_err err;

	if (!m)
		return ADY_ERR_INVALID_ARG;
	if (len < QUOTED_HEAD || len > QUOTED_HEAD + ADY_PROTO_MAX_QUOTE) {
		memset(m, 0, sizeof(*m));
		return ADY_ERR_PROTOCOL;
	}
	err = r_begin(&c, p, len, len, m, sizeof(*m));
	if (err)
		return err;
	/* Decoded in place (8 KiB is too much for some callers' stacks); *m
	 * is zeroed again below unless everything checks out. */
	t = m;
	t->status = get_u32(&c);
	t->len = get_u32(&c);
	if (ady_cur_err(&c) || t->len != ady_cur_left(&c) || !quoted_ok(t)) {
		memset(m, 0, sizeof(*m));
		return ADY_ERR_PROTOCOL;
	}
	get_bytes(&c, t->quote, t->len);
	if (ady_cur_err(&c) || ady_cur_left(&c) != 0) {
		memset(m, 0, sizeof(*m));
		return ADY_ERR_PROTOCOL;
	}
	return ADY_OK;
}
