// A C++17 client of libsynboost.so through include/synboost.hpp (plus a few raw C calls).
//
//   c++ -std=c++17 -Wall -Wextra -Werror -pedantic -pthread -I include tests/cpp/client.cpp
//       -L <dir> -lsynboost -Wl,-rpath,<dir> -o client_cpp
//   ./client_cpp BUNDLE_DIR CORRUPTED_BUNDLE_DIR
//
// Prints every failing check with file:line and a summary; exits 0 only if every check passed.
// Run by tests/tests/c_clients.rs.
#include "synboost.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <optional>
#include <vector>

namespace {

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const char* what, const char* file, int line) {
    g_checks++;
    if (!ok) {
        g_failures++;
        std::printf("FAIL %s:%d: %s\n", file, line, what);
    }
}

#define CHECK(cond) check((cond), #cond, __FILE__, __LINE__)

// `body` must throw synboost::Error with `status` and a message naming the C function.
template <typename F>
void check_throws(F&& body, sb_status status, const char* what, const char* file, int line) {
    g_checks++;
    try {
        body();
        g_failures++;
        std::printf("FAIL %s:%d: %s did not throw (expected %s)\n", file, line, what,
                    sb_status_string(status));
    } catch (const synboost::Error& e) {
        if (e.status() != status || std::strlen(e.what()) == 0 ||
            std::strncmp(e.what(), "sb_", 3) != 0) {
            g_failures++;
            std::printf("FAIL %s:%d: %s threw %d (%s) \"%s\", expected %d (%s)\n", file, line,
                        what, e.status(), e.status_string(), e.what(), status,
                        sb_status_string(status));
        }
    } catch (const std::exception& e) {
        g_failures++;
        std::printf("FAIL %s:%d: %s threw a non-synboost exception: %s\n", file, line, what,
                    e.what());
    }
}

