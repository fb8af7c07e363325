//! What every bench prints: latency summaries (percentiles from an HDR histogram), ratios
//! against a peer, result rows and markdown tables.

use std::fmt::Display;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Summary of a latency sample, in milliseconds: p50 and p99 from an HDR histogram of
/// nanoseconds with 3 significant digits (nearest rank, within 0.1 %), the exact maximum.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(samples: &[Duration]) -> Latency {
        let mut histogram = Histogram::<u64>::new(3).expect("3 significant digits are valid");
        for sample in samples {
            let ns = sample.as_nanos().try_into().unwrap_or(u64::MAX / 4);
            let recorded = histogram.record(ns);
            recorded.expect("an auto-resizing histogram records any duration");
        }
        let max = samples.iter().max().copied().unwrap_or_default();
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1e6;
        match histogram.is_empty() {
            true => Latency::default(),
            false => Latency {
                p50_ms: ms(0.50),
                p99_ms: ms(0.99),
                max_ms: max.as_secs_f64() * 1e3,
            },
        }
    }

    /// `p50 X ms, p99 Y ms, max Z ms`, p50 and p99 with `digits` decimals, max with at most 2.
    pub fn ms(&self, digits: usize) -> String {
        let [p50, p99, max] = self.cells(1.0, digits);
        format!("p50 {p50} ms, p99 {p99} ms, max {max} ms")
    }

    /// p50, p99 and max in units of `scale` ms (1e-3: µs), formatted as [`Latency::ms`] does.
    fn cells(&self, scale: f64, digits: usize) -> [String; 3] {
        let max_digits = digits.min(2);
        let [p50, p99, max] = [self.p50_ms, self.p99_ms, self.max_ms].map(|v| v / scale);
        [
            format!("{p50:.digits$}"),
            format!("{p99:.digits$}"),
            format!("{max:.max_digits$}"),
        ]
    }
}

/// `a / b`, or NaN when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// `a / b` with 2 decimals (a ratio table's cell).
pub fn ratio2(a: f64, b: f64) -> String {
    format!("{:.2}", ratio(a, b))
}

/// `x` with `digits` decimals.
pub fn fixed(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

/// A markdown table: the header row, its alignment row, then one line per [`Table::row`].
pub struct Table;

impl Table {
    /// Prints the header of a table whose first column names the row (left-aligned) and
    /// whose other columns are numbers (right-aligned).
    pub fn header(columns: &[&str]) -> Table {
        println!("| {} |", columns.join(" | "));
        let align: Vec<&str> = columns.iter().skip(1).map(|_| "---:").collect();
        println!("|---|{}|", align.join("|"));
        Table
    }

    /// Prints one row of already formatted cells.
    pub fn row<S: AsRef<str>>(&self, cells: &[S]) {
        let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        println!("| {} |", cells.join(" | "));
    }
}

/// One result: a label and named figures. [`Row::print`] shows it when it is measured, as
/// `label: name value; ...`; [`table`] prints rows with the same columns as a markdown table
/// for the summary. Figures added with [`Row::note`] are on the printed line only.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub label: String,
    /// Name, value, and whether it is a column of the table.
    cells: Vec<(String, String, bool)>,
}

impl Row {
    pub fn new(label: impl Into<String>) -> Row {
        Row {
            label: label.into(),
            cells: Vec::new(),
        }
    }

    /// A column of the table.
    pub fn col(mut self, name: impl Into<String>, value: impl Display) -> Row {
        self.cells.push((name.into(), value.to_string(), true));
        self
    }

    /// A figure of the printed line only.
    pub fn note(mut self, name: impl Into<String>, value: impl Display) -> Row {
        self.cells.push((name.into(), value.to_string(), false));
        self
    }

    /// Columns `{prefix}p50 ms`, `{prefix}p99 ms`, `{prefix}max ms` as [`Latency::ms`] formats them.
    pub fn ms(self, prefix: &str, l: &Latency, digits: usize) -> Row {
        self.latency(prefix, l, 1.0, "ms", digits)
    }

    /// The same in µs, with 1 decimal.
    pub fn us(self, prefix: &str, l: &Latency) -> Row {
        self.latency(prefix, l, 1e-3, "µs", 1)
    }

    fn latency(self, prefix: &str, l: &Latency, scale: f64, unit: &str, digits: usize) -> Row {
        let [p50, p99, max] = l.cells(scale, digits);
        let row = self.col(format!("{prefix}p50 {unit}"), p50);
        row.col(format!("{prefix}p99 {unit}"), p99)
            .col(format!("{prefix}max {unit}"), max)
    }

    /// Prints `label: name value; ...`, wrapped at 100 characters.
    pub fn print(&self) {
        let mut line = format!("{}:", self.label);
        for (i, (name, value, _)) in self.cells.iter().enumerate() {
            let end = if i + 1 < self.cells.len() { ";" } else { "" };
            let cell = format!(" {name} {value}{end}");
            if line.len() + cell.len() > 100 && line.len() > 4 {
                println!("{line}");
                line = "   ".into();
            }
            line.push_str(&cell);
        }
        println!("{line}");
    }
}

/// Prints `rows` as a markdown table: `first` heads the labels, the columns of the first row
/// the rest (figures right-aligned).
pub fn table<'a>(first: &str, rows: impl IntoIterator<Item = &'a Row>) {
    let mut rows = rows.into_iter().peekable();
    let Some(head) = rows.peek() else { return };
    let columns = head.cells.iter().filter(|c| c.2).map(|c| c.0.as_str());
    let table = Table::header(&std::iter::once(first).chain(columns).collect::<Vec<_>>());
    for row in rows {
        let cells = row.cells.iter().filter(|c| c.2).map(|c| c.1.as_str());
        table.row(
            &std::iter::once(row.label.as_str())
                .chain(cells)
                .collect::<Vec<_>>(),
        );
    }
}

/// The markdown section the summaries start with.
pub fn summary_heading() {
    println!("\n## Summary (markdown)\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_within_a_thousandth() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(&v);
        assert!((l.p50_ms - 50.0).abs() <= 0.05, "{l:?}");
        assert!((l.p99_ms - 99.0).abs() <= 0.1, "{l:?}");
        assert_eq!(l.max_ms, 100.0);
        assert_eq!(Latency::of(&[]).max_ms, 0.0);
        assert_eq!(l.ms(3), "p50 50.004 ms, p99 99.025 ms, max 100.00 ms");
        let row = Row::new("x").col("n", 3).note("seen", "yes").us("", &l);
        let cells: Vec<&str> = row.cells.iter().map(|c| c.1.as_str()).collect();
        assert_eq!(cells, ["3", "yes", "50004.0", "99024.9", "100000.0"]);
    }
}
