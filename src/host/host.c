/*
 * The host library: enclave lifecycle, ECALLs through the marshalling
 * buffer, and serving the enclave's exits (OCALL, log, abort).
 * Backend-neutral; the backends live in src/backend/.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "backend/kvm/kvm.h"
#include "host/internal.h"

/* The enclave whose OCALL handler this thread is running, if any. */
static __thread ady_enclave *in_ocall_of;

static const ady_backend_ops *const backends[] = {&ady_backend_sim, &ady_backend_process, &ady_backend_kvm};

/* see adyton/host.h */
const char *ady_backend_name(ady_backend b)
{
	switch (b) {
	case ADY_BACKEND_AUTO:
		return "auto";
	case ADY_BACKEND_SIM:
		return "sim";
	case ADY_BACKEND_PROCESS:
		return "process";
	case ADY_BACKEND_KVM:
		return "kvm";
	default:
		return "unknown";
	}
}

/* see adyton/host.h */
ady_err ady_backend_parse(const char *name, ady_backend *out)
{
	static const ady_backend all[] = {ADY_BACKEND_AUTO, ADY_BACKEND_SIM, ADY_BACKEND_PROCESS, ADY_BACKEND_KVM};

	if (!name || !out)
		return ADY_ERR_INVALID_ARG;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, ady_backend_name(all[i])) == 0) {
			*out = all[i];
			return ADY_OK;
		}
	}
	return ADY_ERR_INVALID_ARG;
}

static const ady_backend_ops *find_backend(ady_backend b)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (backends[i]->kind == b)
			return backends[i];
	return NULL;
}

/* kvm is offered only where the probe's guest ran (backend/kvm/kvm.h): a
 * /dev/kvm that opens may still be unable to run it (a paravirtualized-
 * only KVM).  Once per process: a few milliseconds. */
static pthread_once_t kvm_once = PTHREAD_ONCE_INIT;
static char kvm_why[256];
static bool kvm_ok;

static void kvm_probe_once(void) { kvm_ok = ady_kvm_probe(kvm_why, sizeof(kvm_why)) == ADY_OK; }

static bool backend_usable(const ady_backend_ops *ops, const char **why)
{
	if (ops->kind == ADY_BACKEND_KVM) {
		pthread_once(&kvm_once, kvm_probe_once);
		if (!kvm_ok) {
			*why = kvm_why;
			return false;
		}
	}
	return ops->available(why);
}

/*
 * auto: the backend that protects the most (docs/threat-model.md) among
 * those that can run here.  kvm and process protect the same rows but one:
 * an enclave on kvm has no system calls at all and no access to its host
 * process's memory, where one on process keeps a seccomp allowlist inside
 * that process; so kvm first where its probe passes, then process, and
 * sim (which protects nothing) only when neither can run.
 */
static const ady_backend auto_order[] = {ADY_BACKEND_KVM, ADY_BACKEND_PROCESS, ADY_BACKEND_SIM};

/* see adyton/host.h */
bool ady_backend_available(ady_backend b, const char **why)
{
	const char *dummy = NULL;
	const ady_backend_ops *ops;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (b == ADY_BACKEND_AUTO) {
		const char *env = getenv("ADYTON_BACKEND");
		if (env && *env) {
			if (ady_backend_parse(env, &b) != ADY_OK) {
				*why = "ADYTON_BACKEND names no backend";
				return false;
			}
			if (b != ADY_BACKEND_AUTO)
				return ady_backend_available(b, why);
		}
		for (size_t i = 0; i < sizeof(auto_order) / sizeof(auto_order[0]); i++)
			if (ady_backend_available(auto_order[i], why))
				return true;
		return false;
	}
	ops = find_backend(b);
	if (!ops) {
		*why = "no such backend";
		return false;
	}
	return backend_usable(ops, why);
}

static ady_err choose_backend(ady_backend want, const ady_backend_ops **out)
{
	const char *env = getenv("ADYTON_BACKEND");
	const char *why = NULL;
	const ady_backend_ops *ops;

	if (want == ADY_BACKEND_AUTO && env && *env) {
		if (ady_backend_parse(env, &want) != ADY_OK)
			return ADY_ERR_INVALID_ARG;
	}
	if (want != ADY_BACKEND_AUTO) {
		ops = find_backend(want);
		if (!ops || !backend_usable(ops, &why))
			return ADY_ERR_BACKEND;
		*out = ops;
		return ADY_OK;
	}
	for (size_t i = 0; i < sizeof(auto_order) / sizeof(auto_order[0]); i++) {
		ops = find_backend(auto_order[i]);
		if (ops && backend_usable(ops, &why)) {
			*out = ops;
			return ADY_OK;
		}
	}
	return ADY_ERR_BACKEND;
}

