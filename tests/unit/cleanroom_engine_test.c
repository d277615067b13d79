/*
 * The clean room's engine (apps/cleanroom/engine.c) on the host, without
 * an enclave: the edges the end-to-end test (cleanroom_test.sh) does not
 * reach with its one generated dataset.
 *  - the dataset parser refuses each malformed input, naming the line, and
 *    accepts the edge values (amounts, name lengths, duplicate rows);
 *  - a refused upload leaves the room exactly as it was;
 *  - suppression at the boundary: a count of exactly k is shown, k - 1 is
 *    not; a segment whose complement is under k is suppressed; buyers are
 *    shown only when all four cells of the lift table reach k;
 *  - the policy parser's refusals and the canonical form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"

int cr_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

static const char USER[] = "%064x";

/* A CSV in a static buffer: header, then rows built by the caller. */
static char csv[2u << 20];
static size_t csv_len;

static void csv_start(const char *header)
{
	csv_len = (size_t)snprintf(csv, sizeof(csv), "%s\n", header);
}

static void csv_row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void csv_row(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	csv_len += (size_t)vsnprintf(csv + csv_len, sizeof(csv) - csv_len, fmt, ap);
	va_end(ap);
}

static void imp_row(unsigned user, const char *campaign)
{
	char u[65];
	snprintf(u, sizeof(u), USER, user);
	csv_row("%s,%s\n", u, campaign);
}

static void pur_row(unsigned user, const char *product)
{
	char u[65];
	snprintf(u, sizeof(u), USER, user);
	csv_row("%s,%s,1.00\n", u, product);
}

static void expect_refused(const char *text, enum cr_kind kind, const char *why)
{
	cr_dataset *d = (cr_dataset *)1;
	cr_error err = {{0}};

	if (cr_dataset_parse((const uint8_t *)text, strlen(text), kind, &d, &err) == 0) {
		print_error("accepted: %s\n", text);
		fail();
	}
	assert_null(d);
	if (!strstr(err.msg, why)) {
		print_error("input %s\nerror '%s', expected '%s'\n", text, err.msg, why);
		fail();
	}
}

#define U1 "0000000000000000000000000000000000000000000000000000000000000001"

static void test_dataset_refusals(void **state)
{
	(void)state;
	expect_refused("", CR_IMPRESSIONS, "empty");
	expect_refused("user,campaign\n", CR_IMPRESSIONS, "no rows");
	expect_refused("user,campaign\n" U1 ",c", CR_IMPRESSIONS, "does not end with LF");
	expect_refused("User,campaign\n" U1 ",c\n", CR_IMPRESSIONS, "line 1: the header");
	expect_refused("user,campaign\r\n" U1 ",c\r\n", CR_IMPRESSIONS, "line 1: the header");
	expect_refused("user,campaign\n" U1 ",c\r\n", CR_IMPRESSIONS, "line 2: a campaign is");
	expect_refused("user,campaign\n" U1 ",c\n\n", CR_IMPRESSIONS, "line 3: a user is");
	expect_refused("user,campaign\n" U1 "0,c\n", CR_IMPRESSIONS, "line 2: a user is");
	expect_refused("user,campaign\n" "000000000000000000000000000000000000000000000000000000000000000A,c\n",
		       CR_IMPRESSIONS, "line 2: a user is");
	expect_refused("user,campaign\n" U1 "\n", CR_IMPRESSIONS, "line 2: too few fields");
	expect_refused("user,campaign\n" U1 ",\n", CR_IMPRESSIONS, "line 2: a campaign is");
	expect_refused("user,campaign\n" U1 ",\"c\"\n", CR_IMPRESSIONS, "line 2: a campaign is");
	expect_refused("user,campaign\n" U1 ",c,d\n", CR_IMPRESSIONS, "line 2: too many fields");
	expect_refused("user,campaign\n" U1 ",abcdefghijabcdefghijabcdefghijabc\n", CR_IMPRESSIONS,
		       "line 2: a campaign is");
	expect_refused("user,campaign\n" U1 ",c\n", CR_PURCHASES, "uploads purchases, not impressions");
	expect_refused("user,product,amount\n" U1 ",p\n", CR_PURCHASES, "line 2: too few fields");
	expect_refused("user,product,amount\n" U1 ",p,\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,-1\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,1.5\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,1.500\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,01\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,.50\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,10000000\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,1e3\n", CR_PURCHASES, "line 2: an amount");
	expect_refused("user,product,amount\n" U1 ",p,1,2\n", CR_PURCHASES, "line 2: too many fields");
	/* the last of many good lines is bad: the line number is exact */
	csv_start("user,campaign");
	for (unsigned i = 0; i < 1000; i++)
		imp_row(i, "c");
	csv_row("%s,c d\n", U1);
	expect_refused(csv, CR_IMPRESSIONS, "line 1002: a campaign is");
	/* more than CR_MAX_ATTRS distinct names */
	csv_start("user,campaign");
	for (unsigned i = 0; i <= CR_MAX_ATTRS; i++)
		csv_row("%s,c%u\n", U1, i);
	expect_refused(csv, CR_IMPRESSIONS, "more than 256 distinct campaigns");
	/* over the size limit */
	csv_start("user,campaign");
	while (csv_len <= CR_UPLOAD_MAX)
		imp_row(1, "c");
	expect_refused(csv, CR_IMPRESSIONS, "more than");
}

