/*
 * synboost: C ABI of libsynboost.so (soname libsynboost.so.0).
 *
 * Segments echocardiography frames (left ventricular cavity, myocardium, left atrium) from
 * a text prompt built from the scan's metadata, one frame at a time (sb_engine_segment) or as
 * a real-time stream (sb_stream_*). Link with -lsynboost (pkg-config: synboost).
 *
 * Conventions: every function returns an sb_status (SB_OK = 0, < 0 an error whose message is
 * in sb_last_error()); handles are created through an out-pointer and destroyed through a
 * pointer to the handle, which is set to NULL; structs begin with struct_size (= sizeof, or
 * filled by the matching *_defaults function). Nothing here aborts the host.
 *
 * Threads and callbacks (each rule is repeated next to its function):
 *  - Engines and streams may be used from any thread, concurrently, except that a handle's
 *    close (sb_engine_close, sb_stream_close) must not run alongside another call on it.
 *  - Error messages: sb_last_error() is the calling thread's own; sb_engine_last_error() and
 *    sb_stream_last_error() copy the handle's message for the calling thread. Each pointer
 *    stays valid until the same thread's next failing call (sb_last_error) or next
 *    *_last_error call, whatever other threads do. Never free them.
 *  - The library's threads (stream workers, delivery, each stream's callback thread, the
 *    inference pool) have stacks of at least 8 MiB (the soft RLIMIT_STACK when larger, up to
 *    256 MiB): a callback has the room a host thread has.
 *  - A result callback runs on its stream's own thread, one call at a time, in push order; its
 *    result is lent (sb_result_free on it is SB_ERR_STATE); it may push and call accessors but
 *    not stop, close or poll its own stream (SB_ERR_STATE). When sb_stream_stop or
 *    sb_stream_close returns, it is not running and is never called again. A slow one holds
 *    back only later results, which are bounded by result_capacity (see sb_result_callback).
 *  - The log callback runs on whichever thread logs (the library's, or the host's own during
 *    an sb_* call), possibly concurrently; it may call sb_* functions except
 *    sb_set_log_callback (SB_ERR_STATE). Once sb_set_log_callback returns, the previous
 *    callback is not running and is never called again.
 *  - Every size the caller chooses is checked against a documented limit, and memory it sizes
 *    is allocated fallibly: SB_ERR_NO_MEMORY, never an abort.
 */
#ifndef SYNBOOST_H
#define SYNBOOST_H

/* Declarations and their docs come from ffi/src through cbindgen; the layout is
 * ffi/header-layout.txt. CI checks this file matches both: regenerate it with
 * `SYNBOOST_BLESS=1 cargo test -p synboost --test header`. */

#include <stddef.h>
#include <stdint.h>

/* SB_API marks the library's exported functions; SB_NODISCARD the ones whose status must be
 * looked at (every function returning sb_status except the destructors sb_engine_close,
 * sb_result_free and sb_stream_close). Define either before including this header to
 * override it. */
#ifndef SB_API
#  if defined(__GNUC__) || defined(__clang__)
#    define SB_API __attribute__((visibility("default")))
#  else
#    define SB_API
#  endif
#endif

#ifndef SB_NODISCARD
#  if defined(__cplusplus) && __cplusplus >= 201703L
#    define SB_NODISCARD [[nodiscard]]
#  elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 202311L
#    define SB_NODISCARD [[nodiscard]]
#  elif defined(__GNUC__) || defined(__clang__)
#    define SB_NODISCARD __attribute__((warn_unused_result))
#  else
#    define SB_NODISCARD
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================================================
 * Handles
 * ============================================================================================
 * The library's three objects. Each is created through an out-pointer and destroyed through a
 * pointer to the handle, which is then set to NULL; a NULL handle is SB_ERR_NULL (or a no-op
 * for the destroy functions). The structs the functions take are declared here too, so any
 * group below may refer to them.
 */

/**
 * A loaded model bundle. Calls on one engine are serialised; streams started from it run on
 * their own copies and outlive it.
 */
typedef struct sb_engine sb_engine;

/**
 * A frame's result. Owned by the caller after `sb_stream_poll` or `sb_engine_segment` (free
 * it with `sb_result_free`); borrowed for the duration of a result callback (the library
 * frees it when the callback returns; `sb_result_free` on it is refused).
 */
typedef struct sb_result sb_result;

/** A running stream of frames through a model. */
typedef struct sb_stream sb_stream;
struct sb_frame;
struct sb_meta;

/* ============================================================================================
 * Version and status
 * ============================================================================================
 * Every function returns an sb_status: SB_OK (0), a positive informational code, or a negative
 * error whose message is in sb_last_error().
 */

/** Version of the C ABI: bumped when a function or struct changes incompatibly. */
#define SB_ABI_VERSION 1

/**
 * The library's version, e.g. "0.1.0".
 *
 * @return A static NUL-terminated string; never NULL, never to be freed.
 */
SB_API const char *sb_version(void);

/**
 * The C ABI version this library implements.
 *
 * A host compares it with the SB_ABI_VERSION of the header it was compiled with: a library
 * with another ABI version is not compatible with that host.
 *
 * @return The SB_ABI_VERSION of the library's own header.
 */
SB_API uint32_t sb_abi_version(void);

/**
 * What every entry point returns: `SB_OK` (0), a positive informational code, or a negative
 * error code. The message of the last error is in `sb_last_error()`.
 */
typedef int32_t sb_status;

/** Success. */
#define SB_OK 0

/** `sb_stream_poll`: no result within the timeout. */
#define SB_TIMEOUT 1

/** `sb_stream_poll`: the stream has stopped and every result has been read. */
#define SB_END 2

/**
 * The result has no such item: `sb_result_get_measurements` on a frame that was not
 * segmented, `sb_result_get_cycle` on a frame that completes no cycle.
 */
#define SB_NONE 3

/** A required pointer argument is NULL. */
#define SB_ERR_NULL (-1)

/** An argument is out of range: a `struct_size`, an enum value, a size, a count. */
#define SB_ERR_INVALID (-2)

/**
 * The frame description does not fit its data: size, stride or buffer length (an unknown
 * pixel format is `SB_ERR_INVALID`).
 */
#define SB_ERR_FRAME (-3)

/** The model bundle is missing, unreadable, corrupted or inconsistent. */
#define SB_ERR_BUNDLE (-4)

/** The model failed to run. */
#define SB_ERR_MODEL (-5)

/** `sb_stream_push` under `SB_POLICY_REJECT`: the queue is full, the frame was not taken. */
#define SB_ERR_QUEUE_FULL (-6)

/** The stream is stopped: no more frames are taken. */
#define SB_ERR_STOPPED (-7)

/** A destination buffer is too small. */
#define SB_ERR_BUFFER (-8)

/**
 * The call does not fit the object's state (polling a stream that delivers by callback,
 * stopping or closing a stream from its own result callback, installing a logger when the
 * process already has one).
 */
#define SB_ERR_STATE (-9)

/**
 * An internal error of the library (a bug, caught before it reached the host); the library
 * stays usable.
 */
#define SB_ERR_INTERNAL (-10)

/**
 * Memory for a size the caller chose (`sb_stream_config.frame_bytes`, a frame's copy) could
 * not be had; nothing was allocated or taken.
 */
#define SB_ERR_NO_MEMORY (-11)

