/*
 * EGETKEY and EREPORT for enclave code (adyton/enclave.h): requests go to
 * the platform through a platform exit, with the io struct in enclave
 * memory (this thread's stack), never in the marshalling slot, which the
 * application can read.  The platform derives from the identity it
 * recorded at launch; nothing the enclave says about itself counts.
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/msbuf.h"
#include "adyton/sgx.h"
#include "internal.h"

#pragma GCC visibility push(hidden)
/* src/trts/cmac.c */
#pragma GCC visibility pop

/* Our own TARGETINFO, learnt once from a report: the runtime knows its
 * MRENCLAVE only through the platform.  Identity does not change while
 * the enclave lives, so a race merely computes the same bytes twice. */
static struct {
	uint8_t targetinfo[512];
	int ready;
} self;

/* see adyton/enclave.h */
ady_err ady_get_key(const void *keyrequest, uint8_t key[static 16])
{
	ady_thread_data *td = ady_trts_current();
	ady_exit_getkey io;
	uint32_t status;
	ady_err err;

	if (!key)
		return ADY_ERR_INVALID_ARG;
	memset(key, 0, 16);
	if (!keyrequest)
		return ADY_ERR_INVALID_ARG;
	if (!td)
		return ADY_ERR_NOT_IN_ECALL;
	memset(&io, 0, sizeof(io));
	memcpy(io.keyrequest, keyrequest, sizeof(io.keyrequest));
	io.status = ADY_ERR_BACKEND; /* a platform that answers nothing refused */
	err = (ady_err)ady_trts_exit(td, ADY_EXIT_GETKEY, (uint64_t)(uintptr_t)&io);
	status = io.status;
	if (!err && status)
		err = status >= (uint32_t)ADY_ERR_MAX_ ? ADY_ERR_PROTOCOL : (ady_err)status;
	if (!err)
		memcpy(key, io.key, 16);
	ady_wipe(&io, sizeof(io));
	return err;
}

static ady_err exit_report(const uint8_t targetinfo[static 512], const uint8_t reportdata[static 64],
			   uint8_t report[static 432])
{
	ady_thread_data *td = ady_trts_current();
	ady_exit_report io;
	uint32_t status;
	ady_err err;

	if (!td)
		return ADY_ERR_NOT_IN_ECALL;
	memset(&io, 0, sizeof(io));
	memcpy(io.targetinfo, targetinfo, sizeof(io.targetinfo));
	memcpy(io.reportdata, reportdata, sizeof(io.reportdata));
	io.status = ADY_ERR_BACKEND;
	err = (ady_err)ady_trts_exit(td, ADY_EXIT_REPORT, (uint64_t)(uintptr_t)&io);
	status = io.status;
	if (!err && status)
		err = status >= (uint32_t)ADY_ERR_MAX_ ? ADY_ERR_PROTOCOL : (ady_err)status;
	if (!err)
		memcpy(report, io.report, sizeof(io.report));
	ady_wipe(&io, sizeof(io));
	return err;
}

/* see adyton/enclave.h */
ady_err ady_self_targetinfo(uint8_t targetinfo[static 512])
{
	static const uint8_t zero_target[512], no_data[64];
	ady_sgx_targetinfo ti;
	ady_sgx_report r;
	ady_err err;

	if (!targetinfo)
		return ADY_ERR_INVALID_ARG;
	if (__atomic_load_n(&self.ready, __ATOMIC_ACQUIRE)) {
		memcpy(targetinfo, self.targetinfo, 512);
		return ADY_OK;
	}
	/* As the SGX SDK's sgx_self_target(): a report for the all-zero
	 * target, whose MAC nobody can check, carries our own identity. */
	err = exit_report(zero_target, no_data, (uint8_t *)&r);
	if (err)
		return err;
	memset(&ti, 0, sizeof(ti));
	memcpy(ti.mrenclave, r.body.mrenclave, 32);
	ti.attributes = r.body.attributes;
	ti.configsvn = r.body.configsvn;
	ti.miscselect = r.body.miscselect;
	memcpy(ti.configid, r.body.configid, sizeof(ti.configid));
	memcpy(self.targetinfo, &ti, sizeof(ti));
	__atomic_store_n(&self.ready, 1, __ATOMIC_RELEASE);
	memcpy(targetinfo, &ti, sizeof(ti));
	return ADY_OK;
}

/* see adyton/enclave.h */
ady_err ady_create_report(const void *targetinfo, const uint8_t reportdata[static 64], uint8_t report[static 432])
{
	uint8_t own[512];
	ady_err err;

	if (!report)
		return ADY_ERR_INVALID_ARG;
	memset(report, 0, 432);
	if (!reportdata)
		return ADY_ERR_INVALID_ARG;
	if (!targetinfo) {
		err = ady_self_targetinfo(own);
		if (err)
			return err;
		targetinfo = own;
	}
	return exit_report(targetinfo, reportdata, report);
}

/* see adyton/enclave.h */
ady_err ady_verify_report(const uint8_t report[static 432])
{
	ady_sgx_keyrequest kr;
	ady_sgx_report r;
	uint8_t key[16], mac[16];
	ady_err err;

	if (!report)
		return ADY_ERR_INVALID_ARG;
	/* Copy first: the caller's buffer may change under us. */
	memcpy(&r, report, sizeof(r));
	memset(&kr, 0, sizeof(kr));
	kr.keyname = ADY_KEYNAME_REPORT;
	memcpy(kr.keyid, r.keyid, sizeof(kr.keyid));
	err = ady_get_key(&kr, key);
	if (err)
		return err;
	err = ady_cmac_aes128(key, &r.body, sizeof(r.body), mac);
	ady_wipe(key, sizeof(key));
	if (err)
		return err;
	err = ady_memeq_ct(mac, r.mac, sizeof(mac)) ? ADY_OK : ADY_ERR_CRYPTO;
	ady_wipe(mac, sizeof(mac));
	return err;
}
