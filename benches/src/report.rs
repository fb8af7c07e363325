//! What every bench prints: latency summaries (percentiles from an HDR histogram),
//! ratios against a peer, and markdown tables.

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
        let mut max = Duration::ZERO;
        for &sample in samples {
            let ns = sample.as_nanos().try_into().unwrap_or(u64::MAX / 4);
            histogram
                .record(ns)
                .expect("an auto-resizing histogram records any duration");
            max = max.max(sample);
        }
        if histogram.is_empty() {
            return Latency::default();
        }
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1e6;
        Latency {
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            max_ms: max.as_secs_f64() * 1e3,
        }
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

/// A markdown table: the header row, its alignment row, then one line per [`Table::row`].
pub struct Table;

impl Table {
    /// Prints the header of a table whose first column names the row (left-aligned) and
    /// whose other columns are numbers (right-aligned).
    pub fn header(columns: &[&str]) -> Table {
        Table::print_header(columns, "---")
    }

    /// Prints the header of a table of numbers only (every column right-aligned).
    pub fn numbers(columns: &[&str]) -> Table {
        Table::print_header(columns, "---:")
    }

    fn print_header(columns: &[&str], first: &str) -> Table {
        println!("| {} |", columns.join(" | "));
        let align: Vec<&str> = (0..columns.len())
            .map(|i| if i == 0 { first } else { "---:" })
            .collect();
        println!("|{}|", align.join("|"));
        Table
    }

    /// Prints one row of already formatted cells.
    pub fn row<S: AsRef<str>>(&self, cells: &[S]) {
        let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        println!("| {} |", cells.join(" | "));
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
    }
}