/**
 * The calling thread's last error message.
 *
 * Every call that returns an error status leaves its message here, starting with the
 * function's name ("sb_engine_open: ..."); calls that succeed leave it alone, and other
 * threads' calls never touch it.
 *
 * @return A NUL-terminated string owned by the library, "" before the thread's first failure;
 *         never NULL, never to be freed. It stays valid until this thread's next failing call.
 */
SB_API const char *sb_last_error(void);

/**
 * A short English description of a status code, e.g. "invalid argument".
 *
 * @param status Any value; one that is no SB_* status gives "unknown status".
 * @return A static NUL-terminated string; never NULL, never to be freed.
 */
SB_API const char *sb_status_string(sb_status status);

/* ============================================================================================
 * Engine
 * ============================================================================================
 * A verified model bundle loaded into inference plans. Segment single frames with
 * sb_engine_segment, or start real-time streams on it (see Stream).
 */

/** Which image model runs (`SB_VARIANT_*`). */
typedef uint32_t sb_variant;

/**
 * Chosen from the CPU's instruction set and the measurements the bundle's manifest records
 * for it: the same choice on every start, nothing timed (`sb_engine_info.variant_reason` says
 * why).
 */
#define SB_VARIANT_AUTO 0

/** Float32. */
#define SB_VARIANT_F32 1

/** Integer int8 (an error at open if the bundle has none). */
#define SB_VARIANT_INT8 2

/**
 * Time both variants at open (when the bundle has int8) and keep int8 only when it is at least
 * 10 % faster: the machine's load at that moment decides, and open takes a few hundred ms
 * longer.
 */
#define SB_VARIANT_TIMED 3

/** Which inference runtime runs the model (`SB_BACKEND_*`). */
typedef uint32_t sb_backend;

/** tract, built into this library (the default; absent from the ONNX Runtime-only build). */
#define SB_BACKEND_TRACT 0

/**
 * ONNX Runtime 1.17 or newer, loaded from an installed `libonnxruntime` when the engine opens
 * (`sb_engine_options.onnxruntime_library`); nothing of it is linked into this library. The
 * same bundles, pre- and postprocessing and results; one ONNX Runtime library per process,
 * never unloaded. With `threads` above 1 each engine's session runs its own ONNX Runtime
 * thread pool (no callback ever runs on those threads); ONNX Runtime's log goes to the log
 * callback with target "onnxruntime".
 */
#define SB_BACKEND_ONNXRUNTIME 1

/** Engine settings; get the defaults from `sb_engine_options_defaults`. */
typedef struct sb_engine_options {
    /**
     * `sizeof(sb_engine_options)`.
     */
    uint32_t struct_size;
    /**
     * `SB_VARIANT_*` (default `SB_VARIANT_AUTO`).
     */
    sb_variant variant;
    /**
     * Distinct prompts whose text encoding is cached, 1 to 65536 (default 64).
     */
    uint32_t prompt_cache;
    /**
     * Keep only each mask's largest connected component: 1 (default) or 0.
     */
    uint32_t largest_component;
    /**
     * Fill holes in each mask: 1 (default) or 0.
     */
    uint32_t fill_holes;
    /**
     * Threads one frame's matrix products may use, 1 to 64 (default 1). Streams with several
     * workers share them.
     */
    uint32_t threads;
    /**
     * `SB_BACKEND_*` (default `SB_BACKEND_TRACT`). Added after the first version, as is
     * `onnxruntime_library`: a host whose struct ends before it (`struct_size` 24) gets the
     * defaults for both. A library built without tract (the small ONNX Runtime-only build)
     * defaults to `SB_BACKEND_ONNXRUNTIME` and fails an open that asks for
     * `SB_BACKEND_TRACT` with `SB_ERR_MODEL`; `sb_engine_options_defaults` tells which build
     * this is.
     */
    sb_backend backend;
    /**
     * With `SB_BACKEND_ONNXRUNTIME`: the `libonnxruntime` to load, a NUL-terminated UTF-8
     * path borrowed for the call; NULL (default) for the path in the environment variable
     * `SYNBOOST_ONNXRUNTIME`, else `libonnxruntime.so.1` from the loader's search path.
     * Ignored with `SB_BACKEND_TRACT`.
     */
    const char *onnxruntime_library;
} sb_engine_options;

/**
 * Fill an sb_engine_options with the defaults.
 *
 * Sets every field, `struct_size` to sizeof(sb_engine_options) included: the variant chosen
 * at load (SB_VARIANT_AUTO), a cache of 64 prompts, largest component and hole filling on, one
 * thread, the tract backend (SB_BACKEND_TRACT; SB_BACKEND_ONNXRUNTIME in the ONNX Runtime-only
 * build), `onnxruntime_library` NULL.
 *
 * @param out The caller's struct to fill; not NULL.
 * @return SB_OK;
 *         SB_ERR_NULL when `out` is NULL.
 *
 * @pre `out` is NULL or points to a writable `sb_engine_options`.
 */
SB_NODISCARD SB_API sb_status sb_engine_options_defaults(struct sb_engine_options *out);

/**
 * Open a model bundle and load its model.
 *
 * Verifies every file's checksum and the manifest's seal before loading. Sizes are checked
 * before anything is read: a `manifest.json` over 4 MiB, a file larger than the manifest
 * states or a manifest listing a file over 1 GiB is SB_ERR_BUNDLE at once, however large the
 * file. To load only the model you validated, use sb_engine_open_pinned.
 *
 * @param path    The bundle, a folder or a `.tar` file: a NUL-terminated UTF-8 path, borrowed
 *                for the call. "" is refused (it never means the current folder: give ".").
 * @param options Engine settings (see sb_engine_options_defaults), borrowed for the call;
 *                NULL for the defaults.
 * @param out     Receives the engine, owned by the caller (close it with sb_engine_close);
 *                set to NULL on failure. Not NULL.
 * @return SB_OK, with `*out` the engine;
 *         SB_ERR_NULL when `path` or `out` is NULL;
 *         SB_ERR_INVALID when `path` is "" or not UTF-8, or `options` has a `struct_size`
 *         that is neither sizeof(sb_engine_options) (or more) nor the first version's 24, a
 *         value out of its range, or an `onnxruntime_library` that is "" or not UTF-8;
 *         SB_ERR_BUNDLE when the bundle is missing, unreadable, too large, corrupted or
 *         inconsistent, or SB_VARIANT_INT8 is asked of a bundle without int8;
 *         SB_ERR_MODEL when its model cannot be prepared, or with SB_BACKEND_ONNXRUNTIME
 *         when the library cannot be loaded, is not ONNX Runtime 1.17 or newer, or another
 *         one is already loaded in this process (the message says which);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `path` is NULL or a NUL-terminated string; `options` is NULL or a readable
 *      `sb_engine_options`; `out` is NULL or writable.
 */
SB_NODISCARD SB_API sb_status sb_engine_open(const char *path,
                                             const struct sb_engine_options *options,
                                             struct sb_engine **out);

