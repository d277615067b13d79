/*
 * cli.h - adyton-gate's subcommands, one function each (argv[0] is the
 * subcommand's name); they return the process exit status.
 */
#ifndef ADYTON_GATE_CLI_H
#define ADYTON_GATE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* A whole file, NUL-terminated (malloc'd; NULL if unreadable or too big). */
uint8_t *gate_slurp(const char *path, size_t *len);

/* The CA key and certificate (PEM files), checked to be a pair; 1 on
 * success, else 0 with a message on stderr. */
int gate_load_ca(const char *keyf, const char *certf, EVP_PKEY **key, X509 **cert);

/* Writes the CRL (gate_crl_make, ttl seconds) to path through a temporary
 * file and a rename, so that a server reloading meanwhile reads the old
 * or the new one, never half.  1 on success. */
int gate_write_crl(gate_db *db, EVP_PKEY *key, X509 *cert, long ttl, const char *path);

int gate_cli_challenge(int argc, char **argv);
int gate_cli_issue(int argc, char **argv);
int gate_cli_revoke(int argc, char **argv);
int gate_cli_crl(int argc, char **argv);
int gate_cli_certs(int argc, char **argv);

#endif
