//! Status codes, the thread-local last error, and the guard every entry point runs in: it
//! catches panics, turns errors into a status and records the message.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

/// What every entry point returns: `SB_OK` (0), a positive informational code, or a negative
/// error code. The message of the last error is in `sb_last_error()`.
pub type sb_status = i32;

/// Success.
pub const SB_OK: sb_status = 0;
/// `sb_stream_poll`: no result within the timeout.
pub const SB_TIMEOUT: sb_status = 1;
/// `sb_stream_poll`: the stream has stopped and every result has been read.
pub const SB_END: sb_status = 2;
/// The result has no such item: `sb_result_get_measurements` on a frame that was not
/// segmented, `sb_result_get_cycle` on a frame that completes no cycle.
pub const SB_NONE: sb_status = 3;
/// A required pointer argument is NULL.
pub const SB_ERR_NULL: sb_status = -1;
/// An argument is out of range: a `struct_size`, an enum value, a size, a count.
pub const SB_ERR_INVALID: sb_status = -2;
/// The frame description does not fit its data: size, stride or buffer length (an unknown
/// pixel format is `SB_ERR_INVALID`).
pub const SB_ERR_FRAME: sb_status = -3;
/// The model bundle is missing, unreadable, corrupted or inconsistent.
pub const SB_ERR_BUNDLE: sb_status = -4;
/// The model failed to run.
pub const SB_ERR_MODEL: sb_status = -5;
/// `sb_stream_push` under `SB_POLICY_REJECT`: the queue is full, the frame was not taken.
pub const SB_ERR_QUEUE_FULL: sb_status = -6;
/// The stream is stopped: no more frames are taken.
pub const SB_ERR_STOPPED: sb_status = -7;
/// A destination buffer is too small.
pub const SB_ERR_BUFFER: sb_status = -8;
/// The call does not fit the object's state (polling a stream that delivers by callback,
/// stopping or closing a stream from its own result callback, installing a logger when the
/// process already has one).
pub const SB_ERR_STATE: sb_status = -9;
/// An internal error of the library (a bug, caught before it reached the host); the library
/// stays usable.
pub const SB_ERR_INTERNAL: sb_status = -10;
/// Memory for a size the caller chose (`sb_stream_config.frame_bytes`, a frame's copy) could
/// not be had; nothing was allocated or taken.
pub const SB_ERR_NO_MEMORY: sb_status = -11;

/// A failed call: status and message.
#[derive(Debug)]
pub(crate) struct Error {
    pub status: sb_status,
    pub message: String,
}

impl Error {
    pub fn new(status: sb_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn null(what: &str) -> Self {
        Self::new(SB_ERR_NULL, format!("{what} is NULL"))
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(SB_ERR_INVALID, message)
    }
}

pub(crate) type Result<T> = std::result::Result<T, Error>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
    /// This thread's copy of the handle message it asked for last (`sb_*_last_error`).
    static HANDLE_ERROR_COPY: RefCell<CString> = RefCell::new(CString::default());
}

/// A C string from a message (interior NULs replaced).
pub(crate) fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "?")).unwrap_or_default()
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = c_string(message));
}

/// A handle's copy of its last error message.
#[derive(Default)]
pub(crate) struct HandleError(Mutex<CString>);

impl HandleError {
    pub fn set(&self, message: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = c_string(message);
    }

    /// The message, copied into the calling thread's own buffer: the pointer stays valid
    /// until this thread asks for a handle's message again, whatever other threads do with
    /// the handle (another thread's failing call replaces the handle's message, never this
    /// copy).
    pub fn as_ptr(&self) -> *const c_char {
        let copy = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        HANDLE_ERROR_COPY.with(|c| {
            let mut c = c.borrow_mut();
            *c = copy;
            c.as_ptr()
        })
    }
}

