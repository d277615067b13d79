/*
 * kbs_app: the key broker test application.  Starts the test enclave
 * (tests/enclaves/kbs_enc.c), which fetches a resource through
 * adyton-kbs-relay, and prints what came back:
 *     released kind=K len=N sha256=HEX        (exit 0)
 *     refused: ERROR (REASON)                 (exit 1)
 * --tap FILE appends every frame the relay moved (what the host and the
 * transport see) to FILE.  --attack plays the untrusted host:
 *   otherkey  replaces the enclave's public key in the request with a
 *             fresh key of the host's (the quote is over the enclave's)
 *   replay    after a release, sends the same request again itself
 *             ("replay: released" or "replay: refused: REASON", exit 0/1)
 *   tamper    flips a ciphertext byte of the release on its way back
 * --hold waits, after printing the result and with the enclave still
 * open, for a line on stdin (the test scans this process's memory then).
 * --replay-to PATH sends the replay to another broker; --kill PID kills
 * (SIGKILL) that broker after the challenge, before the fetch, and waits
 * until the first socket of --socket refuses connections; --kill-mid PID
 * stops (SIGSTOP) that broker before the fetch is sent to it and kills it
 * (SIGKILL) 300 ms later, while the relay waits for its answer: a broker
 * dying mid-request.
 * usage: kbs_app [--backend B] [--socket PATH[,PATH...]] [--cap N] [--tap FILE] [--attack A]
 *                [--replay-to PATH] [--kill PID] ENCLAVE NAME
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <adyton/cursor.h>
#include <adyton/host.h>
#include <adyton/kbs_relay.h>

#include "kbs_enc_u.h"
#include "msg.h"

static const char *attack = "none";
static pid_t kill_pid, kill_mid_pid;
static char first_sock[108];
static FILE *tapf;
static uint8_t *saved;
static size_t saved_len;

static void on_frame(void *ctx, int to_broker, uint8_t *frame, size_t len)
{
	uint16_t type = 0;
	uint32_t body = 0;

	(void)ctx;
	if (len >= KBS_HEADER && kbs_header_decode(frame, &type, &body) != ADY_OK)
		type = 0;
	if (to_broker && type == KBS_FETCH && kill_pid > 0) {
		struct timespec ts = {0, 20 * 1000 * 1000};
		int fd;
		kill(kill_pid, SIGKILL);
		for (int i = 0; i < 250 && (fd = kbs_connect(first_sock)) >= 0; i++) {
			close(fd);
			nanosleep(&ts, NULL);
		}
		kill_pid = 0;
	}
	if (to_broker && type == KBS_FETCH && kill_mid_pid > 0) {
		pid_t k;
		kill(kill_mid_pid, SIGSTOP);
		k = fork();
		if (k == 0) {
			struct timespec ts = {0, 300 * 1000 * 1000};
			nanosleep(&ts, NULL);
			kill(kill_mid_pid, SIGKILL);
			_exit(0);
		}
		kill_mid_pid = 0;
	}
	if (to_broker && type == KBS_FETCH) {
		kbs_msg m;
		if (kbs_msg_decode(frame, len, &m) == ADY_OK) {
			size_t pub_off = (size_t)(m.pub - frame);
			if (!strcmp(attack, "otherkey")) {
				EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
				size_t n = 0;
				if (!k || EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, frame + pub_off,
									  KBS_PUB, &n) != 1 || n != KBS_PUB) {
					fprintf(stderr, "kbs_app: no key for the attack\n");
					exit(2);
				}
				EVP_PKEY_free(k);
			}
		}
		if (!strcmp(attack, "replay")) {
			free(saved);
			saved = malloc(len);
			if (saved) {
				memcpy(saved, frame, len);
				saved_len = len;
			}
		}
	}
	if (!to_broker && type == KBS_RELEASE && !strcmp(attack, "tamper"))
		frame[len - KBS_TAG - 1] ^= 0x01;
	if (tapf) {
		fwrite(frame, 1, len, tapf);
		fflush(tapf);
	}
}

static int replay(const char *sock)
{
	uint8_t *frame = NULL;
	size_t len = 0;
	kbs_msg m;
	int fd = kbs_connect(sock), ret = 2;

	if (!saved || fd < 0) {
		fprintf(stderr, "kbs_app: nothing to replay\n");
		return 2;
	}
	if (kbs_frame_write(fd, saved, saved_len) == ADY_OK && kbs_frame_read(fd, &frame, &len) == ADY_OK &&
	    kbs_msg_decode(frame, len, &m) == ADY_OK) {
		if (m.type == KBS_RELEASE) {
			printf("replay: released\n");
			ret = 0;
		} else if (m.type == KBS_ERROR) {
			printf("replay: refused: %.*s\n", (int)m.reason.len, (const char *)m.reason.p);
			ret = 1;
		}
	}
	free(frame);
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	ady_enclave_opts opts = {.ocalls = kbs_enc_ocall_table, .nocalls = KBS_ENC_OCALL_COUNT};
	const char *image = NULL, *name = NULL, *sock = getenv("ADYTON_KBS_SOCKET"), *replay_to = NULL;
	unsigned long cap = 4096;
	uint8_t digest[32];
	uint32_t len = 0, kind = 0;
	char hex[65];
	ady_enclave *e;
	ady_err err;
	int ret = -1, status, hold = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
			if (ady_backend_parse(argv[++i], &opts.backend) != ADY_OK)
				return 2;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			sock = argv[++i];
		} else if (!strcmp(argv[i], "--cap") && i + 1 < argc) {
			cap = strtoul(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--tap") && i + 1 < argc) {
			tapf = fopen(argv[++i], "ab");
			if (!tapf)
				return 2;
		} else if (!strcmp(argv[i], "--hold")) {
			hold = 1;
		} else if (!strcmp(argv[i], "--replay-to") && i + 1 < argc) {
			replay_to = argv[++i];
		} else if (!strcmp(argv[i], "--kill-mid") && i + 1 < argc) {
			kill_mid_pid = (pid_t)strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--kill") && i + 1 < argc) {
			kill_pid = (pid_t)strtol(argv[++i], NULL, 10);
		} else if (!strcmp(argv[i], "--attack") && i + 1 < argc) {
			attack = argv[++i];
		} else if (argv[i][0] != '-' && !image) {
			image = argv[i];
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			fprintf(stderr, "usage: kbs_app [--backend B] [--socket PATH] [--cap N] [--tap FILE] "
					"[--attack otherkey|replay|tamper] ENCLAVE NAME\n");
			return 2;
		}
	}
	if (!image || !name || !sock || ady_kbs_relay_set_socket(sock))
		return 2;
	snprintf(first_sock, sizeof(first_sock), "%.*s", (int)strcspn(sock, ","), sock);
	ady_kbs_relay_set_tap(on_frame, NULL);
	err = ady_enclave_open(image, &opts, &e);
	if (err) {
		fprintf(stderr, "kbs_app: %s: %s\n", image, ady_strerror(err));
		return 2;
	}
	err = ecall_kbs_fetch(e, &ret, name, (uint32_t)cap, digest, &len, &kind);
	if (err) {
		fprintf(stderr, "kbs_app: ecall: %s\n", ady_strerror(err));
		status = 2;
	} else if (ret != 0) {
		printf("refused: %s (%s) len=%u\n", ady_strerror((ady_err)ret), ady_kbs_relay_last_reason(), len);
		status = 1;
	} else {
		ady_hex_encode(digest, 32, hex);
		printf("released kind=%u len=%u sha256=%s\n", kind, len, hex);
		status = 0;
	}
	fflush(stdout);
	if (hold) {
		char line[8];
		if (!fgets(line, sizeof(line), stdin))
			status = 2;
	}
	ady_enclave_close(e);
	if (status == 0 && !strcmp(attack, "replay"))
		status = replay(replay_to ? replay_to : first_sock);
	if (tapf)
		fclose(tapf);
	free(saved);
	return status;
}