static void test_dataset_edges(void **state)
{
	static const char text[] = "user,product,amount\n" U1 ",p,0\n" U1 ",p,9999999.99\n" U1
				   ",abcdefghijabcdefghijabcdefghijab,0.01\n" U1 ",p,0\n";
	cr_dataset *d = NULL;
	cr_error err;

	(void)state;
	assert_int_equal(cr_dataset_parse((const uint8_t *)text, strlen(text), CR_PURCHASES, &d, &err), 0);
	assert_non_null(d);
	assert_int_equal(d->nrows, 4); /* duplicate rows are rows */
	assert_int_equal(d->nattrs, 2);
	assert_int_equal(d->rows[0].cents, 0);
	assert_int_equal(d->rows[1].cents, 999999999);
	assert_int_equal(d->rows[2].cents, 1);
	assert_string_equal(d->attrs[1], "abcdefghijabcdefghijabcdefghijab");
	assert_int_equal(d->rows[0].user[31], 1);
	cr_dataset_free(d);
}

static void room_with(cr_room *r, unsigned k)
{
	char text[256];
	cr_policy p;
	cr_error err;

	snprintf(text, sizeof(text), "k = %u\nallow = count lift\nprovider = a impressions\nprovider = b purchases\n",
		 k);
	assert_int_equal(cr_policy_parse(text, strlen(text), &p, &err), 0);
	cr_room_init(r, &p);
}

static int upload(cr_room *r, const char *who)
{
	char msg[160];
	cr_error err;

	return cr_room_upload(r, who, (const uint8_t *)csv, csv_len, msg, sizeof(msg), &err);
}

static const char *ask(cr_room *r, const char *q)
{
	static char out[1024];
	cr_error err;

	if (cr_room_query(r, q, strlen(q), out, sizeof(out), &err) < 0)
		snprintf(out, sizeof(out), "refused: %s", err.msg);
	return out;
}

static void test_refused_upload_leaves_nothing(void **state)
{
	cr_room r;

	(void)state;
	room_with(&r, 2);
	csv_start("user,campaign");
	for (unsigned i = 0; i < 100; i++)
		imp_row(i, "c");
	csv_row("bad\n");
	assert_int_not_equal(upload(&r, "a"), 0);
	assert_null(r.data[0]);
	assert_null(r.matched);
	assert_string_equal(ask(&r, "status"), "provider a: waiting\nprovider b: waiting\nready: no\n");
	/* the same provider may then upload good data, once */
	csv_start("user,campaign");
	imp_row(1, "c");
	assert_int_equal(upload(&r, "a"), 0);
	assert_int_not_equal(upload(&r, "a"), 0);
	assert_int_equal(r.data[0]->nrows, 1);
	assert_int_not_equal(upload(&r, "nobody"), 0);
	assert_non_null(strstr(ask(&r, "count"), "waiting for uploads"));
	cr_room_fini(&r);
}

/*
 * Users 0..n-1 matched (all in both datasets).  Campaign "t" for users
 * [0, t); product "p" for users [0, tb) and [t, t + cb).
 */
