/* A stand-in for the native library that answers keyroll_info with another version and ABI, to prove that
 * KeyrollNative.Load refuses a library of another build (LoadTests.cs). It has only what Info() calls; the
 * prototypes come from the generated header, so they stay those of the real library.
 * Built by scripts/test.d/dotnet-facade.sh: gcc -shared -fPIC -I ffi/bindings/c other_abi.c */
#include <string.h>
#include "keyroll.h"

static const char info[] = "{\"version\":\"9.9.9\",\"abi\":2}";

keyrollstatus keyroll_info(keyrolloutput *output) {
    output->handle = 1;
    output->len = sizeof info - 1;
    return KEYROLLSTATUS_OK;
}

keyrollstatus keyroll_output_take(uint64_t handle, slicemutu8 buffer) {
    if (handle != 1) return KEYROLLSTATUS_UNKNOWNHANDLE;
    if (buffer.len < sizeof info - 1) return KEYROLLSTATUS_BUFFERTOOSMALL;
    memcpy((void *)buffer.data, info, sizeof info - 1);
    return KEYROLLSTATUS_OK;
}

keyrollstatus keyroll_output_free(uint64_t handle) {
    return handle == 1 ? KEYROLLSTATUS_OK : KEYROLLSTATUS_UNKNOWNHANDLE;
}
