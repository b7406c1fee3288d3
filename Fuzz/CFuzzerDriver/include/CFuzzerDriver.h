#ifndef STEWARD_CFUZZERDRIVER_H
#define STEWARD_CFUZZERDRIVER_H
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM renames an executable's
// main to <target>_main and links `main` to it, so libFuzzer's own main cannot be used: the fuzz
// targets' main calls this instead. Only referenced in builds with -D STEWARD_LIBFUZZER.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
