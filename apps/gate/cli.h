/*
 * cli.h - adyton-gate's subcommands, one function each (argv[0] is the
 * subcommand's name); they return the process exit status.
 */
#ifndef ADYTON_GATE_CLI_H
#define ADYTON_GATE_CLI_H

#include <stddef.h>
#include <stdint.h>

/* A whole file, NUL-terminated (malloc'd; NULL if unreadable or too big). */
uint8_t *gate_slurp(const char *path, size_t *len);

int gate_cli_challenge(int argc, char **argv);
int gate_cli_issue(int argc, char **argv);
int gate_cli_revoke(int argc, char **argv);
int gate_cli_crl(int argc, char **argv);
int gate_cli_certs(int argc, char **argv);

#endif