#define CHECK_THROWS(expr, status) \
    check_throws([&]() { (void)(expr); }, (status), #expr, __FILE__, __LINE__)

constexpr uint32_t W = 96, H = 80, STRIDE = 104;

std::vector<uint8_t> gray_pixels(int k) {
    std::vector<uint8_t> px(std::size_t{STRIDE} * H, 0xEE);
    for (uint32_t y = 0; y < H; y++) {
        for (uint32_t x = 0; x < W; x++) {
            double fx = double(x) / W - 0.5, fy = double(y) / H - 0.45;
            double d = std::sqrt(fx * fx + fy * fy);
            int base = d < 0.22 ? 40 : (d < 0.3 ? 200 : 120);
            px[y * STRIDE + x] = uint8_t(base + int((x * 7919 + y * 31 + uint32_t(k) * 13) % 23));
        }
    }
    return px;
}

std::vector<uint8_t> to_bgra(const std::vector<uint8_t>& gray) {
    std::vector<uint8_t> out(std::size_t{W} * 4 * H);
    for (uint32_t y = 0; y < H; y++) {
        for (uint32_t x = 0; x < W; x++) {
            uint8_t v = gray[y * STRIDE + x];
            uint8_t* p = &out[(y * W + x) * 4];
            p[0] = p[1] = p[2] = v;
            p[3] = 255;
        }
    }
    return out;
}

sb_meta meta() {
    sb_meta m = synboost::default_meta();
    m.view = SB_VIEW_4CH;
    m.phase = SB_PHASE_ES;
    m.pixel_spacing_x_mm = 0.3;
    m.pixel_spacing_y_mm = 0.2;
    return m;
}

// Masks 0/1, areas counted, mm² from the spacing (or negative); returns the masks.
std::vector<std::vector<uint8_t>> check_result(const synboost::ResultView& r, bool spacing) {
    std::vector<std::vector<uint8_t>> masks;
    sb_result_info info = r.info();
    CHECK(info.outcome == SB_OUTCOME_SEGMENTED);
    CHECK(info.width == W && info.height == H);
    CHECK(info.structure_count == 3);
    for (uint32_t i = 0; i < info.structure_count; i++) {
        sb_structure_result s = r.structure(i);
        std::vector<uint8_t> m = r.mask(i);
        CHECK(m.size() == std::size_t{W} * H);
        uint64_t ones = 0;
        bool binary = true;
        for (uint8_t v : m) {
            binary = binary && v <= 1;
            ones += v;
        }
        CHECK(binary);
        CHECK(ones == s.area_px);
        CHECK(std::memcmp(m.data(), s.mask, m.size()) == 0);
        if (spacing) {
            double want = double(s.area_px) * 0.3 * 0.2;
            CHECK(std::fabs(s.area_mm2 - want) <= 1e-9 * (want + 1.0));
        } else {
            CHECK(s.area_mm2 < 0.0);
        }
        std::vector<uint8_t> m255 = r.mask(i, 255);
        bool scaled = true;
        for (std::size_t p = 0; p < m.size(); p++) {
            scaled = scaled && m255[p] == (m[p] ? 255 : 0);
        }
        CHECK(scaled);
        masks.push_back(std::move(m));
    }
    CHECK_THROWS(r.structure(info.structure_count), SB_ERR_INVALID);
    std::optional<sb_measurements> mm = r.measurements();
    CHECK(mm.has_value());
    if (mm) {
        CHECK(mm->units == (spacing ? SB_UNITS_MM : SB_UNITS_PIXELS));
        CHECK(mm->confidence >= 0.0 && mm->confidence <= 1.0);
        CHECK(mm->has_cycle == 0);
    }
    CHECK(!r.cycle().has_value());
    std::vector<uint8_t> small(10);
    CHECK_THROWS(r.copy_mask(0, small.data(), small.size(), W), SB_ERR_BUFFER);
    return masks;
}

void test_engine(synboost::Engine& engine) {
    synboost::EngineInfo info = engine.info();
    CHECK(info.name == "random-student");
    CHECK(!info.version.empty() && !info.licence.empty());
    CHECK(info.variant == SB_VARIANT_F32);
    CHECK(info.variant_reason.rfind("f32: ", 0) == 0);
    CHECK(info.backend == SB_BACKEND_TRACT && info.runtime.rfind("tract ", 0) == 0);
    CHECK(info.structures == 7u);
    CHECK(info.input_width > 0 && info.input_height > 0);

    auto gray = gray_pixels(0);
    auto frame = synboost::gray8_frame(gray.data(), W, H, STRIDE, gray.size(), 42000);
    synboost::Result r = engine.segment(frame, meta());
    CHECK(bool(r));
    CHECK(r.info().timestamp_ns == 42000);
    auto masks = check_result(r, true);

    auto bgra = to_bgra(gray);
    synboost::Result r2 = engine.segment(synboost::bgra8_frame(bgra.data(), W, H), meta());
    auto masks2 = check_result(r2, true);
    CHECK(masks == masks2);  // the same picture in another pixel format
    check_result(engine.segment(frame), false);  // nothing known: no areas in mm²

    // Move semantics: ownership moves, the source is empty, nothing is freed twice.
    synboost::Result moved = std::move(r);
    CHECK(!r && bool(moved));
    CHECK(moved.structure_count() == 3);
    r = std::move(moved);
    CHECK(bool(r) && !moved);
    sb_result* raw = r.release();
    CHECK(raw != nullptr && !r);
    CHECK(sb_result_free(&raw) == SB_OK && raw == nullptr);
    CHECK(sb_result_free(&raw) == SB_OK);

    // Errors carry their status.
    sb_frame bad = frame;
    bad.stride = W - 1;
    CHECK_THROWS(engine.segment(bad, meta()), SB_ERR_FRAME);
    bad = frame;
    bad.data_size = 100;
    CHECK_THROWS(engine.segment(bad, meta()), SB_ERR_FRAME);
    bad = frame;
    bad.struct_size = 0;
    CHECK_THROWS(engine.segment(bad, meta()), SB_ERR_INVALID);
    bad = frame;
    bad.format = 12;
    CHECK_THROWS(engine.segment(bad, meta()), SB_ERR_INVALID);
    sb_meta m = meta();
    m.sex = 5;
    CHECK_THROWS(engine.segment(frame, m), SB_ERR_INVALID);
    CHECK_THROWS(engine.segment(frame, meta(), 64), SB_ERR_INVALID);
    CHECK(!engine.last_error().empty());
    CHECK_THROWS(synboost::ResultView().info(), SB_ERR_NULL);
}

void test_stream_poll(synboost::Engine& engine) {
    constexpr int N = 30;
    sb_stream_config c = synboost::Stream::default_config();
    c.policy = SB_POLICY_BLOCK;
    c.workers = 2;
    c.queue_capacity = 4;
    c.result_capacity = 64;
    synboost::Stream s = synboost::Stream::start(engine, c);
    CHECK(bool(s));
    CHECK(!s.poll(std::chrono::milliseconds(0)).has_value() && !s.ended());

    auto gray = gray_pixels(1);
    for (int k = 0; k < N; k++) {
        auto f = synboost::gray8_frame(gray.data(), W, H, STRIDE, gray.size(), int64_t(k) * 1000);
        CHECK(s.push(f, meta()) == uint64_t(k));
    }
    // Moving a running stream keeps it running.
    synboost::Stream s2 = std::move(s);
    CHECK(!s && bool(s2));
    int got = 0;
    bool in_order = true;
    for (int k = 0; k < N; k++) {
        auto r = s2.poll(std::chrono::seconds(60));
        CHECK(r.has_value());
        if (!r) {
            break;
        }
        in_order = in_order && r->seq() == uint64_t(k) && r->outcome() == SB_OUTCOME_SEGMENTED &&
                   r->info().timestamp_ns == int64_t(k) * 1000;
        if (k == 0) {
            check_result(*r, true);
        }
        got++;
    }
    CHECK(got == N && in_order);
    sb_stream_stats st = s2.stop(SB_STOP_DRAIN);
    CHECK(st.pushed == N && st.processed == N && st.in_flight == 0);
    CHECK(st.pushed == st.processed + st.failed + st.dropped + st.discarded);
    CHECK(st.latency_p50_ms > 0 && st.latency_max_ms > 0 && st.latency_mean_ms > 0);
    synboost::Result r;
    CHECK(s2.poll_into(r, std::chrono::milliseconds(100)) == synboost::PollStatus::End);
    CHECK(s2.ended() && !r);
    CHECK(!s2.poll().has_value());
    CHECK_THROWS(s2.push(synboost::gray8_frame(gray.data(), W, H, STRIDE)), SB_ERR_STOPPED);
    CHECK(s2.last_error().find("stop") != std::string::npos);
    s2.close();
    s2.close();
    CHECK(!s2);
}

void test_stream_callback(synboost::Engine& engine) {
    constexpr int N = 16;
    sb_stream_config c = synboost::Stream::default_config();
    c.policy = SB_POLICY_BLOCK;
    c.workers = 2;
    std::atomic<int> count{0};
    std::atomic<bool> in_order{true};
    uint64_t next = 0;  // only the delivery thread touches it before stop()
    synboost::Stream s = synboost::Stream::start(engine, c, [&](const synboost::ResultView& r) {
        sb_result_info i = r.info();
        if (i.seq != next || i.outcome != SB_OUTCOME_SEGMENTED || i.structure_count != 3) {
            in_order = false;
        }
        next = i.seq + 1;
        count++;
        if (i.seq == 3 || i.seq == 5) {
            throw std::runtime_error("thrown in the callback");
        }
    });
    auto gray = gray_pixels(2);
    auto f = synboost::gray8_frame(gray.data(), W, H, STRIDE);
    for (int k = 0; k < N; k++) {
        try {
            s.push(f, meta());
        } catch (const std::runtime_error& e) {
            // The callback's exception, rethrown by a later push: that frame was not pushed.
            CHECK(std::string(e.what()) == "thrown in the callback");
            k--;
        }
    }
    CHECK_THROWS(s.poll(std::chrono::milliseconds(0)), SB_ERR_STATE);
    sb_stream_stats st{};
    try {
        st = s.stop();
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "thrown in the callback");
        st = s.stats();
    }
    CHECK(count == N);
    CHECK(in_order.load());
    CHECK(s.callback_exceptions() == 2);
    CHECK(st.pushed == N && st.processed == N);
    s.rethrow_callback_exception();  // nothing pending any more
    std::printf("C++ stream (callback, %d frames): %d results, %zu callback exception(s)\n", N,
                count.load(), s.callback_exceptions());
}