static void room_table(cr_room *r, unsigned k, unsigned n, unsigned t, unsigned tb, unsigned cb)
{
	room_with(r, k);
	csv_start("user,campaign");
	for (unsigned i = 0; i < n; i++)
		imp_row(i, i < t ? "t" : "other");
	assert_int_equal(upload(r, "a"), 0);
	csv_start("user,product,amount");
	for (unsigned i = 0; i < n; i++)
		pur_row(i, (i < tb || (i >= t && i < t + cb)) ? "p" : "q");
	pur_row(n + 5, "p"); /* a buyer adnet never saw: not matched */
	assert_int_equal(upload(r, "b"), 0);
}

static void test_suppression_boundaries(void **state)
{
	cr_room r;

	(void)state;
	/* k = 5: 20 matched, 5 saw t (exactly k: shown). */
	room_table(&r, 5, 20, 5, 0, 0);
	assert_string_equal(ask(&r, "count"), "matched: 20\n");
	assert_string_equal(ask(&r, "count campaign=t"), "matched: 20\nsegment: 5\n");
	cr_room_fini(&r);
	/* 4 saw t (k - 1): suppressed. */
	room_table(&r, 5, 20, 4, 0, 0);
	assert_string_equal(ask(&r, "count campaign=t"), "matched: 20\nsegment: suppressed\n");
	/* the complement: 16 did not see t, fine; "other" is that complement */
	assert_string_equal(ask(&r, "count campaign=other"), "matched: 20\nsegment: suppressed\n");
	cr_room_fini(&r);
	/* 16 of 20 saw t: the segment is large, its complement (4) is not. */
	room_table(&r, 5, 20, 16, 0, 0);
	assert_string_equal(ask(&r, "count campaign=t"), "matched: 20\nsegment: suppressed\n");
	cr_room_fini(&r);
	/* fewer matched users than k: nothing. */
	room_table(&r, 5, 4, 2, 0, 0);
	assert_string_equal(ask(&r, "count"), "matched: suppressed\n");
	cr_room_fini(&r);
}

static void test_lift_cells(void **state)
{
	cr_room r;

	(void)state;
	/* 40 matched; target 20 (10 buy p), control 20 (5 buy p); k = 5: every
	 * cell (10, 10, 5, 15) reaches k.  Rates 0.5 and 0.25, lift 1. */
	room_table(&r, 5, 40, 20, 10, 5);
	assert_string_equal(ask(&r, "lift campaign=t product=p"),
			    "matched: 40\ntarget: 20\ncontrol: 20\ntarget_buyers: 10\ncontrol_buyers: 5\n"
			    "target_rate: 0.500000\ncontrol_rate: 0.250000\nlift: 1.000000\n");
	assert_string_equal(ask(&r, "lift campaign=other product=p"),
			    "matched: 40\ntarget: 20\ncontrol: 20\ntarget_buyers: 5\ncontrol_buyers: 10\n"
			    "target_rate: 0.250000\ncontrol_rate: 0.500000\nlift: -0.500000\n");
	cr_room_fini(&r);
	/* control buyers 4 (k - 1): the cells go, the groups stay. */
	room_table(&r, 5, 40, 20, 10, 4);
	assert_string_equal(ask(&r, "lift campaign=t product=p"),
			    "matched: 40\ntarget: 20\ncontrol: 20\ntarget_buyers: suppressed\n"
			    "control_buyers: suppressed\ntarget_rate: suppressed\ncontrol_rate: suppressed\n"
			    "lift: suppressed\n");
	cr_room_fini(&r);
	/* target non-buyers 4 (16 of 20 bought): suppressed as well. */
	room_table(&r, 5, 40, 20, 16, 5);
	assert_non_null(strstr(ask(&r, "lift campaign=t product=p"), "target_buyers: suppressed\n"));
	cr_room_fini(&r);
	/* a target of 4: the groups go too (control = matched - target). */
	room_table(&r, 5, 40, 4, 0, 10);
	assert_non_null(strstr(ask(&r, "lift campaign=t product=p"), "target: suppressed\ncontrol: suppressed\n"));
	cr_room_fini(&r);
}