/**
 * Open a model bundle as sb_engine_open does, but only the one with the expected digest.
 *
 * The digest (sb_engine_bundle_digest) is the SHA-256 of the bundle's `manifest.json`, which
 * lists every file's SHA-256. Pin the digest of the model you validated (kept in your own
 * signed firmware) and no other model, however well formed, is ever loaded. The digest is
 * checked before anything in the bundle is parsed.
 *
 * @param path            The bundle, as for sb_engine_open; borrowed for the call.
 * @param expected_sha256 The digest to load: 64 hex digits (either case), NUL-terminated,
 *                        borrowed for the call.
 * @param options         Engine settings, borrowed for the call; NULL for the defaults.
 * @param out             Receives the engine, owned by the caller (close it with
 *                        sb_engine_close); set to NULL on failure. Not NULL.
 * @return SB_OK, with `*out` the engine;
 *         SB_ERR_NULL when `path`, `expected_sha256` or `out` is NULL;
 *         SB_ERR_INVALID when `expected_sha256` is not 64 hex digits, or as sb_engine_open;
 *         SB_ERR_BUNDLE when the bundle's digest is another (the message names both), or as
 *         sb_engine_open;
 *         SB_ERR_MODEL when its model cannot be prepared;
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `path` and `expected_sha256` are NULL or NUL-terminated strings; `options` is NULL or a
 *      readable `sb_engine_options`; `out` is NULL or writable.
 */
SB_NODISCARD SB_API sb_status sb_engine_open_pinned(const char *path,
                                                    const char *expected_sha256,
                                                    const struct sb_engine_options *options,
                                                    struct sb_engine **out);

/**
 * The loaded bundle's digest: the value to pin with sb_engine_open_pinned.
 *
 * @param engine The engine; may be NULL.
 * @return The SHA-256 of the bundle's `manifest.json` as 64 lower-case hex digits, a
 *         NUL-terminated string owned by the engine (valid until sb_engine_close, never to be
 *         freed); NULL only when `engine` is NULL.
 *
 * @pre `engine` is NULL or live.
 */
SB_API const char *sb_engine_bundle_digest(const struct sb_engine *engine);

/**
 * Close an engine and set the caller's handle to NULL.
 *
 * Frees the engine and everything it owns (its info strings, its digest). Streams started
 * from it keep running: they have their own copies of the model.
 *
 * @param engine The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
 *               closing twice is harmless.
 * @return SB_OK (SB_ERR_INTERNAL on an internal error).
 *
 * @pre `engine` is NULL or points to NULL or to an engine from `sb_engine_open` not yet closed,
 *      with no call on it in progress.
 */
SB_API sb_status sb_engine_close(struct sb_engine **engine);

/** A set of structures, as bits (`SB_STRUCTURE_*`); 0 means every structure of the model. */
typedef uint32_t sb_structures;

/** Left ventricular cavity. */
#define SB_STRUCTURE_LV_CAVITY 1

/** Left ventricular myocardium. */
#define SB_STRUCTURE_MYOCARDIUM 2

/** Left atrium cavity. */
#define SB_STRUCTURE_LA_CAVITY 4

/** What a loaded model is. */
typedef struct sb_engine_info {
    /**
     * `sizeof(sb_engine_info)`.
     */
    uint32_t struct_size;
    /**
     * `SB_VARIANT_F32` or `SB_VARIANT_INT8`: the image model that runs.
     */
    sb_variant variant;
    /**
     * Structures the model segments (`SB_STRUCTURE_*` bits).
     */
    sb_structures structures;
    /**
     * Model input width.
     */
    uint32_t input_width;
    /**
     * Model input height.
     */
    uint32_t input_height;
    /**
     * Model name; owned by the engine.
     */
    const char *name;
    /**
     * Model version; owned by the engine.
     */
    const char *version;
    /**
     * The model's licence (a model trained on CAMUS is CC BY-NC-SA 4.0); owned by the engine.
     */
    const char *licence;
    /**
     * Why `variant` runs, one sentence (e.g. "int8: measured on x86_64-avx512vnni for this
     * bundle, int8 3.10 ms vs f32 6.90 ms (2.23×)"); owned by the engine. Added after the
     * first version: a host whose struct ends before it (`struct_size` 48 on 64-bit) gets
     * the fields before it, written as they were.
     */
    const char *variant_reason;
    /**
     * `SB_BACKEND_*`: the runtime that runs the model (added with `runtime`, after
     * `variant_reason`; shorter structs get what they hold).
     */
    sb_backend backend;
    /**
     * The runtime and its version, e.g. "tract 0.23.9" or "onnxruntime 1.32.0
     * (/usr/lib/libonnxruntime.so.1)"; owned by the engine.
     */
    const char *runtime;
} sb_engine_info;

/**
 * Describe a loaded model.
 *
 * @param engine The engine; not NULL.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_engine_info), or an older header's size); not NULL. Its strings
 *               are owned by the engine.
 * @return SB_OK;
 *         SB_ERR_NULL when `engine` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is below the first version's size (48 on
 *         64-bit: the fields up to `licence`; nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `engine` is NULL or live; `out` is NULL or a writable `sb_engine_info` with `struct_size`.
 */
SB_NODISCARD SB_API sb_status sb_engine_get_info(const struct sb_engine *engine,
                                                 struct sb_engine_info *out);

/**
 * Segment one frame now, on the calling thread.
 *
 * Calls on one engine are serialised. The result is measured on its own: it has no temporal
 * IoU, heart rate or cardiac cycle (streams have them).
 *
 * @param engine     The engine; not NULL.
 * @param frame      The frame, borrowed for the call (its pixels too); not NULL, nor its
 *                   `data`.
 * @param meta       What is known about the frame, borrowed for the call; NULL when nothing
 *                   is.
 * @param structures The structures to segment, SB_STRUCTURE_* bits; 0 for every structure
 *                   of the model.
 * @param out        Receives the result, owned by the caller (free it with sb_result_free);
 *                   set to NULL on failure. Not NULL.
 * @return SB_OK, with `*out` the result;
 *         SB_ERR_NULL when `engine`, `frame`, `frame->data` or `out` is NULL;
 *         SB_ERR_INVALID when a `struct_size` is too small, an enum or `meta` field is out of
 *         range, or `structures` has a bit that is no SB_STRUCTURE_* or a structure the
 *         model does not segment;
 *         SB_ERR_FRAME when the frame's size, stride or `data_size` do not fit;
 *         SB_ERR_MODEL when the model fails on the frame;
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `engine` is NULL or live; `frame` is NULL or a readable `sb_frame` whose data is readable;
 *      `meta` is NULL or a readable `sb_meta`; `out` is NULL or writable.
 */
SB_NODISCARD SB_API sb_status sb_engine_segment(struct sb_engine *engine,
                                                const struct sb_frame *frame,
                                                const struct sb_meta *meta,
                                                sb_structures structures,
                                                struct sb_result **out);

/**
 * The last error message of any call on an engine, from any thread.
 *
 * The message is copied for the calling thread: other threads' failures change the engine's
 * message, not this copy.
 *
 * @param engine The engine; may be NULL.
 * @return A NUL-terminated string, "" when no call on the engine has failed yet; NULL only
 *         when `engine` is NULL. Never to be freed; valid until this thread calls
 *         sb_engine_last_error or sb_stream_last_error again.
 *
 * @pre `engine` is NULL or live.
 */
SB_API const char *sb_engine_last_error(const struct sb_engine *engine);

/* ============================================================================================
 * Frame and metadata
 * ============================================================================================
 * A frame is the caller's pixels, borrowed for the duration of a call (sb_engine_segment) or
 * copied (sb_stream_push). The metadata is what the scanner knows about the acquisition; every
 * field may be left unknown, and the prompt degrades gracefully.
 */

/** Pixel format of a frame (`SB_PIXEL_*`). */
typedef uint32_t sb_pixel_format;

/** 8-bit grey. */
#define SB_PIXEL_GRAY8 0

/** 16-bit grey, little-endian (mapped to 8 bits through the engine's window). */
#define SB_PIXEL_GRAY16 1

/** 8-bit red, green, blue. */
#define SB_PIXEL_RGB8 2

