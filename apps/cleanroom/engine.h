/*
 * The clean room's engine: the query policy, the dataset parser, the query
 * parser and the aggregates.  Pure C over malloc/free and the mem* and
 * str* functions, so that the same file runs inside the enclave, in the
 * host tool (which canonicalizes a provider's expected policy the way the
 * enclave does) and under libFuzzer.  It formats text with cr_snprintf(),
 * which each side defines (ady_vsnprintf in the enclave, vsnprintf on the
 * host).  README.md says what the design protects and what it does not.
 *
 * Nothing here is thread-safe; the enclave serves one connection at a time.
 */
#ifndef CLEANROOM_ENGINE_H
#define CLEANROOM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#define CR_MAX_PROVIDERS 4u
#define CR_NAME_MAX 32u            /* provider, campaign and product names */
#define CR_MAX_ATTRS 256u          /* distinct campaigns / products per dataset */
#define CR_UPLOAD_MAX (1u << 20)   /* bytes of CSV per upload */
#define CR_QUERY_MAX 256u
#define CR_POLICY_MAX 4096u
#define CR_K_DEFAULT 10u
#define CR_K_MIN 2u
#define CR_K_MAX 1000000u
#define CR_AMOUNT_MAX 999999999ull /* cents: 9,999,999.99 */

/* Formats like snprintf (the enclave's formatter knows %d %u %s %c %x and
 * the l/ll/z modifiers; nothing else is used here). */
int cr_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

enum cr_kind { CR_IMPRESSIONS = 1, CR_PURCHASES = 2 };

#define CR_ALLOW_COUNT 0x1u
#define CR_ALLOW_LIFT 0x2u

/* What every provider agrees to before it uploads. */
typedef struct cr_policy {
	uint32_t k;
	uint32_t allow;            /* CR_ALLOW_* */
	uint32_t nproviders;
	struct {
		char name[CR_NAME_MAX + 1];
		enum cr_kind kind;
	} provider[CR_MAX_PROVIDERS];
} cr_policy;

/* An error message for the party that sent the input (it names the line);
 * never contains data values beyond the offending line number. */
typedef struct cr_error {
	char msg[160];
} cr_error;

/*
 * Parses a query policy (text, "key = value" lines, '#' comments):
 *     k        = <2..1000000>            (default 10)
 *     allow    = count | lift ...        (required; space-separated)
 *     provider = <name> impressions|purchases   (2..4, names unique,
 *                                         at least one of each kind)
 * Returns 0 and fills *out, or -1 with the reason (and line) in *err.
 */
int cr_policy_parse(const char *text, size_t len, cr_policy *out, cr_error *err);

/*
 * The canonical text of a policy: what the enclave states and whose
 * SHA-256 its quote binds.  Two policies that mean the same have the same
 * canonical text.  Returns the length, or -1 if cap is too small.
 */
int cr_policy_canonical(const cr_policy *p, char *buf, size_t cap);

typedef struct cr_row {
	uint8_t user[32];
	uint32_t attr;             /* index into the dataset's names */
	uint32_t pad;
	uint64_t cents;            /* purchases only */
} cr_row;

typedef struct cr_dataset {
	enum cr_kind kind;
	uint32_t nrows;
	cr_row *rows;
	uint32_t nattrs;
	char attrs[CR_MAX_ATTRS][CR_NAME_MAX + 1];
} cr_dataset;

/*
 * Parses an upload: CSV with LF line ends, no quoting, a fixed header
 *     user,campaign                 (kind impressions)
 *     user,product,amount           (kind purchases)
 * then one row per line: user = 64 lowercase hex digits (a hashed id),
 * campaign / product = 1..32 of [A-Za-z0-9_.-], amount = digits with
 * optionally a '.' and exactly two more (at most 9999999.99).  Every line,
 * the last too, ends with LF; at least one row.  want: the kind the policy
 * gives this provider.  Returns a new dataset in *out (cr_dataset_free),
 * or -1 with the reason in *err and *out NULL: nothing is kept of a
 * refused upload.
 */
int cr_dataset_parse(const uint8_t *csv, size_t len, enum cr_kind want, cr_dataset **out, cr_error *err);
void cr_dataset_free(cr_dataset *d);

/* The room: the policy and each provider's dataset once it is in. */
typedef struct cr_room {
	cr_policy policy;
	cr_dataset *data[CR_MAX_PROVIDERS];
	/* When every provider is in: the users present in at least one
	 * impressions dataset and at least one purchases dataset, sorted. */
	uint32_t nmatched;
	uint8_t (*matched)[32];
} cr_room;

void cr_room_init(cr_room *r, const cr_policy *p);
void cr_room_fini(cr_room *r);

/*
 * Adds provider's upload (parsed here).  Refused (-1, *err says why, the
 * room unchanged): an unknown provider, one that already uploaded (an
 * upload is final: replacing one would let its owner difference two
 * answers), a malformed dataset, out of memory.  On success msg gets a
 * line for the uploader ("accepted N rows ...").
 */
int cr_room_upload(cr_room *r, const char *provider, const uint8_t *csv, size_t len, char *msg, size_t cap,
		   cr_error *err);

/*
 * Answers one query (text without a newline, at most CR_QUERY_MAX bytes):
 *     status
 *     count
 *     count campaign=<name>
 *     count product=<name>
 *     lift campaign=<name> product=<name>
 * into out as "key: value" lines; returns their length.  Counts under the policy's k, and counts
 * that the other answers would let one derive under k (a complement, a
 * cell of the 2x2 table), read "suppressed".  Refused (-1, *err): anything
 * else (a selector of a row, e.g. user=, is not in the language), a query
 * kind the policy does not allow, a room still waiting for uploads.
 */
int cr_room_query(cr_room *r, const char *query, size_t len, char *out, size_t cap, cr_error *err);

/* Sorting of 32-byte keys (heapsort: no recursion, no allocation). */
void cr_sort32(uint8_t (*a)[32], size_t n);

#endif
