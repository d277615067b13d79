/* User types for the SampleEnclave-style EDL test files. */
#ifndef USER_TYPES_H
#define USER_TYPES_H
#define SAMPLE_BUF_LEN 100
#endif
