//! Ctrl-C and SIGTERM for the runs that end early with a report (`live`, `soak`).

use anyhow::{Context, Result};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A flag that the first Ctrl-C (or SIGTERM) sets, so that a run can end early and still write
/// its report; a second one exits at once (status 130).
pub fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let interrupt = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&interrupt))
            .context("installing the signal handler")?;
        signal_hook::flag::register(sig, Arc::clone(&interrupt))
            .context("installing the signal handler")?;
    }
    Ok(interrupt)
}
