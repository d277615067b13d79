/*
 * Test helper (not a cmocka test): keyguard_xts_decrypt SECTOR IN OUT [IV_UNIT]
 * decrypts IN with OpenSSL's EVP aes-256-xts, the 64-byte key read as hex
 * from stdin, tweak = byte offset / IV_UNIT (plain64; IV_UNIT defaults to
 * SECTOR, dm-crypt's iv_large_sectors; 512 is dm-crypt's default), into
 * OUT.  Used by keyguard_plain_test.sh to check the on-disk format
 * independently of the key guard's own XTS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

int main(int argc, char **argv)
{
	unsigned char key[64], iv[16], in[4096], out[4096];
	char hex[130];
	size_t ss, unit;
	FILE *fi, *fo;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if ((argc != 4 && argc != 5) || !c || !fgets(hex, sizeof(hex), stdin) || strlen(hex) < 128)
		return 2;
	for (int i = 0; i < 64; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return 2;
		key[i] = (unsigned char)v;
	}
	ss = strtoul(argv[1], NULL, 10);
	unit = argc == 5 ? strtoul(argv[4], NULL, 10) : ss;
	if ((ss != 512 && ss != 4096) || (unit != 512 && unit != ss))
		return 2;
	fi = fopen(argv[2], "rb");
	fo = fopen(argv[3], "wb");
	if (!fi || !fo)
		return 2;
	for (unsigned long long sector = 0; fread(in, 1, ss, fi) == ss; sector++) {
		unsigned long long tweak = sector * (ss / unit);
		int n = 0;
		memset(iv, 0, sizeof(iv));
		for (int i = 0; i < 8; i++)
			iv[i] = (unsigned char)(tweak >> (8 * i));
		if (EVP_DecryptInit_ex(c, EVP_aes_256_xts(), NULL, key, iv) != 1 ||
		    EVP_DecryptUpdate(c, out, &n, in, (int)ss) != 1 || n != (int)ss || fwrite(out, 1, ss, fo) != ss)
			return 1;
	}
	EVP_CIPHER_CTX_free(c);
	fclose(fi);
	return fclose(fo) ? 1 : 0;
}
