//! Readers shared by the examples (`offline_eval`, `explain_user`): the
//! action log, the embedding matrix and item names. Every problem is one line
//! naming the file, the line and what is wrong.
#![allow(dead_code)] // each example uses some of them

use std::path::Path;

use ndarray::Array2;
use ndarray_npy::ReadNpyExt;
use pinnersage::eval::Log;

/// Reads a CSV `user,item,timestamp` (header required; `item` a row of the
/// embeddings, `items` rows in all), keeping the first `users` users if set.
pub fn read_actions(path: &Path, items: usize, users: Option<usize>) -> Result<Log, String> {
    let p = path.display();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| format!("{p}: cannot read: {e}"))?;
    let header = rdr
        .headers()
        .map_err(|e| format!("{p}: line 1: {e}"))?
        .clone();
    let names: Vec<&str> = header.iter().map(str::trim).collect();
    if names != ["user", "item", "timestamp"] {
        return Err(format!(
            "{p}: line 1: bad header {names:?}, expected user,item,timestamp"
        ));
    }
    let mut triples = Vec::new();
    let mut kept_users: Vec<u64> = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |q| q.line());
            format!("{p}: line {line}: {e}")
        })?;
        let line = rec.position().map_or(0, |q| q.line());
        let field = |i: usize, name: &str| -> Result<&str, String> {
            rec.get(i)
                .map(str::trim)
                .ok_or_else(|| format!("{p}: line {line}: missing {name}"))
        };
        let user: u64 = field(0, "user")?.parse().map_err(|_| {
            format!(
                "{p}: line {line}: user {:?} is not a non-negative integer",
                &rec[0]
            )
        })?;
        let item: usize = field(1, "item")?.parse().map_err(|_| {
            format!(
                "{p}: line {line}: item {:?} is not a non-negative integer",
                &rec[1]
            )
        })?;
        let ts: i64 = field(2, "timestamp")?.parse().map_err(|_| {
            format!(
                "{p}: line {line}: timestamp {:?} is not an integer",
                &rec[2]
            )
        })?;
        if item >= items {
            return Err(format!(
                "{p}: line {line}: item {item} is out of range (the embeddings have {items} rows)"
            ));
        }
        if let Some(n) = users {
            if !kept_users.contains(&user) {
                if kept_users.len() == n {
                    continue;
                }
                kept_users.push(user);
            }
        }
        triples.push((user, item, ts));
    }
    Log::from_triples(triples, items).map_err(|e| format!("{p}: {e}"))
}

/// Reads an `.npy` f32 or f64 2-D matrix as f64.
pub fn read_npy(path: &Path) -> Result<Array2<f64>, String> {
    let p = path.display();
    let open = || std::fs::File::open(path).map_err(|e| format!("{p}: cannot open: {e}"));
    match Array2::<f32>::read_npy(open()?) {
        Ok(x) => Ok(x.mapv(f64::from)),
        Err(e32) => Array2::<f64>::read_npy(open()?).map_err(|e64| {
            let (m32, m64) = (e32.to_string(), e64.to_string());
            if m32.contains("ndim") || m64.contains("ndim") {
                format!("{p}: dimension mismatch: a 2-D matrix (items x dim) is expected")
            } else {
                format!("{p}: unreadable .npy (f32 or f64 2-D expected): {m32}")
            }
        }),
    }
}

/// Reads item names from a CSV whose header has `item` first and a
/// `description` or `name` column (the online-retail `items.csv` is
/// `item,stock_code,description`): `names[i]` for item `i` of `items`, empty
/// where the file has none.
pub fn read_names(path: &Path, items: usize) -> Result<Vec<String>, String> {
    let p = path.display();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| format!("{p}: cannot read: {e}"))?;
    let header = rdr
        .headers()
        .map_err(|e| format!("{p}: line 1: {e}"))?
        .clone();
    let cols: Vec<&str> = header.iter().map(str::trim).collect();
    let name_col = cols
        .iter()
        .position(|c| *c == "description" || *c == "name");
    let name_col = match (cols.first(), name_col) {
        (Some(&"item"), Some(c)) => c,
        _ => {
            return Err(format!(
                "{p}: line 1: bad header {cols:?}, expected item first and a description or name column"
            ))
        }
    };
    let mut names = vec![String::new(); items];
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map_or(0, |q| q.line());
            format!("{p}: line {line}: {e}")
        })?;
        let line = rec.position().map_or(0, |q| q.line());
        let item: usize = rec
            .get(0)
            .map(str::trim)
            .unwrap_or("")
            .parse()
            .map_err(|_| {
                format!(
                    "{p}: line {line}: item {:?} is not a non-negative integer",
                    &rec[0]
                )
            })?;
        if item >= items {
            return Err(format!(
                "{p}: line {line}: item {item} is out of range (the embeddings have {items} rows)"
            ));
        }
        let name = rec
            .get(name_col)
            .ok_or_else(|| format!("{p}: line {line}: missing column {}", cols[name_col]))?;
        names[item] = name.trim().to_string();
    }
    Ok(names)
}