void test_reject(synboost::Engine& engine) {
    sb_stream_config c = synboost::Stream::default_config();
    c.policy = SB_POLICY_REJECT;
    c.queue_capacity = 1;
    c.workers = 1;
    c.result_capacity = 4096;
    synboost::Stream s = synboost::Stream::start(engine, c);
    auto gray = gray_pixels(3);
    auto f = synboost::gray8_frame(gray.data(), W, H, STRIDE);
    int rejected = 0, accepted = 0;
    for (int k = 0; k < 400 && (rejected < 3 || k < 20); k++) {
        try {
            s.push(f);
            accepted++;
        } catch (const synboost::Error& e) {
            CHECK(e.status() == SB_ERR_QUEUE_FULL);
            rejected++;
        }
    }
    CHECK(rejected > 0);
    sb_stream_stats st = s.stop(SB_STOP_DISCARD);
    CHECK(st.rejected == uint64_t(rejected) && st.pushed == uint64_t(accepted));
    CHECK(st.pushed == st.processed + st.failed + st.dropped + st.discarded);
    int got = 0;
    while (s.poll(std::chrono::seconds(5))) {
        got++;
    }
    CHECK(s.ended() && got == accepted);
}

int g_log_messages = 0;

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s BUNDLE_DIR CORRUPTED_BUNDLE_DIR\n", argv[0]);
        return 2;
    }
    static_assert(!std::is_copy_constructible<synboost::Engine>::value, "Engine is move-only");
    static_assert(!std::is_copy_constructible<synboost::Stream>::value, "Stream is move-only");
    static_assert(!std::is_copy_constructible<synboost::Result>::value, "Result is move-only");
    static_assert(std::is_nothrow_move_constructible<synboost::Stream>::value, "");
    static_assert(std::is_base_of<std::runtime_error, synboost::Error>::value, "");

    std::printf("libsynboost %s (ABI %u) through synboost.hpp\n", synboost::version().c_str(),
                synboost::abi_version());
    CHECK(synboost::version() == sb_version());
    CHECK(synboost::abi_version() == 1);

    std::atomic<int> log_messages{0};
    synboost::set_log_callback(
        [&](sb_log_level level, const char* target, const char* message) {
            if (level >= SB_LOG_ERROR && level <= SB_LOG_INFO && target && message) {
                log_messages++;
            }
            throw std::runtime_error("a throwing logger must not reach the library");
        },
        SB_LOG_INFO);
    CHECK_THROWS(synboost::set_log_callback([](sb_log_level, const char*, const char*) {}, 42),
                 SB_ERR_INVALID);

    // Opening: bad path, corrupted bundle, bad options.
    const std::string bundle = argv[1], corrupted = argv[2];
    CHECK_THROWS(synboost::Engine::open(bundle + "/nope"), SB_ERR_BUNDLE);
    {
        // Pinning: the bundle's own digest opens it, any other is refused.
        std::string digest = synboost::Engine::open(bundle).bundle_digest();
        CHECK(digest.size() == 64);
        CHECK(synboost::Engine::open_pinned(bundle, digest).bundle_digest() == digest);
        std::string other = digest;
        other[0] = other[0] == '0' ? '1' : '0';
        CHECK_THROWS(synboost::Engine::open_pinned(bundle, other), SB_ERR_BUNDLE);
        CHECK_THROWS(synboost::Engine::open_pinned(bundle, "xyz"), SB_ERR_INVALID);
    }
    try {
        synboost::Engine::open(corrupted);
        check(false, "the corrupted bundle opened", __FILE__, __LINE__);
    } catch (const synboost::Error& e) {
        std::string msg = e.what();
        CHECK(e.status() == SB_ERR_BUNDLE);
        CHECK(msg.find("SHA-256") != std::string::npos && msg.find("image.onnx") != std::string::npos);
    }
    sb_engine_options o = synboost::Engine::default_options();
    o.variant = 4; /* one past SB_VARIANT_TIMED */
    CHECK_THROWS(synboost::Engine::open(bundle, o), SB_ERR_INVALID);
    o = synboost::Engine::default_options();
    o.struct_size = 1;
    CHECK_THROWS(synboost::Engine::open(bundle, o), SB_ERR_INVALID);
    o = synboost::Engine::default_options();
    o.variant = SB_VARIANT_F32;

    {
        synboost::Engine engine = synboost::Engine::open(bundle, o);
        CHECK(bool(engine));
        test_engine(engine);
        test_stream_poll(engine);
        test_stream_callback(engine);
        test_reject(engine);

        // Raw C on the wrapper's handle.
        sb_engine_info info;
        std::memset(&info, 0, sizeof info);
        info.struct_size = sizeof info;
        CHECK(sb_engine_get_info(engine.get(), &info) == SB_OK);
        CHECK(sb_engine_get_info(engine.get(), nullptr) == SB_ERR_NULL);
        CHECK(std::strlen(sb_last_error()) > 0);

        synboost::Engine other = std::move(engine);
        CHECK(!engine && bool(other));
        other.close();
        other.close();
        CHECK(!other);
        CHECK_THROWS(other.info(), SB_ERR_NULL);
    }

    // Raw C: a handle closed twice stays NULL.
    sb_engine* raw = nullptr;
    CHECK(sb_engine_open(bundle.c_str(), nullptr, &raw) == SB_OK && raw != nullptr);
    CHECK(sb_engine_close(&raw) == SB_OK && raw == nullptr);
    CHECK(sb_engine_close(&raw) == SB_OK && raw == nullptr);
    CHECK(sb_engine_open(nullptr, nullptr, &raw) == SB_ERR_NULL && raw == nullptr);

    synboost::clear_log_callback();
    g_log_messages = log_messages.load();
    std::printf("log: %d message(s)\n", g_log_messages);
    CHECK(g_log_messages > 0);

    std::printf("C++ client: %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