/// Run an entry point's body: panics become `SB_ERR_INTERNAL`, errors their status; the
/// message goes to the thread's last error and to `handle`'s, when there is one.
pub(crate) fn guard(
    name: &str,
    handle: Option<&HandleError>,
    body: impl FnOnce() -> Result<sb_status>,
) -> sb_status {
    let r = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| {
        Err(Error::new(
            SB_ERR_INTERNAL,
            format!(
                "internal error: {}",
                synboost_core::panics::panic_message(p.as_ref())
            ),
        ))
    });
    match r {
        Ok(status) => status,
        Err(e) => {
            let message = format!("{name}: {}", e.message);
            log::debug!("{message}");
            set_last_error(&message);
            if let Some(h) = handle {
                h.set(&message);
            }
            e.status
        }
    }
}

/// The calling thread's last error message.
///
/// Every call that returns an error status leaves its message here, starting with the
/// function's name ("sb_engine_open: ..."); calls that succeed leave it alone, and other
/// threads' calls never touch it.
///
/// @return A NUL-terminated string owned by the library, "" before the thread's first failure;
///         never NULL, never to be freed. It stays valid until this thread's next failing call.
#[unsafe(no_mangle)]
pub extern "C" fn sb_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A short English description of a status code, e.g. "invalid argument".
///
/// @param status Any value; one that is no SB_* status gives "unknown status".
/// @return A static NUL-terminated string; never NULL, never to be freed.
#[unsafe(no_mangle)]
pub extern "C" fn sb_status_string(status: sb_status) -> *const c_char {
    let s: &'static str = match status {
        SB_OK => "ok\0",
        SB_TIMEOUT => "timeout\0",
        SB_END => "end of stream\0",
        SB_NONE => "none\0",
        SB_ERR_NULL => "null pointer argument\0",
        SB_ERR_INVALID => "invalid argument\0",
        SB_ERR_FRAME => "invalid frame\0",
        SB_ERR_BUNDLE => "invalid model bundle\0",
        SB_ERR_MODEL => "model error\0",
        SB_ERR_QUEUE_FULL => "queue full\0",
        SB_ERR_STOPPED => "stream stopped\0",
        SB_ERR_BUFFER => "buffer too small\0",
        SB_ERR_STATE => "wrong state\0",
        SB_ERR_INTERNAL => "internal error\0",
        SB_ERR_NO_MEMORY => "out of memory\0",
        _ => "unknown status\0",
    };
    s.as_ptr().cast()
}

/// Check the `struct_size` a caller put in the first field of a struct.
pub(crate) fn check_size(what: &str, given: u32, ours: usize) -> Result<()> {
    if (given as usize) < ours {
        return Err(Error::invalid(format!(
            "{what}.struct_size is {given}, this library needs at least {ours} (set it to sizeof({what}) or call the _defaults function)"
        )));
    }
    Ok(())
}

/// Borrow a struct the caller passed, checking the pointer and its `struct_size`.
///
/// # Safety
/// `p` is NULL or points to a readable `T` whose first field is a `u32` struct size.
pub(crate) unsafe fn read_sized<'a, T: Sized>(p: *const T, what: &str) -> Result<&'a T> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null and, per the contract, at least 4 readable bytes for struct_size.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<u32>()) };
    check_size(what, size, std::mem::size_of::<T>())?;
    // SAFETY: the caller says the struct is readable and at least as large as ours.
    Ok(unsafe { &*p })
}

