//! The real-time stream on a random-weight tiny student: order, accounting under every queue
//! policy, stops that drain or discard, callbacks with several workers, metadata that changes
//! mid-stream, failures that do not stop the stream, and refused pushes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;
use synboost_core::engine::{Engine, EngineOptions, VariantChoice};
use synboost_core::frame::{FrameView, PixelFormat};
use synboost_core::meta::ScanMeta;
use synboost_core::model::spec::ModelSpec;
use synboost_core::preprocess::{PreprocessOptions, Roi};
use synboost_core::stream::{
    Delivery, DropReason, FrameResult, Outcome, QueuePolicy, StopMode, Stream, StreamConfig,
    StreamError,
};
use synboost_core::{Phase, PromptKind, Structure, Tokenizer, View, Vocab};
use synboost_export::student::{BundleInfo, write_random_student};

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let spec = ModelSpec::tiny(Vocab::builtin().len(), Tokenizer::DEFAULT_MAX_LEN);
    write_random_student(
        dir.path(),
        BundleInfo::new("random-student", "test weights, no data", 3),
        &spec,
        7,
        &[],
    )
    .unwrap();
    let e = Engine::open(
        dir.path(),
        EngineOptions {
            variant: VariantChoice::F32,
            ..EngineOptions::default()
        },
    )
    .unwrap();
    (dir, e)
}

const W: usize = 96;
const H: usize = 80;

fn pixels(k: usize) -> Vec<u8> {
    (0..W * H).map(|i| ((i * 31 + k * 7) % 251) as u8).collect()
}

fn meta() -> ScanMeta {
    ScanMeta {
        view: Some(View::TwoChamber),
        phase: Some(Phase::EndDiastole),
        ..ScanMeta::default()
    }
}

fn drain(s: &Stream) -> Vec<FrameResult> {
    let mut out = Vec::new();
    while let Ok(Some(r)) = s.poll(Some(Duration::from_secs(30))) {
        out.push(r);
    }
    out
}

fn assert_in_order(results: &[FrameResult], pushed: u64) {
    let seqs: Vec<u64> = results.iter().map(|r| r.seq).collect();
    assert_eq!(
        seqs,
        (0..pushed).collect::<Vec<_>>(),
        "one result per frame, in order"
    );
}

#[test]
fn block_policy_processes_every_frame_in_order() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            policy: QueuePolicy::Block,
            queue: 2,
            workers: 2,
            results: 64,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let frames: Vec<Vec<u8>> = (0..20).map(pixels).collect();
    for (k, f) in frames.iter().enumerate() {
        let v = FrameView::gray8(W, H, f)
            .unwrap()
            .with_timestamp_us(k as i64 * 20_000);
        assert_eq!(s.push(&v, &meta()).unwrap(), k as u64);
    }
    let stats = s.stop(StopMode::Drain);
    let results = drain(&s);
    assert_in_order(&results, 20);
    for (k, r) in results.iter().enumerate() {
        assert_eq!(r.timestamp_us, Some(k as i64 * 20_000));
        assert_eq!((r.width, r.height), (W, H));
        let Outcome::Segmented(seg) = &r.outcome else {
            panic!("frame {k} not segmented: {:?}", r.outcome)
        };
        assert_eq!(seg.structures.len(), 3);
        assert!(seg.structures.iter().all(|m| m.mask.width() == W));
        assert!(r.timings.total >= r.timings.queue + r.timings.engine.total);
    }
    assert_eq!(
        (stats.pushed, stats.processed, stats.dropped()),
        (20, 20, 0)
    );
    assert!(stats.balanced());
    assert_eq!(stats.latency.count(), 20);
    assert!(stats.latency.quantile(0.99) <= stats.latency.max());
    assert!(matches!(
        s.push(&FrameView::gray8(W, H, &frames[0]).unwrap(), &meta()),
        Err(StreamError::Stopped)
    ));
    assert!(matches!(s.poll(None), Err(StreamError::Stopped)));
}

#[test]
fn drop_oldest_under_overload_accounts_for_every_frame() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 2,
            results: 1000,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(0);
    let v = FrameView::gray8(W, H, &f).unwrap();
    // Pushed as fast as possible: far faster than one worker segments.
    for _ in 0..200 {
        s.push(&v, &meta()).unwrap();
    }
    let stats = s.stop(StopMode::Drain);
    let results = drain(&s);
    assert_in_order(&results, 200);
    let dropped = results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Dropped(DropReason::Overflow)))
        .count() as u64;
    assert!(dropped > 0, "overload must drop frames");
    assert_eq!(stats.dropped_overflow, dropped);
    assert_eq!(stats.processed + stats.dropped(), 200);
    assert!(stats.balanced() && stats.in_flight == 0);
    // The newest frame always survives a drop-oldest queue.
    assert!(matches!(
        results.last().unwrap().outcome,
        Outcome::Segmented(_)
    ));
}

