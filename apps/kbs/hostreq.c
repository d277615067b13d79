/* A resource's host requirement, checked against the gate's hosts table
 * (hostreq.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adyton/quote.h"
#include "hostreq.h"
#include "hosts.h"

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* key = value on one line [p, end): the trimmed key and value. */
static bool split_kv(char *p, char *end, char **key, size_t *klen, char **val, size_t *vlen)
{
	char *eq = memchr(p, '=', (size_t)(end - p));
	char *k = p, *ke, *v, *ve = end;

	if (!eq)
		return false;
	while (k < eq && is_space(*k))
		k++;
	ke = eq;
	while (ke > k && is_space(ke[-1]))
		ke--;
	v = eq + 1;
	while (v < ve && is_space(*v))
		v++;
	while (ve > v && is_space(ve[-1]))
		ve--;
	*key = k;
	*klen = (size_t)(ke - k);
	*val = v;
	*vlen = (size_t)(ve - v);
	return true;
}

static bool host_name_ok(const char *v, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

ady_err kbs_hostreq_split(char *text, kbs_hostreq *req, unsigned *line)
{
	bool have_age = false;
	unsigned no = 0;
	char *p = text;

	memset(req, 0, sizeof(*req));
	req->max_age = KBS_HOST_MAX_AGE_DEFAULT;
	while (*p) {
		char *end = strchr(p, '\n'), *key, *val, *next;
		size_t klen, vlen;

		if (!end)
			end = p + strlen(p);
		next = *end ? end + 1 : end;
		no++;
		if (split_kv(p, end, &key, &klen, &val, &vlen) && *key != '#') {
			if (klen == 4 && !memcmp(key, "host", 4)) {
				if (req->required || !host_name_ok(val, vlen))
					goto bad;
				req->required = true;
				memcpy(req->host, val, vlen);
				req->host[vlen] = '\0';
				req->any = !strcmp(req->host, "any");
				*p = '#';
			} else if (klen == 12 && !memcmp(key, "host_max_age", 12)) {
				char num[16], *e;
				long v;

				if (have_age || vlen == 0 || vlen >= sizeof(num))
					goto bad;
				memcpy(num, val, vlen);
				num[vlen] = '\0';
				v = strtol(num, &e, 10);
				if (*e || v < 1 || v > 86400)
					goto bad;
				have_age = true;
				req->max_age = v;
				*p = '#';
			}
		}
		p = next;
	}
	if (have_age && !req->required) {
		*line = no;
		return ADY_ERR_CONFIG;
	}
	return ADY_OK;
bad:
	*line = no;
	return ADY_ERR_CONFIG;
}

struct any_ctx {
	const uint8_t *key;
	int64_t now;
	long max_age;
	char found[129];
	unsigned seen, stale;
};

static void any_one(void *ctx, const gate_host_row *row)
{
	struct any_ctx *a = ctx;

	if (a->found[0] || !row->have_platform_key || memcmp(row->platform_key, a->key, 64) != 0)
		return;
	a->seen++;
	if (!row->ok || row->checked > a->now || a->now - row->checked > a->max_age) {
		a->stale++;
		return;
	}
	snprintf(a->found, sizeof(a->found), "%s", row->name);
}

int kbs_hostreq_check(const char *gate_state, const kbs_hostreq *req, const uint8_t *quote, size_t qlen,
		      const uint8_t nonce[static 32], char *reason, size_t cap)
{
	struct any_ctx a = {.now = (int64_t)time(NULL), .max_age = req->max_age};
	gate_hosts *db = NULL;
	ady_quote *q;
	ady_err err;
	int rc;

	if (!req->required)
		return 1;
	if (!gate_state) {
		snprintf(reason, cap, "the resource needs a host check and this broker has no --gate-state");
		return 0;
	}
	if (!req->any) {
		gate_host_row *row = malloc(sizeof(*row));
		const char *failed = NULL;

		if (!row)
			return -1;
		rc = gate_host_admit(gate_state, req->host, req->max_age, "tpm", NULL, quote, qlen, nonce, row,
				     &failed, reason, cap);
		free(row);
		return rc;
	}
	if (!(q = malloc(sizeof(*q))))
		return -1;
	if (ady_quote_decode(quote, qlen, q) != ADY_OK) {
		free(q);
		snprintf(reason, cap, "the enclave quote does not decode");
		return 0;
	}
	a.key = q->attest_pub;
	if ((err = gate_hosts_open(gate_state, &db)) == ADY_OK)
		err = gate_hosts_each(db, any_one, &a);
	gate_hosts_close(db);
	free(q);
	if (err) {
		snprintf(reason, cap, "the gate's state %s: %s", gate_state, ady_strerror(err));
		return -1;
	}
	if (a.found[0])
		return 1;
	if (a.seen)
		snprintf(reason, cap, "the host whose TPM certified the quote's attestation key did not pass a check in "
				      "the last %ld s", req->max_age);
	else
		snprintf(reason, cap, "no host the gate checked has the quote's attestation key (the enclave runs on a "
				      "host the gate does not know)");
	return 0;
}
