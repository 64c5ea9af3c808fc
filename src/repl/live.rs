//! `:live KIND [filter]`: live resources from AWS as a table.

pub use crate::engine::ops::{kinds, list};
pub use crate::providers::Row;

pub fn table(kind: &str, rows: &[Row]) -> String {
    if rows.is_empty() {
        return format!("no {kind} found");
    }
    let w_id = rows.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    let w_name = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let w_det = rows
        .iter()
        .map(|r| r.details.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<w_id$}  {:<w_name$}  {:<w_det$}  OWNER\n",
        "ID", "NAME", "DETAILS"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<w_id$}  {:<w_name$}  {:<w_det$}  {}\n",
            r.id,
            r.name,
            r.details,
            r.owner.as_deref().unwrap_or("-")
        ));
    }
    out.push_str(&format!("{} {kind}", rows.len()));
    out
}
