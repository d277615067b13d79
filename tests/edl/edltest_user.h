/* Included by the generated edltest headers ("include" in the EDL). */
#ifndef EDLTEST_USER_H
#define EDLTEST_USER_H
#define EDLTEST_MAGIC 0x5a

/* Header types behind [isptr] and [isary] (tests/edl/edltest_lang.edl). */
typedef void *edl_buf_t;
typedef int edl_arr_t[5];
#endif