#[test]
fn reject_policy_refuses_without_consuming_sequence_numbers() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 1,
            policy: QueuePolicy::Reject,
            results: 1000,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(1);
    let v = FrameView::gray8(W, H, &f).unwrap();
    let (mut accepted, mut refused) = (0u64, 0u64);
    for _ in 0..100 {
        match s.push(&v, &meta()) {
            Ok(seq) => {
                assert_eq!(seq, accepted);
                accepted += 1;
            }
            Err(StreamError::QueueFull(1)) => refused += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(refused > 0);
    let stats = s.stop(StopMode::Drain);
    assert_eq!((stats.pushed, stats.rejected), (accepted, refused));
    assert_eq!(stats.processed, accepted);
    assert_in_order(&drain(&s), accepted);
}

#[test]
fn discarding_stop_drops_queued_frames_and_reports_them() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 64,
            results: 1000,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(2);
    let v = FrameView::gray8(W, H, &f).unwrap();
    for _ in 0..50 {
        s.push(&v, &meta()).unwrap();
    }
    let stats = s.stop(StopMode::Discard);
    let results = drain(&s);
    assert_in_order(&results, 50);
    assert!(stats.discarded > 0, "{stats:?}");
    assert_eq!(stats.processed + stats.discarded, 50);
    assert!(stats.balanced());
    // Stopping again changes nothing.
    assert_eq!(s.stop(StopMode::Drain).pushed, 50);
}

#[test]
fn callbacks_arrive_in_order_from_several_workers() {
    let (_d, e) = engine();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 8,
            workers: 3,
            policy: QueuePolicy::Block,
            ..StreamConfig::default()
        },
        Delivery::Callback(Box::new(move |r: FrameResult| {
            sink.lock()
                .unwrap()
                .push((r.seq, matches!(r.outcome, Outcome::Segmented(_))));
        })),
    )
    .unwrap();
    let f = pixels(3);
    let v = FrameView::gray8(W, H, &f).unwrap();
    for _ in 0..40 {
        s.push(&v, &meta()).unwrap();
    }
    assert!(matches!(s.poll(None), Err(StreamError::NotPolled)));
    let stats = s.stop(StopMode::Drain);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter().map(|x| x.0).collect::<Vec<_>>(),
        (0..40).collect::<Vec<_>>()
    );
    assert!(seen.iter().all(|x| x.1));
    assert_eq!(stats.processed, 40);
}

#[test]
fn metadata_changes_mid_stream_change_only_their_frames_prompts() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            policy: QueuePolicy::Block,
            structures: vec![Structure::LvCavity],
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(4);
    let v = FrameView::gray8(W, H, &f).unwrap();
    let metas = [
        meta(),
        ScanMeta {
            view: Some(View::FourChamber),
            ..meta()
        },
        ScanMeta {
            view: Some(View::FourChamber),
            phase: None,
            ..meta()
        },
        meta(),
    ];
    for m in &metas {
        s.push(&v, m).unwrap();
    }
    s.stop(StopMode::Drain);
    let results = drain(&s);
    let prompts: Vec<(PromptKind, String)> = results
        .iter()
        .map(|r| match &r.outcome {
            Outcome::Segmented(seg) => (seg.structures[0].kind, seg.structures[0].prompt.clone()),
            o => panic!("{o:?}"),
        })
        .collect();
    assert!(prompts[0].1.contains("two-chamber"), "{}", prompts[0].1);
    assert!(prompts[1].1.contains("four-chamber"), "{}", prompts[1].1);
    assert!(
        !prompts[2].1.contains("diastole") && !prompts[2].1.contains("systole"),
        "phase unknown must not be named: {}",
        prompts[2].1
    );
    assert!(prompts[2].0 != prompts[1].0 || prompts[2].1 != prompts[1].1);
    assert_eq!(prompts[3], prompts[0]);
    assert_eq!(results[2].meta.phase, None);
}

