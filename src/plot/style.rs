//! Colours, text helpers and the SVG target shared by the pictures.

use std::path::Path;

use plotters::style::RGBColor;

use crate::error::{Error, ExternalError, Result};

/// Cluster colours: Tableau 10 (colour-blind-aware, distinct in print) with
/// its grey replaced by teal (grey marks clusters past the palette),
/// cluster `c < 10` gets `PALETTE[c]` (see [`colour`]).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(0, 128, 128),
    RGBColor(57, 59, 121),
];

/// Links and points that belong to no single cluster.
pub(crate) const NEUTRAL: RGBColor = RGBColor(90, 90, 90);

/// Clusters past the palette (importance rank 10 and later): one light grey,
/// so that no two clusters share a colour.
pub(crate) const MINOR: RGBColor = RGBColor(160, 160, 160);

/// The cut line: a red no cluster uses.
pub(crate) const CUT: RGBColor = RGBColor(214, 39, 40);

/// The colour of cluster `c`: the palette for the first ten, light grey
/// after them, dark grey for none.
pub(crate) fn colour(c: Option<usize>) -> RGBColor {
    match c {
        None => NEUTRAL,
        Some(c) => PALETTE.get(c).copied().unwrap_or(MINOR),
    }
}

/// `text` with what XML 1.0 cannot hold (control characters, U+FFFE,
/// U+FFFF) replaced: tab, line feed and carriage return by a space (a label
/// is one line), the others by U+FFFD. plotters escapes `<`, `>`, `&` and
/// quotes itself.
pub(crate) fn clean(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

/// `text` cut to at most `max` characters, with an ellipsis when cut, and
/// [`clean`]ed.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    let text = clean(text);
    let n = text.chars().count();
    if n <= max {
        return text;
    }
    let keep = max.saturating_sub(1);
    let mut s: String = text.chars().take(keep).collect();
    s.push('…');
    s
}

/// A number for a label: 3 significant digits, no exponent for everyday
/// magnitudes.
pub(crate) fn number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.2e}");
    }
    let digits = (2 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A tick label: [`number`], with values within `1e-9 × span` of 0 shown as
/// 0 (an axis through 0 computed in floating point lands a hair off it).
pub(crate) fn tick(v: f64, span: f64) -> String {
    if v.abs() <= 1e-9 * span.abs() {
        "0".into()
    } else {
        number(v)
    }
}

/// Approximate width in pixels of `text` drawn by plotters with font size
/// `size` (plotters writes `size / 1.24` pixels into the SVG; an average
/// glyph is about 0.56 em, capitals wider).
pub(crate) fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| {
            if c.is_uppercase() || c == 'W' || c == 'M' {
                0.68
            } else if c == ' ' || c == '.' || c == ',' || c == 'i' || c == 'l' {
                0.3
            } else {
                0.56
            }
        })
        .sum::<f64>()
        * size
        / 1.24
}

/// A drawing-backend error as the crate's.
pub(crate) fn render_error(e: impl std::fmt::Display) -> Error {
    Error::PlotRender(ExternalError::new(e.to_string()))
}

/// Writes `svg` to `path`.
pub(crate) fn write_file(path: &Path, svg: &str) -> Result<()> {
    std::fs::write(path, svg).map_err(|e| Error::PlotWrite {
        path: path.display().to_string(),
        source: ExternalError::new(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_shortened_on_characters() {
        assert_eq!(shorten("TEA", 10), "TEA");
        assert_eq!(shorten("ÉÉÉÉÉÉ", 4), "ÉÉÉ…");
        assert_eq!(shorten("abc", 0), "…");
    }

    #[test]
    fn numbers_have_three_significant_digits() {
        assert_eq!(number(0.0), "0");
        assert_eq!(number(4.0), "4");
        assert_eq!(number(17.3604), "17.4");
        assert_eq!(number(0.012345), "0.0123");
        assert_eq!(number(1234.6), "1235"); // no fraction past 3 digits
        assert_eq!(number(2.5e7), "2.50e7");
        assert_eq!(tick(1.1e-16, 1.2), "0");
        assert_eq!(tick(0.2, 1.2), "0.2");
    }

    #[test]
    fn colours_are_distinct_for_ten_clusters_then_grey() {
        let mut seen: Vec<RGBColor> = (0..10).map(|c| colour(Some(c))).collect();
        seen.push(NEUTRAL);
        seen.push(MINOR);
        seen.push(CUT);
        for (i, a) in seen.iter().enumerate() {
            assert!(seen[i + 1..].iter().all(|b| b != a), "colour {i} repeats");
        }
        assert_eq!(colour(Some(10)), MINOR);
        assert_eq!(colour(None), NEUTRAL);
    }

    /// The SVG backend writing into a string has no failure of its own, so
    /// the backend-error path is tested at the conversion.
    #[test]
    fn backend_errors_become_plot_render() {
        let e = render_error("the backend broke");
        assert!(matches!(&e, Error::PlotRender(_)));
        assert_eq!(
            e.to_string(),
            "drawing the picture failed: the backend broke"
        );
    }
}
