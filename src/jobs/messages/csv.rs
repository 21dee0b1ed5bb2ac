//! The message list as CSV, for a filtered view of any size up to a cap: paged through the
//! same query by cursor, a batch at a time, so memory stays one batch whatever the export.
//! Quoting is RFC 4180's, done here (it is a few lines); a cell that a spreadsheet would run as
//! a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`,
//! so an order name or an error text a customer or platform chose cannot become one.

use std::io::Write;

use super::{MessageQuery, MessageRow, Messages};
use crate::jobs::StoreError;
use crate::platforms::unix_rfc3339;

/// Rows read per query.
pub const CSV_BATCH: u32 = 1000;

/// The most rows an export writes (see [`CsvSummary::capped`]).
pub const CSV_MAX_ROWS: usize = 100_000;

const HEADER: [&str; 14] = [
    "id",
    "created_at",
    "store",
    "order_id",
    "order",
    "first_name",
    "phone",
    "event",
    "template_id",
    "state",
    "reason",
    "attempts",
    "max_attempts",
    "run_at",
];

/// How an export ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvSummary {
    pub rows: usize,
    /// More rows matched than the cap: the file holds the newest `rows`.
    pub capped: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the CSV: {0}")]
    Io(#[from] std::io::Error),
}

/// An export in progress, chunk by chunk (for a streamed HTTP body): the header comes with the
/// first chunk, then one chunk per batch of rows.
#[derive(Debug, Clone)]
pub struct CsvExport {
    query: MessageQuery,
    cap: usize,
    rows: usize,
    capped: bool,
    started: bool,
    finished: bool,
}

impl CsvExport {
    /// The query's filters and scope; its cursor is where the export starts, its limit unused.
    pub fn new(query: &MessageQuery, cap: usize) -> Self {
        Self {
            query: MessageQuery {
                limit: CSV_BATCH,
                ..query.clone()
            },
            cap,
            rows: 0,
            capped: false,
            started: false,
            finished: false,
        }
    }

    /// The next chunk of CSV bytes, or `None` once everything (or the cap) is written.
    pub async fn next_chunk<M: Messages + ?Sized>(
        &mut self,
        messages: &M,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        if self.finished {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(256 * CSV_BATCH as usize);
        if !self.started {
            self.started = true;
            write_record(&mut out, HEADER.iter().map(|h| h.to_string()));
        }
        let left = self.cap - self.rows;
        if left == 0 {
            self.finished = true;
            return Ok(Some(out).filter(|o| !o.is_empty()));
        }
        self.query.limit = CSV_BATCH.min(left as u32);
        let page = messages.messages(&self.query).await?;
        for row in &page.rows {
            write_record(&mut out, cells(row));
        }
        self.rows += page.rows.len();
        match page.next_before_id {
            Some(next) if self.rows < self.cap => self.query.before_id = Some(next),
            Some(_) => {
                self.capped = true;
                self.finished = true;
            }
            None => self.finished = true,
        }
        Ok(Some(out))
    }

    pub fn summary(&self) -> CsvSummary {
        CsvSummary {
            rows: self.rows,
            capped: self.capped,
        }
    }
}

/// Writes the whole export of `query` (at most `cap` rows) to `out`.
pub async fn write_csv<M: Messages + ?Sized, W: Write>(
    messages: &M,
    query: &MessageQuery,
    cap: usize,
    out: &mut W,
) -> Result<CsvSummary, CsvError> {
    let mut export = CsvExport::new(query, cap);
    while let Some(chunk) = export.next_chunk(messages).await? {
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(export.summary())
}

fn cells(r: &MessageRow) -> [String; 14] {
    [
        r.id.to_string(),
        rfc3339_ms(r.created_at),
        r.store_id.clone(),
        r.order_id.clone(),
        r.order_name.clone(),
        r.first_name.clone(),
        r.phone.clone().unwrap_or_default(),
        r.event.to_string(),
        r.template_id.to_string(),
        r.state.to_string(),
        r.reason.clone().unwrap_or_default(),
        r.attempts.to_string(),
        r.max_attempts.to_string(),
        rfc3339_ms(r.run_at),
    ]
}

fn rfc3339_ms(ms: i64) -> String {
    let secs = unix_rfc3339(ms.div_euclid(1000));
    let secs = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{secs}.{:03}Z", ms.rem_euclid(1000))
}

fn write_record(out: &mut Vec<u8>, cells: impl IntoIterator<Item = String>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_cell(out, &cell);
    }
    out.extend_from_slice(b"\r\n");
}

/// One cell: a formula-looking one defused with a leading `'`, then quoted when it holds a
/// comma, a quote or a line break (quotes doubled).
fn write_cell(out: &mut Vec<u8>, cell: &str) {
    let defuse = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = cell.contains([',', '"', '\n', '\r']);
    if quote {
        out.push(b'"');
    }
    if defuse {
        out.push(b'\'');
    }
    for b in cell.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    if quote {
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(s: &str) -> String {
        let mut out = Vec::new();
        write_cell(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn cells_are_quoted_when_needed_and_formulas_defused() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+216•••••277"), "'+216•••••277");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell(""), "");
        assert_eq!(rfc3339_ms(1_796_244_917_123), "2026-12-02T20:55:17.123Z");
    }
}
