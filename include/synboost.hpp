/*
 * synboost.hpp: header-only C++17 API over the C ABI of libsynboost.so (include/synboost.h).
 *
 * Why header-only over C: only C symbols cross the shared-library boundary (`nm -D
 * libsynboost.so` lists nothing but sb_*), so one binary of the library works with whatever C++
 * compiler, standard library and C++ ABI the scanner vendor builds with; every C++ type below
 * (exceptions, std::function, std::vector, std::optional) lives and dies in the vendor's own
 * code. This is the pattern of ONNX Runtime's onnxruntime_cxx_api.h over onnxruntime_c_api.h.
 *
 *   #include <synboost.hpp>          // link with -lsynboost (pkg-config: synboost)
 *
 *   auto engine = synboost::Engine::open("model-bundle");
 *   auto frame  = synboost::gray8_frame(pixels, width, height, stride, size);
 *   auto meta   = synboost::default_meta();
 *   meta.view   = SB_VIEW_4CH;
 *   synboost::Result r = engine.segment(frame, meta);
 *   std::vector<uint8_t> lv = r.mask(0);
 *
 *   auto stream = synboost::Stream::start(engine, synboost::Stream::default_config());
 *   uint64_t seq = stream.push(frame, meta);
 *   while (auto r = stream.poll(std::chrono::milliseconds(100))) { ... }   // or ended()
 *
 * Errors are thrown as synboost::Error (a std::runtime_error) carrying the sb_status and the
 * library's message. Handles are move-only RAII objects. Callbacks never let an exception
 * escape into the C library: Stream keeps the first one and rethrows it from the next push(),
 * stats() or stop() (callback_exceptions() counts them); a log callback's exceptions are
 * swallowed.
 */
#ifndef SYNBOOST_HPP
#define SYNBOOST_HPP

#include "synboost.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace synboost {

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                     */

/** A failed call of the C ABI: its status (SB_ERR_*) and message (sb_last_error()). */
class Error : public std::runtime_error {
public:
    Error(sb_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}

    /** The SB_ERR_* code. */
    sb_status status() const noexcept { return status_; }

    /** The static description of the code ("queue full", ...). */
    const char* status_string() const noexcept { return sb_status_string(status_); }

private:
    sb_status status_;
};

