//! CSV exports that a spreadsheet opens as data: a cell starting with `=`,
//! `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`, so no
//! agent's output or model name runs as a formula (CWE-1236).

/// CSV text of `rows` under `header`.
pub fn to_csv(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(header);
    for row in rows {
        let _ = writer.write_record(row.iter().map(|cell| spreadsheet_safe(cell).into_owned()));
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if cell.parse::<f64>().is_err() => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// The usage table as CSV: what the console's "Export CSV" downloads.
pub fn usage_csv(usage: &crate::Usage) -> String {
    let header = [
        usage.by.as_str(),
        "runs",
        "errors",
        "tokens_in",
        "tokens_out",
        "cost_usd",
        "latency_p50_ms",
        "latency_p95_ms",
        "findings",
        "edits",
        "accepted",
        "cost_per_accepted_usd",
    ];
    let number = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_default();
    let rows = usage.rows.iter().map(|r| {
        vec![
            r.key.clone(),
            r.runs.to_string(),
            r.errors.to_string(),
            r.tokens_in.to_string(),
            r.tokens_out.to_string(),
            format!("{:.6}", r.cost_usd),
            number(r.latency_p50_ms),
            number(r.latency_p95_ms),
            r.findings.to_string(),
            r.edits.to_string(),
            r.accepted.to_string(),
            r.cost_per_accepted.map(|v| format!("{v:.6}")).unwrap_or_default(),
        ]
    });
    to_csv(&header, rows)
}