/* see adyton/host.h */
ady_err ady_enclave_open(const char *path, const ady_enclave_opts *opts, ady_enclave **out)
{
	static const ady_enclave_opts no_opts;
	const ady_backend_ops *ops;
	ady_image *img = NULL;
	ady_enclave *e;
	ady_err err;

	if (!out)
		return ADY_ERR_INVALID_ARG;
	*out = NULL;
	if (!path)
		return ADY_ERR_INVALID_ARG;
	if (!opts)
		opts = &no_opts;
	if (opts->nocalls && !opts->ocalls)
		return ADY_ERR_INVALID_ARG;
	err = choose_backend(opts->backend, &ops);
	if (err)
		return err;
	err = ady_image_open(path, &img);
	if (err)
		return err;

	e = calloc(1, sizeof(*e));
	if (!e) {
		err = ADY_ERR_NOMEM;
		goto free_image;
	}
	e->ops = ops;
	e->opts = *opts;
	e->path = strdup(path);
	if (!e->path) {
		err = ADY_ERR_NOMEM;
		goto free_enclave;
	}
	memcpy(e->info.mrenclave, img->mrenclave, 32);
	memcpy(e->info.mrsigner, img->mrsigner, 32);
	e->info.isvprodid = img->sigstruct.isvprodid;
	e->info.isvsvn = img->sigstruct.isvsvn;
	e->info.attributes = img->sigstruct.attributes.flags | ADY_SGX_FLAGS_INIT;
	/* sim isolates nothing: it always runs as DEBUG, so nothing that
	 * checks attributes can mistake it for a protected enclave. */
	if (ops->kind == ADY_BACKEND_SIM)
		e->info.attributes |= ADY_SGX_FLAGS_DEBUG;
	e->info.backend = ops->kind;
	memcpy(e->ident.mrenclave, img->mrenclave, 32);
	memcpy(e->ident.mrsigner, img->mrsigner, 32);
	e->ident.isvprodid = img->sigstruct.isvprodid;
	e->ident.isvsvn = img->sigstruct.isvsvn;
	e->ident.attributes.flags = e->info.attributes;
	e->ident.attributes.xfrm = img->sigstruct.attributes.xfrm;
	e->ident.miscselect = img->sigstruct.miscselect;
	e->info.threads = img->layout.threads;
	e->info.msbuf_size = img->layout.msbuf_size;
	if (pthread_mutex_init(&e->lock, NULL)) {
		err = ADY_ERR_NOMEM;
		goto free_enclave;
	}
	if (pthread_cond_init(&e->slot_free, NULL)) {
		err = ADY_ERR_NOMEM;
		goto destroy_mutex;
	}
	err = ops->create(e, img);
	if (err)
		goto destroy_cond;
	ady_image_free(img);
	*out = e;
	return ADY_OK;

destroy_cond:
	pthread_cond_destroy(&e->slot_free);
destroy_mutex:
	pthread_mutex_destroy(&e->lock);
free_enclave:
	free(e->path);
	free(e);
free_image:
	ady_image_free(img);
	return err;
}

