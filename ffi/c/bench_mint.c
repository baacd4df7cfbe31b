/* Minting through the C ABI directly: N proofs with one open identity, on one thread, each copied out of the
 * library as the C# facade copies it (keyroll_output_take) — the yardstick of ffi/bench-dotnet.sh for the cost
 * of the .NET facade, and the C counterpart of ffi/csharp/bench/MintRate.cs.
 *   bench_mint <pfx-or-pem> <password> <count>   prints {"mints": N, "seconds": S, "per_second": R} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "keyroll.h"

static sliceu8 str(const char *s) { sliceu8 r = { (const uint8_t *)s, s ? strlen(s) : 0 }; return r; }

/* The output's text, NUL-terminated, in a buffer the caller frees; NULL when there is none. */
static char *take(keyrolloutput out) {
    char *buf = calloc(out.len + 1, 1);
    slicemutu8 dst = { (const uint8_t *)buf, out.len };
    if (!buf || out.handle == 0 || keyroll_output_take(out.handle, dst) != KEYROLLSTATUS_OK) { free(buf); return NULL; }
    return buf;
}

/* One proof, as the facade's SigningIdentity.MintProof: mint, copy out, free; its length, or 0 on failure. */
static size_t mint(uint64_t identity, const char *object_id) {
    keyrolloutput out;
    keyrollstatus st = keyroll_proof_mint(identity, str(object_id), 0, str(NULL), &out);
    char *text = take(out);
    size_t len = text ? strlen(text) : 0;
    if (st != KEYROLLSTATUS_OK) {
        fprintf(stderr, "mint failed (%d): %s\n", (int)st, text ? text : "");
        len = 0;
    }
    free(text);
    return len;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s <pfx-or-pem> <password> <count>\n", argv[0]); return 2; }
    long count = strtol(argv[3], NULL, 10);
    if (count <= 0) { fprintf(stderr, "count must be a positive number\n"); return 2; }
    const char *object_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    keyrolloutput out;
    uint64_t identity = 0;
    keyrollstatus st = keyroll_identity_open_file(str(argv[1]), str(argv[2]), &identity, &out);
    char *description = take(out);
    if (st != KEYROLLSTATUS_OK) { fprintf(stderr, "cannot open %s: %s\n", argv[1], description ? description : ""); return 1; }
    free(description);

    /* Warm up as the C# side does. */
    for (int i = 0; i < 20; i++) if (mint(identity, object_id) == 0) return 1;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    size_t total = 0;
    for (long i = 0; i < count; i++) {
        size_t len = mint(identity, object_id);
        if (len == 0) return 1;
        total += len;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    keyroll_identity_close(identity);
    double secs = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    if (total == 0) return 1;
    printf("{\"mints\": %ld, \"seconds\": %.4f, \"per_second\": %.1f}\n", count, secs, (double)count / secs);
    return 0;
}
