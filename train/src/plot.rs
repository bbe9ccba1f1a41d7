//! PNG pictures for people: line charts of training curves, and grids of predictions drawn
//! over their echo images.
//!
//! **Drawing and text.** Charts are drawn with `plotters` (axes, "nice" tick positions, grid,
//! legend) on its bitmap backend only, into an RGB buffer that `image` encodes as PNG. Text is
//! rasterised by `ab_glyph` (through plotters' `ab_glyph` feature) from DejaVu Sans embedded
//! in the binary by the `dejavu` crate, registered as the `sans-serif` family on first use.
//! Nothing is looked up on the system, so pictures render the same on a fresh headless
//! machine with no fonts installed; plotters' `ttf` feature would instead search system fonts
//! through font-kit and fontconfig. A home-made bitmap font was the alternative: fewer
//! dependencies, but blocky unscaled text in pictures meant to be read.
//!
//! **Colours.** Series take [`PALETTE`] (Tableau 10) in order, cycling after ten. In overlay
//! grids the truth outline is [`TRUTH_COLOUR`] (green) and the prediction is a translucent
//! [`PREDICTION_COLOUR`] (red) fill with an outline of the same colour; outlines are two pixels
//! thick, the masks' boundary pixels ([`synboost_data::metrics::boundary`]) after scaling to the
//! tile and the boundary just inside them.

use crate::eval::Prediction;
use plotters::backend::{BitMapBackend, RGBPixel};
use plotters::prelude::*;
use plotters::style::register_font;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use synboost_core::raster::{GrayImage, Mask, nearest_indices};
use synboost_data::metrics::boundary;

/// Chart width in pixels.
pub const CHART_WIDTH: u32 = 900;
/// Chart height in pixels.
pub const CHART_HEIGHT: u32 = 540;
/// Series colours (RGB), Tableau 10, used in order.
pub const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];
/// Side of the square image area of an overlay tile, in pixels.
pub const TILE_SIZE: u32 = 256;
/// Height of the label strip under each tile's image.
pub const TILE_LABEL_HEIGHT: u32 = 40;
/// Height of the title strip at the top of an overlay grid.
pub const GRID_TITLE_HEIGHT: u32 = 36;
/// Outline colour of the ground truth in overlays.
pub const TRUTH_COLOUR: [u8; 3] = [40, 220, 90];
/// Fill and outline colour of the prediction in overlays.
pub const PREDICTION_COLOUR: [u8; 3] = [240, 50, 50];
/// Opacity of the prediction fill.
const PREDICTION_ALPHA: f32 = 0.35;
/// Background of overlay grids.
const GRID_BACKGROUND: u8 = 24;
/// Largest side of an overlay grid.
const MAX_GRID_SIDE: usize = 16_384;
/// The font family the embedded font is registered as (plotters' default family).
const FONT: &str = "sans-serif";

/// Errors drawing pictures.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// Nothing to draw.
    #[error("nothing to plot: {0}")]
    NoData(String),
    /// The layout asked for cannot be drawn.
    #[error("cannot lay out the picture: {0}")]
    Layout(String),
    /// The embedded font could not be loaded.
    #[error("the embedded font could not be loaded")]
    Font,
    /// plotters failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The PNG could not be written.
    #[error("{path}: {message}")]
    Png {
        /// File.
        path: PathBuf,
        /// Encoder's message.
        message: String,
    },
}

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) points, drawn in order; points with a NaN or infinite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series from a name and points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
        }
    }
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Register the embedded font once per process.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(FONT, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

fn colour(k: usize) -> RGBColor {
    let [r, g, b] = PALETTE.get(k % PALETTE.len()).copied().unwrap_or([0, 0, 0]);
    RGBColor(r, g, b)
}

/// `(lo, hi)` of finite values, widened when degenerate and padded by `pad` of the span.
fn axis_range(values: impl Iterator<Item = f64>, pad: f64) -> Option<(f64, f64)> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return None;
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let d = (lo.abs() * 0.05).max(0.5);
        return Some((lo - d, hi + d));
    }
    let p = (hi - lo) * pad;
    Some((lo - p, hi + p))
}

