//! The binary's progress bars: one builder ([`bar`]), and [`Bars`], which draws the
//! [`Progress`] reports of a library run (`live`, `soak`).

use indicatif::{ProgressBar, ProgressStyle};
use synboost_sim::progress::Progress;

/// How a bar looks.
#[derive(Debug, Clone, Copy)]
pub struct BarStyle {
    /// The indicatif template.
    pub template: &'static str,
    /// The bar's characters (filled, tip, empty), when not indicatif's.
    pub chars: Option<&'static str>,
}

/// `generate`: patients written.
pub const GENERATE: BarStyle = BarStyle {
    template: "{elapsed_precise} [{bar:40}] {pos}/{len} patients {per_sec} eta {eta}",
    chars: None,
};

/// `live`: results polled of the frames planned.
pub const LIVE: BarStyle = BarStyle {
    template: "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
    chars: Some("=> "),
};

/// `soak`: seconds done.
pub const SOAK: BarStyle = BarStyle {
    template: "soak {bar:30} {pos}/{len} s {msg}",
    chars: None,
};

/// A bar of `len` steps in `style`; drawn only when `shown`.
pub fn bar(len: u64, style: BarStyle, shown: bool) -> ProgressBar {
    let bar = if shown {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    // The templates are fixed and valid; indicatif's default is a fallback that never shows.
    let mut s = ProgressStyle::with_template(style.template)
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    if let Some(chars) = style.chars {
        s = s.progress_chars(chars);
    }
    bar.set_style(s);
    bar
}

/// Draws a run's [`Progress`]: a bar from its start to its finish.
pub struct Bars {
    style: BarStyle,
    shown: bool,
    bar: Option<ProgressBar>,
}

impl Bars {
    /// Bars in `style`, drawn only when `shown`.
    pub fn new(style: BarStyle, shown: bool) -> Self {
        Self {
            style,
            shown,
            bar: None,
        }
    }

    /// Draw one report.
    pub fn report(&mut self, p: Progress) {
        match p {
            Progress::Start { total } => self.bar = Some(bar(total, self.style, self.shown)),
            Progress::Step { done, message } => {
                if let Some(b) = &self.bar {
                    b.set_position(done);
                    if let Some(m) = message {
                        b.set_message(m);
                    }
                }
            }
            Progress::Finish => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}
