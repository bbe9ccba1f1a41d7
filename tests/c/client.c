/*
 * A C99 client of libsynboost.so: exercises the whole C ABI (include/synboost.h) the way a
 * scanner's host software would, and every documented error path.
 *
 *   cc -std=c99 -Wall -Wextra -Werror -pedantic -pthread -I include tests/c/client.c \
 *      -L <dir> -lsynboost -Wl,-rpath,<dir> -o client
 *   ./client BUNDLE_DIR CORRUPTED_BUNDLE_DIR
 *
 * Prints every failing check with file:line and a summary; exits 0 only if every check passed.
 * Run by tests/tests/c_clients.rs.
 */
#define _POSIX_C_SOURCE 200809L
#include "synboost.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------- */
/* Checks                                                                                   */

static int g_checks;
static int g_failures;

static void check_(int ok, const char *what, const char *file, int line) {
    g_checks++;
    if (!ok) {
        g_failures++;
        printf("FAIL %s:%d: %s (last error: \"%s\")\n", file, line, what, sb_last_error());
    }
}

/* The function a call expression names: the text before its first '('. */
static void function_name(const char *call, char *out, size_t size) {
    size_t n = strcspn(call, "( ");
    if (n >= size) {
        n = size - 1;
    }
    memcpy(out, call, n);
    out[n] = '\0';
}

/* `status` must be `expected`; for an error, sb_last_error() must be a fresh message of the
 * called function ("sb_xxx: ..."). */
static void check_status_(sb_status status, sb_status expected, const char *call,
                          const char *file, int line) {
    g_checks++;
    if (status != expected) {
        g_failures++;
        printf("FAIL %s:%d: %s returned %d (%s), expected %d (%s); last error: \"%s\"\n", file,
               line, call, (int)status, sb_status_string(status), (int)expected,
               sb_status_string(expected), sb_last_error());
        return;
    }
    if (expected < 0) {
        char name[128];
        const char *msg = sb_last_error();
        size_t n;
        function_name(call, name, sizeof name);
        n = strlen(name);
        g_checks++;
        if (msg == NULL || strlen(msg) <= n + 2 || strncmp(msg, name, n) != 0 || msg[n] != ':') {
            g_failures++;
            printf("FAIL %s:%d: %s: sb_last_error() is \"%s\", expected \"%s: <message>\"\n",
                   file, line, call, msg ? msg : "(NULL)", name);
        }
    }
}

#define CHECK(cond) check_((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_STATUS(call, expected) check_status_((call), (expected), #call, __FILE__, __LINE__)
#define CHECK_OK(call) CHECK_STATUS(call, SB_OK)