/* see adyton/host.h */
void ady_enclave_close(ady_enclave *e)
{
	if (!e)
		return;
	e->ops->destroy(e);
	for (size_t i = 0; i < sizeof(e->ocall_buf) / sizeof(e->ocall_buf[0]); i++) {
		if (e->ocall_buf[i]) {
			ady_wipe(e->ocall_buf[i], 2 * (e->info.msbuf_size - ADY_MSBUF_HEADER));
			free(e->ocall_buf[i]);
		}
	}
	free(e->abort_reason);
	free(e->path);
	pthread_cond_destroy(&e->slot_free);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* see adyton/host.h */
void ady_enclave_get_info(const ady_enclave *e, ady_enclave_info *out)
{
	*out = e->info;
}

/* see adyton/host.h */
const char *ady_enclave_abort_reason(const ady_enclave *e)
{
	return e ? e->abort_reason : NULL;
}

static uint32_t acquire_slot(ady_enclave *e)
{
	uint64_t all = e->info.threads == 64 ? ~0ull : (1ull << e->info.threads) - 1;
	uint32_t slot;

	pthread_mutex_lock(&e->lock);
	while ((e->busy & all) == all)
		pthread_cond_wait(&e->slot_free, &e->lock);
	slot = (uint32_t)__builtin_ctzll(~e->busy & all);
	e->busy |= 1ull << slot;
	pthread_mutex_unlock(&e->lock);
	return slot;
}

static void release_slot(ady_enclave *e, uint32_t slot)
{
	pthread_mutex_lock(&e->lock);
	e->busy &= ~(1ull << slot);
	pthread_cond_signal(&e->slot_free);
	pthread_mutex_unlock(&e->lock);
}

static uint8_t *slot_ptr(ady_enclave *e, uint32_t slot) { return e->msbuf + (uint64_t)slot * e->info.msbuf_size; }

/* Runs ECALL index on the request already in slot's data area; on ADY_OK
 * the reply's length is in *out_len (<= out_cap). */
static ady_err call_in_slot(ady_enclave *e, uint32_t slot, uint32_t index, size_t in_len, size_t out_cap,
			    size_t *out_len)
{
	ady_msbuf_hdr h = {0};
	ady_err err;

	h.op = ADY_MSBUF_ECALL;
	h.index = index;
	h.in_len = in_len;
	h.out_cap = out_cap;

	err = e->ops->enter(e, slot, &h);
	if (err == ADY_OK) {
		if (h.op != ADY_MSBUF_REPLY || h.status != ADY_OK || h.out_len > out_cap)
			err = ADY_ERR_PROTOCOL;
		if (err == ADY_OK)
			*out_len = h.out_len;
	} else if (err == ADY_ERR_ABORTED) {
		__atomic_store_n(&e->aborted, true, __ATOMIC_RELEASE);
	} else if (err == ADY_ERR_ENCLAVE_LOST) {
		__atomic_store_n(&e->lost, true, __ATOMIC_RELEASE);
	}
	return err;
}

static ady_err usable(ady_enclave *e)
{
	if (in_ocall_of == e)
		return ADY_ERR_NESTED;
	if (__atomic_load_n(&e->lost, __ATOMIC_ACQUIRE))
		return ADY_ERR_ENCLAVE_LOST;
	if (__atomic_load_n(&e->aborted, __ATOMIC_ACQUIRE))
		return ADY_ERR_ABORTED;
	return ADY_OK;
}

/* see adyton/host.h */
ady_err ady_ecall(ady_enclave *e, uint32_t index, const void *in, size_t in_len, void *out, size_t out_cap,
		  size_t *out_len)
{
	uint64_t data;
	uint32_t slot;
	size_t n = 0;
	ady_err err;

	if (!e || (in_len && !in) || (out_cap && (!out || !out_len)))
		return ADY_ERR_INVALID_ARG;
	err = usable(e);
	if (err)
		return err;
	data = e->info.msbuf_size - ADY_MSBUF_HEADER;
	if (in_len > data || out_cap > data)
		return ADY_ERR_TOO_LARGE;

	slot = acquire_slot(e);
	if (in_len)
		memcpy(slot_ptr(e, slot) + ADY_MSBUF_HEADER, in, in_len);
	err = call_in_slot(e, slot, index, in_len, out_cap, &n);
	if (err == ADY_OK) {
		if (n)
			memcpy(out, slot_ptr(e, slot) + ADY_MSBUF_HEADER, n);
		if (out_len)
			*out_len = n;
	}
	release_slot(e, slot);
	return err;
}

/* see adyton/host.h */
ady_err ady_ecall_slot_open(ady_enclave *e, ady_ecall_slot *s)
{
	uint32_t slot;
	ady_err err;

	if (!s)
		return ADY_ERR_INVALID_ARG;
	memset(s, 0, sizeof(*s));
	if (!e)
		return ADY_ERR_INVALID_ARG;
	err = usable(e);
	if (err)
		return err;
	slot = acquire_slot(e);
	s->e = e;
	s->index = slot;
	s->cap = e->info.msbuf_size - ADY_MSBUF_HEADER;
	s->data = slot_ptr(e, slot) + ADY_MSBUF_HEADER;
	return ADY_OK;
}

/* see adyton/host.h */
ady_err ady_ecall_slot_call(ady_ecall_slot *s, uint32_t index, size_t in_len, size_t out_cap, size_t *out_len)
{
	size_t n = 0;
	ady_err err;

	if (!s || !s->e || !s->data || (out_cap && !out_len))
		return ADY_ERR_INVALID_ARG;
	err = usable(s->e);
	if (err)
		return err;
	if (in_len > s->cap || out_cap > s->cap)
		return ADY_ERR_TOO_LARGE;
	err = call_in_slot(s->e, s->index, index, in_len, out_cap, &n);
	if (err == ADY_OK && out_len)
		*out_len = n;
	return err;
}

/* see adyton/host.h */
void ady_ecall_slot_close(ady_ecall_slot *s)
{
	if (!s || !s->e)
		return;
	release_slot(s->e, s->index);
	memset(s, 0, sizeof(*s));
}

static char *printable_copy(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = isprint(p[i]) ? (char)p[i] : '?';
	s[n] = '\0';
	return s;
}

static ady_err serve_ocall(ady_enclave *e, uint32_t slot, uint8_t *s, const ady_msbuf_hdr *h)
{
	uint64_t data = e->info.msbuf_size - ADY_MSBUF_HEADER;
	ady_msbuf_hdr reply = {0};
	size_t out_len = 0;
	ady_enclave *prev;
	uint8_t *in, *out;
	ady_err status;

	if (!e->ocall_buf[slot]) {
		e->ocall_buf[slot] = malloc(2 * data);
		if (!e->ocall_buf[slot])
			return ADY_ERR_NOMEM;
	}
	/* The handler sees private copies: the enclave side cannot change
	 * the input under it, and its output cannot overlap the input. */
	in = e->ocall_buf[slot];
	out = in + data;
	memcpy(in, s + ADY_MSBUF_HEADER, h->in_len);
	memset(out, 0, h->out_cap);
	if (h->index >= e->opts.nocalls || !e->opts.ocalls[h->index]) {
		status = ADY_ERR_OCALL_INDEX;
	} else {
		prev = in_ocall_of;
		in_ocall_of = e;
		status = e->opts.ocalls[h->index](e->opts.ocall_ctx, in, h->in_len, out, h->out_cap, &out_len);
		in_ocall_of = prev;
		if (status == ADY_OK && out_len > h->out_cap)
			status = ADY_ERR_SHORT_BUFFER;
	}
	if (status == ADY_OK && out_len)
		memcpy(s + ADY_MSBUF_HEADER, out, out_len);
	reply.op = ADY_MSBUF_REPLY;
	reply.index = h->index;
	reply.out_len = status == ADY_OK ? out_len : 0;
	reply.status = (uint32_t)status;
	ady_msbuf_encode(s, &reply);
	return ADY_OK;
}

/* see host/internal.h */
uint64_t ady_host_serve_exit(ady_enclave *e, uint32_t slot, uint64_t op)
{
	uint8_t *s = slot_ptr(e, slot);
	ady_msbuf_hdr h;
	ady_err err;

	err = ady_msbuf_decode(s, e->info.msbuf_size, &h);
	if (err)
		return (uint64_t)err;
	if (h.op != op)
		return ADY_ERR_PROTOCOL;
	switch (h.op) {
	case ADY_MSBUF_OCALL:
		return (uint64_t)serve_ocall(e, slot, s, &h);
	case ADY_MSBUF_LOG:
		if (e->opts.log) {
			e->opts.log(e->opts.log_ctx, (const char *)s + ADY_MSBUF_HEADER, h.in_len);
		} else {
			char *line = printable_copy(s + ADY_MSBUF_HEADER, h.in_len);
			fprintf(stderr, "enclave: %s\n", line ? line : "(log line lost: out of memory)");
			free(line);
		}
		return ADY_OK;
	case ADY_MSBUF_ABORT:
		pthread_mutex_lock(&e->lock);
		if (!e->abort_reason)
			e->abort_reason = printable_copy(s + ADY_MSBUF_HEADER, h.in_len);
		pthread_mutex_unlock(&e->lock);
		__atomic_store_n(&e->aborted, true, __ATOMIC_RELEASE);
		return ADY_OK;
	default:
		return ADY_ERR_PROTOCOL;
	}
}
