/*
 * The clean room's engine (engine.h): policy, dataset and query parsers
 * and the aggregates.  Runs in the enclave, in the host tool and under
 * libFuzzer (tests/fuzz/fuzz_cleanroom.c includes this file).
 *
 * The dataset format is a fixed-schema subset of CSV (no quoting, no
 * embedded separators, LF only): a general CSV library would accept more
 * (quotes, embedded newlines, ragged rows) than the clean room wants, and
 * none runs freestanding; so this is a record reader for exactly two
 * headers, strict about every byte.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define SAY(err, ...) ((void)cr_snprintf((err)->msg, sizeof((err)->msg), __VA_ARGS__))
#define FAIL(err, ...) (SAY(err, __VA_ARGS__), -1)

static int is_name_char(uint8_t ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
	       ch == '.' || ch == '-';
}

/* [p, p+n) is a name: 1..CR_NAME_MAX name characters. */
static int is_name(const char *p, size_t n)
{
	if (n == 0 || n > CR_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char((uint8_t)p[i]))
			return 0;
	return 1;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void trim(const char **p, size_t *n)
{
	while (*n && is_space(**p)) {
		(*p)++;
		(*n)--;
	}
	while (*n && is_space((*p)[*n - 1]))
		(*n)--;
}

static int word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

/* Splits the next space-separated word off [*p, *p+*n). */
static int next_word(const char **p, size_t *n, const char **w, size_t *wn)
{
	trim(p, n);
	if (*n == 0)
		return 0;
	*w = *p;
	*wn = 0;
	while (*wn < *n && !is_space((*p)[*wn]))
		(*wn)++;
	*p += *wn;
	*n -= *wn;
	return 1;
}

static int parse_uint(const char *p, size_t n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	if (x > max)
		return -1;
	*v = x;
	return 0;
}

/* ---- the query policy ---- */

static int policy_line(cr_policy *out, const char *key, size_t kn, const char *val, size_t vn, int *have_k,
		       unsigned line, cr_error *err)
{
	const char *w;
	size_t wn;

	if (word_is(key, kn, "k")) {
		uint64_t k;
		if (*have_k)
			return FAIL(err, "policy line %u: k given twice", line);
		if (parse_uint(val, vn, CR_K_MAX, &k) || k < CR_K_MIN)
			return FAIL(err, "policy line %u: k must be a number from %u to %u", line, CR_K_MIN, CR_K_MAX);
		out->k = (uint32_t)k;
		*have_k = 1;
		return 0;
	}
	if (word_is(key, kn, "allow")) {
		if (out->allow)
			return FAIL(err, "policy line %u: allow given twice", line);
		while (next_word(&val, &vn, &w, &wn)) {
			uint32_t bit;
			if (word_is(w, wn, "count"))
				bit = CR_ALLOW_COUNT;
			else if (word_is(w, wn, "lift"))
				bit = CR_ALLOW_LIFT;
			else
				return FAIL(err, "policy line %u: unknown query kind (count, lift)", line);
			if (out->allow & bit)
				return FAIL(err, "policy line %u: a query kind listed twice", line);
			out->allow |= bit;
		}
		if (!out->allow)
			return FAIL(err, "policy line %u: allow lists no query kind", line);
		return 0;
	}
	if (word_is(key, kn, "provider")) {
		const char *name, *kind;
		size_t nn, kdn;
		enum cr_kind kd;
		if (out->nproviders == CR_MAX_PROVIDERS)
			return FAIL(err, "policy line %u: more than %u providers", line, CR_MAX_PROVIDERS);
		if (!next_word(&val, &vn, &name, &nn) || !next_word(&val, &vn, &kind, &kdn) || vn != 0)
			return FAIL(err, "policy line %u: provider = <name> impressions|purchases", line);
		if (!is_name(name, nn))
			return FAIL(err, "policy line %u: a provider name is 1..%u of [A-Za-z0-9_.-]", line,
				    CR_NAME_MAX);
		if (word_is(kind, kdn, "impressions"))
			kd = CR_IMPRESSIONS;
		else if (word_is(kind, kdn, "purchases"))
			kd = CR_PURCHASES;
		else
			return FAIL(err, "policy line %u: a provider's kind is impressions or purchases", line);
		for (uint32_t i = 0; i < out->nproviders; i++)
			if (word_is(name, nn, out->provider[i].name))
				return FAIL(err, "policy line %u: provider named twice", line);
		memcpy(out->provider[out->nproviders].name, name, nn);
		out->provider[out->nproviders].name[nn] = '\0';
		out->provider[out->nproviders].kind = kd;
		out->nproviders++;
		return 0;
	}
	return FAIL(err, "policy line %u: unknown key (k, allow, provider)", line);
}

/* see engine.h */
int cr_policy_parse(const char *text, size_t len, cr_policy *out, cr_error *err)
{
	cr_policy p;
	size_t pos = 0;
	unsigned line = 0;
	int have_k = 0, nimp = 0, npur = 0;

	memset(&p, 0, sizeof(p));
	if (len > CR_POLICY_MAX)
		return FAIL(err, "policy: longer than %u bytes", CR_POLICY_MAX);
	while (pos < len) {
		const char *l = text + pos, *eq;
		size_t n = 0, kn, vn;
		line++;
		while (pos + n < len && text[pos + n] != '\n')
			n++;
		pos += n + (pos + n < len);
		for (size_t i = 0; i < n; i++)
			if ((uint8_t)l[i] < 0x20 && l[i] != '\t')
				return FAIL(err, "policy line %u: control character", line);
		trim(&l, &n);
		if (n == 0 || l[0] == '#')
			continue;
		eq = memchr(l, '=', n);
		if (!eq)
			return FAIL(err, "policy line %u: expected key = value", line);
		kn = (size_t)(eq - l);
		vn = n - kn - 1;
		{
			const char *k = l, *v = eq + 1;
			trim(&k, &kn);
			trim(&v, &vn);
			if (policy_line(&p, k, kn, v, vn, &have_k, line, err))
				return -1;
		}
	}
	if (!have_k)
		p.k = CR_K_DEFAULT;
	if (!p.allow)
		return FAIL(err, "policy: no allow line (which queries may run)");
	for (uint32_t i = 0; i < p.nproviders; i++) {
		nimp += p.provider[i].kind == CR_IMPRESSIONS;
		npur += p.provider[i].kind == CR_PURCHASES;
	}
	if (!nimp || !npur)
		return FAIL(err, "policy: needs at least one impressions and one purchases provider");
	*out = p;
	return 0;
}

/* see engine.h */
int cr_policy_canonical(const cr_policy *p, char *buf, size_t cap)
{
	size_t len;
	int n;

	n = cr_snprintf(buf, cap, "# adyton-cleanroom query policy v1\nk = %u\nallow =%s%s\n", p->k,
			(p->allow & CR_ALLOW_COUNT) ? " count" : "", (p->allow & CR_ALLOW_LIFT) ? " lift" : "");
	if (n < 0 || (size_t)n >= cap)
		return -1;
	len = (size_t)n;
	for (uint32_t i = 0; i < p->nproviders; i++) {
		n = cr_snprintf(buf + len, cap - len, "provider = %s %s\n", p->provider[i].name,
				p->provider[i].kind == CR_IMPRESSIONS ? "impressions" : "purchases");
		if (n < 0 || (size_t)n >= cap - len)
			return -1;
		len += (size_t)n;
	}
	return (int)len;
}

/* ---- datasets ---- */

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One field of [p, end): up to the next ',' (more == 1) or the line's end. */
static size_t field_len(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] != ',')
		i++;
	return i;
}