static int contains_ci(const char *haystack, const char *needle) {
    size_t n = strlen(needle);
    const char *p;
    if (haystack == NULL) {
        return 0;
    }
    for (p = haystack; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && (p[i] | 0x20) == (needle[i] | 0x20)) {
            i++;
        }
        if (i == n) {
            return 1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Logging                                                                                  */

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_log_messages;
static int g_log_above_level;
static int g_log_opened;
static int g_log_bad_args;

static void on_log(sb_log_level level, const char *target, const char *message, void *user) {
    pthread_mutex_lock(&g_log_lock);
    g_log_messages++;
    if (level > SB_LOG_INFO || level < SB_LOG_ERROR) {
        g_log_above_level++;
    }
    if (target == NULL || message == NULL || user != (void *)&g_log_lock) {
        g_log_bad_args++;
    } else if (strstr(message, "opened model bundle") != NULL) {
        g_log_opened++;
    }
    pthread_mutex_unlock(&g_log_lock);
}

/* ---------------------------------------------------------------------------------------- */
/* Frames                                                                                   */

enum { W = 96, H = 80, GRAY_STRIDE = 100, BGRA_STRIDE = W * 4 + 12 };

/* A bright ring around a dark blob over a textured background; `k` shifts the texture. */
static uint8_t pixel(int x, int y, int k) {
    double fx = (double)x / W - 0.5, fy = (double)y / H - 0.45;
    double d = sqrt(fx * fx + fy * fy);
    int base = d < 0.22 ? 40 : (d < 0.3 ? 200 : 120);
    return (uint8_t)(base + ((x * 7919 + y * 31 + k * 13) % 23));
}

static uint8_t g_gray[GRAY_STRIDE * H];
static uint8_t g_bgra[BGRA_STRIDE * H];

static void fill_frames(int k) {
    int x, y;
    memset(g_gray, 0xEE, sizeof g_gray); /* padding bytes: garbage the library must skip */
    memset(g_bgra, 0xEE, sizeof g_bgra);
    for (y = 0; y < H; y++) {
        for (x = 0; x < W; x++) {
            uint8_t v = pixel(x, y, k);
            uint8_t *p = &g_bgra[y * BGRA_STRIDE + x * 4];
            g_gray[y * GRAY_STRIDE + x] = v;
            p[0] = v;
            p[1] = v;
            p[2] = v;
            p[3] = 255;
        }
    }
}

static sb_frame gray_frame(void) {
    sb_frame f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof(sb_frame);
    f.format = SB_PIXEL_GRAY8;
    f.width = W;
    f.height = H;
    f.stride = GRAY_STRIDE;
    f.data = g_gray;
    f.data_size = sizeof g_gray;
    f.timestamp_ns = SB_NO_TIMESTAMP;
    return f;
}

static sb_frame bgra_frame(void) {
    sb_frame f = gray_frame();
    f.format = SB_PIXEL_BGRA8;
    f.stride = BGRA_STRIDE;
    f.data = g_bgra;
    f.data_size = sizeof g_bgra;
    return f;
}

static sb_meta meta_with_spacing(void) {
    sb_meta m;
    CHECK_OK(sb_meta_defaults(&m));
    m.view = SB_VIEW_2CH;
    m.phase = SB_PHASE_ED;
    m.sex = SB_SEX_FEMALE;
    m.age_years = 63;
    m.quality = SB_QUALITY_GOOD;
    m.pixel_spacing_x_mm = 0.25;
    m.pixel_spacing_y_mm = 0.4;
    m.fps = 50.0;
    return m;
}

/* ---------------------------------------------------------------------------------------- */
/* Results                                                                                  */

/* Checks one segmented result's masks and areas; `spacing` NULL when none was given. Copies
 * the masks into `masks` (3 × W × H) when not NULL. Returns the structure count. */
static unsigned check_result(const sb_result *r, const double *spacing, uint8_t *masks) {
    sb_result_info info;
    unsigned i;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(sb_result_get_info(r, &info));
    CHECK(info.outcome == SB_OUTCOME_SEGMENTED);
    CHECK(info.width == W && info.height == H);
    CHECK(info.structure_count == 3);
    CHECK(info.error == NULL);
    CHECK(info.total_ms > 0.0 && info.model_ms > 0.0 && info.preprocess_ms >= 0.0);
    /* Measurements: units follow the spacing; LV area equals the LV structure's. */
    {
        sb_measurements mm;
        sb_cycle cy;
        sb_structure_result lv;
        memset(&mm, 0, sizeof mm);
        mm.struct_size = sizeof mm;
        memset(&cy, 0, sizeof cy);
        cy.struct_size = sizeof cy;
        memset(&lv, 0, sizeof lv);
        lv.struct_size = sizeof lv;
        CHECK_OK(sb_result_get_measurements(r, &mm));
        CHECK(mm.units == (spacing != NULL ? SB_UNITS_MM : SB_UNITS_PIXELS));
        CHECK(((mm.flags & SB_FLAG_UNCALIBRATED) != 0) == (spacing == NULL));
        CHECK(mm.confidence >= 0.0 && mm.confidence <= 1.0);
        CHECK(mm.lv_area >= 0.0 && mm.myocardium_area >= 0.0 && mm.la_area >= 0.0);
        CHECK((mm.lv_length < 0.0) == ((mm.flags & SB_FLAG_NO_LV) != 0));
        CHECK(mm.temporal_iou <= 1.0); /* negative for a single frame */
        CHECK(mm.has_cycle == 0);
        CHECK_STATUS(sb_result_get_cycle(r, &cy), SB_NONE);
        CHECK_OK(sb_result_get_structure(r, 0, &lv));
        if (lv.structure == SB_STRUCTURE_LV_CAVITY) {
            double want = spacing != NULL ? lv.area_mm2 : (double)lv.area_px;
            CHECK(fabs(mm.lv_area - want) <= 1e-9 * (want + 1.0));
        }
    }
    for (i = 0; i < info.structure_count && i < 3; i++) {
        sb_structure_result s;
        uint64_t ones = 0;
        int binary = 1;
        size_t p;
        static uint8_t copy[(W + 5) * H];
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        CHECK_OK(sb_result_get_structure(r, i, &s));
        CHECK(s.structure == SB_STRUCTURE_LV_CAVITY || s.structure == SB_STRUCTURE_MYOCARDIUM ||
              s.structure == SB_STRUCTURE_LA_CAVITY);
        CHECK(s.name != NULL && s.prompt != NULL && strlen(s.name) > 0 && strlen(s.prompt) > 0);
        CHECK(s.prompt_kind <= 7);
        CHECK(s.mask_width == W && s.mask_height == H && s.mask != NULL);
        CHECK(s.confidence >= 0.0 && s.confidence <= 1.0);
        CHECK(s.max_probability >= 0.0 && s.max_probability <= 1.0);
        if (s.mask == NULL) {
            continue;
        }
        for (p = 0; p < (size_t)W * H; p++) {
            if (s.mask[p] > 1) {
                binary = 0;
            }
            ones += s.mask[p];
        }
        CHECK(binary);
        CHECK(ones == s.area_px);
        if (spacing != NULL) {
            double want = (double)s.area_px * spacing[0] * spacing[1];
            CHECK(fabs(s.area_mm2 - want) <= 1e-9 * (want + 1.0));
        } else {
            CHECK(s.area_mm2 < 0.0);
        }
        /* The mask copied at a wider stride, as 255. */
        memset(copy, 7, sizeof copy);
        CHECK_OK(sb_result_copy_mask(r, i, copy, sizeof copy, W + 5, 255));
        {
            int same = 1, x, y;
            for (y = 0; y < H; y++) {
                for (x = 0; x < W; x++) {
                    uint8_t want = s.mask[y * W + x] ? 255 : 0;
                    if (copy[y * (W + 5) + x] != want) {
                        same = 0;
                    }
                }
                for (x = W; x < W + 5 && y < H - 1; x++) {
                    if (copy[y * (W + 5) + x] != 7) {
                        same = 0; /* padding untouched */
                    }
                }
            }
            CHECK(same);
        }
        if (masks != NULL) {
            memcpy(masks + (size_t)i * W * H, s.mask, (size_t)W * H);
        }
    }
    return info.structure_count;
}

/* ---------------------------------------------------------------------------------------- */
/* Sections                                                                                 */

static void test_statuses(void) {
    static const sb_status codes[] = {SB_OK,
                                      SB_TIMEOUT,
                                      SB_END,
                                      SB_ERR_NULL,
                                      SB_ERR_INVALID,
                                      SB_ERR_FRAME,
                                      SB_ERR_BUNDLE,
                                      SB_ERR_MODEL,
                                      SB_ERR_QUEUE_FULL,
                                      SB_ERR_STOPPED,
                                      SB_ERR_BUFFER,
                                      SB_ERR_STATE,
                                      SB_ERR_INTERNAL,
                                      SB_ERR_NO_MEMORY};
    size_t i, j, n = sizeof codes / sizeof codes[0];
    CHECK(SB_OK == 0 && SB_TIMEOUT > 0 && SB_END > 0);
    for (i = 0; i < n; i++) {
        const char *s = sb_status_string(codes[i]);
        CHECK(s != NULL && strlen(s) > 0 && strcmp(s, "unknown status") != 0);
        if (i >= 3) {
            CHECK(codes[i] < 0);
        }
        for (j = 0; j < i; j++) {
            CHECK(codes[i] != codes[j] && strcmp(s, sb_status_string(codes[j])) != 0);
        }
    }
    CHECK(strcmp(sb_status_string(42), "unknown status") == 0);
    CHECK(strcmp(sb_status_string(-1000), "unknown status") == 0);
}

static void test_open_errors(const char *bundle, const char *corrupted) {
    sb_engine *e = (sb_engine *)(void *)&g_checks; /* must be reset to NULL on failure */
    sb_engine_options o;
    char missing[4096];

    CHECK_STATUS(sb_engine_open(NULL, NULL, &e), SB_ERR_NULL);
    CHECK(e == NULL);
    CHECK_STATUS(sb_engine_open(bundle, NULL, NULL), SB_ERR_NULL);

    snprintf(missing, sizeof missing, "%s/does-not-exist", bundle);
    e = (sb_engine *)(void *)&g_checks;
    CHECK_STATUS(sb_engine_open(missing, NULL, &e), SB_ERR_BUNDLE);
    CHECK(e == NULL);
    CHECK(strstr(sb_last_error(), "does-not-exist") != NULL);

    CHECK_STATUS(sb_engine_open(corrupted, NULL, &e), SB_ERR_BUNDLE);
    CHECK(e == NULL);
    CHECK(contains_ci(sb_last_error(), "sha-256") || contains_ci(sb_last_error(), "sha256") ||
          contains_ci(sb_last_error(), "checksum"));
    CHECK(strstr(sb_last_error(), "image.onnx") != NULL);

    /* Options: NULL out, wrong struct_size, values out of range. */
    CHECK_STATUS(sb_engine_options_defaults(NULL), SB_ERR_NULL);
    CHECK_OK(sb_engine_options_defaults(&o));
    CHECK(o.struct_size == sizeof o && o.variant == SB_VARIANT_AUTO && o.prompt_cache >= 1);
    o.struct_size = 4;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_INVALID);
    CHECK(e == NULL);
    CHECK_OK(sb_engine_options_defaults(&o));
    o.variant = 17;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_INVALID);
    CHECK_OK(sb_engine_options_defaults(&o));
    o.prompt_cache = 0;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_INVALID);
    CHECK_OK(sb_engine_options_defaults(&o));
    o.largest_component = 2;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_INVALID);
    CHECK_OK(sb_engine_options_defaults(&o));
    o.fill_holes = 3;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_INVALID);
    /* The test bundle has no int8 graph. */
    CHECK_OK(sb_engine_options_defaults(&o));
    o.variant = SB_VARIANT_INT8;
    CHECK_STATUS(sb_engine_open(bundle, &o, &e), SB_ERR_BUNDLE);
    CHECK(e == NULL);

    /* Closing NULL things is a no-op. */
    CHECK_OK(sb_engine_close(NULL));
    CHECK_OK(sb_engine_close(&e));
    CHECK(e == NULL);
}