/** 8-bit blue, green, red, alpha. */
#define SB_PIXEL_BGRA8 3

/** No timestamp (`sb_frame.timestamp_ns`). */
#define SB_NO_TIMESTAMP INT64_MIN

/** One frame from the scanner. The library copies what it needs before the call returns. */
typedef struct sb_frame {
    /**
     * `sizeof(sb_frame)`.
     */
    uint32_t struct_size;
    /**
     * `SB_PIXEL_*`.
     */
    sb_pixel_format format;
    /**
     * Width in pixels, 1 to 16384.
     */
    uint32_t width;
    /**
     * Height in pixels, 1 to 16384.
     */
    uint32_t height;
    /**
     * Bytes from the start of one row to the next (≥ width × bytes per pixel).
     */
    size_t stride;
    /**
     * The pixels: at least `stride × (height − 1) + width × bytes per pixel` bytes.
     */
    const void *data;
    /**
     * Bytes readable at `data`.
     */
    size_t data_size;
    /**
     * Capture time in nanoseconds (any epoch), or `SB_NO_TIMESTAMP`; results carry it rounded
     * toward zero to whole microseconds (every other value stays a timestamp). A frame with
     * the same timestamp as the previous frame of its view is taken as a re-sent frame
     * (`SB_FLAG_DUPLICATE`).
     */
    int64_t timestamp_ns;
} sb_frame;

/** Apical view (`SB_VIEW_*`). */
typedef uint32_t sb_view;

/** Not known. */
#define SB_VIEW_UNKNOWN 0

/** Apical two-chamber. */
#define SB_VIEW_2CH 1

/** Apical four-chamber. */
#define SB_VIEW_4CH 2

/** Cardiac phase of a frame (`SB_PHASE_*`). */
typedef uint32_t sb_phase;

/** Not known, or between end-diastole and end-systole. */
#define SB_PHASE_UNKNOWN 0

/** End-diastole. */
#define SB_PHASE_ED 1

/** End-systole. */
#define SB_PHASE_ES 2

/** Patient sex (`SB_SEX_*`). */
typedef uint32_t sb_sex;

/** Not known. */
#define SB_SEX_UNKNOWN 0

/** Female. */
#define SB_SEX_FEMALE 1

/** Male. */
#define SB_SEX_MALE 2

/** Image quality grade (`SB_QUALITY_*`). */
typedef uint32_t sb_quality;

/** Not known. */
#define SB_QUALITY_UNKNOWN 0

/** Good. */
#define SB_QUALITY_GOOD 1

/** Medium. */
#define SB_QUALITY_MEDIUM 2

/** Poor. */
#define SB_QUALITY_POOR 3

/**
 * What is known about a frame. Unknown fields stay at their `sb_meta_defaults` values; the
 * prompt degrades gracefully to what is known.
 */
typedef struct sb_meta {
    /**
     * `sizeof(sb_meta)`.
     */
    uint32_t struct_size;
    /**
     * `SB_VIEW_*`.
     */
    sb_view view;
    /**
     * `SB_PHASE_*`.
     */
    sb_phase phase;
    /**
     * `SB_SEX_*`.
     */
    sb_sex sex;
    /**
     * Age in whole years, 0 to 130; negative when unknown.
     */
    int32_t age_years;
    /**
     * `SB_QUALITY_*`.
     */
    sb_quality quality;
    /**
     * Horizontal pixel size, mm (0: unknown; then no areas in mm²).
     */
    double pixel_spacing_x_mm;
    /**
     * Vertical pixel size, mm (0: unknown).
     */
    double pixel_spacing_y_mm;
    /**
     * Frame rate, frames per second (0: unknown).
     */
    double fps;
    /**
     * Heart rate, beats per minute (0: unknown).
     */
    double heart_rate_bpm;
    /**
     * Position in the cardiac cycle, 0 at end-diastole, in [0, 1); negative when unknown.
     */
    double cycle_position;
} sb_meta;

/**
 * Fill an sb_meta with the defaults: everything unknown.
 *
 * Sets every field, `struct_size` to sizeof(sb_meta) included; the caller then sets what the
 * scanner knows.
 *
 * @param out The caller's struct to fill; not NULL.
 * @return SB_OK;
 *         SB_ERR_NULL when `out` is NULL.
 *
 * @pre `out` is NULL or points to a writable `sb_meta`.
 */
SB_NODISCARD SB_API sb_status sb_meta_defaults(struct sb_meta *out);

/* ============================================================================================
 * Result and measurements
 * ============================================================================================
 * What one frame gave: its outcome, a mask per structure, and the clinical measurements of the
 * stream (areas, LV length and volume, phase, and per completed cycle EDV, ESV and EF).
 */

/** What became of a frame (`SB_OUTCOME_*`). */
typedef uint32_t sb_outcome;

/** Segmented: the structures are there. */
#define SB_OUTCOME_SEGMENTED 0

/** The engine failed on the frame; `sb_result_info.error` says why. */
#define SB_OUTCOME_FAILED 1

/** Dropped from a full queue (`SB_POLICY_DROP_OLDEST`). */
#define SB_OUTCOME_DROPPED 2

/** Still queued when the stream stopped with `SB_STOP_DISCARD`. */
#define SB_OUTCOME_DISCARDED 3

/** A result's frame-level facts. */
typedef struct sb_result_info {
    /**
     * `sizeof(sb_result_info)`.
     */
    uint32_t struct_size;
    /**
     * `SB_OUTCOME_*`.
     */
    sb_outcome outcome;
    /**
     * Sequence number the push returned (0 for `sb_engine_segment`).
     */
    uint64_t seq;
    /**
     * The frame's timestamp rounded toward zero to whole microseconds, or `SB_NO_TIMESTAMP`
     * (only when the frame had none).
     */
    int64_t timestamp_ns;
    /**
     * Frame (and mask) width.
     */
    uint32_t width;
    /**
     * Frame (and mask) height.
     */
    uint32_t height;
    /**
     * Structures in the result (0 unless segmented).
     */
    uint32_t structure_count;
    /**
     * Queue wait, ms.
     */
    double queue_ms;
    /**
     * Preprocessing, ms.
     */
    double preprocess_ms;
    /**
     * Prompt conditioning (text model or cache), ms.
     */
    double text_ms;
    /**
     * Image model, ms.
     */
    double model_ms;
    /**
     * Postprocessing, ms.
     */
    double postprocess_ms;
    /**
     * Push (or call) to result, ms.
     */
    double total_ms;
    /**
     * Why the frame failed (`SB_OUTCOME_FAILED`), else NULL; owned by the result.
     */
    const char *error;
} sb_result_info;

/**
 * A result's frame-level facts: outcome, sequence number, timestamp, size, timings.
 *
 * @param result The result; not NULL.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_result_info)); not NULL. Its `error` string is owned by the result.
 * @return SB_OK;
 *         SB_ERR_NULL when `result` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or a live result; `out` is NULL or a writable `sb_result_info` with
 *      `struct_size` set.
 */
SB_NODISCARD SB_API sb_status sb_result_get_info(const struct sb_result *result,
                                                 struct sb_result_info *out);

