/* libFuzzer target: the EDL lexer, parser and checks, and the generator
 * on whatever parses.  Imports resolve against a directory that does not
 * exist, so the input is the only file read. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "edl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	edl_ctx ctx;
	ady_err err;

	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	edl_ctx_init(&ctx);
	err = edl_parse_buffer(&ctx, "fuzz.edl", "/nonexistent-edl-dir", (const char *)data, size);
	if (err == ADY_OK) {
		if (edl_gen_trusted_h(&ctx.m, "fuzz", sink) || edl_gen_trusted_c(&ctx.m, "fuzz", sink) ||
		    edl_gen_untrusted_h(&ctx.m, "fuzz", sink) || edl_gen_untrusted_c(&ctx.m, "fuzz", sink))
			abort();
	} else if (!ctx.err[0]) {
		abort(); /* every failure names its reason */
	}
	edl_ctx_fini(&ctx);
	return 0;
}