static void test_engine(sb_engine *e) {
    sb_engine_info info;
    sb_result *r = NULL, *r2 = NULL;
    sb_frame f;
    sb_meta m = meta_with_spacing();
    double spacing[2];
    static uint8_t masks_gray[3 * W * H], masks_bgra[3 * W * H];

    spacing[0] = m.pixel_spacing_x_mm;
    spacing[1] = m.pixel_spacing_y_mm;

    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(sb_engine_get_info(e, &info));
    CHECK(info.variant == SB_VARIANT_F32);
    CHECK(info.structures ==
          (SB_STRUCTURE_LV_CAVITY | SB_STRUCTURE_MYOCARDIUM | SB_STRUCTURE_LA_CAVITY));
    CHECK(info.input_width > 0 && info.input_height > 0);
    CHECK(info.name != NULL && strcmp(info.name, "random-student") == 0);
    CHECK(info.version != NULL && strlen(info.version) > 0);
    CHECK(info.licence != NULL && strlen(info.licence) > 0);
    CHECK(info.variant_reason != NULL && strncmp(info.variant_reason, "f32: ", 5) == 0);
    printf("engine: %s %s (%s), %ux%u, variant %u (%s)\n", info.name, info.version, info.licence,
           info.input_width, info.input_height, info.variant, info.variant_reason);

    CHECK_STATUS(sb_engine_get_info(NULL, &info), SB_ERR_NULL);
    CHECK_STATUS(sb_engine_get_info(e, NULL), SB_ERR_NULL);
    CHECK(sb_engine_last_error(e) != NULL && strlen(sb_engine_last_error(e)) > 0);
    CHECK(sb_engine_last_error(NULL) == NULL);
    info.struct_size = 8;
    CHECK_STATUS(sb_engine_get_info(e, &info), SB_ERR_INVALID);

    /* GRAY8 with a padded stride, then the same picture as BGRA8: same masks. */
    fill_frames(0);
    f = gray_frame();
    f.timestamp_ns = 1234567000;
    CHECK_OK(sb_engine_segment(e, &f, &m, 0, &r));
    CHECK(r != NULL);
    if (r != NULL) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK(check_result(r, spacing, masks_gray) == 3);
        CHECK_OK(sb_result_get_info(r, &ri));
        CHECK(ri.seq == 0 && ri.timestamp_ns == 1234567000);
    }
    f = bgra_frame();
    CHECK_OK(sb_engine_segment(e, &f, &m, 0, &r2));
    CHECK(r2 != NULL);
    if (r2 != NULL) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK(check_result(r2, spacing, masks_bgra) == 3);
        CHECK(memcmp(masks_gray, masks_bgra, sizeof masks_gray) == 0);
        CHECK_OK(sb_result_get_info(r2, &ri));
        CHECK(ri.timestamp_ns == SB_NO_TIMESTAMP);
    }
    CHECK_OK(sb_result_free(&r2));
    CHECK(r2 == NULL);

    /* No metadata at all: no spacing, negative areas. */
    f = gray_frame();
    CHECK_OK(sb_engine_segment(e, &f, NULL, 0, &r2));
    if (r2 != NULL) {
        check_result(r2, NULL, NULL);
    }
    CHECK_OK(sb_result_free(&r2));

    /* One structure only. */
    CHECK_OK(sb_engine_segment(e, &f, &m, SB_STRUCTURE_MYOCARDIUM, &r2));
    if (r2 != NULL) {
        sb_result_info ri;
        sb_structure_result s;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        CHECK_OK(sb_result_get_info(r2, &ri));
        CHECK(ri.structure_count == 1);
        CHECK_OK(sb_result_get_structure(r2, 0, &s));
        CHECK(s.structure == SB_STRUCTURE_MYOCARDIUM && strcmp(s.name, "myocardium") == 0);
        CHECK_STATUS(sb_result_get_structure(r2, 1, &s), SB_ERR_INVALID);
    }
    CHECK_OK(sb_result_free(&r2));

    /* Result accessors: NULLs, struct sizes, indices, buffers. */
    if (r != NULL) {
        sb_result_info ri;
        sb_structure_result s;
        static uint8_t buf[W * H];
        memset(&ri, 0, sizeof ri);
        memset(&s, 0, sizeof s);
        CHECK_STATUS(sb_result_get_info(r, &ri), SB_ERR_INVALID); /* struct_size 0 */
        CHECK_STATUS(sb_result_get_info(NULL, &ri), SB_ERR_NULL);
        CHECK_STATUS(sb_result_get_info(r, NULL), SB_ERR_NULL);
        CHECK_STATUS(sb_result_get_structure(r, 0, &s), SB_ERR_INVALID);
        s.struct_size = sizeof s;
        CHECK_STATUS(sb_result_get_structure(r, 3, &s), SB_ERR_INVALID);
        CHECK_STATUS(sb_result_get_structure(r, 0xFFFFFFFFu, &s), SB_ERR_INVALID);
        CHECK_STATUS(sb_result_get_structure(NULL, 0, &s), SB_ERR_NULL);
        CHECK_STATUS(sb_result_get_structure(r, 0, NULL), SB_ERR_NULL);
        {
            sb_measurements mm;
            sb_cycle cy;
            memset(&mm, 0, sizeof mm);
            memset(&cy, 0, sizeof cy);
            CHECK_STATUS(sb_result_get_measurements(r, &mm), SB_ERR_INVALID); /* size 0 */
            CHECK_STATUS(sb_result_get_cycle(r, &cy), SB_ERR_INVALID);
            mm.struct_size = sizeof mm;
            cy.struct_size = sizeof cy;
            CHECK_STATUS(sb_result_get_measurements(NULL, &mm), SB_ERR_NULL);
            CHECK_STATUS(sb_result_get_measurements(r, NULL), SB_ERR_NULL);
            CHECK_STATUS(sb_result_get_cycle(NULL, &cy), SB_ERR_NULL);
            CHECK_STATUS(sb_result_get_cycle(r, NULL), SB_ERR_NULL);
        }
        CHECK_OK(sb_result_copy_mask(r, 0, buf, sizeof buf, W, 1));
        CHECK(memcmp(buf, masks_gray, sizeof buf) == 0);
        CHECK_STATUS(sb_result_copy_mask(r, 0, buf, sizeof buf - 1, W, 1), SB_ERR_BUFFER);
        CHECK_STATUS(sb_result_copy_mask(r, 0, buf, sizeof buf, W + 1, 1), SB_ERR_BUFFER);
        CHECK_STATUS(sb_result_copy_mask(r, 3, buf, sizeof buf, W, 1), SB_ERR_INVALID);
        CHECK_STATUS(sb_result_copy_mask(r, 0, buf, sizeof buf, W - 1, 1), SB_ERR_INVALID);
        CHECK_STATUS(sb_result_copy_mask(r, 0, NULL, sizeof buf, W, 1), SB_ERR_NULL);
        CHECK_STATUS(sb_result_copy_mask(NULL, 0, buf, sizeof buf, W, 1), SB_ERR_NULL);
    }

    /* Freeing twice, and freeing NULL, are no-ops. */
    CHECK_OK(sb_result_free(&r));
    CHECK(r == NULL);
    CHECK_OK(sb_result_free(&r));
    CHECK(r == NULL);
    CHECK_OK(sb_result_free(NULL));
}

