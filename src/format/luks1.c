/*
 * The LUKS1 partition header: a strict decoder (adyton/luks1.h).  The
 * bytes come from the application (untrusted); they are read once through
 * a bounded cursor into a private copy, and only the copy is validated.
 */
#include <string.h>

#include "adyton/cursor.h"
#include "adyton/luks1.h"

static const uint8_t luks_magic[6] = {'L', 'U', 'K', 'S', 0xba, 0xbe};

static ady_err be16(ady_cur *c, uint16_t *v)
{
	uint8_t b[2];
	ady_err err = ady_cur_bytes(c, b, sizeof(b));

	*v = err ? 0 : (uint16_t)((unsigned)b[0] << 8 | b[1]);
	return err;
}

static ady_err be32(ady_cur *c, uint32_t *v)
{
	uint8_t b[4];
	ady_err err = ady_cur_bytes(c, b, sizeof(b));

	*v = err ? 0 : (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return err;
}

/* A fixed-size text field: NUL-terminated and zero after the NUL (what
 * cryptsetup writes); anything else is a forged or damaged header. */
static int text_ok(const char *s, size_t n)
{
	size_t len = strnlen(s, n);

	if (len == n)
		return 0;
	for (size_t i = len; i < n; i++)
		if (s[i])
			return 0;
	return 1;
}

/* see adyton/luks1.h */
uint64_t ady_luks1_material_size(const ady_luks1_hdr *h, const ady_luks1_slot *s)
{
	uint64_t bytes = (uint64_t)h->key_bytes * s->stripes;

	return (bytes + ADY_LUKS1_SECTOR - 1) / ADY_LUKS1_SECTOR * ADY_LUKS1_SECTOR;
}

static ady_err validate(const ady_luks1_hdr *h)
{
	uint32_t enabled = 0;

	if (!text_ok(h->cipher_name, sizeof(h->cipher_name)) || !text_ok(h->cipher_mode, sizeof(h->cipher_mode)) ||
	    !text_ok(h->hash_spec, sizeof(h->hash_spec)) || !text_ok(h->uuid, sizeof(h->uuid)))
		return ADY_ERR_MALFORMED;
	if (h->payload_offset == 0 || h->key_bytes == 0 || h->key_bytes > ADY_LUKS1_KEY_BYTES ||
	    h->mk_digest_iter == 0)
		return ADY_ERR_MALFORMED;
	for (uint32_t i = 0; i < ADY_LUKS1_SLOTS; i++) {
		const ady_luks1_slot *s = &h->slot[i];
		uint64_t start, end;

		if (s->active == ADY_LUKS1_SLOT_DISABLED)
			continue;
		if (s->active != ADY_LUKS1_SLOT_ENABLED)
			return ADY_ERR_MALFORMED;
		if (s->iterations == 0 || s->stripes != ADY_LUKS1_STRIPES || s->material_offset == 0)
			return ADY_ERR_MALFORMED;
		/* key_bytes <= 64 and stripes == 4000: no overflow below. */
		start = s->material_offset;
		end = start + ady_luks1_material_size(h, s) / ADY_LUKS1_SECTOR;
		if (end > h->payload_offset)
			return ADY_ERR_MALFORMED;
		for (uint32_t j = 0; j < i; j++) {
			const ady_luks1_slot *o = &h->slot[j];
			uint64_t ostart = o->material_offset, oend;

			if (o->active != ADY_LUKS1_SLOT_ENABLED)
				continue;
			oend = ostart + ady_luks1_material_size(h, o) / ADY_LUKS1_SECTOR;
			if (start < oend && ostart < end)
				return ADY_ERR_MALFORMED;
		}
		enabled++;
	}
	if (!enabled)
		return ADY_ERR_MALFORMED;
	if (strcmp(h->cipher_name, "aes") != 0 || strcmp(h->cipher_mode, "xts-plain64") != 0 ||
	    strcmp(h->hash_spec, "sha256") != 0 || h->key_bytes != ADY_LUKS1_KEY_BYTES)
		return ADY_ERR_UNSUPPORTED;
	return ADY_OK;
}

/* see adyton/luks1.h */
ady_err ady_luks1_decode(const uint8_t *p, size_t len, ady_luks1_hdr *out)
{
	ady_luks1_hdr h;
	uint8_t magic[6];
	uint16_t version = 0;
	ady_cur c;
	ady_err err;

	memset(out, 0, sizeof(*out));
	if (!p || len < ADY_LUKS1_PHDR_SIZE)
		return p ? ADY_ERR_TRUNCATED : ADY_ERR_INVALID_ARG;
	memset(&h, 0, sizeof(h));
	ady_cur_init(&c, p, ADY_LUKS1_PHDR_SIZE);
	if (ady_cur_bytes(&c, magic, sizeof(magic)) || be16(&c, &version) ||
	    ady_cur_bytes(&c, h.cipher_name, sizeof(h.cipher_name)) ||
	    ady_cur_bytes(&c, h.cipher_mode, sizeof(h.cipher_mode)) ||
	    ady_cur_bytes(&c, h.hash_spec, sizeof(h.hash_spec)) || be32(&c, &h.payload_offset) ||
	    be32(&c, &h.key_bytes) || ady_cur_bytes(&c, h.mk_digest, sizeof(h.mk_digest)) ||
	    ady_cur_bytes(&c, h.mk_digest_salt, sizeof(h.mk_digest_salt)) || be32(&c, &h.mk_digest_iter) ||
	    ady_cur_bytes(&c, h.uuid, sizeof(h.uuid)))
		return ady_cur_err(&c);
	for (uint32_t i = 0; i < ADY_LUKS1_SLOTS; i++) {
		ady_luks1_slot *s = &h.slot[i];
		if (be32(&c, &s->active) || be32(&c, &s->iterations) || ady_cur_bytes(&c, s->salt, sizeof(s->salt)) ||
		    be32(&c, &s->material_offset) || be32(&c, &s->stripes))
			return ady_cur_err(&c);
	}
	if (memcmp(magic, luks_magic, sizeof(magic)) != 0)
		return ADY_ERR_MALFORMED;
	if (version != 1)
		return ADY_ERR_UNSUPPORTED;
	err = validate(&h);
	if (err)
		return err;
	*out = h;
	return ADY_OK;
}
