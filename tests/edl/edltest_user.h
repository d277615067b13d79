/* Included by the generated edltest headers ("include" in the EDL). */
#ifndef EDLTEST_USER_H
#define EDLTEST_USER_H
#define EDLTEST_MAGIC 0x5a
#endif