static void test_segment_errors(sb_engine *e) {
    sb_result *r = (sb_result *)(void *)&g_checks;
    sb_frame f = gray_frame();
    sb_meta m = meta_with_spacing();
    sb_meta bad;

    CHECK_STATUS(sb_engine_segment(NULL, &f, &m, 0, &r), SB_ERR_NULL);
    CHECK(r == NULL);
    CHECK_STATUS(sb_engine_segment(e, NULL, &m, 0, &r), SB_ERR_NULL);
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, NULL), SB_ERR_NULL);
    f.data = NULL;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_NULL);

    /* struct_size */
    f = gray_frame();
    f.struct_size = sizeof(sb_frame) - 8;
    r = (sb_result *)(void *)&g_checks;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_INVALID);
    CHECK(r == NULL);
    CHECK(strstr(sb_last_error(), "struct_size") != NULL);
    CHECK(strstr(sb_engine_last_error(e), "struct_size") != NULL);
    f = gray_frame();
    bad = m;
    bad.struct_size = 0;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);

    /* Enum values and ranges. */
    f.format = 4;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_INVALID);
    f = gray_frame();
    bad = m;
    bad.view = 3;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.phase = 9;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.sex = 3;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.quality = 4;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.age_years = 131;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.pixel_spacing_y_mm = 0.0; /* one spacing without the other */
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.pixel_spacing_x_mm = -0.3;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    bad = m;
    bad.cycle_position = 1.0;
    CHECK_STATUS(sb_engine_segment(e, &f, &bad, 0, &r), SB_ERR_INVALID);
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 8, &r), SB_ERR_INVALID);
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0x80000000u, &r), SB_ERR_INVALID);

    /* Frame geometry: data size, stride, dimensions. */
    f = gray_frame();
    f.data_size = GRAY_STRIDE * (H - 1) + W - 1;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    f.data_size = GRAY_STRIDE * (H - 1) + W; /* exactly enough: the last row unpadded */
    CHECK_OK(sb_engine_segment(e, &f, &m, 0, &r));
    CHECK_OK(sb_result_free(&r));
    f = gray_frame();
    f.stride = W - 1;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    f = bgra_frame();
    f.stride = W * 4 - 1;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    f = bgra_frame();
    f.data_size = W * 4 * H - 1; /* would fit as GRAY8, not as BGRA8 at this stride */
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    f = gray_frame();
    f.width = 0;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    f = gray_frame();
    f.height = 20000;
    CHECK_STATUS(sb_engine_segment(e, &f, &m, 0, &r), SB_ERR_FRAME);
    CHECK(r == NULL);

    CHECK_STATUS(sb_meta_defaults(NULL), SB_ERR_NULL);
    {
        sb_meta d;
        CHECK_OK(sb_meta_defaults(&d));
        CHECK(d.struct_size == sizeof d && d.view == SB_VIEW_UNKNOWN && d.age_years < 0 &&
              d.cycle_position < 0.0 && d.pixel_spacing_x_mm == 0.0);
    }
}

static sb_stream_config config(sb_queue_policy policy, uint32_t queue, uint32_t workers) {
    sb_stream_config c;
    CHECK_OK(sb_stream_config_defaults(&c));
    c.policy = policy;
    c.queue_capacity = queue;
    c.workers = workers;
    c.result_capacity = 4096;
    return c;
}

static void check_stats_balanced(sb_stream *s, uint64_t pushed, const char *file, int line) {
    sb_stream_stats st;
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    check_status_(sb_stream_get_stats(s, &st), SB_OK, "sb_stream_get_stats", file, line);
    check_(st.pushed == pushed, "stats.pushed == pushed", file, line);
    check_(st.in_flight == 0, "stats.in_flight == 0", file, line);
    check_(st.pushed == st.processed + st.failed + st.dropped + st.discarded,
           "stats balanced: pushed == processed + failed + dropped + discarded", file, line);
    if (st.pushed != st.processed + st.failed + st.dropped + st.discarded) {
        printf("  pushed %llu processed %llu failed %llu dropped %llu discarded %llu\n",
               (unsigned long long)st.pushed, (unsigned long long)st.processed,
               (unsigned long long)st.failed, (unsigned long long)st.dropped,
               (unsigned long long)st.discarded);
    }
}