/// Decimals that tell apart ticks about `span / 10` apart.
fn tick_decimals(span: f64) -> usize {
    let step = span / 10.0;
    if !(step.is_finite() && step > 0.0) {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

/// Legend in the upper right unless the data crowd it more than the lower right.
fn legend_position(points: &[(f64, f64)], x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    let (mut upper, mut lower) = (0usize, 0usize);
    for &(px, py) in points {
        let (u, v) = ((px - x.0) / (x.1 - x.0), (py - y.0) / (y.1 - y.0));
        if u > 0.55 {
            upper += usize::from(v > 0.6);
            lower += usize::from(v < 0.4);
        }
    }
    if upper <= lower {
        SeriesLabelPosition::UpperRight
    } else {
        SeriesLabelPosition::LowerRight
    }
}

/// Encode an RGB buffer as PNG at `path` (whatever its extension).
fn write_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<(), PlotError> {
    image::save_buffer_with_format(
        path,
        rgb,
        width,
        height,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .map_err(|e| PlotError::Png {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Draw a [`CHART_WIDTH`] × [`CHART_HEIGHT`] line chart (e.g. loss or dice per epoch) with
/// axes, numeric ticks, a grid, a legend and a title, and write it as PNG.
///
/// Points with a non-finite coordinate are skipped (the line joins their neighbours); a series
/// without any finite point is left out with a warning. An empty `series`, or no finite point
/// at all, is [`PlotError::NoData`].
pub fn line_chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<(), PlotError> {
    let rgb = render_chart(title, x_label, y_label, series)?;
    write_png(path, &rgb, CHART_WIDTH, CHART_HEIGHT)
}

/// [`line_chart`]'s picture as RGB bytes.
fn render_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
) -> Result<Vec<u8>, PlotError> {
    if series.is_empty() {
        return Err(PlotError::NoData(format!("chart {title:?} has no series")));
    }
    let finite: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect()
        })
        .collect();
    let all: Vec<(f64, f64)> = finite.iter().flatten().copied().collect();
    let (Some(xr), Some(yr)) = (
        axis_range(all.iter().map(|p| p.0), 0.0),
        axis_range(all.iter().map(|p| p.1), 0.05),
    ) else {
        return Err(PlotError::NoData(format!(
            "chart {title:?}: no series has a finite point"
        )));
    };
    ensure_font()?;
    let (xd, yd) = (tick_decimals(xr.1 - xr.0), tick_decimals(yr.1 - yr.0));
    let x_fmt = |v: &f64| format!("{v:.xd$}");
    let y_fmt = |v: &f64| format!("{v:.yd$}");
    let mut rgb = vec![255u8; CHART_WIDTH as usize * CHART_HEIGHT as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(
            &mut rgb,
            (CHART_WIDTH, CHART_HEIGHT),
        )
        .map_err(draw_err)?;
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 26).into_font().style(FontStyle::Bold))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(84)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, 16))
            .axis_desc_style((FONT, 18))
            .bold_line_style(RGBColor(215, 215, 215))
            .light_line_style(RGBColor(240, 240, 240))
            .axis_style(RGBColor(60, 60, 60))
            .draw()
            .map_err(draw_err)?;
        for (k, (s, points)) in series.iter().zip(&finite).enumerate() {
            if points.is_empty() {
                log::warn!("chart {title:?}: series {:?} has no finite point", s.name);
                continue;
            }
            let c = colour(k);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(draw_err)?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], c.stroke_width(3))
                });
            // Markers while they can be told apart (and so that a single point shows).
            if points.len() <= 60 {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                    .map_err(draw_err)?;
            }
        }
        chart
            .configure_series_labels()
            .position(legend_position(&all, xr, yr))
            .margin(12)
            .label_font((FONT, 16))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(150, 150, 150))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(rgb)
}

/// Placement of an image in a tile: its scaled size and offset in the tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fit {
    width: usize,
    height: usize,
    dx: usize,
    dy: usize,
}

/// The largest size with `width × height`'s aspect ratio that fits a tile, centred.
fn fit_tile(width: usize, height: usize) -> Fit {
    let t = TILE_SIZE as usize;
    let s = (t as f64 / width.max(1) as f64).min(t as f64 / height.max(1) as f64);
    let w = ((width as f64 * s).round() as usize).clamp(1, t);
    let h = ((height as f64 * s).round() as usize).clamp(1, t);
    Fit {
        width: w,
        height: h,
        dx: (t - w) / 2,
        dy: (t - h) / 2,
    }
}

