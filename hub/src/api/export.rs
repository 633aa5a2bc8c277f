//! Exports for spreadsheets and BI tools: `format=csv` or JSON, and CSV whose
//! cells a spreadsheet will not run as formulas.

use axum::{
    http::header,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Whether `format` asks for CSV (`json` or nothing: JSON).
pub fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(ApiError::Invalid(format!("format {other:?} is not json or csv"))),
    }
}

/// A cell a spreadsheet will not run as a formula (OWASP's CSV injection
/// advice: a leading `=`, `+`, `-`, `@`, tab or carriage return is quoted).
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell.to_owned() }
}

/// `header` and `rows` as a CSV download, every cell made spreadsheet-safe.
pub fn csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Response {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut ok = out.write_record(header).is_ok();
    for row in rows {
        ok &= out.write_record(row.iter().map(|cell| spreadsheet_safe(cell))).is_ok();
    }
    if !ok {
        tracing::error!("writing a CSV export failed");
    }
    let body = out.into_inner().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formulas_are_quoted_and_other_cells_kept() {
        assert_eq!(super::spreadsheet_safe("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(super::spreadsheet_safe("@cmd"), "'@cmd");
        assert_eq!(super::spreadsheet_safe("sherlock"), "sherlock");
        assert!(super::wants_csv(Some("xml")).is_err());
    }
}