/** One structure of a segmented frame. Pointers are owned by the result. */
typedef struct sb_structure_result {
    /**
     * `sizeof(sb_structure_result)`.
     */
    uint32_t struct_size;
    /**
     * `SB_STRUCTURE_*` (one bit).
     */
    sb_structures structure;
    /**
     * Short name: "lv_cavity", "myocardium" or "la_cavity".
     */
    const char *name;
    /**
     * The prompt the model was given.
     */
    const char *prompt;
    /**
     * Its kind, 0 to 7 (P0–P7; lower when the metadata did not support the configured kind).
     */
    uint32_t prompt_kind;
    /**
     * Mask width (the frame's).
     */
    uint32_t mask_width;
    /**
     * Mask height (the frame's).
     */
    uint32_t mask_height;
    /**
     * Mask pixels, `mask_width × mask_height` bytes, rows packed, 1 inside and 0 outside.
     */
    const uint8_t *mask;
    /**
     * Pixels inside the mask.
     */
    uint64_t area_px;
    /**
     * Area in mm² from the frame's pixel spacing; negative when the spacing is unknown.
     */
    double area_mm2;
    /**
     * Mean probability inside the mask (0 when empty). See `sb_measurements` for the
     * probability margin the stream flags frames by.
     */
    double confidence;
    /**
     * Highest probability anywhere in the frame.
     */
    double max_probability;
} sb_structure_result;

/**
 * One structure of a segmented result: its name, prompt, mask, area and confidence.
 *
 * @param result The result; not NULL.
 * @param index  Which structure, 0 to sb_result_info.structure_count − 1.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_structure_result)); not NULL. Its pointers (name, prompt, mask)
 *               are owned by the result and valid until it is freed.
 * @return SB_OK;
 *         SB_ERR_NULL when `result` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is too small or `index` is out of range
 *         (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or a live result; `out` is NULL or a writable `sb_structure_result` with
 *      `struct_size` set.
 */
SB_NODISCARD SB_API sb_status sb_result_get_structure(const struct sb_result *result,
                                                      uint32_t index,
                                                      struct sb_structure_result *out);

/**
 * Copy a structure's mask into the caller's buffer, one byte per pixel.
 *
 * Writes the mask's `width` bytes of each of its `height` rows (the frame's size, from
 * sb_result_info) and nothing else: the padding at the end of each row is left alone.
 *
 * @param result     The result; not NULL.
 * @param index      Which structure, 0 to sb_result_info.structure_count − 1.
 * @param dst        The caller's buffer; not NULL.
 * @param dst_size   Bytes writable at `dst`: at least `dst_stride × (height − 1) + width`.
 * @param dst_stride Bytes from the start of one row of `dst` to the next; at least `width`.
 * @param value      Written for pixels inside the mask; 0 is written outside.
 * @return SB_OK;
 *         SB_ERR_NULL when `result` or `dst` is NULL;
 *         SB_ERR_INVALID when `index` is out of range, or `dst_stride` is under `width` or so
 *         large that the size overflows;
 *         SB_ERR_BUFFER when `dst_size` is too small (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or a live result; `dst` is NULL or has `dst_size` writable bytes.
 */
SB_NODISCARD SB_API sb_status sb_result_copy_mask(const struct sb_result *result,
                                                  uint32_t index,
                                                  uint8_t *dst,
                                                  size_t dst_size,
                                                  size_t dst_stride,
                                                  uint8_t value);

/** The frame's confidence is below the stream's minimum (0.6). */
#define SB_FLAG_LOW_CONFIDENCE 1

/** The LV mask changed too much since the previous frame (IoU below 0.7). */
#define SB_FLAG_INCONSISTENT 2

/** No LV cavity was found (or it was not segmented). */
#define SB_FLAG_NO_LV 4

/** No pixel spacing: measurements are in pixels (informational). */
#define SB_FLAG_UNCALIBRATED 8

/**
 * The frame has the same timestamp as the previous frame of its view (the scanner re-sent
 * it): segmented and measured, but not counted again for cycles, heart rate or temporal
 * consistency (informational).
 */
#define SB_FLAG_DUPLICATE 16

/**
 * Cycle detection of the frame's view started over here: its timestamp went backwards, or it
 * came more than 1 s after the previous frame of its view. Heart rate and cycles are measured
 * afresh from this frame on (informational).
 */
#define SB_FLAG_RESTARTED 32

/**
 * The flags that do not make a frame unreliable: `SB_FLAG_UNCALIBRATED | SB_FLAG_DUPLICATE |
 * SB_FLAG_RESTARTED`.
 */
#define SB_FLAGS_INFORMATIONAL ((8 | 16) | 32)

/** Units of areas, lengths and volumes (`SB_UNITS_*`). */
typedef uint32_t sb_units;

/** Millimetres: areas in mm², lengths in mm, volumes in ml (the frame had a pixel spacing). */
#define SB_UNITS_MM 0

/**
 * Pixels: areas in pixels, lengths in pixel widths, volumes in cubic pixels (no pixel spacing;
 * only ratios such as the ejection fraction are meaningful).
 */
#define SB_UNITS_PIXELS 1

/** Where a frame's phase came from (`SB_PHASE_SOURCE_*`). */
typedef uint32_t sb_phase_source;

/** No phase: between ED and ES, or unknown. */
#define SB_PHASE_SOURCE_NONE 0

/** Sent by the scanner with the frame. */
#define SB_PHASE_SOURCE_SCANNER 1

/** Predicted by the stream from the cycles it detected (the scanner sent no phases). */
#define SB_PHASE_SOURCE_INFERRED 2

/** Measurements of one segmented frame. Negative values mean "not available". */
typedef struct sb_measurements {
    /**
     * `sizeof(sb_measurements)`.
     */
    uint32_t struct_size;
    /**
     * `SB_UNITS_*` of every area, length and volume below.
     */
    sb_units units;
    /**
     * `SB_FLAG_*` bits; the frame is reliable when no bit outside `SB_FLAGS_INFORMATIONAL` is
     * set.
     */
    uint32_t flags;
    /**
     * The phase the prompts used (`SB_PHASE_*`).
     */
    sb_phase phase;
    /**
     * Where it came from (`SB_PHASE_SOURCE_*`).
     */
    sb_phase_source phase_source;
    /**
     * 1 when this result completes a cardiac cycle (`sb_result_get_cycle`), else 0.
     */
    uint32_t has_cycle;
    /**
     * LV cavity area (negative: not segmented).
     */
    double lv_area;
    /**
     * Myocardium area (negative: not segmented).
     */
    double myocardium_area;
    /**
     * Left atrium area (negative: not segmented).
     */
    double la_area;
    /**
     * LV long axis, apex to mid-annulus (negative: no LV).
     */
    double lv_length;
    /**
     * Single-plane area–length LV volume, ml or cubic pixels (negative: no LV).
     */
    double lv_volume_area_length;
    /**
     * Single-plane Simpson (20 discs) LV volume, ml or cubic pixels (negative: no LV).
     */
    double lv_volume_simpson;
    /**
     * The frame's confidence: its LV cavity's, else the lowest of its structures.
     */
    double confidence;
    /**
     * LV cavity confidence: mean probability margin `mean(2p − 1)` inside the mask, 0 when
     * empty (negative: not segmented).
     */
    double lv_confidence;
    /**
     * Myocardium confidence (negative: not segmented).
     */
    double myocardium_confidence;
    /**
     * Left atrium confidence (negative: not segmented).
     */
    double la_confidence;
    /**
     * IoU of the LV mask with the previous frame of the same view within 100 ms (negative:
     * none, or a single-frame result).
     */
    double temporal_iou;
    /**
     * The view's heart rate estimate, bpm (negative: unknown yet).
     */
    double heart_rate_bpm;
} sb_measurements;

