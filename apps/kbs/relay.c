/*
 * relay.c - libadyton-kbs-relay (adyton/kbs_relay.h): the OCALLs of
 * adyton_kbs.edl, relayed to the broker.  Bytes only: nothing here can
 * decrypt a release.  The broker is reached over a UNIX socket or TLS
 * (transport.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adyton/kbs_relay.h"
#include "msg.h"
#include "transport.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *sock_path;
static char *ca_path;
static ady_kbs_tap_fn tap;
static void *tap_ctx;
static char last_reason[KBS_MAX_REASON + 1];

int ady_kbs_relay_set_socket(const char *path)
{
	char *p = path ? strdup(path) : NULL;

	if (path && !p)
		return -1;
	pthread_mutex_lock(&lock);
	free(sock_path);
	sock_path = p;
	pthread_mutex_unlock(&lock);
	return 0;
}

int ady_kbs_relay_set_ca(const char *path)
{
	char *p = path ? strdup(path) : NULL;

	if (path && !p)
		return -1;
	pthread_mutex_lock(&lock);
	free(ca_path);
	ca_path = p;
	pthread_mutex_unlock(&lock);
	return 0;
}

void ady_kbs_relay_set_tap(ady_kbs_tap_fn fn, void *ctx)
{
	pthread_mutex_lock(&lock);
	tap = fn;
	tap_ctx = ctx;
	pthread_mutex_unlock(&lock);
}

const char *ady_kbs_relay_last_reason(void)
{
	return last_reason;
}

/*
 * Sends the request to the first broker of a comma-separated list that
 * answers, and moves on to the next when one fails before answering
 * (connection refused, or died mid-request).  Sending a request again is
 * safe: a CHALLENGE only issues a nonce, and a FETCH takes its nonce in
 * one transaction of the shared store, so it is released at most once
 * (a second broker refuses it as replayed if the first took it).
 */
static ady_err send_any(const char *list, const char *ca, const uint8_t *out, size_t out_len, uint8_t **frame,
			size_t *len, char *why, size_t why_cap)
{
	char where[512];
	const char *p = list;
	ady_err err = ADY_ERR_IO;

	snprintf(why, why_cap, "no broker given");
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && n < sizeof(where)) {
			kbs_conn c;
			memcpy(where, p, n);
			where[n] = '\0';
			err = kbs_conn_open(where, ca, &c, why, why_cap);
			if (!err) {
				err = kbs_frame_write_io(&c.io, out, out_len);
				if (!err)
					err = kbs_frame_read_io(&c.io, frame, len);
				kbs_conn_close(&c);
				if (!err)
					return ADY_OK;
				snprintf(why, why_cap, "broker %.200s: %s", where, ady_strerror(err));
			}
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return err;
}

/* One request, one answer; *frame holds the answer *resp points into. */
static int round_trip(const kbs_msg *req, uint8_t **frame, kbs_msg *resp)
{
	char path[1024], ca[512], why[KBS_MAX_REASON + 1];
	uint8_t *out = NULL;
	size_t out_len = 0, len = 0;
	ady_kbs_tap_fn t;
	void *tc;
	ady_err err;

	*frame = NULL;
	pthread_mutex_lock(&lock);
	snprintf(path, sizeof(path), "%s", sock_path ? sock_path : (getenv("ADYTON_KBS_SOCKET") ?: ""));
	snprintf(ca, sizeof(ca), "%s", ca_path ? ca_path : (getenv("ADYTON_KBS_CA") ?: ""));
	t = tap;
	tc = tap_ctx;
	pthread_mutex_unlock(&lock);
	err = kbs_msg_encode(req, &out, &out_len);
	if (err)
		return ADY_ERR_INVALID_ARG;
	if (t)
		t(tc, 1, out, out_len);
	err = send_any(path, ca, out, out_len, frame, &len, why, sizeof(why));
	free(out);
	if (err) {
		snprintf(last_reason, sizeof(last_reason), "%s", why);
		return err == ADY_ERR_INVALID_ARG || err == ADY_ERR_CRYPTO ? (int)err : ADY_ERR_IO;
	}
	if (t)
		t(tc, 0, *frame, len);
	err = kbs_msg_decode(*frame, len, resp);
	if (err) {
		free(*frame);
		*frame = NULL;
		snprintf(last_reason, sizeof(last_reason), "broker answer malformed");
		return ADY_ERR_PROTOCOL;
	}
	if (resp->type == KBS_ERROR) {
		snprintf(last_reason, sizeof(last_reason), "%.*s", (int)resp->reason.len, (const char *)resp->reason.p);
		return resp->code > 0 && resp->code < ADY_ERR_MAX_ ? (int)resp->code : ADY_ERR_PROTOCOL;
	}
	last_reason[0] = '\0';
	return 0;
}

static int set_name(kbs_msg *m, const char *name)
{
	m->name.p = (const uint8_t *)name;
	m->name.len = strlen(name);
	return kbs_name_valid(m->name.p, m->name.len) ? 0 : ADY_ERR_INVALID_ARG;
}

int kbs_ocall_challenge(const char *name, uint8_t *nonce)
{
	kbs_msg req = {.type = KBS_CHALLENGE}, resp;
	uint8_t *frame;
	int ret;

	if (!name || !nonce || set_name(&req, name))
		return ADY_ERR_INVALID_ARG;
	ret = round_trip(&req, &frame, &resp);
	if (ret)
		return ret;
	if (resp.type == KBS_NONCE_MSG)
		memcpy(nonce, resp.nonce, KBS_NONCE);
	else
		ret = ADY_ERR_PROTOCOL;
	free(frame);
	return ret;
}

int kbs_ocall_fetch(const char *name, const uint8_t *nonce, const uint8_t *pub, const uint8_t *quote,
			size_t quote_len, uint8_t *release, size_t cap, uint32_t *release_len)
{
	kbs_msg req = {.type = KBS_FETCH, .nonce = nonce, .pub = pub}, resp;
	uint8_t *frame;
	size_t body;
	int ret;

	if (!name || !nonce || !pub || !quote || !release || !release_len || set_name(&req, name))
		return ADY_ERR_INVALID_ARG;
	*release_len = 0;
	req.quote.p = quote;
	req.quote.len = quote_len;
	ret = round_trip(&req, &frame, &resp);
	if (ret)
		return ret;
	if (resp.type != KBS_RELEASE) {
		free(frame);
		return ADY_ERR_PROTOCOL;
	}
	/* The body as it came: the enclave parses and authenticates it. */
	body = 1 + KBS_PUB + KBS_IV + 4 + resp.ct.len;
	if (body > cap) {
		free(frame);
		*release_len = body > UINT32_MAX ? UINT32_MAX : (uint32_t)body;
		return ADY_ERR_SHORT_BUFFER;
	}
	memcpy(release, frame + KBS_HEADER, body);
	*release_len = (uint32_t)body;
	free(frame);
	return 0;
}
