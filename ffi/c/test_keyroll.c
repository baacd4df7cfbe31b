/* The C binding (ffi/bindings/c/keyroll.h) against the native library: mint + inspect, the error paths
 * (wrong password, invalid UTF-8, unknown handle, null output, absurd buffer length), and a key the host holds
 * (OpenSSL here) signing a proof minted on another thread. Run by scripts/test.d/ffi-c.sh:
 *   test_keyroll <pfx> <password> <pem-bundle> <certificate.der> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
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

/* A blocking call (keyroll_proof_mint) on a worker thread. */
struct mint_call { uint64_t identity; const char *object_id; keyrollstatus status; char *answer; int done; };

static void *mint_on_worker(void *arg) {
    struct mint_call *c = arg;
    keyrolloutput out;
    c->status = keyroll_proof_mint(c->identity, str(c->object_id), 0, str(NULL), &out);
    c->answer = take(out);
    __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* The text of a JSON string field (no escapes in the fields read here), or NULL; the caller frees it. */
static char *field(const char *json, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "\"%s\":\"", name);
    const char *at = json ? strstr(json, key) : NULL;
    if (!at) return NULL;
    at += strlen(key);
    return strndup(at, (size_t)(strchr(at, '"') - at));
}

/* Serves the signature requests of `signer` with `key` (or refuses them) until the worker's call has ended;
 * returns how many it served. */
static int serve(uint64_t signer, EVP_PKEY *key, int refuse, pthread_t worker, struct mint_call *call) {
    int served = 0;
    for (;;) {
        keyrolloutput out;
        uint64_t handles[1] = { signer };
        sliceu64 list = { handles, 1 };
        keyrollstatus st = keyroll_signer_wait(list, 50, &out);
        char *request = take(out);
        if (st != KEYROLLSTATUS_OK || !request) { free(request); return -1; }
        if (strcmp(request, "null") != 0) {
            const char *id_at = strstr(request, "\"id\":");
            uint64_t id = id_at ? strtoull(id_at + 5, NULL, 10) : 0;
            char *input64 = field(request, "input");
            unsigned char input[4096], sig[1024];
            int n = EVP_DecodeBlock(input, (const unsigned char *)input64, (int)strlen(input64));
            size_t len64 = strlen(input64);
            if (len64 > 0 && input64[len64 - 1] == '=') n--;
            if (len64 > 1 && input64[len64 - 2] == '=') n--;
            free(input64);
            if (refuse) {
                keyroll_signature_refuse(signer, id, str("the token was removed"), &out);
            } else {
                size_t sig_len = sizeof sig;
                EVP_MD_CTX *ctx = EVP_MD_CTX_new();
                EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key);
                EVP_DigestSign(ctx, sig, &sig_len, input, (size_t)n);
                EVP_MD_CTX_free(ctx);
                sliceu8 s = { sig, sig_len };
                keyroll_signature_answer(signer, id, s, &out);
            }
            free(take(out));
            served++;
        }
        free(request);
        if (__atomic_load_n(&call->done, __ATOMIC_ACQUIRE)) break;
    }
    pthread_join(worker, NULL);
    return served;
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

    /* A key the host holds: only the certificate goes to the library; the proof minted on a worker thread waits
     * for the signature this thread makes with OpenSSL. */
    FILE *pem = fopen(argv[3], "r");
    EVP_PKEY *key = pem ? PEM_read_PrivateKey(pem, NULL, NULL, NULL) : NULL;
    if (pem) fclose(pem);
    uint64_t external = 0;
    sliceu8 der_slice = { (const uint8_t *)der, der_len };
    st = keyroll_signer_open_external(der_slice, 0, &external, &out);
    free(take(out));
    CHECK(key && st == KEYROLLSTATUS_OK && external != 0, "open an identity whose key the host holds");
    struct mint_call call = { external, object_id, KEYROLLSTATUS_OK, NULL, 0 };
    pthread_t worker;
    pthread_create(&worker, NULL, mint_on_worker, &call);
    int served = serve(external, key, 0, worker, &call);
    CHECK(served == 1 && call.status == KEYROLLSTATUS_OK && call.answer && strchr(call.answer, '.'),
          "a proof signed by the host's key, served from this thread while the call ran on another");
    st = keyroll_proof_inspect(str(call.answer), str(settings), &out);
    report = take(out);
    CHECK(st == KEYROLLSTATUS_OK && report && strstr(report, "\"accepted\":true"), "... and it is accepted");
    free(report);
    free(call.answer);
    struct mint_call refused = { external, object_id, KEYROLLSTATUS_OK, NULL, 0 };
    pthread_create(&worker, NULL, mint_on_worker, &refused);
    served = serve(external, key, 1, worker, &refused);
    CHECK(served == 1 && refused.status == KEYROLLSTATUS_INVALIDINPUT && refused.answer &&
          strstr(refused.answer, "signer_refused") && strstr(refused.answer, "the token was removed"),
          "a refusal comes back in the host's words");
    free(refused.answer);
    uint8_t one = 1;
    sliceu8 bogus = { &one, 1 };
    st = keyroll_signature_answer(external, 999999, bogus, &out);
    free(take(out));
    CHECK(st == KEYROLLSTATUS_INVALIDINPUT, "an answer to no waiting request is refused");
    keyroll_identity_close(external);
    EVP_PKEY_free(key);

    free(proof);
    free(der);
    printf(failures ? "%d failed\n" : "all passed\n", failures);
    return failures ? 1 : 0;
}