static void test_stream_poll(sb_engine *e) {
    enum { N = 30 };
    sb_stream_config c = config(SB_POLICY_BLOCK, 4, 2);
    sb_stream *s = NULL;
    sb_meta m = meta_with_spacing();
    double spacing[2];
    int k, got = 0, in_order = 1, segmented = 1, timestamps = 1;
    sb_result *r = NULL;
    sb_stream_stats st;

    spacing[0] = m.pixel_spacing_x_mm;
    spacing[1] = m.pixel_spacing_y_mm;
    CHECK_OK(sb_stream_start(e, &c, &s));
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }
    /* Nothing pushed yet: a zero timeout returns at once. */
    r = (sb_result *)(void *)&g_checks;
    CHECK_STATUS(sb_stream_poll(s, 0, &r), SB_TIMEOUT);
    CHECK(r == NULL);
    CHECK_STATUS(sb_stream_poll(s, 10, &r), SB_TIMEOUT);

    for (k = 0; k < N; k++) {
        sb_frame f;
        uint64_t seq = 999;
        fill_frames(k);
        f = (k % 2) ? bgra_frame() : gray_frame();
        f.timestamp_ns = (int64_t)k * 20000000;
        m.cycle_position = (double)k / N;
        CHECK_OK(sb_stream_push(s, &f, &m, &seq));
        CHECK(seq == (uint64_t)k);
    }
    for (k = 0; k < N; k++) {
        sb_status st2 = sb_stream_poll(s, 60000, &r);
        CHECK_OK(st2);
        if (st2 != SB_OK || r == NULL) {
            break;
        }
        {
            sb_result_info ri;
            memset(&ri, 0, sizeof ri);
            ri.struct_size = sizeof ri;
            CHECK_OK(sb_result_get_info(r, &ri));
            if (ri.seq != (uint64_t)k) {
                in_order = 0;
            }
            if (ri.outcome != SB_OUTCOME_SEGMENTED) {
                segmented = 0;
            }
            if (ri.timestamp_ns != (int64_t)k * 20000000) {
                timestamps = 0;
            }
            if (k < 3 || k == N - 1) {
                check_result(r, spacing, NULL);
            }
            CHECK(ri.total_ms > 0.0 && ri.queue_ms >= 0.0);
        }
        got++;
        CHECK_OK(sb_result_free(&r));
    }
    CHECK(got == N);
    CHECK(in_order);
    CHECK(segmented);
    CHECK(timestamps);

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(sb_stream_get_stats(s, &st));
    CHECK(st.pushed == N && st.processed == N && st.failed == 0 && st.dropped == 0 &&
          st.discarded == 0 && st.rejected == 0 && st.unread_dropped == 0);
    CHECK(st.latency_p50_ms > 0.0 && st.latency_p90_ms >= st.latency_p50_ms &&
          st.latency_p99_ms >= st.latency_p90_ms && st.latency_max_ms > 0.0 &&
          st.latency_mean_ms > 0.0);
    CHECK(st.queue_wait_p50_ms >= 0.0 && st.queue_wait_p99_ms >= st.queue_wait_p50_ms);
    CHECK(st.preprocess_mean_ms > 0.0 && st.model_mean_ms > 0.0 && st.postprocess_mean_ms >= 0.0);
    printf("stream (poll, %d frames, 2 workers): latency p50 %.2f ms p99 %.2f ms max %.2f ms, "
           "model %.2f ms/frame\n",
           N, st.latency_p50_ms, st.latency_p99_ms, st.latency_max_ms, st.model_mean_ms);

    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN));
    check_stats_balanced(s, N, __FILE__, __LINE__);
    CHECK_STATUS(sb_stream_poll(s, 1000, &r), SB_END);
    CHECK(r == NULL);
    CHECK_STATUS(sb_stream_poll(s, -1, &r), SB_END);
    CHECK_STATUS(sb_stream_poll(s, 0, &r), SB_END);
    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN)); /* twice: harmless */

    /* Closing twice: a no-op that leaves the handle NULL. */
    CHECK_OK(sb_stream_close(&s));
    CHECK(s == NULL);
    CHECK_OK(sb_stream_close(&s));
    CHECK(s == NULL);
    CHECK_OK(sb_stream_close(NULL));
}

static void test_stream_stop_then_poll(sb_engine *e) {
    enum { N = 6 };
    sb_stream_config c = config(SB_POLICY_BLOCK, 8, 1);
    sb_stream *s = NULL;
    sb_frame f;
    int k, got = 0, in_order = 1;
    sb_status st;
    sb_result *r = NULL;
    uint64_t seq = 77;

    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    fill_frames(3);
    f = gray_frame();
    for (k = 0; k < N; k++) {
        CHECK_OK(sb_stream_push(s, &f, NULL, NULL)); /* seq may be NULL */
    }
    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN));
    CHECK_STATUS(sb_stream_push(s, &f, NULL, &seq), SB_ERR_STOPPED);
    CHECK(seq == 77);
    CHECK(sb_stream_last_error(s) != NULL && strstr(sb_stream_last_error(s), "stop") != NULL);
    CHECK(sb_stream_last_error(NULL) == NULL);
    /* Every result is still there after the stop, then SB_END. */
    while ((st = sb_stream_poll(s, 5000, &r)) == SB_OK) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK_OK(sb_result_get_info(r, &ri));
        if (ri.seq != (uint64_t)got || ri.outcome != SB_OUTCOME_SEGMENTED) {
            in_order = 0;
        }
        if (got == 0) {
            check_result(r, NULL, NULL);
        }
        got++;
        sb_result_free(&r);
    }
    CHECK_STATUS(st, SB_END);
    CHECK(got == N);
    CHECK(in_order);
    check_stats_balanced(s, N, __FILE__, __LINE__);
    CHECK_OK(sb_stream_close(&s));
}

static void test_stream_discard(sb_engine *e) {
    enum { N = 40 };
    sb_stream_config c = config(SB_POLICY_BLOCK, 64, 1);
    sb_stream *s = NULL;
    sb_frame f;
    int k, got = 0, in_order = 1, discarded = 0, outcomes_ok = 1;
    sb_result *r = NULL;
    sb_stream_stats st;

    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    fill_frames(5);
    f = gray_frame();
    for (k = 0; k < N; k++) {
        CHECK_OK(sb_stream_push(s, &f, NULL, NULL));
    }
    CHECK_OK(sb_stream_stop(s, SB_STOP_DISCARD));
    while (sb_stream_poll(s, 5000, &r) == SB_OK) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK_OK(sb_result_get_info(r, &ri));
        if (ri.seq != (uint64_t)got) {
            in_order = 0;
        }
        if (ri.outcome == SB_OUTCOME_DISCARDED) {
            discarded++;
            if (ri.structure_count != 0) {
                outcomes_ok = 0;
            }
        } else if (ri.outcome != SB_OUTCOME_SEGMENTED) {
            outcomes_ok = 0;
        }
        got++;
        sb_result_free(&r);
    }
    CHECK(got == N && in_order && outcomes_ok);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(sb_stream_get_stats(s, &st));
    CHECK(st.discarded == (uint64_t)discarded);
    check_stats_balanced(s, N, __FILE__, __LINE__);
    printf("stream (discarding stop, %d frames): %d discarded\n", N, discarded);
    CHECK_OK(sb_stream_close(&s));
}