/* Amount: digits (1..7, no leading zero unless "0"), optionally '.' and two. */
static int parse_amount(const uint8_t *p, size_t n, uint64_t *cents)
{
	size_t ip = n;
	uint64_t whole = 0, frac = 0;

	for (size_t i = 0; i < n; i++)
		if (p[i] == '.') {
			ip = i;
			break;
		}
	if (ip == 0 || ip > 7 || (p[0] == '0' && ip > 1))
		return -1;
	if (ip < n && n - ip != 3)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (i == ip)
			continue;
		if (p[i] < '0' || p[i] > '9')
			return -1;
		if (i < ip)
			whole = whole * 10 + (uint64_t)(p[i] - '0');
		else
			frac = frac * 10 + (uint64_t)(p[i] - '0');
	}
	*cents = whole * 100 + frac;
	return *cents <= CR_AMOUNT_MAX ? 0 : -1;
}

static int intern(cr_dataset *d, const uint8_t *p, size_t n, uint32_t *idx)
{
	for (uint32_t i = 0; i < d->nattrs; i++)
		if (strlen(d->attrs[i]) == n && memcmp(d->attrs[i], p, n) == 0) {
			*idx = i;
			return 0;
		}
	if (d->nattrs == CR_MAX_ATTRS)
		return -1;
	memcpy(d->attrs[d->nattrs], p, n);
	d->attrs[d->nattrs][n] = '\0';
	*idx = d->nattrs++;
	return 0;
}