namespace detail {

/** Throw an Error for a negative status, with the calling thread's last error message. */
inline sb_status check(sb_status status) {
    if (status < 0) {
        const char* msg = sb_last_error();
        std::string text = (msg != nullptr && *msg != '\0') ? msg : sb_status_string(status);
        throw Error(status, text);
    }
    return status;
}

inline std::string str(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

inline int32_t timeout_ms(std::chrono::milliseconds t) {
    if (t.count() < 0) {
        return -1;
    }
    if (t.count() > std::numeric_limits<int32_t>::max()) {
        return std::numeric_limits<int32_t>::max();
    }
    return static_cast<int32_t>(t.count());
}

}  // namespace detail

/** The library version, e.g. "0.1.0". */
inline std::string version() { return sb_version(); }

/** The C ABI version the loaded library implements. */
inline uint32_t abi_version() { return sb_abi_version(); }

/* ------------------------------------------------------------------------------------------ */
/* Frames and metadata                                                                        */

/** An sb_frame with struct_size set. `data` must stay readable for the call it is passed to. */
inline sb_frame make_frame(sb_pixel_format format, uint32_t width, uint32_t height,
                           std::size_t stride, const void* data, std::size_t data_size,
                           int64_t timestamp_ns = SB_NO_TIMESTAMP) {
    sb_frame f;
    std::memset(&f, 0, sizeof f);
    f.struct_size = static_cast<uint32_t>(sizeof(sb_frame));
    f.format = format;
    f.width = width;
    f.height = height;
    f.stride = stride;
    f.data = data;
    f.data_size = data_size;
    f.timestamp_ns = timestamp_ns;
    return f;
}

/** An 8-bit grey frame; `stride` 0 means packed rows (= width). */
inline sb_frame gray8_frame(const uint8_t* data, uint32_t width, uint32_t height,
                            std::size_t stride = 0, std::size_t data_size = 0,
                            int64_t timestamp_ns = SB_NO_TIMESTAMP) {
    if (stride == 0) {
        stride = width;
    }
    if (data_size == 0 && height > 0) {
        data_size = stride * (height - 1) + width;
    }
    return make_frame(SB_PIXEL_GRAY8, width, height, stride, data, data_size, timestamp_ns);
}

/** An 8-bit grey frame over a vector of packed or strided rows. */
inline sb_frame gray8_frame(const std::vector<uint8_t>& data, uint32_t width, uint32_t height,
                            std::size_t stride = 0, int64_t timestamp_ns = SB_NO_TIMESTAMP) {
    return make_frame(SB_PIXEL_GRAY8, width, height, stride == 0 ? width : stride, data.data(),
                      data.size(), timestamp_ns);
}

/** A BGRA frame; `stride` 0 means packed rows (= 4 × width). */
inline sb_frame bgra8_frame(const uint8_t* data, uint32_t width, uint32_t height,
                            std::size_t stride = 0, std::size_t data_size = 0,
                            int64_t timestamp_ns = SB_NO_TIMESTAMP) {
    if (stride == 0) {
        stride = std::size_t{width} * 4;
    }
    if (data_size == 0 && height > 0) {
        data_size = stride * (height - 1) + std::size_t{width} * 4;
    }
    return make_frame(SB_PIXEL_BGRA8, width, height, stride, data, data_size, timestamp_ns);
}

/** Metadata with everything unknown (sb_meta_defaults); set what is known. */
inline sb_meta default_meta() {
    sb_meta m;
    std::memset(&m, 0, sizeof m);
    detail::check(sb_meta_defaults(&m));
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* Results                                                                                    */

/** A borrowed result: valid while the Result it views lives, or for a callback's duration. */
class ResultView {
public:
    ResultView() noexcept = default;
    explicit ResultView(const sb_result* r) noexcept : r_(r) {}

    /** The C handle (NULL for an empty view). */
    const sb_result* get() const noexcept { return r_; }
    explicit operator bool() const noexcept { return r_ != nullptr; }

    /** Frame-level facts: outcome, seq, size, timings, structure count. */
    sb_result_info info() const {
        sb_result_info i;
        std::memset(&i, 0, sizeof i);
        i.struct_size = static_cast<uint32_t>(sizeof i);
        detail::check(sb_result_get_info(r_, &i));
        return i;
    }

    sb_outcome outcome() const { return info().outcome; }
    uint64_t seq() const { return info().seq; }
    uint32_t structure_count() const { return info().structure_count; }

    /** Structure `index` (0 ≤ index < structure_count()); its pointers are owned by the result. */
    sb_structure_result structure(uint32_t index) const {
        sb_structure_result s;
        std::memset(&s, 0, sizeof s);
        s.struct_size = static_cast<uint32_t>(sizeof s);
        detail::check(sb_result_get_structure(r_, index, &s));
        return s;
    }

    /** Clinical measurements of a segmented frame (areas, LV length and volumes, confidence,
     *  quality flags, phase, heart rate); empty when the frame was not segmented. */
    std::optional<sb_measurements> measurements() const {
        sb_measurements m;
        std::memset(&m, 0, sizeof m);
        m.struct_size = static_cast<uint32_t>(sizeof m);
        if (detail::check(sb_result_get_measurements(r_, &m)) == SB_NONE) {
            return std::nullopt;
        }
        return m;
    }

    /** The cardiac cycle (ED/ES frames, heart rate, EDV/ESV/EF single-plane and biplane) this
     *  result completes; empty when it completes none. */
    std::optional<sb_cycle> cycle() const {
        sb_cycle c;
        std::memset(&c, 0, sizeof c);
        c.struct_size = static_cast<uint32_t>(sizeof c);
        if (detail::check(sb_result_get_cycle(r_, &c)) == SB_NONE) {
            return std::nullopt;
        }
        return c;
    }

    /** Structure `index`'s mask, packed rows, 0 or `value` per pixel. */
    std::vector<uint8_t> mask(uint32_t index, uint8_t value = 1) const {
        sb_result_info i = info();
        std::size_t n = std::size_t{i.width} * i.height;
        std::vector<uint8_t> out(n);
        copy_mask(index, out.data(), out.size(), i.width, value);
        return out;
    }

    /** Copy structure `index`'s mask into `dst` (`dst_size` bytes, `dst_stride` per row). */
    void copy_mask(uint32_t index, uint8_t* dst, std::size_t dst_size, std::size_t dst_stride,
                   uint8_t value = 1) const {
        detail::check(sb_result_copy_mask(r_, index, dst, dst_size, dst_stride, value));
    }

private:
    const sb_result* r_ = nullptr;
};

/** An owned result (from Engine::segment or Stream::poll); freed with sb_result_free. */
class Result : public ResultView {
public:
    Result() noexcept = default;
    /** Take ownership of a result from the C API. */
    explicit Result(sb_result* r) noexcept : ResultView(r), owned_(r) {}
    ~Result() { reset(); }

    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;
    Result(Result&& o) noexcept : ResultView(o.owned_), owned_(std::exchange(o.owned_, nullptr)) {
        static_cast<ResultView&>(o) = ResultView();
    }
    Result& operator=(Result&& o) noexcept {
        if (this != &o) {
            reset();
            owned_ = std::exchange(o.owned_, nullptr);
            static_cast<ResultView&>(*this) = ResultView(owned_);
            static_cast<ResultView&>(o) = ResultView();
        }
        return *this;
    }

    /** Free the result now (a no-op when empty). */
    void reset() noexcept {
        sb_result_free(&owned_);
        static_cast<ResultView&>(*this) = ResultView();
    }

    /** Give up ownership: the caller frees the handle with sb_result_free. */
    sb_result* release() noexcept {
        static_cast<ResultView&>(*this) = ResultView();
        return std::exchange(owned_, nullptr);
    }

    /** A borrowed view of this result. */
    ResultView view() const noexcept { return ResultView(owned_); }

private:
    sb_result* owned_ = nullptr;
};

/* ------------------------------------------------------------------------------------------ */
/* Engine                                                                                     */

/** sb_engine_info with the strings copied. */
struct EngineInfo {
    sb_variant variant = SB_VARIANT_F32;
    sb_structures structures = 0;
    uint32_t input_width = 0;
    uint32_t input_height = 0;
    std::string name;
    std::string version;
    std::string licence;
    /** Why this variant was chosen ("f32: ...", "int8: ..."). */
    std::string variant_reason;
    /** SB_BACKEND_*: the runtime that runs the model. */
    sb_backend backend = SB_BACKEND_TRACT;
    /** The runtime and its version ("tract 0.23.9", "onnxruntime 1.32.0 (path)"). */
    std::string runtime;
};

/** A loaded model bundle (sb_engine). Move-only. */
class Engine {
public:
    Engine() noexcept = default;
    /** Take ownership of an engine from the C API. */
    explicit Engine(sb_engine* e) noexcept : e_(e) {}
    ~Engine() { close(); }

    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    Engine(Engine&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
    Engine& operator=(Engine&& o) noexcept {
        if (this != &o) {
            close();
            e_ = std::exchange(o.e_, nullptr);
        }
        return *this;
    }

    /** The default options (sb_engine_options_defaults). */
    static sb_engine_options default_options() {
        sb_engine_options o;
        std::memset(&o, 0, sizeof o);
        detail::check(sb_engine_options_defaults(&o));
        return o;
    }

    /** Open a bundle (folder or .tar) with the default options; throws Error (SB_ERR_BUNDLE…). */
    static Engine open(const std::string& path) {
        sb_engine* e = nullptr;
        detail::check(sb_engine_open(path.c_str(), nullptr, &e));
        return Engine(e);
    }

    /** Open a bundle with `options`. */
    static Engine open(const std::string& path, const sb_engine_options& options) {
        sb_engine* e = nullptr;
        detail::check(sb_engine_open(path.c_str(), &options, &e));
        return Engine(e);
    }

    /** Open a bundle only if its digest is `expected_sha256` (sb_engine_open_pinned): throws
     *  Error with SB_ERR_BUNDLE for any other bundle. */
    static Engine open_pinned(const std::string& path, const std::string& expected_sha256) {
        sb_engine* e = nullptr;
        detail::check(sb_engine_open_pinned(path.c_str(), expected_sha256.c_str(), nullptr, &e));
        return Engine(e);
    }

    /** The loaded bundle's digest (SHA-256 of its manifest.json), the value to pin. */
    std::string bundle_digest() const { return detail::str(sb_engine_bundle_digest(e_)); }

    /** The C handle (NULL once closed or moved from). */
    sb_engine* get() const noexcept { return e_; }
    explicit operator bool() const noexcept { return e_ != nullptr; }

    /** Close now (streams started from it keep running). Harmless twice. */
    void close() noexcept { sb_engine_close(&e_); }

    /** What the loaded model is. */
    EngineInfo info() const {
        sb_engine_info i;
        std::memset(&i, 0, sizeof i);
        i.struct_size = static_cast<uint32_t>(sizeof i);
        detail::check(sb_engine_get_info(e_, &i));
        EngineInfo out;
        out.variant = i.variant;
        out.structures = i.structures;
        out.input_width = i.input_width;
        out.input_height = i.input_height;
        out.name = detail::str(i.name);
        out.version = detail::str(i.version);
        out.licence = detail::str(i.licence);
        out.variant_reason = detail::str(i.variant_reason);
        out.backend = i.backend;
        out.runtime = detail::str(i.runtime);
        return out;
    }

    /** Segment `structures` (SB_STRUCTURE_* bits, 0: all) in one frame on this thread. */
    Result segment(const sb_frame& frame, const sb_meta& meta, sb_structures structures = 0) {
        sb_result* r = nullptr;
        detail::check(sb_engine_segment(e_, &frame, &meta, structures, &r));
        return Result(r);
    }

    /** Segment with nothing known about the frame. */
    Result segment(const sb_frame& frame) {
        sb_result* r = nullptr;
        detail::check(sb_engine_segment(e_, &frame, nullptr, 0, &r));
        return Result(r);
    }

    /** The engine's last error message ("" when none). */
    std::string last_error() const { return detail::str(sb_engine_last_error(e_)); }

private:
    sb_engine* e_ = nullptr;
};

/* ------------------------------------------------------------------------------------------ */
/* Stream                                                                                     */

/** What Stream::poll_into found. */
enum class PollStatus {
    /** A result. */
    Result,
    /** None within the timeout (SB_TIMEOUT). */
    Timeout,
    /** The stream stopped and every result was read (SB_END). */
    End,
};

/** A running stream (sb_stream). Move-only; closing (or destroying) it stops it, discarding. */
class Stream {
public:
    /** A result callback: called on the stream's own callback thread (a stack of at least
     *  8 MiB), in push order, one call at a time; the ResultView is valid for the call. The
     *  rules of sb_result_callback (synboost.h) apply: it may push, not stop or close its
     *  own stream. */
    using Callback = std::function<void(const ResultView&)>;

    static constexpr std::chrono::milliseconds forever{-1};

    Stream() noexcept = default;
    ~Stream() { close(); }

    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    Stream(Stream&& o) noexcept
        : s_(std::exchange(o.s_, nullptr)),
          cb_(std::move(o.cb_)),
          ended_(std::exchange(o.ended_, false)) {}
    Stream& operator=(Stream&& o) noexcept {
        if (this != &o) {
            close();
            s_ = std::exchange(o.s_, nullptr);
            cb_ = std::move(o.cb_);
            ended_ = std::exchange(o.ended_, false);
        }
        return *this;
    }

    /** The default settings (sb_stream_config_defaults). */
    static sb_stream_config default_config() {
        sb_stream_config c;
        std::memset(&c, 0, sizeof c);
        detail::check(sb_stream_config_defaults(&c));
        return c;
    }

    /** Start a polled stream (or one with the raw C callback `config` names). */
    static Stream start(const Engine& engine, const sb_stream_config& config) {
        Stream s;
        detail::check(sb_stream_start(engine.get(), &config, &s.s_));
        return s;
    }

    /** Start a stream that calls `callback` with each result (config.callback is replaced). */
    static Stream start(const Engine& engine, sb_stream_config config, Callback callback) {
        if (!callback) {
            throw Error(SB_ERR_NULL, "synboost::Stream::start: empty callback");
        }
        Stream s;
        s.cb_ = std::make_unique<CallbackState>();
        s.cb_->f = std::move(callback);
        config.callback = &Stream::trampoline;
        config.user_data = s.cb_.get();
        detail::check(sb_stream_start(engine.get(), &config, &s.s_));
        return s;
    }

    /** The C handle (NULL once closed or moved from). */
    sb_stream* get() const noexcept { return s_; }
    explicit operator bool() const noexcept { return s_ != nullptr; }

    /** Copy a frame in; returns its sequence number. Throws Error (SB_ERR_QUEUE_FULL,
     *  SB_ERR_STOPPED, SB_ERR_FRAME…), or a callback's pending exception. */
    uint64_t push(const sb_frame& frame, const sb_meta& meta) {
        rethrow_callback_exception();
        uint64_t seq = 0;
        detail::check(sb_stream_push(s_, &frame, &meta, &seq));
        return seq;
    }

    /** Push a frame with nothing known about it. */
    uint64_t push(const sb_frame& frame) {
        rethrow_callback_exception();
        uint64_t seq = 0;
        detail::check(sb_stream_push(s_, &frame, nullptr, &seq));
        return seq;
    }

    /** The next result in push order, waiting up to `timeout` (negative: forever). Empty on a
     *  timeout and at the end; ended() tells which. */
    std::optional<Result> poll(std::chrono::milliseconds timeout = forever) {
        Result r;
        if (poll_into(r, timeout) == PollStatus::Result) {
            return std::optional<Result>(std::move(r));
        }
        return std::nullopt;
    }

    /** poll() that says what happened: Result (then `out` holds it), Timeout or End. */
    PollStatus poll_into(Result& out, std::chrono::milliseconds timeout = forever) {
        sb_result* r = nullptr;
        sb_status st = detail::check(sb_stream_poll(s_, detail::timeout_ms(timeout), &r));
        if (st == SB_OK) {
            out = Result(r);
            return PollStatus::Result;
        }
        out.reset();
        if (st == SB_END) {
            ended_ = true;
            return PollStatus::End;
        }
        return PollStatus::Timeout;
    }

    /** Whether a poll returned SB_END: stopped, and every result read. */
    bool ended() const noexcept { return ended_; }

    /** Counters and latencies. */
    sb_stream_stats stats() const {
        sb_stream_stats st;
        std::memset(&st, 0, sizeof st);
        st.struct_size = static_cast<uint32_t>(sizeof st);
        detail::check(sb_stream_get_stats(s_, &st));
        return st;
    }

    /** Stop taking frames, drain or discard the queue, wait for the threads; returns the final
     *  stats. Then rethrows an exception a callback threw, if any. Harmless twice. */
    sb_stream_stats stop(sb_stop_mode mode = SB_STOP_DRAIN) {
        detail::check(sb_stream_stop(s_, mode));
        sb_stream_stats st = stats();
        rethrow_callback_exception();
        return st;
    }

    /** Stop (discarding) and free the stream; harmless twice. Callback exceptions not yet
     *  rethrown are dropped. */
    void close() noexcept {
        sb_stream_close(&s_);
        cb_.reset();
    }

    /** Exceptions the callback threw so far (each was caught before reaching the library). */
    std::size_t callback_exceptions() const noexcept {
        if (!cb_) {
            return 0;
        }
        std::lock_guard<std::mutex> lock(cb_->mutex);
        return cb_->exceptions;
    }

    /** Rethrow (once) the first exception a callback threw and not yet rethrown. */
    void rethrow_callback_exception() {
        if (!cb_) {
            return;
        }
        std::exception_ptr e;
        {
            std::lock_guard<std::mutex> lock(cb_->mutex);
            e = std::exchange(cb_->pending, nullptr);
        }
        if (e) {
            std::rethrow_exception(e);
        }
    }

    /** The stream's last error message ("" when none). */
    std::string last_error() const { return detail::str(sb_stream_last_error(s_)); }

private:
    /** The std::function on the heap, so that its address (the C user_data) never moves. */
    struct CallbackState {
        Callback f;
        mutable std::mutex mutex;
        std::exception_ptr pending;
        std::size_t exceptions = 0;
    };

    static void trampoline(const sb_result* result, void* user_data) noexcept {
        auto* state = static_cast<CallbackState*>(user_data);
        try {
            state->f(ResultView(result));
        } catch (...) {
            std::lock_guard<std::mutex> lock(state->mutex);
            state->exceptions++;
            if (!state->pending) {
                state->pending = std::current_exception();
            }
        }
    }

    sb_stream* s_ = nullptr;
    std::unique_ptr<CallbackState> cb_;
    bool ended_ = false;
};

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                    */

/** Receives the library's log messages (from any of its threads, possibly concurrently). */
using LogCallback = std::function<void(sb_log_level level, const char* target, const char* message)>;

namespace detail {

struct LogState {
    std::mutex mutex;
    std::unique_ptr<LogCallback> current;
};

inline LogState& log_state() {
    // Never destroyed: library threads may still log while the process exits.
    static LogState* s = new LogState();
    return *s;
}

inline void log_trampoline(sb_log_level level, const char* target, const char* message,
                           void* user_data) noexcept {
    try {
        (*static_cast<LogCallback*>(user_data))(level, target, message);
    } catch (...) {
        // A logger must not throw into the library: the message is lost.
    }
}

}  // namespace detail

/** Route the library's messages up to `max_level` to `callback` (empty: stop logging).
 *  Replaces the previous callback, which is destroyed once the library no longer calls it. */
inline void set_log_callback(LogCallback callback, sb_log_level max_level = SB_LOG_INFO) {
    detail::LogState& s = detail::log_state();
    std::lock_guard<std::mutex> lock(s.mutex);
    std::unique_ptr<LogCallback> next;
    if (callback) {
        next = std::make_unique<LogCallback>(std::move(callback));
        detail::check(sb_set_log_callback(&detail::log_trampoline, max_level, next.get()));
    } else {
        detail::check(sb_set_log_callback(nullptr, SB_LOG_OFF, nullptr));
    }
    // sb_set_log_callback returns after in-flight calls of the old callback finished.
    s.current = std::move(next);
}

/** Stop routing log messages. */
inline void clear_log_callback() { set_log_callback(LogCallback(), SB_LOG_OFF); }

}  // namespace synboost

#endif /* SYNBOOST_HPP */
