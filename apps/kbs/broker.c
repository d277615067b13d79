/*
 * broker.c - the key broker's decisions (broker.h): challenges, releases
 * under each resource's verifier policy (libadyton-verify), and the admin
 * operations under the admin token.  Every release and every refusal is
 * written to the audit log with the SHA-256 of the evidence.
 *
 * A release is encrypted to the enclave's ephemeral P-256 key (README.md,
 * "Protocol"): ECDH with the broker's key (made at start, replaced every
 * KBS_KEY_LIFETIME seconds: the enclave's key is fresh per release and
 * bound to the quote, so the shared secret is too), HKDF-SHA256 (salt = nonce,
 * info = "adyton-kbs v1" || name), AES-256-GCM with AAD = kind || nonce ||
 * enclave key || broker key || name.  Whoever relays it sees ciphertext.
 */
#include "broker.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adyton/cursor.h"
#include "adyton/verify.h"
#include "adyton/vpolicy.h"
#include "hostreq.h"

#define HKDF_INFO "adyton-kbs v1"
/* Seconds one broker key serves releases: a copy of the broker's memory
 * opens the releases of this window (README.md, "Protocol"). */
#define KBS_KEY_LIFETIME 60

void kbs_audit(kbs_broker *b, const char *event, const char *fmt, ...)
{
	char line[1024], ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	int n, m;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(line, sizeof(line), "%s %s ", ts, event);
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line on an O_APPEND descriptor: lines from several
	 * brokers sharing a log do not interleave; synced before the answer
	 * leaves (kbs_broker_serve), so nothing is released that the log does
	 * not show. */
	if (b->audit_fd >= 0 && write(b->audit_fd, line, (size_t)n) != n) {
		atomic_store(&b->audit_lost, true);
		fprintf(stderr, "adyton-kbs: audit log write failed\n");
	}
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	ady_hex_encode(p, n, out);
}

static ady_err answer(const kbs_msg *m, uint8_t **resp, size_t *resp_len)
{
	return kbs_msg_encode(m, resp, resp_len);
}

static ady_err refuse(uint32_t code, const char *reason, uint8_t **resp, size_t *resp_len)
{
	kbs_msg m = {.type = KBS_ERROR, .code = code};
	char buf[KBS_MAX_REASON + 1];

	/* Reasons carry verifier details: keep them printable and short. */
	snprintf(buf, sizeof(buf), "%s", reason);
	for (char *q = buf; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			*q = '?';
	m.reason.p = (const uint8_t *)buf;
	m.reason.len = strlen(buf);
	return answer(&m, resp, resp_len);
}

static void name_of(const kbs_msg *m, char out[static KBS_MAX_NAME + 1])
{
	memcpy(out, m->name.p, m->name.len);
	out[m->name.len] = '\0';
}

static ady_err challenge(kbs_broker *b, const kbs_msg *m, const char *peer, uint8_t **resp, size_t *resp_len)
{
	char name[KBS_MAX_NAME + 1];
	uint8_t nonce[KBS_NONCE];
	kbs_msg out = {.type = KBS_NONCE_MSG, .nonce = nonce};

	name_of(m, name);
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return refuse(ADY_ERR_CRYPTO, "no randomness", resp, resp_len);
	if (kbs_store_nonce_add(b->store, nonce, name, (int64_t)time(NULL) + b->nonce_ttl)) {
		kbs_audit(b, "error", "resource=%s reason=store peer=%s", name, peer);
		return refuse(ADY_ERR_IO, "store unavailable", resp, resp_len);
	}
	/* Nothing here needs to be durable: after a crash the nonce is
	 * unknown, and its fetch is refused as such. */
	b->quiet = true;
	return answer(&out, resp, resp_len);
}

/* The P-256 domain parameters, made once (thread-safe; never freed). */
static EVP_PKEY *p256_template;
static pthread_once_t p256_once = PTHREAD_ONCE_INIT;

static void p256_make(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	if (c && EVP_PKEY_paramgen_init(c) == 1 && EVP_PKEY_CTX_set_group_name(c, "P-256") == 1)
		(void)EVP_PKEY_paramgen(c, &p256_template);
	EVP_PKEY_CTX_free(c);
}

static EVP_PKEY *p256_params(void)
{
	pthread_once(&p256_once, p256_make);
	return p256_template;
}

/* The broker's key pair, made anew when older than KBS_KEY_LIFETIME
 * (under b->lock).  NULL if it cannot be made. */
static EVP_PKEY *broker_key(kbs_broker *b)
{
	time_t now = time(NULL);
	EVP_PKEY *params = p256_params(), *k = NULL;
	EVP_PKEY_CTX *c;
	size_t blen = 0;

	if (b->key && now >= b->key_born && now - b->key_born < KBS_KEY_LIFETIME)
		return b->key;
	c = params ? EVP_PKEY_CTX_new(params, NULL) : NULL;
	if (c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_keygen(c, &k) == 1 &&
	    EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, b->key_pub, KBS_PUB, &blen) == 1 &&
	    blen == KBS_PUB) {
		EVP_PKEY_free(b->key);
		b->key = k;
		b->key_born = now;
		k = NULL;
	}
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(c);
	return b->key && now - b->key_born < KBS_KEY_LIFETIME ? b->key : NULL;
}