static const char HDR_IMP[] = "user,campaign";
static const char HDR_PUR[] = "user,product,amount";

/* see engine.h */
int cr_dataset_parse(const uint8_t *csv, size_t len, enum cr_kind want, cr_dataset **out, cr_error *err)
{
	cr_dataset *d = NULL;
	size_t pos = 0, cap_rows, nlines = 0;
	unsigned line = 0;
	enum cr_kind kind;

	*out = NULL;
	if (len > CR_UPLOAD_MAX)
		return FAIL(err, "upload: more than %u bytes", CR_UPLOAD_MAX);
	if (len == 0 || csv[len - 1] != '\n')
		return FAIL(err, "upload: empty, or the last line does not end with LF");
	for (size_t i = 0; i < len; i++)
		nlines += csv[i] == '\n';
	cap_rows = nlines - 1;
	{
		size_t n = 0;
		while (csv[n] != '\n')
			n++;
		if (n == sizeof(HDR_IMP) - 1 && memcmp(csv, HDR_IMP, n) == 0)
			kind = CR_IMPRESSIONS;
		else if (n == sizeof(HDR_PUR) - 1 && memcmp(csv, HDR_PUR, n) == 0)
			kind = CR_PURCHASES;
		else
			return FAIL(err, "line 1: the header is not \"%s\" or \"%s\"", HDR_IMP, HDR_PUR);
		pos = n + 1;
		line = 1;
	}
	if (kind != want)
		return FAIL(err, "line 1: this provider uploads %s, not %s",
			    want == CR_IMPRESSIONS ? "impressions" : "purchases",
			    kind == CR_IMPRESSIONS ? "impressions" : "purchases");
	if (cap_rows == 0)
		return FAIL(err, "upload: no rows");
	d = calloc(1, sizeof(*d));
	if (!d)
		return FAIL(err, "upload: out of memory");
	d->kind = kind;
	d->rows = calloc(cap_rows, sizeof(*d->rows));
	if (!d->rows) {
		cr_dataset_free(d);
		return FAIL(err, "upload: out of memory");
	}
	while (pos < len) {
		const uint8_t *l = csv + pos;
		size_t n = 0, f;
		cr_row *row = &d->rows[d->nrows];
		line++;
		while (l[n] != '\n')
			n++;
		pos += n + 1;
		f = field_len(l, n);
		if (f != 64)
			goto bad_user;
		for (size_t i = 0; i < 64; i += 2) {
			int hi = hexval(l[i]), lo = hexval(l[i + 1]);
			if (hi < 0 || lo < 0)
				goto bad_user;
			row->user[i / 2] = (uint8_t)(hi << 4 | lo);
		}
		if (n == f) {
			SAY(err, "line %u: too few fields", line);
			goto fail;
		}
		l += f + 1;
		n -= f + 1;
		f = field_len(l, n);
		if (!is_name((const char *)l, f)) {
			SAY(err, "line %u: a %s is 1..%u of [A-Za-z0-9_.-]", line,
			     kind == CR_IMPRESSIONS ? "campaign" : "product", CR_NAME_MAX);
			goto fail;
		}
		if (intern(d, l, f, &row->attr)) {
			SAY(err, "line %u: more than %u distinct %ss", line, CR_MAX_ATTRS,
			     kind == CR_IMPRESSIONS ? "campaign" : "product");
			goto fail;
		}
		if (kind == CR_PURCHASES) {
			if (n == f) {
				SAY(err, "line %u: too few fields", line);
				goto fail;
			}
			l += f + 1;
			n -= f + 1;
			f = field_len(l, n);
			if (parse_amount(l, f, &row->cents)) {
				SAY(err, "line %u: an amount is 0..9999999 with optionally two decimals", line);
				goto fail;
			}
		}
		if (f != n) {
			SAY(err, "line %u: too many fields", line);
			goto fail;
		}
		d->nrows++;
	}
	*out = d;
	return 0;
bad_user:
	SAY(err, "line %u: a user is 64 lowercase hex digits (a hashed id)", line);
fail:
	cr_dataset_free(d);
	return -1;
}

