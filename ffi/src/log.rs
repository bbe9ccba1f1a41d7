//! The library's `log` records, routed to a callback the host installs.

use crate::status::{Error, SB_ERR_STATE, SB_OK, c_string, guard, sb_status};
use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, PoisonError, RwLock};

/// Severity of a log message (`SB_LOG_*`).
pub type sb_log_level = u32;
/// Logging off.
pub const SB_LOG_OFF: sb_log_level = 0;
/// Errors.
pub const SB_LOG_ERROR: sb_log_level = 1;
/// Warnings.
pub const SB_LOG_WARN: sb_log_level = 2;
/// Information (bundle opened, variant chosen).
pub const SB_LOG_INFO: sb_log_level = 3;
/// Debugging detail.
pub const SB_LOG_DEBUG: sb_log_level = 4;
/// Everything.
pub const SB_LOG_TRACE: sb_log_level = 5;

/// Receives a log message: its level, the module it comes from and the text (both borrowed for
/// the call). Called on whichever thread logs: the library's own (stacks of at least 8 MiB) or
/// the host's, inside an `sb_*` call; possibly on several at once. It may call `sb_*`
/// functions (their failures are not logged back into it) except `sb_set_log_callback`
/// (`SB_ERR_STATE`); it must return (no longjmp, no C++ exception).
pub type sb_log_callback = Option<
    unsafe extern "C" fn(
        level: sb_log_level,
        target: *const c_char,
        message: *const c_char,
        user_data: *mut c_void,
    ),
>;

struct Sink {
    f: unsafe extern "C" fn(sb_log_level, *const c_char, *const c_char, *mut c_void),
    user: *mut c_void,
}

// SAFETY: the host promises (sb_set_log_callback's contract) that the callback and its user
// data may be used from any thread.
unsafe impl Send for Sink {}
// SAFETY: as above; the callback is only called, never mutated.
unsafe impl Sync for Sink {}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);

thread_local! {
    /// Whether this thread is inside the host's log callback: messages logged there (a failing
    /// `sb_*` call made by the callback) are dropped rather than re-entering it, and
    /// `sb_set_log_callback` is refused there (it waits for the lock the callback runs under).
    static IN_LOG_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

struct Router;

impl log::Log for Router {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if IN_LOG_CALLBACK.get() {
            return;
        }
        let sink = SINK.read().unwrap_or_else(PoisonError::into_inner);
        let Some(s) = sink.as_ref() else {
            return;
        };
        let level = match record.level() {
            log::Level::Error => SB_LOG_ERROR,
            log::Level::Warn => SB_LOG_WARN,
            log::Level::Info => SB_LOG_INFO,
            log::Level::Debug => SB_LOG_DEBUG,
            log::Level::Trace => SB_LOG_TRACE,
        };
        let target = c_string(record.target());
        let message = c_string(&record.args().to_string());
        IN_LOG_CALLBACK.set(true);
        // SAFETY: a valid callback per the contract; the strings outlive the call.
        unsafe { (s.f)(level, target.as_ptr(), message.as_ptr(), s.user) };
        IN_LOG_CALLBACK.set(false);
    }

    fn flush(&self) {}
}

static ROUTER: Router = Router;
static INSTALLED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Route the library's log messages to a callback of the host.
///
/// Replaces any earlier callback: when this returns, the earlier one is not running on any
/// thread and is never called again (its `user_data` may be freed). Messages that the
/// callback's own sb_* calls would log are dropped, so the callback is never re-entered.
///
/// @param callback  Receives every message up to `max_level` (see sb_log_callback); NULL to
///                  stop logging.
/// @param max_level The most detailed level passed on, SB_LOG_*; SB_LOG_OFF stops logging.
/// @param user_data Passed to every call of `callback`; the library never reads it.
/// @return SB_OK;
///         SB_ERR_INVALID when `max_level` is no SB_LOG_*;
///         SB_ERR_STATE when called from inside the log callback, or when the process
///         already has another Rust logger (the library then logs through that one);
///         SB_ERR_INTERNAL on an internal error.
///
/// # Safety
/// `callback` is NULL or callable from any thread with `user_data` until it is replaced.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sb_set_log_callback(
    callback: sb_log_callback,
    max_level: sb_log_level,
    user_data: *mut c_void,
) -> sb_status {
    guard("sb_set_log_callback", None, || {
        if IN_LOG_CALLBACK.get() {
            return Err(Error::new(
                SB_ERR_STATE,
                "called from the log callback: change the log callback from another thread",
            ));
        }
        let filter = match max_level {
            SB_LOG_OFF => log::LevelFilter::Off,
            SB_LOG_ERROR => log::LevelFilter::Error,
            SB_LOG_WARN => log::LevelFilter::Warn,
            SB_LOG_INFO => log::LevelFilter::Info,
            SB_LOG_DEBUG => log::LevelFilter::Debug,
            SB_LOG_TRACE => log::LevelFilter::Trace,
            v => return Err(Error::invalid(format!("max_level {v} is no SB_LOG_*"))),
        };
        // Install the router once; if someone else's logger is there, say so.
        INSTALL.call_once(|| {
            if log::set_logger(&ROUTER).is_ok() {
                INSTALLED.store(true, Ordering::Release);
            }
        });
        if !INSTALLED.load(Ordering::Acquire) {
            return Err(Error::new(
                SB_ERR_STATE,
                "this process already has a Rust logger; the library logs through it",
            ));
        }
        let sink = callback.map(|f| Sink { f, user: user_data });
        let on = sink.is_some();
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = sink;
        log::set_max_level(if on { filter } else { log::LevelFilter::Off });
        Ok(SB_OK)
    })
}