/**
 * The clinical measurements of a segmented frame.
 *
 * Areas, LV length and volumes, confidence, quality flags, phase and heart rate. Results of
 * sb_engine_segment have no temporal IoU, heart rate or cycle.
 *
 * @param result The result; not NULL.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_measurements)); not NULL.
 * @return SB_OK;
 *         SB_NONE when the frame was not segmented (`out` left alone);
 *         SB_ERR_NULL when `result` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or a live result; `out` is NULL or a writable `sb_measurements` with
 *      `struct_size` set.
 */
SB_NODISCARD SB_API sb_status sb_result_get_measurements(const struct sb_result *result,
                                                         struct sb_measurements *out);

/**
 * One cardiac cycle of one view, reported with the frame that confirmed its end-systole.
 * Volumes are ml (`SB_UNITS_MM`) or cubic pixels; negative values mean "not available".
 */
typedef struct sb_cycle {
    /**
     * `sizeof(sb_cycle)`.
     */
    uint32_t struct_size;
    /**
     * The view of the cycle's frames (`SB_VIEW_*`).
     */
    sb_view view;
    /**
     * `SB_UNITS_*`.
     */
    sb_units units;
    /**
     * 1 when at most a quarter of the frames from ED to ES were flagged and the frames had
     * times; 0 otherwise.
     */
    uint32_t reliable;
    /**
     * 1 when the biplane fields are set (the other apical view had a cycle too).
     */
    uint32_t has_biplane;
    /**
     * Cycles of this view reported before this one.
     */
    uint64_t index;
    /**
     * Sequence number of the end-diastolic frame.
     */
    uint64_t ed_seq;
    /**
     * Sequence number of the end-systolic frame.
     */
    uint64_t es_seq;
    /**
     * Time of the ED frame, seconds (from its timestamp, or sequence × frame time).
     */
    double ed_time_s;
    /**
     * Time of the ES frame, seconds.
     */
    double es_time_s;
    /**
     * Latest ED-to-ED interval, seconds (negative: not yet known).
     */
    double rr_s;
    /**
     * Heart rate, bpm: 60 / median of the last five RR intervals (negative: not yet known).
     */
    double heart_rate_bpm;
    /**
     * LV area at ED.
     */
    double ed_area;
    /**
     * LV area at ES.
     */
    double es_area;
    /**
     * LV long axis at ED.
     */
    double ed_length;
    /**
     * LV long axis at ES.
     */
    double es_length;
    /**
     * End-diastolic volume, single-plane area–length.
     */
    double edv;
    /**
     * End-systolic volume, single-plane area–length.
     */
    double esv;
    /**
     * Ejection fraction, percent, single-plane area–length.
     */
    double ef_percent;
    /**
     * End-diastolic volume, single-plane Simpson.
     */
    double simpson_edv;
    /**
     * End-systolic volume, single-plane Simpson.
     */
    double simpson_esv;
    /**
     * Ejection fraction, percent, single-plane Simpson.
     */
    double simpson_ef_percent;
    /**
     * End-diastolic volume, biplane Simpson (negative: no biplane).
     */
    double biplane_edv;
    /**
     * End-systolic volume, biplane Simpson.
     */
    double biplane_esv;
    /**
     * Ejection fraction, percent, biplane Simpson.
     */
    double biplane_ef_percent;
    /**
     * The other view's cycle index it was paired with.
     */
    uint64_t biplane_other_cycle;
    /**
     * Fraction of this view's frames from ED to ES that were flagged.
     */
    double flagged_fraction;
} sb_cycle;

/**
 * The cardiac cycle a stream's result completes.
 *
 * A cycle is reported with the frame that confirmed its end-systole; its ED and ES frames are
 * earlier ones, named by their sequence numbers. sb_measurements.has_cycle says whether a
 * result has one.
 *
 * @param result The result; not NULL.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_cycle)); not NULL.
 * @return SB_OK;
 *         SB_NONE when the result completes no cycle (`out` left alone);
 *         SB_ERR_NULL when `result` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or a live result; `out` is NULL or a writable `sb_cycle` with
 *      `struct_size` set.
 */
SB_NODISCARD SB_API sb_status sb_result_get_cycle(const struct sb_result *result,
                                                  struct sb_cycle *out);

/**
 * Free a result and set the caller's handle to NULL.
 *
 * Only results the caller owns are freed: those of sb_stream_poll and sb_engine_segment. The
 * result a result callback is given is lent by the library, which frees it when the callback
 * returns.
 *
 * @param result The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
 *               freeing twice is harmless.
 * @return SB_OK;
 *         SB_ERR_STATE when the result is a callback's lent result (it stays valid until the
 *         callback returns, and `*result` is left alone);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `result` is NULL or points to NULL, to a result from `sb_stream_poll` or
 *      `sb_engine_segment` not yet freed, or to the result of the result callback running now.
 */
SB_API sb_status sb_result_free(struct sb_result **result);

/* ============================================================================================
 * Stream
 * ============================================================================================
 * The real-time loop: frames are pushed into a bounded queue, segmented by worker threads,
 * measured in push order, and delivered by sb_stream_poll or a result callback.
 */

/** What a push into a full queue does (`SB_POLICY_*`). */
typedef uint32_t sb_queue_policy;

/** Drop the oldest queued frame (live scanning; the default). */
#define SB_POLICY_DROP_OLDEST 0

/** Refuse the new frame with `SB_ERR_QUEUE_FULL`. */
#define SB_POLICY_REJECT 1

/**
 * Wait for room (offline processing; the pushing thread blocks): in the queue, and while
 * `result_capacity` results wait for the reader. Nothing accepted is dropped: results are
 * back-pressure on the pushes. So a host that pushes and polls on one thread must poll what
 * is ready (timeout 0) between pushes, or its push waits for a reader that never comes.
 */
#define SB_POLICY_BLOCK 2

/**
 * Called with each result of a stream, in push order. The rules:
 *
 * - **Thread**: one thread of the stream's own (never the host's, never two calls at once),
 *   with a stack of at least 8 MiB (the soft `RLIMIT_STACK` when larger, up to 256 MiB), as
 *   large as a thread the host starts itself. `user_data` is the config's.
 * - **The result** is lent for the call: valid until the callback returns, then freed by the
 *   library. `sb_result_free` on it is `SB_ERR_STATE` (it stays valid); copy what you need
 *   (`sb_result_copy_mask`).
 * - **May call**: the `sb_result_*` accessors on it; `sb_stream_push` into any stream, its
 *   own included (under `SB_POLICY_BLOCK` a push into its own stream that would wait for
 *   results is `SB_ERR_QUEUE_FULL`: it would wait for itself); `sb_stream_get_stats`;
 *   `sb_engine_segment`; the `*_last_error` functions; anything on other streams and engines.
 * - **Must not**: `sb_stream_stop` or `sb_stream_close` of its own stream (`SB_ERR_STATE`,
 *   nothing stopped: they wait for this thread); `sb_stream_poll` (`SB_ERR_STATE`: callback
 *   streams are not polled); longjmp or throw out of it (return instead).
 * - **Pace**: a slow callback holds back only later results, never the scanner thread or the
 *   workers. Results waiting for it are bounded by `result_capacity`: beyond that the oldest
 *   is dropped unread (`unread_dropped`; its `seq` is missing from what the callback sees),
 *   except under `SB_POLICY_BLOCK`, where pushes wait instead.
 * - **End**: once `sb_stream_stop` or `sb_stream_close` has returned, the callback is not
 *   running and is never called again, so `user_data` may be freed.
 */
