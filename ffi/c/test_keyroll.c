/* The C binding (ffi/bindings/c/keyroll.h) against the native library: mint + inspect, and the error paths
 * (wrong password, invalid UTF-8, unknown handle, null output, absurd buffer length). Run by scripts/test.d/ffi-c.sh:
 *   test_keyroll <pfx> <password> <pem-bundle> <certificate.der> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keyroll.h"

static int failures = 0;
#define CHECK(cond, ...) do { if (cond) { printf("ok   " __VA_ARGS__); printf("\n"); } \
    else { failures++; printf("FAIL " __VA_ARGS__); printf(" (%s:%d)\n", __FILE__, __LINE__); } } while (0)

static sliceu8 str(const char *s) { sliceu8 r = { (const uint8_t *)s, s ? strlen(s) : 0 }; return r; }

/* Copies an output into a NUL-terminated string the caller frees. */
static char *take(keyrolloutput out) {
    char *buf = calloc(out.len + 1, 1);
    slicemutu8 dst = { (const uint8_t *)buf, out.len };
    if (out.handle == 0 || keyroll_output_take(out.handle, dst) != KEYROLLSTATUS_OK) { free(buf); return NULL; }
    return buf;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END); *len = (size_t)ftell(f); fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len);
    if (fread(buf, 1, *len, f) != *len) { free(buf); buf = NULL; }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s <pfx> <password> <pem> <cer>\n", argv[0]); return 2; }
    const char *object_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    keyrolloutput out;
    uint64_t identity = 0;

    keyrollstatus st = keyroll_identity_open_file(str(argv[1]), str(argv[2]), &identity, &out);
    char *description = take(out);
    CHECK(st == KEYROLLSTATUS_OK && identity != 0 && description && strstr(description, "\"thumbprint\""),
          "open a PFX file");
    free(description);

    st = keyroll_proof_mint(identity, str(object_id), 0, str(NULL), &out);
    char *proof = take(out);
    CHECK(st == KEYROLLSTATUS_OK && proof && strchr(proof, '.') != strrchr(proof, '.'), "mint a proof");

    size_t der_len = 0;
    char *der = read_file(argv[4], &der_len);
    char settings[256];
    snprintf(settings, sizeof settings, "{\"objectId\":\"%s\"}", object_id);
    st = keyroll_proof_inspect(str(proof), str(settings), &out);
    char *report = take(out);
    CHECK(st == KEYROLLSTATUS_OK && report && strstr(report, "\"accepted\":true"), "inspect: accepted");
    free(report);

    /* The same proof, checked against the certificate given as DER bytes through the two-phase path. */
    const char *last_dot = strrchr(proof, '.');
    char *input = strndup(proof, (size_t)(last_dot - proof));
    sliceu8 cert = { (const uint8_t *)der, der_len };
    st = keyroll_proof_signing_input(cert, str(object_id), 0, str(NULL), &out);
    char *fresh_input = take(out);
    CHECK(st == KEYROLLSTATUS_OK && fresh_input && strncmp(fresh_input, input, 10) == 0, "signing input from DER");
    free(fresh_input);
    free(input);

    /* A PEM bundle opens as well. */
    uint64_t pem_identity = 0;
    st = keyroll_identity_open_file(str(argv[3]), str(""), &pem_identity, &out);
    keyroll_output_free(out.handle);
    CHECK(st == KEYROLLSTATUS_OK && pem_identity != 0, "open a PEM bundle");
    keyroll_identity_close(pem_identity);

    /* Errors. */
    uint64_t none = 0;
    st = keyroll_identity_open_file(str(argv[1]), str("wrong password"), &none, &out);
    char *error = take(out);
    CHECK(st == KEYROLLSTATUS_INVALIDINPUT && error && strstr(error, "\"code\":\"certificate\"") &&
          strstr(error, "password"), "wrong password: an error object naming the password");
    free(error);

    const char bad_utf8[] = { 'a', (char)0xff, 'b', 0 };
    st = keyroll_proof_mint(identity, str(bad_utf8), 0, str(NULL), &out);
    error = take(out);
    CHECK(st == KEYROLLSTATUS_INVALIDINPUT && error && strstr(error, "invalid_utf8"), "invalid UTF-8 is refused");
    free(error);

    CHECK(keyroll_proof_mint(identity, str(object_id), 0, str(NULL), NULL) == KEYROLLSTATUS_NULLPASSED,
          "a null output pointer is refused");
    CHECK(keyroll_identity_open_file(str(argv[1]), str(argv[2]), NULL, &out) == KEYROLLSTATUS_NULLPASSED,
          "a null handle pointer is refused");
    keyroll_output_free(out.handle);

    /* A buffer length no buffer can have (above the largest object size) is refused, not trusted; the output
     * is kept for a correct call. */
    st = keyroll_info(&out);
    char small[16] = { 0 };
    slicemutu8 absurd = { (const uint8_t *)small, (uint64_t)INT64_MAX + 1 };
    CHECK(st == KEYROLLSTATUS_OK && keyroll_output_take(out.handle, absurd) == KEYROLLSTATUS_INVALIDINPUT &&
          small[0] == 0, "an absurd buffer length is refused");
    absurd.len = UINT64_MAX;
    CHECK(keyroll_output_take(out.handle, absurd) == KEYROLLSTATUS_INVALIDINPUT, "... UINT64_MAX too");
    char *info = take(out);
    CHECK(info && strstr(info, "\"abi\""), "the output is kept after a refused length");
    free(info);

    st = keyroll_proof_inspect(str(proof), str("{\"objectId\": 5"), &out);
    error = take(out);
    CHECK(st == KEYROLLSTATUS_INVALIDINPUT && error && strstr(error, "\"code\":\"settings\""), "malformed JSON settings");
    free(error);

    keyroll_identity_close(identity);
    st = keyroll_proof_mint(identity, str(object_id), 0, str(NULL), &out);
    error = take(out);
    CHECK(st == KEYROLLSTATUS_UNKNOWNHANDLE && error && strstr(error, "unknown_handle"), "use after close");
    free(error);
    CHECK(keyroll_identity_close(identity) == KEYROLLSTATUS_UNKNOWNHANDLE, "double close");
    CHECK(keyroll_output_free(out.handle) == KEYROLLSTATUS_UNKNOWNHANDLE, "an output is taken only once");

    free(proof);
    free(der);
    printf(failures ? "%d failed\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
