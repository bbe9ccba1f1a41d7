//! The binary's progress bars. [`progress_bar`] builds every bar; [`Bars`] shows a library
//! job's [`Progress`] reports with it.

use indicatif::{ProgressBar, ProgressStyle};
use synboost_train::progress::Progress;

/// Width the labels of training bars are right-aligned to (`pretrain 10/10`).
pub const TRAIN_LABEL_WIDTH: usize = 18;

/// A bar of `len` `unit`s: `label [elapsed] bar pos/len unit message`, the label
/// right-aligned to `label_width` characters (0: as it is).
pub fn progress_bar(len: u64, label: &str, unit: &str, label_width: usize) -> ProgressBar {
    let prefix = if label_width > 0 {
        format!("{{prefix:>{label_width}}}")
    } else {
        "{prefix}".to_string()
    };
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{prefix} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {unit} {{msg}}"
    )) {
        pb.set_style(style);
    }
    pb.set_prefix(label.to_string());
    pb
}

/// Shows a job's progress reports: a bar per stage, cleared when the stage ends.
pub struct Bars {
    label_width: usize,
    bar: Option<ProgressBar>,
}

impl Bars {
    /// Bars whose labels are right-aligned to `label_width` characters (0: as they are).
    pub fn new(label_width: usize) -> Self {
        Self {
            label_width,
            bar: None,
        }
    }

    /// Show one report.
    pub fn show(&mut self, p: Progress) {
        match p {
            Progress::Start {
                label,
                unit,
                total,
                done,
            } => {
                self.clear();
                let pb = progress_bar(total, &label, unit, self.label_width);
                pb.set_position(done);
                self.bar = Some(pb);
            }
            Progress::Advance { done, note } => {
                if let Some(pb) = &self.bar {
                    pb.set_position(done);
                    if let Some(n) = note {
                        pb.set_message(n);
                    }
                }
            }
            Progress::Finish => self.clear(),
        }
    }

    fn clear(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
    }
}