/// `m` resized to `fit` (core's nearest neighbour, [`Mask::resized`]).
fn scale_mask(m: &Mask, fit: Fit) -> Result<Mask, PlotError> {
    m.resized(fit.width, fit.height)
        .map_err(|e| PlotError::Layout(e.to_string()))
}

/// A 2-pixel outline: the mask's boundary ([`boundary`]) and the boundary of what is left
/// inside it, row-major flags.
fn outline(m: &Mask) -> Vec<bool> {
    let outer = boundary(m);
    let inner_data = m
        .data()
        .iter()
        .zip(&outer)
        .map(|(&v, &e)| u8::from(v != 0 && !e))
        .collect();
    let inner = Mask::new(m.width(), m.height(), inner_data)
        .map(|inner| boundary(&inner))
        .unwrap_or_default();
    outer
        .iter()
        .enumerate()
        .map(|(i, &e)| e || inner.get(i).copied().unwrap_or(false))
        .collect()
}

/// Paint one prediction's tile (image, prediction fill and outline, truth outline) with its
/// top-left corner at (`ox`, `oy`) of the `grid_width`-wide RGB buffer.
fn paint_tile(
    rgb: &mut [u8],
    grid_width: usize,
    (ox, oy): (usize, usize),
    p: &Prediction,
) -> Result<(), PlotError> {
    let img: &GrayImage = &p.image;
    let size = (img.width(), img.height());
    for (what, m) in [("truth", &p.truth), ("prediction", &p.predicted)] {
        if (m.width(), m.height()) != size {
            return Err(PlotError::Layout(format!(
                "{} {}: {what} is {}×{} but the image is {}×{}",
                p.id,
                p.structure.code(),
                m.width(),
                m.height(),
                size.0,
                size.1
            )));
        }
    }
    let fit = fit_tile(size.0, size.1);
    let (xs, ys) = (
        nearest_indices(size.0, fit.width),
        nearest_indices(size.1, fit.height),
    );
    let truth = scale_mask(&p.truth, fit)?;
    let pred = scale_mask(&p.predicted, fit)?;
    let (truth_edge, pred_edge) = (outline(&truth), outline(&pred));
    let blend = |v: u8, c: u8| {
        (f32::from(v) * (1.0 - PREDICTION_ALPHA) + f32::from(c) * PREDICTION_ALPHA).round() as u8
    };
    for (ty, &sy) in ys.iter().enumerate() {
        for (tx, &sx) in xs.iter().enumerate() {
            let v = img.get(sx, sy).unwrap_or(0);
            let k = ty * fit.width + tx;
            let px = if truth_edge.get(k).copied().unwrap_or(false) {
                TRUTH_COLOUR
            } else if pred_edge.get(k).copied().unwrap_or(false) {
                PREDICTION_COLOUR
            } else if pred.get(tx, ty) {
                PREDICTION_COLOUR.map(|c| blend(v, c))
            } else {
                [v, v, v]
            };
            let at = 3 * ((oy + fit.dy + ty) * grid_width + ox + fit.dx + tx);
            if let Some(dst) = rgb.get_mut(at..at + 3) {
                dst.copy_from_slice(&px);
            }
        }
    }
    Ok(())
}

/// At most `max` characters of `s`, with an ellipsis when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Draw a grid of predictions, `columns` tiles wide, and write it as PNG: each tile is a
/// [`TILE_SIZE`]² image area (the echo image scaled to fit, centred) with the truth outlined in
/// green and the prediction filled and outlined in red, above a [`TILE_LABEL_HEIGHT`] strip
/// giving the sample id, structure, prompt kind and dice. The picture is
/// `columns × TILE_SIZE` wide and `GRID_TITLE_HEIGHT + rows × (TILE_SIZE + TILE_LABEL_HEIGHT)`
/// high.
pub fn overlay_grid(
    path: &Path,
    items: &[Prediction],
    columns: usize,
    title: &str,
) -> Result<(), PlotError> {
    let (rgb, w, h) = render_grid(items, columns, title)?;
    write_png(path, &rgb, w, h)
}