typedef void (*sb_result_callback)(const struct sb_result *result,
                                   void *user_data);

/** Stream settings; get the defaults from `sb_stream_config_defaults`. */
typedef struct sb_stream_config {
    /**
     * `sizeof(sb_stream_config)`.
     */
    uint32_t struct_size;
    /**
     * `SB_POLICY_*` (default `SB_POLICY_DROP_OLDEST`).
     */
    sb_queue_policy policy;
    /**
     * Frames waiting for a worker, 1 to 4096 (default 4). The stream holds at most
     * `queue_capacity + workers` frames in flight.
     */
    uint32_t queue_capacity;
    /**
     * Worker threads, 1 to 64 (default 1).
     */
    uint32_t workers;
    /**
     * Structures to segment (`SB_STRUCTURE_*` bits; default 0: all the model has).
     */
    sb_structures structures;
    /**
     * Finished results waiting for the reader (`sb_stream_poll`, or the callback), 1 to 65536
     * (default 64); when full the oldest unread is dropped (`unread_dropped`), except under
     * `SB_POLICY_BLOCK`, where pushes wait for the reader instead.
     */
    uint32_t result_capacity;
    /**
     * Bytes preallocated per frame buffer, at most `max_frame_bytes` and 1 GiB (default 0:
     * sized by the first frames). The stream holds `queue_capacity + workers + 1` buffers,
     * allocated fallibly: more than the machine has is `SB_ERR_NO_MEMORY`.
     */
    size_t frame_bytes;
    /**
     * Largest frame taken, bytes packed (default 64 MiB).
     */
    size_t max_frame_bytes;
    /**
     * Result callback; NULL (default): results are polled.
     */
    sb_result_callback callback;
    /**
     * Passed to the callback.
     */
    void *user_data;
} sb_stream_config;

/**
 * Fill an sb_stream_config with the defaults.
 *
 * Sets every field, `struct_size` to sizeof(sb_stream_config) included: drop the oldest
 * frame of a full queue of 4, one worker, every structure, 64 results waiting for the reader,
 * frames up to 64 MiB, results polled (no callback).
 *
 * @param out The caller's struct to fill; not NULL.
 * @return SB_OK;
 *         SB_ERR_NULL when `out` is NULL.
 *
 * @pre `out` is NULL or points to a writable `sb_stream_config`.
 */
SB_NODISCARD SB_API sb_status sb_stream_config_defaults(struct sb_stream_config *out);

/**
 * Start a real-time stream of frames through an engine's model.
 *
 * The stream runs on threads of its own with its own copy of the model: the engine may be
 * closed while it runs. Every frame pushed gets exactly one result, in push order, polled
 * (sb_stream_poll) or given to the config's callback.
 *
 * @param engine The engine whose model the stream runs; not NULL.
 * @param config Stream settings (see sb_stream_config_defaults), read during the call; NULL
 *               for the defaults.
 * @param out    Receives the stream, owned by the caller (close it with sb_stream_close);
 *               set to NULL on failure. Not NULL.
 * @return SB_OK, with `*out` the stream;
 *         SB_ERR_NULL when `engine` or `out` is NULL;
 *         SB_ERR_INVALID when `config` has a `struct_size` under sizeof(sb_stream_config), a
 *         value out of its range, or a structure the model does not segment;
 *         SB_ERR_NO_MEMORY when the frame buffers of `frame_bytes` cannot be allocated;
 *         SB_ERR_INTERNAL when a thread cannot be started, or on an internal error.
 *
 * @pre `engine` is NULL or live; `config` is NULL or a readable `sb_stream_config`; `out` is NULL
 *      or writable.
 */
SB_NODISCARD SB_API sb_status sb_stream_start(const struct sb_engine *engine,
                                              const struct sb_stream_config *config,
                                              struct sb_stream **out);

/**
 * Copy a frame into a stream's queue.
 *
 * Returns at once, except under SB_POLICY_BLOCK: then it waits while the queue is full or
 * `result_capacity` results wait for the reader, until there is room or another thread stops
 * the stream. Any thread may push, also the stream's own result callback; pushes are ordered
 * by the time they take the queue.
 *
 * @param stream The stream; not NULL.
 * @param frame  The frame, copied before the call returns; not NULL, nor its `data`.
 * @param meta   What is known about the frame, copied; NULL when nothing is.
 * @param seq    Receives the frame's sequence number (0 for the first frame, then one more
 *               per frame taken); may be NULL. Left alone on failure.
 * @return SB_OK, the frame taken;
 *         SB_ERR_NULL when `stream`, `frame` or `frame->data` is NULL;
 *         SB_ERR_INVALID when a `struct_size` is too small or an enum or `meta` field is out
 *         of range;
 *         SB_ERR_FRAME when the frame's size, stride or `data_size` do not fit, or it is over
 *         the stream's `max_frame_bytes`;
 *         SB_ERR_QUEUE_FULL when the queue is full under SB_POLICY_REJECT, or when the
 *         stream's own callback pushes under SB_POLICY_BLOCK while `result_capacity` results
 *         wait for it (it would wait for itself);
 *         SB_ERR_STOPPED when the stream is stopped, or is stopped while the push waits;
 *         SB_ERR_NO_MEMORY when there is no memory to copy the frame;
 *         SB_ERR_INTERNAL on an internal error. On failure the frame is not taken.
 *
 * @pre `stream` is NULL or live; `frame` is NULL or a readable `sb_frame` with readable data;
 *      `meta` is NULL or a readable `sb_meta`; `seq` is NULL or writable.
 */
SB_NODISCARD SB_API sb_status sb_stream_push(struct sb_stream *stream,
                                             const struct sb_frame *frame,
                                             const struct sb_meta *meta,
                                             uint64_t *seq);

/**
 * Take a stream's next result, in push order, waiting for it up to a timeout.
 *
 * One thread may poll while others push, get stats or stop the stream: a poll waiting forever
 * returns the remaining results and then SB_END when another thread stops the stream.
 *
 * @param stream     The stream; not NULL. Its config has no callback.
 * @param timeout_ms How long to wait, milliseconds: negative waits forever, 0 does not wait.
 * @param out        Receives the result, owned by the caller (free it with sb_result_free);
 *                   set to NULL when there is none. Not NULL.
 * @return SB_OK, with `*out` the result;
 *         SB_TIMEOUT when no result came within the timeout;
 *         SB_END once the stream has stopped and every result was read;
 *         SB_ERR_NULL when `stream` or `out` is NULL;
 *         SB_ERR_STATE when the stream delivers its results to a callback;
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `stream` is NULL or live; `out` is NULL or writable.
 */
SB_NODISCARD SB_API sb_status sb_stream_poll(struct sb_stream *stream,
                                             int32_t timeout_ms,
                                             struct sb_result **out);

