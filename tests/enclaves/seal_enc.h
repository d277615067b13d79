/* Interface of the sealing/attestation test enclaves (seal_enc.c). */
#ifndef SEAL_ENC_H
#define SEAL_ENC_H

enum {
	S_SEAL = 0,          /* in: u16 policy | u32 aad_len | aad | text; out: the blob */
	S_UNSEAL = 1,        /* in: u32 text_cap | u32 aad_cap | u8 want_aad | blob;
	                      * out (always ADY_OK): u32 status | u32 aad_len | u32 text_len | aad | text.
	                      * status ADY_ERR_STATE: a failing unseal wrote to its outputs */
	S_REPORT = 2,        /* in: [targetinfo 512] | reportdata 64 (no targetinfo: for itself); out: report */
	S_VERIFY = 3,        /* in: report 432; returns ady_verify_report() */
	S_TARGETINFO = 4,    /* out: ady_self_targetinfo() */
	S_RANDOM = 5,        /* in: u32 n; out: n bytes of ady_random() */
	S_RANDOM_MANY = 6,   /* 70000 small requests (crosses a reseed) and a 1 MiB fill, checked inside */
	S_CMAC_KAT = 7,      /* RFC 4493 vectors through the runtime's CMAC; ADY_ERR_CRYPTO on mismatch */
	S_GETKEY = 8,        /* in: keyrequest 512; out: key 16 */
	S_API = 9,           /* argument checks of the seal/random API, inside; returns the first failure */
	S_VARIANT = 10,      /* out: u32 SEAL_VARIANT (the code differs per variant) */
	S_COUNT
};

#endif