/* see engine.h */
void cr_dataset_free(cr_dataset *d)
{
	if (!d)
		return;
	if (d->rows)
		memset(d->rows, 0, (size_t)d->nrows * sizeof(*d->rows));
	free(d->rows);
	memset(d, 0, sizeof(*d));
	free(d);
}

/* ---- matching ---- */

static void sift(uint8_t (*a)[32], size_t root, size_t n)
{
	uint8_t t[32];

	for (;;) {
		size_t c = 2 * root + 1;
		if (c >= n)
			return;
		if (c + 1 < n && memcmp(a[c], a[c + 1], 32) < 0)
			c++;
		if (memcmp(a[root], a[c], 32) >= 0)
			return;
		memcpy(t, a[root], 32);
		memcpy(a[root], a[c], 32);
		memcpy(a[c], t, 32);
		root = c;
	}
}

/* see engine.h */
void cr_sort32(uint8_t (*a)[32], size_t n)
{
	uint8_t t[32];

	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (size_t end = n; end-- > 1;) {
		memcpy(t, a[0], 32);
		memcpy(a[0], a[end], 32);
		memcpy(a[end], t, 32);
		sift(a, 0, end);
	}
}

static size_t uniq(uint8_t (*a)[32], size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (m == 0 || memcmp(a[m - 1], a[i], 32) != 0)
			memmove(a[m++], a[i], 32);
	return m;
}

/* Sorted unique users of every dataset of one kind (malloc'd; NULL if none
 * or out of memory: *n tells which). */
static uint8_t (*users_of(const cr_room *r, enum cr_kind kind, size_t *n, int *oom))[32]
{
	uint8_t(*a)[32];
	size_t total = 0, m = 0;

	*n = 0;
	for (uint32_t i = 0; i < r->policy.nproviders; i++)
		if (r->data[i] && r->data[i]->kind == kind)
			total += r->data[i]->nrows;
	a = malloc(total ? total * 32 : 1);
	if (!a) {
		*oom = 1;
		return NULL;
	}
	for (uint32_t i = 0; i < r->policy.nproviders; i++)
		if (r->data[i] && r->data[i]->kind == kind)
			for (uint32_t j = 0; j < r->data[i]->nrows; j++)
				memcpy(a[m++], r->data[i]->rows[j].user, 32);
	cr_sort32(a, m);
	*n = uniq(a, m);
	return a;
}