static void test_query_refusals(void **state)
{
	static const char *const bad[][2] = {
		{"", "empty"},
		{"count user=" U1, "not in the query language"},
		{"count row=1", "not in the query language"},
		{"lift campaign=t", "lift campaign=<name> product=<name>"},
		{"lift campaign=t product=p product=q", "selector given twice"},
		{"count campaign=t product=p", "at most one selector"},
		{"count campaign=", "a value is"},
		{"count campaign=a,b", "a value is"},
		{"count campaign", "expected selector=value"},
		{"select * from b", "unknown query"},
		{"status now", "status takes no selector"},
		{"count\tcampaign=t\n", "printable ASCII"},
	};
	cr_room r;
	char out[64];
	cr_error err;

	(void)state;
	room_table(&r, 2, 10, 5, 2, 2);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *got = ask(&r, bad[i][0]);
		if (strncmp(got, "refused: ", 9) != 0 || !strstr(got, bad[i][1])) {
			print_error("query '%s': '%s', expected a refusal with '%s'\n", bad[i][0], got, bad[i][1]);
			fail();
		}
	}
	/* an answer that does not fit is refused, not cut */
	assert_int_equal(cr_room_query(&r, "lift campaign=t product=p", 25, out, sizeof(out), &err), -1);
	cr_room_fini(&r);
	/* a query kind the policy does not allow */
	{
		static const char text[] = "allow = count\nprovider = a impressions\nprovider = b purchases\n";
		cr_policy p;
		assert_int_equal(cr_policy_parse(text, strlen(text), &p, &err), 0);
		cr_room_init(&r, &p);
		assert_non_null(strstr(ask(&r, "lift campaign=t product=p"), "does not allow lift"));
		cr_room_fini(&r);
	}
}

static void test_policy(void **state)
{
	static const char *const bad[][2] = {
		{"allow = count\nprovider = a impressions\n", "at least one impressions and one purchases"},
		{"provider = a impressions\nprovider = b purchases\n", "no allow line"},
		{"k = 1\nallow = count\n", "line 1: k must be"},
		{"k = 10\nk = 10\n", "line 2: k given twice"},
		{"k = 1000001\n", "line 1: k must be"},
		{"k = -3\n", "line 1: k must be"},
		{"allow = count sql\n", "unknown query kind"},
		{"allow = count count\n", "listed twice"},
		{"allow =\n", "allow lists no query kind"},
		{"provider = a\n", "provider = <name>"},
		{"provider = a b\n", "impressions or purchases"},
		{"provider = a impressions x\n", "provider = <name>"},
		{"provider = a impressions\nprovider = a purchases\n", "line 2: provider named twice"},
		{"provider = a/b impressions\n", "a provider name is"},
		{"provider = a impressions\nprovider = b impressions\nprovider = c purchases\nprovider = d purchases\n"
		 "provider = e purchases\n",
		 "line 5: more than 4 providers"},
		{"quota = 3\n", "unknown key"},
		{"k 10\n", "expected key = value"},
		{"k = 10\x01\n", "control character"},
	};
	static const char good[] = "  # comment\n\nprovider=shop purchases\n allow = lift count \nprovider = adnet impressions\n";
	char canon[512];
	cr_policy p;
	cr_error err;
	int n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (cr_policy_parse(bad[i][0], strlen(bad[i][0]), &p, &err) == 0 || !strstr(err.msg, bad[i][1])) {
			print_error("policy '%s': '%s', expected '%s'\n", bad[i][0], err.msg, bad[i][1]);
			fail();
		}
	}
	assert_int_equal(cr_policy_parse(good, strlen(good), &p, &err), 0);
	assert_int_equal(p.k, CR_K_DEFAULT);
	n = cr_policy_canonical(&p, canon, sizeof(canon));
	assert_true(n > 0);
	assert_string_equal(canon, "# adyton-cleanroom query policy v1\nk = 10\nallow = count lift\n"
				   "provider = shop purchases\nprovider = adnet impressions\n");
	assert_int_equal(cr_policy_canonical(&p, canon, 20), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dataset_refusals),
		cmocka_unit_test(test_dataset_edges),
		cmocka_unit_test(test_refused_upload_leaves_nothing),
		cmocka_unit_test(test_suppression_boundaries),
		cmocka_unit_test(test_lift_cells),
		cmocka_unit_test(test_query_refusals),
		cmocka_unit_test(test_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