#[test]
fn a_failing_frame_is_reported_and_the_stream_goes_on() {
    let (_d, mut e) = engine();
    // A region only frames larger than 100×100 overlap: smaller frames fail in preprocessing.
    e.set_preprocess(PreprocessOptions {
        roi: Some(Roi {
            x: 100,
            y: 100,
            width: 20,
            height: 20,
        }),
        ..PreprocessOptions::default()
    });
    let s = Stream::start(
        e,
        StreamConfig {
            policy: QueuePolicy::Block,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let small = pixels(5);
    let big: Vec<u8> = (0..128 * 128).map(|i| (i % 256) as u8).collect();
    s.push(&FrameView::gray8(W, H, &small).unwrap(), &meta())
        .unwrap();
    s.push(&FrameView::gray8(128, 128, &big).unwrap(), &meta())
        .unwrap();
    let stats = s.stop(StopMode::Drain);
    let r = drain(&s);
    assert!(
        matches!(&r[0].outcome, Outcome::Failed(m) if m.contains("overlap")),
        "{:?}",
        r[0].outcome
    );
    assert!(matches!(r[1].outcome, Outcome::Segmented(_)));
    assert_eq!((stats.failed, stats.processed), (1, 1));
    assert!(stats.balanced());
}

#[test]
fn unread_results_are_bounded() {
    let (_d, e) = engine();
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 32,
            results: 3,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(6);
    let v = FrameView::gray8(W, H, &f).unwrap();
    for _ in 0..12 {
        s.push(&v, &meta()).unwrap();
    }
    let stats = s.stop(StopMode::Drain);
    let r = drain(&s);
    assert_eq!(r.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![9, 10, 11]);
    assert_eq!(stats.unread_dropped, 9);
    assert_eq!(stats.processed, 12);
}

#[test]
fn block_pushes_wait_for_the_reader_and_a_stop_releases_them() {
    let (_d, e) = engine();
    let s = Arc::new(
        Stream::start(
            e,
            StreamConfig {
                policy: QueuePolicy::Block,
                results: 2,
                ..StreamConfig::default()
            },
            Delivery::Poll,
        )
        .unwrap(),
    );
    let pushed = Arc::new(Mutex::new(0u64));
    let (s2, n) = (Arc::clone(&s), Arc::clone(&pushed));
    // Nobody polls: the pusher ends up waiting for the reader, not the stream dropping results.
    let pusher = std::thread::spawn(move || {
        let f = pixels(7);
        let v = FrameView::gray8(W, H, &f).unwrap();
        loop {
            match s2.push(&v, &meta()) {
                Ok(_) => *n.lock().unwrap() += 1,
                Err(e) => return e,
            }
        }
    });
    let mut before = u64::MAX;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = *pushed.lock().unwrap();
        if now == before {
            break;
        }
        before = now;
    }
    // 2 results waiting, a queue of 4 and a worker's frame, and one more in transit at most.
    assert!(
        (2..=8).contains(&before),
        "{before} pushes without a reader"
    );
    let stats = s.stop(StopMode::Drain);
    assert!(matches!(pusher.join().unwrap(), StreamError::Stopped));
    assert_eq!(stats.processed, before);
    assert_eq!(stats.unread_dropped, 0, "nothing taken is dropped unread");
    assert_eq!(drain(&s).len() as u64, before);
    // And dropping a stream whose results nobody read does not hang either.
    let (_d2, e2) = engine();
    let s3 = Stream::start(
        e2,
        StreamConfig {
            policy: QueuePolicy::Block,
            results: 1,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = pixels(8);
    s3.push(&FrameView::gray8(W, H, &f).unwrap(), &meta())
        .unwrap();
    while s3.stats().undelivered == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(s3);
}

#[test]
fn a_slow_callback_holds_back_no_worker_and_its_backlog_is_bounded() {
    let (_d, e) = engine();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let s = Stream::start(
        e,
        StreamConfig {
            queue: 2,
            results: 3,
            ..StreamConfig::default()
        },
        Delivery::Callback(Box::new(move |r| {
            std::thread::sleep(Duration::from_millis(40));
            seen2.lock().unwrap().push(r.seq);
        })),
    )
    .unwrap();
    let f = pixels(9);
    let v = FrameView::gray8(W, H, &f).unwrap();
    for _ in 0..40 {
        s.push(&v, &meta()).unwrap();
        let st = s.stats();
        assert!(st.in_flight <= 3 && st.undelivered <= 3, "{st:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = s.stop(StopMode::Discard);
    let seen = seen.lock().unwrap().clone();
    assert!(stats.balanced() && stats.in_flight == 0, "{stats:?}");
    assert_eq!(seen.len() as u64 + stats.unread_dropped, 40, "{stats:?}");
    assert!(
        seen.len() < 20 && seen.windows(2).all(|w| w[0] < w[1]),
        "{seen:?}"
    );
}

#[test]
fn bad_configurations_and_frames_are_refused() {
    let (_d, e) = engine();
    for cfg in [
        StreamConfig {
            queue: 0,
            ..StreamConfig::default()
        },
        StreamConfig {
            workers: 0,
            ..StreamConfig::default()
        },
        StreamConfig {
            frame_bytes: 10,
            max_frame_bytes: 5,
            ..StreamConfig::default()
        },
    ] {
        assert!(matches!(
            Stream::start(e.try_clone(), cfg, Delivery::Poll),
            Err(StreamError::Config(_))
        ));
    }
    assert!(matches!(
        Stream::start(
            e.try_clone(),
            StreamConfig {
                structures: vec![Structure::LvCavity, Structure::LvCavity],
                ..StreamConfig::default()
            },
            Delivery::Poll
        ),
        Err(StreamError::Engine(_))
    ));
    let s = Stream::start(
        e,
        StreamConfig {
            max_frame_bytes: 1000,
            ..StreamConfig::default()
        },
        Delivery::Poll,
    )
    .unwrap();
    let f = vec![0u8; 4 * W * H];
    let v = FrameView::new(PixelFormat::Bgra8, W, H, 4 * W, &f).unwrap();
    assert!(matches!(
        s.push(&v, &meta()),
        Err(StreamError::FrameTooLarge { bytes, max: 1000 }) if bytes == 4 * W * H
    ));
    assert_eq!(s.stats().pushed, 0);
}
