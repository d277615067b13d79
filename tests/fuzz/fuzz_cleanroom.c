/*
 * libFuzzer target for the clean room's parsers (apps/cleanroom/engine.c,
 * included to reach its statics): the dataset parser (what providers
 * upload), the query policy parser and the query parser over a small room.
 * The first byte picks the parser; the rest is the input.
 *
 * Checked beyond "no crash": an accepted dataset has one row per line
 * after the header, and only well-formed names; a refused one leaves no
 * dataset and says why; a policy's canonical text parses back to the same
 * canonical text; a query's answer is whole "key: value" lines within the
 * reply.
 */
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>

#include "engine.c"

/* Not assert(): the build may define NDEBUG. */
#define CHECK(x) ((x) ? (void)0 : abort())

int cr_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static cr_room room;

static void room_init(void)
{
	static const char pol[] = "k = 2\nallow = count lift\nprovider = a impressions\nprovider = b purchases\n";
	static const char imp[] =
		"user,campaign\n"
		"0000000000000000000000000000000000000000000000000000000000000001,c1\n"
		"0000000000000000000000000000000000000000000000000000000000000002,c1\n"
		"0000000000000000000000000000000000000000000000000000000000000003,c2\n"
		"0000000000000000000000000000000000000000000000000000000000000004,c2\n"
		"0000000000000000000000000000000000000000000000000000000000000005,c2\n";
	static const char pur[] =
		"user,product,amount\n"
		"0000000000000000000000000000000000000000000000000000000000000001,p1,1.00\n"
		"0000000000000000000000000000000000000000000000000000000000000002,p1,2\n"
		"0000000000000000000000000000000000000000000000000000000000000003,p2,3.50\n"
		"0000000000000000000000000000000000000000000000000000000000000004,p1,0\n"
		"0000000000000000000000000000000000000000000000000000000000000005,p2,9999999.99\n";
	cr_policy p;
	cr_error err;
	char msg[160];

	if (cr_policy_parse(pol, sizeof(pol) - 1, &p, &err))
		abort();
	cr_room_init(&room, &p);
	if (cr_room_upload(&room, "a", (const uint8_t *)imp, sizeof(imp) - 1, msg, sizeof(msg), &err) ||
	    cr_room_upload(&room, "b", (const uint8_t *)pur, sizeof(pur) - 1, msg, sizeof(msg), &err))
		abort();
}

static void dataset(const uint8_t *p, size_t n, enum cr_kind kind)
{
	cr_dataset *d = (cr_dataset *)1;
	cr_error err = {{0}};
	size_t lines = 0;

	if (cr_dataset_parse(p, n, kind, &d, &err)) {
		CHECK(d == NULL && err.msg[0]);
		return;
	}
	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	CHECK(d && d->kind == kind && d->nrows == lines - 1 && d->nattrs <= CR_MAX_ATTRS);
	for (uint32_t i = 0; i < d->nattrs; i++)
		CHECK(is_name(d->attrs[i], strlen(d->attrs[i])));
	for (uint32_t i = 0; i < d->nrows; i++)
		CHECK(d->rows[i].attr < d->nattrs && d->rows[i].cents <= CR_AMOUNT_MAX);
	cr_dataset_free(d);
}

static void policy(const uint8_t *p, size_t n)
{
	static char a[CR_POLICY_MAX], b[CR_POLICY_MAX];
	cr_policy x, y;
	cr_error err;
	int la, lb;

	if (cr_policy_parse((const char *)p, n, &x, &err))
		return;
	la = cr_policy_canonical(&x, a, sizeof(a));
	CHECK(la > 0);
	CHECK(cr_policy_parse(a, (size_t)la, &y, &err) == 0);
	lb = cr_policy_canonical(&y, b, sizeof(b));
	CHECK(la == lb && memcmp(a, b, (size_t)la) == 0);
}

static void query(const uint8_t *p, size_t n)
{
	static char out[1024];
	cr_error err;
	int len = cr_room_query(&room, (const char *)p, n, out, sizeof(out), &err);

	if (len < 0)
		return;
	CHECK((size_t)len < sizeof(out) && len > 0 && out[len - 1] == '\n' && strlen(out) == (size_t)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!room.matched)
		room_init();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		dataset(data + 1, size - 1, CR_IMPRESSIONS);
		break;
	case 1:
		dataset(data + 1, size - 1, CR_PURCHASES);
		break;
	case 2:
		policy(data + 1, size - 1);
		break;
	default:
		query(data + 1, size - 1);
		break;
	}
	return 0;
}