static int build_matched(cr_room *r)
{
	uint8_t(*imp)[32], (*pur)[32], (*m)[32];
	size_t ni, np, i = 0, j = 0, nm = 0;
	int oom = 0;

	imp = users_of(r, CR_IMPRESSIONS, &ni, &oom);
	pur = users_of(r, CR_PURCHASES, &np, &oom);
	m = malloc((ni < np ? ni : np) * 32 + 1);
	if (oom || !m) {
		free(imp);
		free(pur);
		free(m);
		return -1;
	}
	while (i < ni && j < np) {
		int c = memcmp(imp[i], pur[j], 32);
		if (c == 0) {
			memcpy(m[nm++], imp[i], 32);
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	free(imp);
	free(pur);
	r->matched = m;
	r->nmatched = (uint32_t)nm;
	return 0;
}

/* see engine.h */
void cr_room_init(cr_room *r, const cr_policy *p)
{
	memset(r, 0, sizeof(*r));
	r->policy = *p;
}

/* see engine.h */
void cr_room_fini(cr_room *r)
{
	if (!r)
		return;
	for (uint32_t i = 0; i < CR_MAX_PROVIDERS; i++)
		cr_dataset_free(r->data[i]);
	if (r->matched)
		memset(r->matched, 0, (size_t)r->nmatched * 32);
	free(r->matched);
	memset(r, 0, sizeof(*r));
}

static int all_in(const cr_room *r)
{
	for (uint32_t i = 0; i < r->policy.nproviders; i++)
		if (!r->data[i])
			return 0;
	return 1;
}

/* see engine.h */
int cr_room_upload(cr_room *r, const char *provider, const uint8_t *csv, size_t len, char *msg, size_t cap,
		   cr_error *err)
{
	cr_dataset *d;
	uint32_t i;

	for (i = 0; i < r->policy.nproviders; i++)
		if (strcmp(r->policy.provider[i].name, provider) == 0)
			break;
	if (i == r->policy.nproviders)
		return FAIL(err, "upload: the query policy names no provider \"%s\"", provider);
	if (r->data[i])
		return FAIL(err, "upload: provider %s has uploaded already (an upload is final)", provider);
	if (cr_dataset_parse(csv, len, r->policy.provider[i].kind, &d, err))
		return -1;
	r->data[i] = d;
	if (all_in(r) && build_matched(r)) {
		r->data[i] = NULL;
		cr_dataset_free(d);
		return FAIL(err, "upload: out of memory");
	}
	cr_snprintf(msg, cap, "accepted %u rows from %s%s\n", d->nrows, provider,
		    all_in(r) ? "; every provider is in, queries are open" : "");
	return 0;
}

/* ---- queries ---- */

static int find_matched(const cr_room *r, const uint8_t user[32])
{
	size_t lo = 0, hi = r->nmatched;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(r->matched[mid], user, 32);
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* flags[i] = 1 for each matched user with a row of this kind and name. */
static void mark(const cr_room *r, enum cr_kind kind, const char *name, uint8_t *flags)
{
	for (uint32_t i = 0; i < r->policy.nproviders; i++) {
		const cr_dataset *d = r->data[i];
		uint32_t a;
		if (d->kind != kind)
			continue;
		for (a = 0; a < d->nattrs; a++)
			if (strcmp(d->attrs[a], name) == 0)
				break;
		if (a == d->nattrs)
			continue;
		for (uint32_t j = 0; j < d->nrows; j++) {
			int m;
			if (d->rows[j].attr != a)
				continue;
			m = find_matched(r, d->rows[j].user);
			if (m >= 0)
				flags[m] = 1;
		}
	}
}

struct out {
	char *p;
	size_t cap, len;
	int full;
};

static void emit(struct out *o, const char *key, int shown, uint64_t v)
{
	int n;

	if (o->full)
		return;
	if (shown)
		n = cr_snprintf(o->p + o->len, o->cap - o->len, "%s: %llu\n", key, (unsigned long long)v);
	else
		n = cr_snprintf(o->p + o->len, o->cap - o->len, "%s: suppressed\n", key);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
}

/* A fraction in millionths, as "[-]W.FFFFFF". */
static void emit_ppm(struct out *o, const char *key, int shown, int64_t ppm)
{
	uint64_t a = ppm < 0 ? (uint64_t)(-ppm) : (uint64_t)ppm;
	int n;

	if (!shown) {
		emit(o, key, 0, 0);
		return;
	}
	if (o->full)
		return;
	n = cr_snprintf(o->p + o->len, o->cap - o->len, "%s: %s%llu.%06llu\n", key, ppm < 0 ? "-" : "",
			(unsigned long long)(a / 1000000), (unsigned long long)(a % 1000000));
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
}

enum { SEL_CAMPAIGN = 1, SEL_PRODUCT = 2 };

static int parse_selector(const char *w, size_t wn, char campaign[CR_NAME_MAX + 1], char product[CR_NAME_MAX + 1],
			  unsigned *have, cr_error *err)
{
	const char *eq = memchr(w, '=', wn);
	size_t kn, vn;
	char *dst;
	unsigned bit;

	if (!eq)
		return FAIL(err, "query: expected selector=value (campaign=, product=)");
	kn = (size_t)(eq - w);
	vn = wn - kn - 1;
	if (word_is(w, kn, "campaign")) {
		dst = campaign;
		bit = SEL_CAMPAIGN;
	} else if (word_is(w, kn, "product")) {
		dst = product;
		bit = SEL_PRODUCT;
	} else {
		/* The language has no selector of a row or a user: a segment is
		 * everyone who saw a campaign or bought a product. */
		char sel[17];
		size_t sn = kn < sizeof(sel) - 1 ? kn : sizeof(sel) - 1;
		memcpy(sel, w, sn);
		sel[sn] = '\0';
		return FAIL(err, "query: selector \"%s\" is not in the query language: queries select "
				 "segments (campaign=, product=), never users or rows",
			    sel);
	}
	if (*have & bit)
		return FAIL(err, "query: selector given twice");
	if (!is_name(eq + 1, vn))
		return FAIL(err, "query: a value is 1..%u of [A-Za-z0-9_.-]", CR_NAME_MAX);
	memcpy(dst, eq + 1, vn);
	dst[vn] = '\0';
	*have |= bit;
	return 0;
}

static int query_status(const cr_room *r, struct out *o)
{
	int n;

	for (uint32_t i = 0; i < r->policy.nproviders && !o->full; i++) {
		if (r->data[i])
			n = cr_snprintf(o->p + o->len, o->cap - o->len, "provider %s: %u rows\n",
					r->policy.provider[i].name, r->data[i]->nrows);
		else
			n = cr_snprintf(o->p + o->len, o->cap - o->len, "provider %s: waiting\n",
					r->policy.provider[i].name);
		if (n < 0 || (size_t)n >= o->cap - o->len)
			o->full = 1;
		else
			o->len += (size_t)n;
	}
	n = cr_snprintf(o->p + o->len, o->cap - o->len, "ready: %s\n", all_in(r) ? "yes" : "no");
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = 1;
	else
		o->len += (size_t)n;
	return 0;
}

/* see engine.h */
int cr_room_query(cr_room *r, const char *query, size_t len, char *out, size_t cap, cr_error *err)
{
	char campaign[CR_NAME_MAX + 1] = "", product[CR_NAME_MAX + 1] = "";
	const char *p = query, *w;
	size_t n = len, wn;
	unsigned have = 0;
	uint64_t k = r->policy.k, nm = r->nmatched;
	uint8_t *ft = NULL, *fp = NULL;
	struct out o = {out, cap, 0, 0};
	int lift;

	if (len > CR_QUERY_MAX)
		return FAIL(err, "query: longer than %u bytes", CR_QUERY_MAX);
	for (size_t i = 0; i < len; i++)
		if ((uint8_t)query[i] < 0x20 || (uint8_t)query[i] > 0x7e)
			return FAIL(err, "query: one line of printable ASCII");
	if (!next_word(&p, &n, &w, &wn))
		return FAIL(err, "query: empty");
	if (word_is(w, wn, "status")) {
		if (next_word(&p, &n, &w, &wn))
			return FAIL(err, "query: status takes no selector");
		query_status(r, &o);
		goto done;
	}
	if (word_is(w, wn, "count"))
		lift = 0;
	else if (word_is(w, wn, "lift"))
		lift = 1;
	else
		return FAIL(err, "query: unknown query (status, count, lift)");
	if (!(r->policy.allow & (lift ? CR_ALLOW_LIFT : CR_ALLOW_COUNT)))
		return FAIL(err, "query: the query policy does not allow %s", lift ? "lift" : "count");
	while (next_word(&p, &n, &w, &wn))
		if (parse_selector(w, wn, campaign, product, &have, err))
			return -1;
	if (lift && have != (SEL_CAMPAIGN | SEL_PRODUCT))
		return FAIL(err, "query: lift campaign=<name> product=<name>");
	if (!lift && have == (SEL_CAMPAIGN | SEL_PRODUCT))
		return FAIL(err, "query: count takes at most one selector");
	if (!all_in(r))
		return FAIL(err, "query: waiting for uploads (see status)");

	ft = calloc(nm + 1, 1);
	fp = calloc(nm + 1, 1);
	if (!ft || !fp) {
		free(ft);
		free(fp);
		return FAIL(err, "query: out of memory");
	}
	if (have & SEL_CAMPAIGN)
		mark(r, CR_IMPRESSIONS, campaign, ft);
	if (have & SEL_PRODUCT)
		mark(r, CR_PURCHASES, product, fp);

	if (!lift) {
		/* A segment and its complement within the matched users (the
		 * complement is matched - segment: both must reach k). */
		uint64_t s = 0;
		const uint8_t *f = (have & SEL_CAMPAIGN) ? ft : fp;
		emit(&o, "matched", nm >= k, nm);
		if (have) {
			for (uint64_t i = 0; i < nm; i++)
				s += f[i];
			emit(&o, "segment", s >= k && nm - s >= k, s);
		}
	} else {
		/* The 2x2 table target/control x bought/not.  target and control
		 * are a partition of the matched users (one is the other's
		 * complement): both reach k or neither is shown.  The four
		 * cells: buyers in each group are shown only when every cell
		 * reaches k, since count product= gives their sum and the group
		 * sizes give each group's non-buyers. */
		uint64_t t = 0, tb = 0, cb = 0, c;
		int groups, cells;
		for (uint64_t i = 0; i < nm; i++) {
			t += ft[i];
			tb += ft[i] & fp[i];
			cb += (uint8_t)(!ft[i]) & fp[i];
		}
		c = nm - t;
		groups = nm >= k && t >= k && c >= k;
		cells = groups && tb >= k && t - tb >= k && cb >= k && c - cb >= k;
		emit(&o, "matched", nm >= k, nm);
		emit(&o, "target", groups, t);
		emit(&o, "control", groups, c);
		emit(&o, "target_buyers", cells, tb);
		emit(&o, "control_buyers", cells, cb);
		emit_ppm(&o, "target_rate", cells, cells ? (int64_t)(tb * 1000000 / t) : 0);
		emit_ppm(&o, "control_rate", cells, cells ? (int64_t)(cb * 1000000 / c) : 0);
		/* lift = rate_t / rate_c - 1 = tb*c / (t*cb) - 1, floored in
		 * millionths; tb, c <= 2^25 keep tb*c*10^6 below 2^64. */
		emit_ppm(&o, "lift", cells, cells ? (int64_t)(tb * c * 1000000 / (t * cb)) - 1000000 : 0);
	}
	free(ft);
	free(fp);
done:
	if (o.full)
		return FAIL(err, "query: the answer does not fit");
	return (int)o.len;
}