static void test_stream_reject(sb_engine *e) {
    sb_stream_config c = config(SB_POLICY_REJECT, 1, 1);
    sb_stream *s = NULL;
    sb_frame f;
    int k, accepted = 0, rejected = 0, other = 0, got = 0, in_order = 1;
    sb_result *r = NULL;
    sb_stream_stats st;
    sb_status status;

    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    fill_frames(1);
    f = gray_frame();
    for (k = 0; k < 400 && (rejected < 5 || k < 20); k++) {
        uint64_t seq = 0;
        status = sb_stream_push(s, &f, NULL, &seq);
        if (status == SB_OK) {
            if (seq != (uint64_t)accepted) {
                in_order = 0;
            }
            accepted++;
        } else if (status == SB_ERR_QUEUE_FULL) {
            rejected++;
            if (rejected == 1) {
                CHECK(strlen(sb_last_error()) > 0 &&
                      strncmp(sb_last_error(), "sb_stream_push:", 15) == 0);
                CHECK(strstr(sb_stream_last_error(s), "full") != NULL);
            }
        } else {
            other++;
        }
    }
    CHECK(rejected > 0);
    CHECK(other == 0);
    CHECK(in_order);
    CHECK_OK(sb_stream_stop(s, SB_STOP_DISCARD));
    while ((status = sb_stream_poll(s, 5000, &r)) == SB_OK) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK_OK(sb_result_get_info(r, &ri));
        if (ri.seq != (uint64_t)got ||
            (ri.outcome != SB_OUTCOME_SEGMENTED && ri.outcome != SB_OUTCOME_DISCARDED)) {
            in_order = 0;
        }
        got++;
        sb_result_free(&r);
    }
    CHECK_STATUS(status, SB_END);
    CHECK(got == accepted && in_order);
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    CHECK_OK(sb_stream_get_stats(s, &st));
    CHECK(st.rejected == (uint64_t)rejected);
    check_stats_balanced(s, (uint64_t)accepted, __FILE__, __LINE__);
    printf("stream (reject, queue 1): %d accepted, %d rejected\n", accepted, rejected);
    CHECK_OK(sb_stream_close(&s));
}

static void test_stream_drop_oldest(sb_engine *e) {
    sb_stream_config c = config(SB_POLICY_DROP_OLDEST, 1, 1);
    sb_stream *s = NULL;
    sb_frame f;
    int k, got = 0, in_order = 1, dropped = 0;
    enum { N = 60 };
    sb_result *r = NULL;

    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    fill_frames(2);
    f = gray_frame();
    for (k = 0; k < N; k++) {
        CHECK_OK(sb_stream_push(s, &f, NULL, NULL));
    }
    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN));
    while (sb_stream_poll(s, 5000, &r) == SB_OK) {
        sb_result_info ri;
        memset(&ri, 0, sizeof ri);
        ri.struct_size = sizeof ri;
        CHECK_OK(sb_result_get_info(r, &ri));
        if (ri.seq != (uint64_t)got) {
            in_order = 0;
        }
        if (ri.outcome == SB_OUTCOME_DROPPED) {
            dropped++;
        } else if (ri.outcome != SB_OUTCOME_SEGMENTED) {
            in_order = 0;
        }
        got++;
        sb_result_free(&r);
    }
    CHECK(got == N && in_order);
    check_stats_balanced(s, N, __FILE__, __LINE__);
    printf("stream (drop oldest, queue 1, %d frames): %d dropped\n", N, dropped);
    CHECK_OK(sb_stream_close(&s));
}

struct callback_state {
    int count;
    int in_order;
    int segmented;
    int borrowed_ok;
    int free_refused;
    unsigned stack_sum;
    uint64_t next;
};

static void on_result(const sb_result *r, void *user) {
    struct callback_state *cs = (struct callback_state *)user;
    sb_result_info ri;
    memset(&ri, 0, sizeof ri);
    ri.struct_size = sizeof ri;
    if (sb_result_get_info(r, &ri) != SB_OK) {
        cs->borrowed_ok = 0;
        return;
    }
    if (ri.seq != cs->next) {
        cs->in_order = 0;
    }
    if (ri.outcome != SB_OUTCOME_SEGMENTED || ri.structure_count != 3) {
        cs->segmented = 0;
    } else {
        sb_structure_result s;
        memset(&s, 0, sizeof s);
        s.struct_size = sizeof s;
        if (sb_result_get_structure(r, 2, &s) != SB_OK || s.mask == NULL) {
            cs->borrowed_ok = 0;
        }
    }
    /* The result is lent: freeing it is refused and it stays valid (a host that did this used
     * to get SB_OK and then a double free). */
    {
        sb_result *mine = (sb_result *)r;
        if (sb_result_free(&mine) == SB_ERR_STATE && mine == r &&
            strstr(sb_last_error(), "lent") != NULL && sb_result_get_info(r, &ri) == SB_OK) {
            cs->free_refused++;
        }
    }
    /* 3 MiB of locals, as an image-processing callback may have: the callback's thread has a
     * stack as large as the host's own threads (at least 8 MiB). */
    {
        volatile unsigned char big[3u << 20];
        size_t i;
        unsigned sum = 0;
        for (i = 0; i < sizeof big; i += 4096) {
            big[i] = (unsigned char)(i >> 12);
        }
        for (i = 0; i < sizeof big; i += 4096) {
            sum += big[i];
        }
        cs->stack_sum = sum;
    }
    cs->next = ri.seq + 1;
    cs->count++;
}