/** Stream counters and latencies (ms). */
typedef struct sb_stream_stats {
    /**
     * `sizeof(sb_stream_stats)`.
     */
    uint32_t struct_size;
    /**
     * Frames taken by `sb_stream_push`.
     */
    uint64_t pushed;
    /**
     * Frames refused (`SB_POLICY_REJECT`), not counted in `pushed`.
     */
    uint64_t rejected;
    /**
     * Frames segmented.
     */
    uint64_t processed;
    /**
     * Frames the model failed on.
     */
    uint64_t failed;
    /**
     * Frames dropped from a full queue.
     */
    uint64_t dropped;
    /**
     * Frames dropped by a discarding stop.
     */
    uint64_t discarded;
    /**
     * Results dropped before the reader had them: not polled in time, a callback too slow
     * for `result_capacity`, or a discarding stop of a callback stream. Their frames count in
     * `processed`, `failed`, `dropped` or `discarded` as they were.
     */
    uint64_t unread_dropped;
    /**
     * Frames queued or being segmented now (at most `queue_capacity + workers`); finished
     * results waiting for the reader are not in flight.
     */
    uint64_t in_flight;
    /**
     * Push-to-delivery latency (result pollable, or callback called) of segmented frames
     * that were delivered: median.
     */
    double latency_p50_ms;
    /**
     * 90th percentile.
     */
    double latency_p90_ms;
    /**
     * 99th percentile.
     */
    double latency_p99_ms;
    /**
     * Maximum.
     */
    double latency_max_ms;
    /**
     * Mean.
     */
    double latency_mean_ms;
    /**
     * Push-to-worker wait: median.
     */
    double queue_wait_p50_ms;
    /**
     * Push-to-worker wait: 99th percentile.
     */
    double queue_wait_p99_ms;
    /**
     * Mean preprocessing time per segmented frame.
     */
    double preprocess_mean_ms;
    /**
     * Mean model time (text conditioning + image model) per segmented frame.
     */
    double model_mean_ms;
    /**
     * Mean postprocessing time per segmented frame.
     */
    double postprocess_mean_ms;
} sb_stream_stats;

/**
 * A stream's counters and latencies so far.
 *
 * May be called from any thread while others push, poll or stop the stream.
 *
 * @param stream The stream; not NULL.
 * @param out    The caller's struct to fill, with `struct_size` set (at least
 *               sizeof(sb_stream_stats)); not NULL.
 * @return SB_OK;
 *         SB_ERR_NULL when `stream` or `out` is NULL;
 *         SB_ERR_INVALID when `out->struct_size` is too small (nothing written);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `stream` is NULL or live; `out` is NULL or a writable `sb_stream_stats` with `struct_size`.
 */
SB_NODISCARD SB_API sb_status sb_stream_get_stats(const struct sb_stream *stream,
                                                  struct sb_stream_stats *out);

/** How a stop treats queued frames (`SB_STOP_*`). */
typedef uint32_t sb_stop_mode;

/** Process every queued frame first. */
#define SB_STOP_DRAIN 0

/**
 * Drop queued frames (each still gets a result with `SB_OUTCOME_DISCARDED`). A callback
 * stream also stops calling its callback: results it has not been given yet are dropped
 * (counted in `sb_stream_stats.unread_dropped`), so the stop waits for at most the frame in
 * each worker and the callback already running.
 */
#define SB_STOP_DISCARD 1

/**
 * Stop a stream: take no more frames, finish or drop the queued ones, wait for its threads.
 *
 * Results stay pollable until SB_END. Stopping twice is harmless. Any thread may stop the
 * stream while others push (a push waiting under SB_POLICY_BLOCK returns SB_ERR_STOPPED),
 * poll or get stats, but not the stream's own result callback (the stop would wait for the
 * thread the callback runs on). Returns within the time of one frame per worker plus the
 * callback already running (SB_STOP_DISCARD), or once every queued frame was processed and,
 * for a callback stream, delivered (SB_STOP_DRAIN).
 *
 * @param stream The stream; not NULL.
 * @param mode   SB_STOP_DRAIN to process the queued frames first, SB_STOP_DISCARD to drop
 *               them.
 * @return SB_OK;
 *         SB_ERR_NULL when `stream` is NULL;
 *         SB_ERR_INVALID when `mode` is no SB_STOP_* (nothing stopped);
 *         SB_ERR_STATE when called from the stream's own result callback (nothing stopped);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `stream` is NULL or live.
 */
SB_NODISCARD SB_API sb_status sb_stream_stop(struct sb_stream *stream,
                                             sb_stop_mode mode);

/**
 * Close a stream and set the caller's handle to NULL.
 *
 * Stops the stream if it still runs, discarding queued frames and results nobody has read,
 * and frees it; returns within the time of one frame per worker plus the callback already
 * running. No other call on the stream may be in progress or start (stop it first from the
 * thread that closes, if others may still call).
 *
 * @param stream The caller's handle variable. NULL, or a handle that is NULL, is a no-op, so
 *               closing twice is harmless.
 * @return SB_OK;
 *         SB_ERR_STATE when called from the stream's own result callback (the stream is
 *         neither stopped nor freed, and `*stream` is left alone);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `stream` is NULL or points to NULL or to a stream from `sb_stream_start` not yet closed,
 *      with no other call on it in progress.
 */
SB_API sb_status sb_stream_close(struct sb_stream **stream);

/**
 * The last error message of any call on a stream, from any thread.
 *
 * The message is copied for the calling thread: other threads' failures change the stream's
 * message, not this copy.
 *
 * @param stream The stream; may be NULL.
 * @return A NUL-terminated string, "" when no call on the stream has failed yet; NULL only
 *         when `stream` is NULL. Never to be freed; valid until this thread calls
 *         sb_stream_last_error or sb_engine_last_error again.
 *
 * @pre `stream` is NULL or live.
 */
SB_API const char *sb_stream_last_error(const struct sb_stream *stream);

/* ============================================================================================
 * Logging
 * ============================================================================================
 * The library logs through a callback of the host's; off until one is set.
 */

/** Severity of a log message (`SB_LOG_*`). */
typedef uint32_t sb_log_level;

/** Logging off. */
#define SB_LOG_OFF 0

/** Errors. */
#define SB_LOG_ERROR 1

/** Warnings. */
#define SB_LOG_WARN 2

/** Information (bundle opened, variant chosen). */
#define SB_LOG_INFO 3

/** Debugging detail. */
#define SB_LOG_DEBUG 4

/** Everything. */
#define SB_LOG_TRACE 5

/**
 * Receives a log message: its level, the module it comes from and the text (both borrowed for
 * the call). Called on whichever thread logs: the library's own (stacks of at least 8 MiB) or
 * the host's, inside an `sb_*` call; possibly on several at once. It may call `sb_*`
 * functions (their failures are not logged back into it) except `sb_set_log_callback`
 * (`SB_ERR_STATE`); it must return (no longjmp, no C++ exception).
 */
typedef void (*sb_log_callback)(sb_log_level level,
                                const char *target,
                                const char *message,
                                void *user_data);

/**
 * Route the library's log messages to a callback of the host.
 *
 * Replaces any earlier callback: when this returns, the earlier one is not running on any
 * thread and is never called again (its `user_data` may be freed). Messages that the
 * callback's own sb_* calls would log are dropped, so the callback is never re-entered.
 *
 * @param callback  Receives every message up to `max_level` (see sb_log_callback); NULL to
 *                  stop logging.
 * @param max_level The most detailed level passed on, SB_LOG_*; SB_LOG_OFF stops logging.
 * @param user_data Passed to every call of `callback`; the library never reads it.
 * @return SB_OK;
 *         SB_ERR_INVALID when `max_level` is no SB_LOG_*;
 *         SB_ERR_STATE when called from inside the log callback, or when the process
 *         already has another Rust logger (the library then logs through that one);
 *         SB_ERR_INTERNAL on an internal error.
 *
 * @pre `callback` is NULL or callable from any thread with `user_data` until it is replaced.
 */
SB_NODISCARD SB_API sb_status sb_set_log_callback(sb_log_callback callback,
                                                  sb_log_level max_level,
                                                  void *user_data);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif  /* SYNBOOST_H */