/// Read a struct the caller passed over `defaults`: the whole struct, or, from a host compiled
/// against an older header, exactly one of the older versions' sizes (`older`), whose fields
/// are copied and the newer ones left at their defaults. Any other `struct_size` under ours is
/// refused, so no field is ever read in part.
///
/// # Safety
/// `p` is NULL or points to a readable struct of `struct_size` bytes whose first field is a
/// `u32` struct size, laid out as a prefix of `T`, every field of which holds a valid value of
/// its type.
pub(crate) unsafe fn read_prefix<T: Sized + Copy>(
    p: *const T,
    what: &str,
    older: &[usize],
    defaults: T,
) -> Result<T> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null and, per the contract, at least 4 readable bytes for struct_size.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<u32>()) } as usize;
    let ours = std::mem::size_of::<T>();
    if size < ours && !older.contains(&size) {
        let sizes: Vec<String> = older
            .iter()
            .chain(std::iter::once(&ours))
            .map(usize::to_string)
            .collect();
        return Err(Error::invalid(format!(
            "{what}.struct_size is {size}: give sizeof({what}) (one of {} for this library's \
             versions; or call the _defaults function)",
            sizes.join(", ")
        )));
    }
    let n = size.min(ours);
    let mut value = defaults;
    // SAFETY: the caller's struct has `size ≥ n` readable bytes and `value` is a whole T
    // (n ≤ its size); distinct regions. `n` is the size of a version of T, so the bytes copied
    // are whole leading fields (the caller's struct is a prefix of ours) and `value` stays
    // valid. The struct size is then set to ours.
    unsafe {
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut value).cast::<u8>(), n);
        std::ptr::write_unaligned((&raw mut value).cast::<u32>(), ours as u32);
    }
    Ok(value)
}

/// Fill a struct the caller passed with `value`, as much of it as the caller's `struct_size`
/// holds: a host compiled against an older header (a shorter struct, at least `min` bytes: the
/// first version's size) gets the fields it knows, the newer ones are left out; its
/// `struct_size` is kept.
///
/// # Safety
/// `p` is NULL or points to a writable struct of `struct_size` bytes whose first field is a
/// `u32` struct size, laid out as a prefix of `T`.
pub(crate) unsafe fn write_prefix<T: Sized>(
    p: *mut T,
    what: &str,
    min: usize,
    value: &T,
) -> Result<()> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null and, per the contract, at least 4 readable bytes for struct_size.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<u32>()) };
    check_size(what, size, min)?;
    let n = (size as usize).min(std::mem::size_of::<T>());
    // SAFETY: `value` is a whole T (n ≤ its size) and the caller's struct has `size ≥ n`
    // writable bytes; the regions are distinct (value is ours). The first 4 bytes written are
    // then restored to the caller's struct_size.
    unsafe {
        std::ptr::copy_nonoverlapping((value as *const T).cast::<u8>(), p.cast::<u8>(), n);
        std::ptr::write_unaligned(p.cast::<u32>(), size);
    }
    Ok(())
}

/// Borrow a struct the caller wants filled, checking pointer and `struct_size`.
///
/// # Safety
/// `p` is NULL or points to a writable `T` whose first field is a `u32` struct size.
pub(crate) unsafe fn write_sized<'a, T: Sized>(p: *mut T, what: &str) -> Result<&'a mut T> {
    if p.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null and, per the contract, at least 4 readable bytes for struct_size.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<u32>()) };
    check_size(what, size, std::mem::size_of::<T>())?;
    // SAFETY: the caller says the struct is writable and at least as large as ours.
    Ok(unsafe { &mut *p })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn panics_and_errors_become_statuses_with_messages() {
        let h = HandleError::default();
        assert_eq!(guard("f", Some(&h), || panic!("boom")), SB_ERR_INTERNAL);
        let msg = unsafe { CStr::from_ptr(sb_last_error()) }.to_str().unwrap();
        assert!(msg.contains("boom") && msg.starts_with("f:"), "{msg}");
        assert_eq!(
            guard("g", Some(&h), || Err(Error::invalid("bad\0size"))),
            SB_ERR_INVALID
        );
        let msg = unsafe { CStr::from_ptr(h.as_ptr()) }.to_str().unwrap();
        assert_eq!(msg, "g: bad?size");
        assert_eq!(guard("h", None, || Ok(SB_TIMEOUT)), SB_TIMEOUT);
    }

    #[test]
    fn every_status_has_a_description() {
        for s in -11..=3 {
            let d = unsafe { CStr::from_ptr(sb_status_string(s)) };
            assert_ne!(d.to_str().unwrap(), "unknown status", "{s}");
        }
        let d = unsafe { CStr::from_ptr(sb_status_string(42)) };
        assert_eq!(d.to_str().unwrap(), "unknown status");
    }
}