/* ECDH P-256 + HKDF-SHA256 + AES-256-GCM to the enclave's key (file comment). */
static ady_err seal_to(kbs_broker *b, const uint8_t pub[static KBS_PUB], const uint8_t nonce[static KBS_NONCE],
		       const char *name, uint8_t kind, const uint8_t *data, size_t len, uint8_t bpub[static KBS_PUB],
		       uint8_t iv[static KBS_IV], uint8_t *ct /* len + KBS_TAG */)
{
	EVP_PKEY *peer = NULL, *own = broker_key(b);
	EVP_PKEY_CTX *dctx = NULL;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	EVP_CIPHER_CTX *cctx = NULL;
	uint8_t shared[32], key[32], info[sizeof(HKDF_INFO) - 1 + KBS_MAX_NAME], aad[1 + KBS_NONCE + 2 * KBS_PUB + KBS_MAX_NAME];
	size_t shared_len = sizeof(shared), nlen = strlen(name), info_len, aad_len;
	int outl = 0;
	ady_err err = ADY_ERR_CRYPTO;
	OSSL_PARAM kp[5];
	EVP_PKEY *params = p256_params();

	/* Both keys take the group from one template: building P-256 from
	 * its name (Montgomery contexts, the generator) cost more than the
	 * ECDH itself (bench/kbs). */
	if (!params || !own)
		goto out;
	memcpy(bpub, b->key_pub, KBS_PUB);
	peer = EVP_PKEY_new();
	/* set1_encoded_public_key decodes the point: one that is not on the
	 * curve is refused here. */
	if (!peer || EVP_PKEY_copy_parameters(peer, params) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(peer, pub, KBS_PUB) != 1)
		goto out;
	dctx = EVP_PKEY_CTX_new(own, NULL);
	/* No second validation of the peer key: it was refused above if off
	 * the curve, and P-256's cofactor is 1 (on the curve is in the group). */
	if (!dctx || EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer_ex(dctx, peer, 0) != 1 ||
	    EVP_PKEY_derive(dctx, shared, &shared_len) != 1 || shared_len != sizeof(shared))
		goto out;
	memcpy(info, HKDF_INFO, sizeof(HKDF_INFO) - 1);
	memcpy(info + sizeof(HKDF_INFO) - 1, name, nlen);
	info_len = sizeof(HKDF_INFO) - 1 + nlen;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	kp[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	kp[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared, sizeof(shared));
	kp[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)nonce, KBS_NONCE);
	kp[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, info_len);
	kp[4] = OSSL_PARAM_construct_end();
	if (!kctx || EVP_KDF_derive(kctx, key, sizeof(key), kp) != 1)
		goto out;
	aad[0] = kind;
	memcpy(aad + 1, nonce, KBS_NONCE);
	memcpy(aad + 1 + KBS_NONCE, pub, KBS_PUB);
	memcpy(aad + 1 + KBS_NONCE + KBS_PUB, bpub, KBS_PUB);
	memcpy(aad + 1 + KBS_NONCE + 2 * KBS_PUB, name, nlen);
	aad_len = 1 + KBS_NONCE + 2 * KBS_PUB + nlen;
	if (RAND_bytes(iv, KBS_IV) != 1)
		goto out;
	cctx = EVP_CIPHER_CTX_new();
	if (!cctx || EVP_EncryptInit_ex(cctx, EVP_aes_256_gcm(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(cctx, NULL, &outl, aad, (int)aad_len) != 1 ||
	    (len && EVP_EncryptUpdate(cctx, ct, &outl, data, (int)len) != 1) ||
	    EVP_EncryptFinal_ex(cctx, ct + (len ? (size_t)outl : 0), &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, KBS_TAG, ct + len) != 1)
		goto out;
	err = ADY_OK;
out:
	OPENSSL_cleanse(shared, sizeof(shared));
	OPENSSL_cleanse(key, sizeof(key));
	EVP_CIPHER_CTX_free(cctx);
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	EVP_PKEY_CTX_free(dctx);
	EVP_PKEY_free(peer);
	return err;
}

static ady_err fetch(kbs_broker *b, const kbs_msg *m, const char *peer, uint8_t **resp, size_t *resp_len)
{
	static const char *nonce_why[] = {"ok", "nonce unknown", "nonce replayed", "nonce expired"};
	char name[KBS_MAX_NAME + 1], evidence[65], mre[65] = "-", why[KBS_MAX_REASON];
	uint8_t digest[32], bpub[KBS_PUB], iv[KBS_IV], *ct = NULL;
	kbs_resource r = {0};
	kbs_nonce_state ns;
	ady_vpolicy *pol = NULL;
	ady_verify_report *rep = NULL;
	kbs_hostreq hreq;
	unsigned line = 0;
	ady_err err;

	name_of(m, name);
	SHA256(m->quote.p, m->quote.len, digest);
	hex(digest, 32, evidence);
	if (kbs_store_nonce_take(b->store, m->nonce, name, (int64_t)time(NULL), &ns)) {
		kbs_audit(b, "error", "resource=%s reason=store evidence=%s peer=%s", name, evidence, peer);
		return refuse(ADY_ERR_IO, "store unavailable", resp, resp_len);
	}
	if (ns != KBS_NONCE_OK) {
		kbs_audit(b, "refuse", "resource=%s reason=\"%s\" evidence=%s peer=%s", name, nonce_why[ns], evidence,
			  peer);
		return refuse(ADY_ERR_PERMISSION, nonce_why[ns], resp, resp_len);
	}
	err = kbs_store_get(b->store, name, &r);
	if (err) {
		const char *w = err == ADY_ERR_RANGE ? "no such resource" : "store unavailable";
		kbs_audit(b, "refuse", "resource=%s reason=\"%s\" evidence=%s peer=%s", name, w, evidence, peer);
		return refuse(err == ADY_ERR_RANGE ? ADY_ERR_PERMISSION : ADY_ERR_IO, w, resp, resp_len);
	}
	if (r.revoked) {
		kbs_audit(b, "refuse", "resource=%s reason=revoked evidence=%s peer=%s", name, evidence, peer);
		err = refuse(ADY_ERR_PERMISSION, "revoked", resp, resp_len);
		goto out;
	}
	pol = calloc(1, sizeof(*pol));
	rep = calloc(1, sizeof(*rep));
	ct = malloc(r.data_len + KBS_TAG);
	if (!pol || !rep || !ct) {
		err = ADY_ERR_NOMEM;
		goto out;
	}
	if (kbs_hostreq_split(r.policy, &hreq, &line) || ady_vpolicy_parse(r.policy, strlen(r.policy), pol, &line)) {
		kbs_audit(b, "refuse", "resource=%s reason=\"policy unreadable (line %u)\" evidence=%s peer=%s", name,
			  line, evidence, peer);
		err = refuse(ADY_ERR_CONFIG, "policy unreadable", resp, resp_len);
		goto out;
	}
	/* The quote must speak for this key and this challenge: REPORTDATA =
	 * SHA-256(nonce || enclave key) || 32 zero bytes. */
	ady_verify_bind_key(pol, m->nonce, m->pub, KBS_PUB);
	if (ady_verify_quote(m->quote.p, m->quote.len, pol, m->nonce, rep) != ADY_OK) {
		const char *detail = ady_verify_report_detail(rep);
		snprintf(why, sizeof(why), "%s: %s", rep->failed ? rep->failed : "verify", detail);
		kbs_audit(b, "refuse", "resource=%s reason=%s detail=\"%s\" evidence=%s peer=%s", name,
			  rep->failed ? rep->failed : "verify", detail, evidence, peer);
		err = refuse(ADY_ERR_PERMISSION, why, resp, resp_len);
		goto out;
	}
	hex(rep->quote.body.mrenclave, 32, mre);
	/* The host the gate checked, when the resource asks for one: after
	 * the quote is verified, so its attestation key is the platform's. */
	switch (kbs_hostreq_check(b->gate_state, &hreq, m->quote.p, m->quote.len, m->nonce, why, sizeof(why))) {
	case 1:
		break;
	case 0:
		kbs_audit(b, "refuse", "resource=%s reason=host detail=\"%s\" mrenclave=%s evidence=%s peer=%s", name,
			  why, mre, evidence, peer);
		err = refuse(ADY_ERR_PERMISSION, why, resp, resp_len);
		goto out;
	default:
		kbs_audit(b, "error", "resource=%s reason=gate detail=\"%s\" evidence=%s peer=%s", name, why, evidence,
			  peer);
		err = refuse(ADY_ERR_IO, "the gate's state is unavailable", resp, resp_len);
		goto out;
	}
	err = seal_to(b, m->pub, m->nonce, name, r.kind, r.data, r.data_len, bpub, iv, ct);
	if (err) {
		kbs_audit(b, "refuse", "resource=%s reason=\"enclave key unusable\" evidence=%s peer=%s", name, evidence,
			  peer);
		err = refuse(ADY_ERR_CRYPTO, "enclave key unusable", resp, resp_len);
		goto out;
	}
	{
		kbs_msg out = {.type = KBS_RELEASE, .kind = r.kind, .pub = bpub, .iv = iv};
		out.ct.p = ct;
		out.ct.len = r.data_len + KBS_TAG;
		kbs_audit(b, "release", "resource=%s mrenclave=%s evidence=%s peer=%s", name, mre, evidence, peer);
		err = answer(&out, resp, resp_len);
	}
out:
	free(ct);
	free(pol);
	free(rep);
	kbs_resource_fini(&r);
	return err;
}

struct listing {
	uint8_t *buf;
	size_t len, cap;
	uint32_t count;
	int err;
};

static int list_one(void *ctx, const char *name, uint8_t kind, bool revoked)
{
	struct listing *l = ctx;
	size_t n = strlen(name), need = 2 + n + 2;

	if (l->count >= KBS_MAX_LIST || n > KBS_MAX_NAME) {
		l->err = 1;
		return 1;
	}
	if (l->len + need > l->cap) {
		size_t cap = (l->cap + need) * 2;
		uint8_t *p = realloc(l->buf, cap);
		if (!p) {
			l->err = 1;
			return 1;
		}
		l->buf = p;
		l->cap = cap;
	}
	ady_put_u16le(l->buf + l->len, (uint16_t)n);
	memcpy(l->buf + l->len + 2, name, n);
	l->buf[l->len + 2 + n] = kind;
	l->buf[l->len + 3 + n] = revoked ? 1 : 0;
	l->len += need;
	l->count++;
	return 0;
}

static const char *op_name(uint16_t t)
{
	switch (t) {
	case KBS_PUT:
		return "put";
	case KBS_REVOKE:
		return "revoke";
	case KBS_GET_POLICY:
		return "get-policy";
	case KBS_LIST:
		return "list";
	default:
		return "?";
	}
}

static ady_err admin(kbs_broker *b, const kbs_msg *m, const char *peer, uint8_t **resp, size_t *resp_len)
{
	char name[KBS_MAX_NAME + 1] = "-";
	kbs_resource r = {0};
	ady_err err;

	if (m->name.len)
		name_of(m, name);
	if (CRYPTO_memcmp(m->token, b->token, KBS_TOKEN) != 0) {
		kbs_audit(b, "refuse", "admin op=%s resource=%s reason=\"bad admin credential\" peer=%s", op_name(m->type),
			  name, peer);
		return refuse(ADY_ERR_PERMISSION, "bad admin credential", resp, resp_len);
	}
	switch (m->type) {
	case KBS_PUT: {
		char *policy;
		ady_vpolicy *pol;
		unsigned line = 0;
		kbs_msg ok = {.type = KBS_OK};

		if (m->kind == KBS_KIND_CONFIG && kbs_config_validate(m->data.p, m->data.len))
			return refuse(ADY_ERR_MALFORMED, "configuration malformed", resp, resp_len);
		policy = malloc(m->policy.len + 1);
		pol = malloc(sizeof(*pol));
		if (!policy || !pol) {
			free(policy);
			free(pol);
			return ADY_ERR_NOMEM;
		}
		memcpy(policy, m->policy.p, m->policy.len);
		policy[m->policy.len] = '\0';
		/* The host lines are the broker's (hostreq.h); the rest is the
		 * verifier's.  Checked on a copy: the text is stored as given. */
		{
			char *vtext = strdup(policy);
			kbs_hostreq hreq;

			if (!vtext)
				err = ADY_ERR_NOMEM;
			else if (!(err = kbs_hostreq_split(vtext, &hreq, &line)))
				err = ady_vpolicy_parse(vtext, strlen(vtext), pol, &line);
			free(vtext);
			if (!err && hreq.required && !b->gate_state) {
				free(pol);
				free(policy);
				return refuse(ADY_ERR_CONFIG, "policy: host needs a broker started with --gate-state",
					      resp, resp_len);
			}
		}
		free(pol);
		if (err) {
			char why[64];
			free(policy);
			snprintf(why, sizeof(why), "policy: line %u: %s", line, ady_strerror(err));
			return refuse(ADY_ERR_CONFIG, why, resp, resp_len);
		}
		err = kbs_store_put(b->store, name, m->kind, policy, m->data.p, m->data.len);
		free(policy);
		if (err)
			return refuse(ADY_ERR_IO, "store unavailable", resp, resp_len);
		kbs_audit(b, "admin", "op=put resource=%s kind=%u peer=%s", name, m->kind, peer);
		return answer(&ok, resp, resp_len);
	}
	case KBS_REVOKE: {
		kbs_msg ok = {.type = KBS_OK};
		err = kbs_store_revoke(b->store, name);
		if (err)
			return refuse(err == ADY_ERR_RANGE ? ADY_ERR_RANGE : ADY_ERR_IO,
				      err == ADY_ERR_RANGE ? "no such resource" : "store unavailable", resp, resp_len);
		kbs_audit(b, "admin", "op=revoke resource=%s peer=%s", name, peer);
		return answer(&ok, resp, resp_len);
	}
	case KBS_GET_POLICY: {
		kbs_msg out = {.type = KBS_POLICY};
		err = kbs_store_get(b->store, name, &r);
		if (err)
			return refuse(err == ADY_ERR_RANGE ? ADY_ERR_RANGE : ADY_ERR_IO,
				      err == ADY_ERR_RANGE ? "no such resource" : "store unavailable", resp, resp_len);
		out.kind = r.kind;
		out.revoked = r.revoked;
		out.policy.p = (const uint8_t *)r.policy;
		out.policy.len = strlen(r.policy);
		err = answer(&out, resp, resp_len);
		kbs_resource_fini(&r);
		return err;
	}
	case KBS_LIST: {
		struct listing l = {0};
		kbs_msg out = {.type = KBS_LISTING};
		if (kbs_store_list(b->store, list_one, &l) || l.err) {
			free(l.buf);
			return refuse(ADY_ERR_IO, "store unavailable", resp, resp_len);
		}
		out.count = l.count;
		out.list.p = l.buf;
		out.list.len = l.len;
		err = answer(&out, resp, resp_len);
		free(l.buf);
		return err;
	}
	default:
		return refuse(ADY_ERR_MALFORMED, "unexpected message", resp, resp_len);
	}
}

/* see broker.h */
ady_err kbs_broker_init(kbs_broker *b)
{
	b->key = NULL;
	b->key_born = 0;
	b->quiet = false;
	atomic_init(&b->written, 0);
	b->synced = 0;
	b->syncing = b->broken = false;
	atomic_init(&b->audit_lost, false);
	if (pthread_mutex_init(&b->lock, NULL))
		return ADY_ERR_NOMEM;
	if (pthread_mutex_init(&b->sync_lock, NULL)) {
		pthread_mutex_destroy(&b->lock);
		return ADY_ERR_NOMEM;
	}
	if (pthread_cond_init(&b->synced_cv, NULL)) {
		pthread_mutex_destroy(&b->sync_lock);
		pthread_mutex_destroy(&b->lock);
		return ADY_ERR_NOMEM;
	}
	return ADY_OK;
}

void kbs_broker_fini(kbs_broker *b)
{
	EVP_PKEY_free(b->key);
	b->key = NULL;
	pthread_cond_destroy(&b->synced_cv);
	pthread_mutex_destroy(&b->sync_lock);
	pthread_mutex_destroy(&b->lock);
}

/*
 * Waits until every request up to ticket is durable.  One waiter at a time
 * flushes (the leader), for all the requests done when it starts, outside
 * b->lock (kbs_store_sync may run beside the requests), so requests go on
 * meanwhile and the next flush takes them all.
 */
static ady_err durable(kbs_broker *b, uint64_t ticket)
{
	bool ok;

	pthread_mutex_lock(&b->sync_lock);
	while (!b->broken && b->synced < ticket) {
		uint64_t target;

		if (b->syncing) {
			pthread_cond_wait(&b->synced_cv, &b->sync_lock);
			continue;
		}
		b->syncing = true;
		/* Every request counted in written has made its writes. */
		target = atomic_load(&b->written);
		pthread_mutex_unlock(&b->sync_lock);
		ok = kbs_store_sync(b->store) == ADY_OK;
		ok = ok && (b->audit_fd < 0 || fdatasync(b->audit_fd) == 0) && !atomic_load(&b->audit_lost);
		pthread_mutex_lock(&b->sync_lock);
		b->syncing = false;
		if (ok && target > b->synced)
			b->synced = target;
		if (!ok)
			b->broken = true;
		pthread_cond_broadcast(&b->synced_cv);
	}
	ok = b->synced >= ticket;
	pthread_mutex_unlock(&b->sync_lock);
	return ok ? ADY_OK : ADY_ERR_IO;
}

/* see broker.h */
ady_err kbs_broker_serve(kbs_broker *b, const uint8_t *frame, size_t len, const char *peer, uint8_t **resp,
			 size_t *resp_len, int *close_after)
{
	uint64_t ticket = 0;
	bool quiet;
	ady_err err;

	pthread_mutex_lock(&b->lock);
	b->quiet = false;
	err = kbs_broker_handle(b, frame, len, peer, resp, resp_len, close_after);
	quiet = b->quiet;
	if (!quiet)
		ticket = atomic_fetch_add(&b->written, 1) + 1;
	pthread_mutex_unlock(&b->lock);
	if (err || quiet || durable(b, ticket) == ADY_OK)
		return err;
	/* The answer (a release among them) does not leave. */
	free(*resp);
	*resp = NULL;
	kbs_audit(b, "error", "answer withheld: audit log or store not durable peer=%s", peer);
	fprintf(stderr, "adyton-kbs: audit log or store flush failed: refusing every request until restarted\n");
	return refuse(ADY_ERR_IO, "not durable", resp, resp_len);
}

/* see broker.h */
ady_err kbs_broker_handle(kbs_broker *b, const uint8_t *frame, size_t len, const char *peer, uint8_t **resp,
			  size_t *resp_len, int *close_after)
{
	kbs_msg m;
	ady_err err;

	*resp = NULL;
	*close_after = 0;
	err = kbs_msg_decode(frame, len, &m);
	if (err) {
		uint8_t digest[32];
		char ev[65];
		SHA256(frame, len, digest);
		hex(digest, 32, ev);
		kbs_audit(b, "refuse", "resource=- reason=\"malformed message (%s)\" evidence=%s peer=%s",
			  ady_strerror(err), ev, peer);
		*close_after = 1;
		return refuse(ADY_ERR_MALFORMED, "malformed message", resp, resp_len);
	}
	switch (m.type) {
	case KBS_CHALLENGE:
		return challenge(b, &m, peer, resp, resp_len);
	case KBS_FETCH:
		return fetch(b, &m, peer, resp, resp_len);
	case KBS_PUT:
	case KBS_REVOKE:
	case KBS_GET_POLICY:
	case KBS_LIST:
		return admin(b, &m, peer, resp, resp_len);
	default:
		/* Answers are not requests. */
		kbs_audit(b, "refuse", "resource=- reason=\"unexpected message type %u\" peer=%s", m.type, peer);
		*close_after = 1;
		return refuse(ADY_ERR_MALFORMED, "unexpected message", resp, resp_len);
	}
}
