/*
 * A C99 client of the ONNX Runtime-only build of libsynboost.so (built without tract:
 * `cargo build --profile dist -p synboost --no-default-features`), as a vendor who ships that
 * small library uses it:
 *
 *   ort_only <bundle> <frame.gray8> <width> <height> <masks.out>
 *
 * The ONNX Runtime library comes from SYNBOOST_ONNXRUNTIME (the library's own default).
 * Checks that the defaults name ONNX Runtime, that asking for tract is a clear SB_ERR_MODEL,
 * that the engine opens with NULL options and says which runtime it runs, segments the frame
 * (its three masks, one byte per pixel, are written to <masks.out> for the test to compare with
 * the tract build) and runs a short stream. Prints "ORT-only client: N passed, M failed".
 */
#include "synboost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed = 0;
static int failed = 0;

static void check(int ok, const char *what) {
    if (ok) {
        ++passed;
    } else {
        ++failed;
        printf("FAIL %s (last error: %s)\n", what, sb_last_error() ? sb_last_error() : "none");
    }
}

static unsigned char *read_file(const char *path, size_t expected) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    if (!f) {
        return NULL;
    }
    buf = malloc(expected);
    if (buf && fread(buf, 1, expected, f) != expected) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    sb_engine_options opts;
    sb_engine *engine = NULL;
    sb_engine *tract = NULL;
    sb_engine_info info;
    sb_frame frame;
    sb_meta meta;
    sb_result *result = NULL;
    sb_result_info rinfo;
    sb_stream *stream = NULL;
    sb_stream_stats stats;
    unsigned char *pixels;
    unsigned char *masks;
    const sb_structures all =
        SB_STRUCTURE_LV_CAVITY | SB_STRUCTURE_MYOCARDIUM | SB_STRUCTURE_LA_CAVITY;
    unsigned width, height, i;
    int segmented = 0;
    FILE *out;

    if (argc != 6) {
        fprintf(stderr, "usage: %s <bundle> <frame.gray8> <width> <height> <masks.out>\n", argv[0]);
        return 2;
    }
    width = (unsigned)strtoul(argv[3], NULL, 10);
    height = (unsigned)strtoul(argv[4], NULL, 10);
    pixels = read_file(argv[2], (size_t)width * height);
    masks = calloc(3, (size_t)width * height);
    if (!pixels || !masks || width == 0 || height == 0) {
        fprintf(stderr, "cannot read %s as %ux%u gray8\n", argv[2], width, height);
        return 2;
    }

    check(sb_abi_version() == SB_ABI_VERSION, "ABI version");

    /* The defaults of a build without tract name ONNX Runtime. */
    check(sb_engine_options_defaults(&opts) == SB_OK, "options defaults");
    check(opts.backend == SB_BACKEND_ONNXRUNTIME, "default backend is ONNX Runtime");
    check(opts.onnxruntime_library == NULL, "default library path is NULL");

    /* Asking for tract is a model error that says why, and leaves no engine. */
    opts.backend = SB_BACKEND_TRACT;
    tract = (sb_engine *)&opts; /* must be set to NULL on failure */
    check(sb_engine_open(argv[1], &opts, &tract) == SB_ERR_MODEL, "tract refused");
    check(tract == NULL, "no engine after the refusal");
    check(sb_last_error() != NULL && strstr(sb_last_error(), "tract") != NULL,
          "the refusal names tract");

    /* NULL options: the defaults, so ONNX Runtime. */
    check(sb_engine_open(argv[1], NULL, &engine) == SB_OK, "open with NULL options");
    if (!engine) {
        printf("ORT-only client: %d passed, %d failed\n", passed, failed + 1);
        return 1;
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    check(sb_engine_get_info(engine, &info) == SB_OK, "engine info");
    check(info.backend == SB_BACKEND_ONNXRUNTIME, "info.backend");
    check(info.runtime != NULL && strncmp(info.runtime, "onnxruntime ", 12) == 0, "info.runtime");
    check(info.structures == all, "three structures");
    printf("runtime: %s; variant %u (%s)\n", info.runtime ? info.runtime : "?",
           (unsigned)info.variant, info.variant_reason ? info.variant_reason : "?");

    /* One frame, its masks to the file. */
    memset(&frame, 0, sizeof frame);
    frame.struct_size = sizeof frame;
    frame.format = SB_PIXEL_GRAY8;
    frame.width = width;
    frame.height = height;
    frame.stride = width;
    frame.data = pixels;
    frame.data_size = (size_t)width * height;
    frame.timestamp_ns = SB_NO_TIMESTAMP;
    check(sb_meta_defaults(&meta) == SB_OK, "meta defaults");
    check(sb_engine_segment(engine, &frame, &meta, all, &result) == SB_OK, "segment");
    if (result) {
        memset(&rinfo, 0, sizeof rinfo);
        rinfo.struct_size = sizeof rinfo;
        check(sb_result_get_info(result, &rinfo) == SB_OK, "result info");
        check(rinfo.structure_count == 3, "three masks");
        for (i = 0; i < 3 && i < rinfo.structure_count; ++i) {
            check(sb_result_copy_mask(result, i, masks + (size_t)i * width * height,
                                      (size_t)width * height, width, 1) == SB_OK,
                  "copy mask");
        }
        check(sb_result_free(&result) == SB_OK && result == NULL, "free result");
    }
    out = fopen(argv[5], "wb");
    check(out != NULL && fwrite(masks, 1, 3 * (size_t)width * height, out) ==
                             3 * (size_t)width * height,
          "write masks");
    if (out) {
        fclose(out);
    }

    /* A short stream on the same engine: every frame segmented, in order. */
    check(sb_stream_start(engine, NULL, &stream) == SB_OK, "stream start");
    if (stream) {
        uint64_t seq = 0;
        for (i = 0; i < 6; ++i) {
            sb_status s;
            frame.timestamp_ns = (int64_t)i * 20000000;
            /* The default policy drops the oldest when full: poll as we go so none is. */
            check(sb_stream_push(stream, &frame, &meta, &seq) == SB_OK, "push");
            s = sb_stream_poll(stream, 60000, &result);
            check(s == SB_OK, "poll");
            if (result) {
                memset(&rinfo, 0, sizeof rinfo);
                rinfo.struct_size = sizeof rinfo;
                if (sb_result_get_info(result, &rinfo) == SB_OK &&
                    rinfo.outcome == SB_OUTCOME_SEGMENTED && rinfo.seq == seq) {
                    ++segmented;
                }
                (void)sb_result_free(&result);
            }
        }
        check(segmented == 6, "six frames segmented in order");
        check(sb_stream_stop(stream, SB_STOP_DRAIN) == SB_OK, "stop");
        memset(&stats, 0, sizeof stats);
        stats.struct_size = sizeof stats;
        check(sb_stream_get_stats(stream, &stats) == SB_OK, "stats");
        check(stats.processed == 6 && stats.dropped == 0 && stats.failed == 0, "stream counts");
        check(sb_stream_close(&stream) == SB_OK && stream == NULL, "stream close");
    }
    check(sb_engine_close(&engine) == SB_OK && engine == NULL, "close");

    free(pixels);
    free(masks);
    printf("ORT-only client: %d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