static void test_stream_callback(sb_engine *e) {
    enum { N = 20 };
    sb_stream_config c = config(SB_POLICY_BLOCK, 2, 2);
    sb_stream *s = NULL;
    struct callback_state cs;
    sb_result *r = (sb_result *)(void *)&g_checks;
    sb_meta m = meta_with_spacing();
    int k;

    memset(&cs, 0, sizeof cs);
    cs.in_order = cs.segmented = cs.borrowed_ok = 1;
    c.callback = on_result;
    c.user_data = &cs;
    c.structures = 0;
    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    for (k = 0; k < N; k++) {
        sb_frame f;
        fill_frames(k);
        f = gray_frame();
        CHECK_OK(sb_stream_push(s, &f, &m, NULL));
    }
    /* A callback stream is not polled. */
    CHECK_STATUS(sb_stream_poll(s, 0, &r), SB_ERR_STATE);
    CHECK(r == NULL);
    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN));
    /* stop joined the delivery thread: the state is ours again. */
    CHECK(cs.count == N);
    CHECK(cs.in_order);
    CHECK(cs.segmented);
    CHECK(cs.borrowed_ok);
    CHECK(cs.free_refused == N);
    CHECK(cs.stack_sum == 256u * 255u / 2u * 3u);
    check_stats_balanced(s, N, __FILE__, __LINE__);
    printf("stream (callback, %d frames): %d results\n", N, cs.count);
    CHECK_OK(sb_stream_close(&s));
}

/* Another thread's failure on the same stream, while this thread holds the stream's message:
 * the pointer this thread holds stays valid (valgrind reported an invalid read here before
 * messages were copied per thread). */
struct failing_pusher {
    sb_stream *s;
    int failures;
};

static void *push_null_frames(void *arg) {
    struct failing_pusher *fp = (struct failing_pusher *)arg;
    int k;
    for (k = 0; k < 50; k++) {
        if (sb_stream_push(fp->s, NULL, NULL, NULL) == SB_ERR_NULL) {
            fp->failures++;
        }
    }
    return NULL;
}

static void test_last_error_across_threads(sb_engine *e) {
    sb_stream_config c = config(SB_POLICY_DROP_OLDEST, 4, 1);
    sb_stream *s = NULL;
    sb_frame f;
    const char *held;
    char copy[512];
    struct failing_pusher fp;
    pthread_t t;
    int k, same = 1;

    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    for (k = 0; k < 20; k++) {
        f = gray_frame();
        f.width = 0;
        CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_FRAME);
        held = sb_stream_last_error(s);
        snprintf(copy, sizeof copy, "%s", held);
        fp.s = s;
        fp.failures = 0;
        CHECK(pthread_create(&t, NULL, push_null_frames, &fp) == 0);
        pthread_join(t, NULL);
        CHECK(fp.failures == 50);
        same &= strcmp(held, copy) == 0;
    }
    CHECK(same);
    CHECK(strstr(sb_stream_last_error(s), "NULL") != NULL);
    CHECK_OK(sb_stream_close(&s));
}

static void test_stream_errors(sb_engine *e) {
    sb_stream_config c;
    sb_stream *s = (sb_stream *)(void *)&g_checks;
    sb_stream_stats st;
    sb_frame f;
    sb_result *r = NULL;

    CHECK_STATUS(sb_stream_config_defaults(NULL), SB_ERR_NULL);
    CHECK_OK(sb_stream_config_defaults(&c));
    CHECK(c.struct_size == sizeof c && c.policy == SB_POLICY_DROP_OLDEST && c.workers >= 1 &&
          c.queue_capacity >= 1 && c.callback == NULL && c.user_data == NULL);

    CHECK_STATUS(sb_stream_start(NULL, &c, &s), SB_ERR_NULL);
    CHECK(s == NULL);
    CHECK_STATUS(sb_stream_start(e, &c, NULL), SB_ERR_NULL);
    c.struct_size = 0;
    s = (sb_stream *)(void *)&g_checks;
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    CHECK(s == NULL);
    c = config(9, 4, 1);
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    c = config(SB_POLICY_BLOCK, 0, 1);
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    c = config(SB_POLICY_BLOCK, 4, 0);
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    c = config(SB_POLICY_BLOCK, 4, 65);
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    c = config(SB_POLICY_BLOCK, 4, 1);
    c.result_capacity = 0;
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    c = config(SB_POLICY_BLOCK, 4, 1);
    c.structures = 16;
    CHECK_STATUS(sb_stream_start(e, &c, &s), SB_ERR_INVALID);
    CHECK(s == NULL);

    /* A live stream: bad pushes, stats, stop modes. */
    c = config(SB_POLICY_BLOCK, 4, 1);
    c.max_frame_bytes = W * H; /* a GRAY8 frame fits, a BGRA8 one does not */
    CHECK_OK(sb_stream_start(e, &c, &s));
    if (s == NULL) {
        return;
    }
    fill_frames(0);
    f = gray_frame();
    CHECK_STATUS(sb_stream_push(NULL, &f, NULL, NULL), SB_ERR_NULL);
    CHECK_STATUS(sb_stream_push(s, NULL, NULL, NULL), SB_ERR_NULL);
    f.struct_size = 3;
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_INVALID);
    f = gray_frame();
    f.format = 99;
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_INVALID);
    f = gray_frame();
    f.data_size = 10;
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_FRAME);
    f = gray_frame();
    f.stride = 1;
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_FRAME);
    f = bgra_frame();
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_FRAME);
    {
        sb_meta bad = meta_with_spacing();
        bad.view = 77;
        f = gray_frame();
        CHECK_STATUS(sb_stream_push(s, &f, &bad, NULL), SB_ERR_INVALID);
        bad = meta_with_spacing();
        bad.struct_size = 1;
        CHECK_STATUS(sb_stream_push(s, &f, &bad, NULL), SB_ERR_INVALID);
    }
    CHECK(strlen(sb_stream_last_error(s)) > 0);
    CHECK_STATUS(sb_stream_poll(NULL, 0, &r), SB_ERR_NULL);
    CHECK_STATUS(sb_stream_poll(s, 0, NULL), SB_ERR_NULL);
    CHECK_STATUS(sb_stream_get_stats(NULL, &st), SB_ERR_NULL);
    CHECK_STATUS(sb_stream_get_stats(s, NULL), SB_ERR_NULL);
    memset(&st, 0, sizeof st);
    CHECK_STATUS(sb_stream_get_stats(s, &st), SB_ERR_INVALID);
    st.struct_size = sizeof st;
    CHECK_OK(sb_stream_get_stats(s, &st));
    CHECK(st.pushed == 0); /* nothing bad was taken */
    CHECK_STATUS(sb_stream_stop(NULL, SB_STOP_DRAIN), SB_ERR_NULL);
    CHECK_STATUS(sb_stream_stop(s, 5), SB_ERR_INVALID);
    CHECK_OK(sb_stream_stop(s, SB_STOP_DISCARD));
    f = gray_frame();
    CHECK_STATUS(sb_stream_push(s, &f, NULL, NULL), SB_ERR_STOPPED);
    CHECK_STATUS(sb_stream_poll(s, 0, &r), SB_END);
    CHECK_OK(sb_stream_close(&s));
    CHECK(s == NULL);

    /* Closing a running stream stops it. */
    c = config(SB_POLICY_BLOCK, 4, 1);
    CHECK_OK(sb_stream_start(e, &c, &s));
    f = gray_frame();
    CHECK_OK(sb_stream_push(s, &f, NULL, NULL));
    CHECK_OK(sb_stream_close(&s));
    CHECK(s == NULL);
}