/// [`overlay_grid`]'s picture as RGB bytes with its width and height.
fn render_grid(
    items: &[Prediction],
    columns: usize,
    title: &str,
) -> Result<(Vec<u8>, u32, u32), PlotError> {
    if items.is_empty() {
        return Err(PlotError::NoData(format!(
            "overlay grid {title:?} has no predictions"
        )));
    }
    if columns == 0 {
        return Err(PlotError::Layout(
            "an overlay grid needs at least one column".into(),
        ));
    }
    let rows = items.len().div_ceil(columns);
    let (tile, label, head) = (
        TILE_SIZE as usize,
        TILE_LABEL_HEIGHT as usize,
        GRID_TITLE_HEIGHT as usize,
    );
    let width = columns.saturating_mul(tile);
    let height = rows.saturating_mul(tile + label).saturating_add(head);
    if width > MAX_GRID_SIDE || height > MAX_GRID_SIDE {
        return Err(PlotError::Layout(format!(
            "{} tiles in {columns} columns make a {width}×{height} picture, over {MAX_GRID_SIDE} \
             pixels a side",
            items.len()
        )));
    }
    ensure_font()?;
    let mut rgb = vec![GRID_BACKGROUND; width * height * 3];
    let origin = |k: usize| ((k % columns) * tile, head + (k / columns) * (tile + label));
    for (k, p) in items.iter().enumerate() {
        paint_tile(&mut rgb, width, origin(k), p)?;
    }
    let (w32, h32) = (width as u32, height as u32);
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w32, h32))
            .map_err(draw_err)?;
        let root = backend.into_drawing_area();
        let heading = (FONT, 22).into_font().style(FontStyle::Bold).color(&WHITE);
        root.draw(&Text::new(title.to_string(), (10, 6), heading))
            .map_err(draw_err)?;
        let small = (FONT, 14).into_font().color(&RGBColor(230, 230, 230));
        for (k, p) in items.iter().enumerate() {
            let (ox, oy) = origin(k);
            let (x, y) = (ox as i32 + 6, (oy + tile) as i32 + 3);
            let line2 = format!(
                "{} · {} · dice {:.3}",
                p.structure.code().to_uppercase(),
                p.kind,
                p.dice
            );
            root.draw(&Text::new(shorten(&p.id, 32), (x, y), small.clone()))
                .map_err(draw_err)?;
            root.draw(&Text::new(line2, (x, y + 18), small.clone()))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok((rgb, w32, h32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::tests::rect;
    use synboost_core::prompt::PromptKind;
    use synboost_core::structure::Structure;

    fn decode(path: &Path) -> image::RgbImage {
        image::open(path).unwrap().to_rgb8()
    }

    fn count(img: &image::RgbImage, c: [u8; 3]) -> usize {
        img.pixels().filter(|p| p.0 == c).count()
    }

    #[test]
    fn chart_has_size_colours_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loss.png");
        let train: Vec<(f64, f64)> = (1..=20).map(|e| (e as f64, 1.0 / e as f64 + 0.1)).collect();
        let val: Vec<(f64, f64)> = (1..=20)
            .map(|e| (e as f64, 1.2 / e as f64 + 0.15))
            .collect();
        let third = vec![(1.0, 0.9), (20.0, 0.2)];
        let series = [
            Series::new("train", train),
            Series::new("val", val),
            Series::new("other", third),
        ];
        line_chart(&path, "Loss", "epoch", "loss", &series).unwrap();
        let img = decode(&path);
        assert_eq!(img.dimensions(), (CHART_WIDTH, CHART_HEIGHT));
        for (k, &c) in PALETTE.iter().enumerate().take(3) {
            let n = count(&img, c);
            assert!(n > 100, "series {k}: {n} pixels of its colour");
        }
        // Colours of series that do not exist are absent.
        assert_eq!(count(&img, PALETTE[5]), 0);
        // Text is drawn: dark, anti-aliased pixels in the title band.
        let title_band = (0..40)
            .flat_map(|y| (0..CHART_WIDTH).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(
            title_band > 50,
            "{title_band} dark pixels in the title band"
        );
        // Tick labels left of the plot area.
        let ticks = (60..CHART_HEIGHT - 60)
            .flat_map(|y| (20..84).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] < 100)
            .count();
        assert!(ticks > 50, "{ticks} dark pixels where y tick labels go");
    }

    #[test]
    fn empty_series_are_errors_and_nan_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        let err = line_chart(&path, "t", "x", "y", &[]).unwrap_err();
        assert!(matches!(err, PlotError::NoData(_)), "{err}");
        assert!(err.to_string().contains("no series"));
        let nan = Series::new("nan", vec![(f64::NAN, 1.0), (2.0, f64::INFINITY)]);
        let empty = Series::new("empty", vec![]);
        let err = line_chart(&path, "t", "x", "y", &[nan.clone(), empty.clone()]).unwrap_err();
        assert!(matches!(err, PlotError::NoData(_)), "{err}");
        assert!(!path.exists());

        let gappy = Series::new(
            "gappy",
            vec![(1.0, 0.5), (2.0, f64::NAN), (3.0, 0.7), (f64::NAN, 0.1)],
        );
        line_chart(&path, "t", "x", "y", &[nan, gappy, empty]).unwrap();
        let img = decode(&path);
        assert_eq!(
            count(&img, PALETTE[0]),
            0,
            "the all-NaN series draws nothing"
        );
        assert!(count(&img, PALETTE[1]) > 100);
        // One point alone still shows (as a marker).
        line_chart(
            &path,
            "one",
            "x",
            "y",
            &[Series::new("p", vec![(3.0, 3.0)])],
        )
        .unwrap();
        assert!(count(&decode(&path), PALETTE[0]) > 10);
    }

    #[test]
    fn helpers() {
        assert_eq!(axis_range([1.0, 3.0].into_iter(), 0.0), Some((1.0, 3.0)));
        assert_eq!(axis_range([2.0, 2.0].into_iter(), 0.1), Some((1.5, 2.5)));
        assert_eq!(axis_range(std::iter::empty(), 0.1), None);
        assert_eq!(tick_decimals(100.0), 0);
        assert_eq!(tick_decimals(1.0), 1);
        assert_eq!(tick_decimals(0.05), 3);
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
        assert_eq!(nearest_indices(4, 8), [0, 0, 1, 1, 2, 2, 3, 3]);
        // A 6×6 square's outline is the 2-pixel ring: all but its 2×2 centre.
        let square = rect(10, 10, 2, 2, 8, 8);
        let ring = outline(&square);
        assert_eq!(ring.iter().filter(|e| **e).count(), 32);
        assert!(!ring[4 * 10 + 4] && !ring[5 * 10 + 5] && ring[3 * 10 + 3] && ring[2 * 10 + 7]);
        assert!(!ring[0] && !ring[9 * 10 + 9]);
        assert_eq!(
            fit_tile(40, 30),
            Fit {
                width: 256,
                height: 192,
                dx: 0,
                dy: 32
            }
        );
        // Rising data crowd the upper right: the legend goes down.
        let rising: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        assert_eq!(
            legend_position(&rising, (0.0, 9.0), (0.0, 9.0)),
            SeriesLabelPosition::LowerRight
        );
        let falling: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 9.0 - i as f64)).collect();
        assert_eq!(
            legend_position(&falling, (0.0, 9.0), (0.0, 9.0)),
            SeriesLabelPosition::UpperRight
        );
    }

    fn prediction(id: &str, w: usize, h: usize, truth: Mask, predicted: Mask) -> Prediction {
        let image = GrayImage::new(w, h, (0..w * h).map(|i| (i % 97) as u8).collect()).unwrap();
        Prediction {
            id: id.into(),
            structure: Structure::LvCavity,
            kind: PromptKind::P3,
            dice: synboost_data::metrics::overlap(&predicted, &truth).map_or(0.0, |d| d.0),
            image,
            truth,
            predicted,
        }
    }

    #[test]
    fn overlay_grid_layout_and_outlines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let items = vec![
            prediction(
                "patient0001_2CH_ED",
                40,
                30,
                rect(40, 30, 5, 5, 20, 20),
                rect(40, 30, 8, 6, 24, 22),
            ),
            prediction(
                "patient0002_4CH_ES_with_a_very_long_identifier",
                30,
                50,
                rect(30, 50, 10, 10, 25, 40),
                Mask::zeros(30, 50).unwrap(),
            ),
            prediction(
                "empty",
                40,
                30,
                Mask::zeros(40, 30).unwrap(),
                rect(40, 30, 1, 1, 10, 10),
            ),
        ];
        overlay_grid(&path, &items, 2, "Validation, P3").unwrap();
        let img = decode(&path);
        let t = TILE_SIZE;
        assert_eq!(
            img.dimensions(),
            (2 * t, GRID_TITLE_HEIGHT + 2 * (t + TILE_LABEL_HEIGHT))
        );
        for (k, p) in items.iter().enumerate() {
            let ox = (k % 2) as u32 * t;
            let oy = GRID_TITLE_HEIGHT + (k / 2) as u32 * (t + TILE_LABEL_HEIGHT);
            let fit = fit_tile(p.image.width(), p.image.height());
            // Every outline pixel of the scaled truth is green; the outline holds the boundary.
            let truth = scale_mask(&p.truth, fit).unwrap();
            let edge = outline(&truth);
            let thin = boundary(&truth);
            assert!(thin.iter().zip(&edge).all(|(t, e)| !t || *e));
            if !p.truth.is_empty() {
                let n = |v: &[bool]| v.iter().filter(|e| **e).count();
                assert!(n(&edge) > n(&thin), "tile {k}: the outline is thicker");
            }
            for (i, _) in edge.iter().enumerate().filter(|(_, e)| **e) {
                let (x, y) = ((i % fit.width) as u32, (i / fit.width) as u32);
                let px = img
                    .get_pixel(ox + fit.dx as u32 + x, oy + fit.dy as u32 + y)
                    .0;
                assert_eq!(px, TRUTH_COLOUR, "tile {k} truth edge ({x}, {y})");
            }
            let in_tile = |c: [u8; 3]| {
                (oy..oy + t)
                    .flat_map(|y| (ox..ox + t).map(move |x| (x, y)))
                    .filter(|&(x, y)| img.get_pixel(x, y).0 == c)
                    .count()
            };
            let (green, red) = (in_tile(TRUTH_COLOUR), in_tile(PREDICTION_COLOUR));
            assert_eq!(green, edge.iter().filter(|e| **e).count(), "tile {k}");
            assert_eq!(green > 0, !p.truth.is_empty(), "tile {k}");
            assert_eq!(red > 0, !p.predicted.is_empty(), "tile {k}: {red} red");
            // Inside the prediction, away from edges, the image shows through a red tint.
            let pred = scale_mask(&p.predicted, fit).unwrap();
            let pred_edge = outline(&pred);
            let interior = (0..fit.width * fit.height)
                .find(|&i| pred.data()[i] == 1 && !edge[i] && !pred_edge[i]);
            assert_eq!(interior.is_some(), !p.predicted.is_empty());
            if let Some(i) = interior {
                let (x, y) = ((i % fit.width) as u32, (i / fit.width) as u32);
                let px = img
                    .get_pixel(ox + fit.dx as u32 + x, oy + fit.dy as u32 + y)
                    .0;
                assert!(px[0] > px[1] && px[0] > px[2], "tinted {px:?}");
            }
        }
        // Labels are written in the strips (light text on the dark background).
        let strip_y = GRID_TITLE_HEIGHT + t;
        let light = (strip_y..strip_y + TILE_LABEL_HEIGHT)
            .flat_map(|y| (0..t).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0[0] > 150)
            .count();
        assert!(light > 50, "{light} light pixels in the first label strip");
        // The empty fourth cell stays background.
        let px = img.get_pixel(t + t / 2, GRID_TITLE_HEIGHT + t + TILE_LABEL_HEIGHT + t / 2);
        assert_eq!(px.0, [GRID_BACKGROUND; 3]);
    }

    #[test]
    fn overlay_grid_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        assert!(matches!(
            overlay_grid(&path, &[], 3, "t"),
            Err(PlotError::NoData(_))
        ));
        let p = prediction(
            "a",
            10,
            10,
            rect(10, 10, 1, 1, 5, 5),
            Mask::zeros(12, 10).unwrap(),
        );
        assert!(matches!(
            overlay_grid(&path, std::slice::from_ref(&p), 0, "t"),
            Err(PlotError::Layout(_))
        ));
        let err = overlay_grid(&path, &[p], 1, "t").unwrap_err();
        assert!(err.to_string().contains("prediction is 12×10"), "{err}");
    }
}