static void test_stream_outlives_engine(const char *bundle) {
    sb_engine *e = NULL;
    sb_stream *s = NULL;
    sb_stream_config c = config(SB_POLICY_BLOCK, 4, 1);
    sb_frame f;
    sb_result *r = NULL;
    int got = 0;

    CHECK_OK(sb_engine_open(bundle, NULL, &e));
    if (e == NULL) {
        return;
    }
    CHECK_OK(sb_stream_start(e, &c, &s));
    CHECK_OK(sb_engine_close(&e));
    CHECK(e == NULL);
    CHECK_OK(sb_engine_close(&e));
    if (s == NULL) {
        return;
    }
    fill_frames(4);
    f = gray_frame();
    CHECK_OK(sb_stream_push(s, &f, NULL, NULL));
    CHECK_OK(sb_stream_push(s, &f, NULL, NULL));
    CHECK_OK(sb_stream_stop(s, SB_STOP_DRAIN));
    while (sb_stream_poll(s, 5000, &r) == SB_OK) {
        got++;
        sb_result_free(&r);
    }
    CHECK(got == 2);
    CHECK_OK(sb_stream_close(&s));
}

/* The ONNX Runtime backend through the same API, when the host has one (SYNBOOST_ONNXRUNTIME
 * names the library; the C client never links it): its info, the same masks as tract on the
 * same frame, and a stream. */
static void test_onnxruntime(const char *bundle) {
    const char *lib = getenv("SYNBOOST_ONNXRUNTIME");
    sb_engine_options o;
    sb_engine *t = NULL, *x = NULL;
    sb_engine_info info;
    sb_result *rt = NULL, *rx = NULL;
    sb_frame f;
    sb_meta m = meta_with_spacing();
    static uint8_t mt[W * H], mx[W * H];
    unsigned i, k, same = 0;

    if (lib == NULL || lib[0] == '\0') {
        printf("ONNX Runtime: not tested (SYNBOOST_ONNXRUNTIME unset)\n");
        return;
    }
    CHECK_OK(sb_engine_options_defaults(&o));
    CHECK(o.backend == SB_BACKEND_TRACT && o.onnxruntime_library == NULL);
    o.variant = SB_VARIANT_F32;
    CHECK_OK(sb_engine_open(bundle, &o, &t));
    o.backend = SB_BACKEND_ONNXRUNTIME;
    o.onnxruntime_library = lib;
    CHECK_OK(sb_engine_open(bundle, &o, &x));
    if (t == NULL || x == NULL) {
        sb_engine_close(&t);
        sb_engine_close(&x);
        return;
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK_OK(sb_engine_get_info(x, &info));
    CHECK(info.backend == SB_BACKEND_ONNXRUNTIME);
    CHECK(info.runtime != NULL && strncmp(info.runtime, "onnxruntime 1.", 14) == 0);
    fill_frames(3);
    f = gray_frame();
    CHECK_OK(sb_engine_segment(t, &f, &m, 0, &rt));
    CHECK_OK(sb_engine_segment(x, &f, &m, 0, &rx));
    if (rt != NULL && rx != NULL) {
        for (i = 0; i < 3; i++) {
            CHECK_OK(sb_result_copy_mask(rt, i, mt, sizeof mt, W, 1));
            CHECK_OK(sb_result_copy_mask(rx, i, mx, sizeof mx, W, 1));
            for (k = 0; k < W * H; k++) same += mt[k] == mx[k];
        }
        CHECK(same >= 3 * W * H * 99 / 100);
    }
    sb_result_free(&rt);
    sb_result_free(&rx);
    test_stream_poll(x);
    test_stream_callback(x);
    printf("ONNX Runtime: tested (%s), masks agree with tract on %u of %u pixels\n",
           info.runtime != NULL ? info.runtime : "?", same, 3 * W * H);
    CHECK_OK(sb_engine_close(&t));
    CHECK_OK(sb_engine_close(&x));
}

int main(int argc, char **argv) {
    sb_engine *e = NULL;
    sb_engine_options o;

    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE_DIR CORRUPTED_BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    printf("libsynboost %s, ABI %u\n", sb_version(), sb_abi_version());
    CHECK(sb_version() != NULL && strlen(sb_version()) >= 5 && strchr(sb_version(), '.') != NULL);
    CHECK(sb_abi_version() == 1);
    CHECK(sb_last_error() != NULL);

    CHECK_STATUS(sb_set_log_callback(on_log, 99, NULL), SB_ERR_INVALID);
    CHECK_OK(sb_set_log_callback(on_log, SB_LOG_INFO, (void *)&g_log_lock));

    test_statuses();
    test_open_errors(argv[1], argv[2]);

    CHECK_OK(sb_engine_options_defaults(&o));
    o.variant = SB_VARIANT_F32;
    CHECK_OK(sb_engine_open(argv[1], &o, &e));
    CHECK(e != NULL);
    if (e != NULL) {
        test_engine(e);
        test_segment_errors(e);
        test_stream_poll(e);
        test_stream_stop_then_poll(e);
        test_stream_discard(e);
        test_stream_reject(e);
        test_stream_drop_oldest(e);
        test_stream_callback(e);
        test_last_error_across_threads(e);
        test_stream_errors(e);
    }
    CHECK_OK(sb_engine_close(&e));
    CHECK(e == NULL);
    CHECK_OK(sb_engine_close(&e)); /* twice: no-op */
    CHECK(e == NULL);
    test_stream_outlives_engine(argv[1]);
    test_onnxruntime(argv[1]);

    /* Logging: at least the bundle opening, nothing above the level asked for. */
    CHECK_OK(sb_set_log_callback(NULL, SB_LOG_OFF, NULL));
    pthread_mutex_lock(&g_log_lock);
    printf("log: %d message(s), %d about opening a bundle\n", g_log_messages, g_log_opened);
    CHECK(g_log_messages > 0);
    CHECK(g_log_opened >= 1);
    CHECK(g_log_above_level == 0);
    CHECK(g_log_bad_args == 0);
    pthread_mutex_unlock(&g_log_lock);

    printf("C client: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
