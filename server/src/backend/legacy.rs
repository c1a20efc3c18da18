//! Databases made before keys were sealed hold them in clear, in `fieldstream_subject_keys`.
//! The first start with a key-encryption key moves them, in one transaction: each key sealed
//! into `fieldstream_keys` (numbered in key-id order, the order they were listed in), noted as
//! used in every stream whose events hold values sealed with it, and the old table dropped.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use super::StoreError;
use super::key_tables::KeyTables;
use crate::kek::Kek;

/// The table of keys in clear.
pub const LEGACY_TABLE: &str = "fieldstream_subject_keys";

/// Moves the keys of [`LEGACY_TABLE`] on database `DB`.
pub struct LegacyKeys<DB>(PhantomData<DB>);

/// The subject and key id of every sealed value in `value`.
fn sealed_uses(value: &Value, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            if let (Some(_), Some(Value::String(subject)), Some(Value::String(key_id))) =
                (fields.get("$enc"), fields.get("k"), fields.get("i"))
            {
                found.push((subject.clone(), key_id.clone()));
            }
            fields.values().for_each(|inner| sealed_uses(inner, found));
        }
        Value::Array(items) => items.iter().for_each(|inner| sealed_uses(inner, found)),
        _ => {}
    }
}

impl<DB> LegacyKeys<DB>
where
    DB: Database,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// Moves the keys in clear, if `exists` (a query counting the legacy table) finds the table;
    /// how many were moved. Runs inside the caller's serialised write transaction.
    pub async fn migrate(
        tx: &mut DB::Connection,
        exists: &'static str,
        kek: &Kek,
    ) -> Result<Option<u64>, StoreError> {
        let tables: i64 = sqlx::query_scalar(exists).fetch_one(&mut *tx).await?;
        if tables == 0 {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT tenant, subject, key_id, key FROM fieldstream_subject_keys \
             ORDER BY tenant, subject, key_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let (mut last, mut seq) = (None::<(String, String)>, 0i64);
        for row in &rows {
            let (tenant, subject): (String, String) =
                (row.try_get("tenant")?, row.try_get("subject")?);
            let (key_id, key): (String, String) = (row.try_get("key_id")?, row.try_get("key")?);
            let place = Some((tenant.clone(), subject.clone()));
            seq = if last == place { seq + 1 } else { 1 };
            last = place;
            sqlx::query(
                "INSERT INTO fieldstream_keys (tenant, subject, key_id, seq, sealed, fingerprint) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(tenant.as_str())
            .bind(subject.as_str())
            .bind(key_id.as_str())
            .bind(seq)
            .bind(kek.seal_key(&tenant, &subject, &key_id, &key))
            .bind(kek.fingerprint(&tenant, &subject, &key_id, &key))
            .execute(&mut *tx)
            .await?;
        }
        let mut uses = BTreeSet::new();
        {
            let mut events = sqlx::query(
                "SELECT tenant, stream, data FROM fieldstream_events WHERE data LIKE '%\"$enc\"%'",
            )
            .fetch(&mut *tx);
            while let Some(row) = events.try_next().await? {
                let data: String = row.try_get("data")?;
                let Ok(data) = serde_json::from_str::<Value>(&data) else {
                    continue;
                };
                let mut found = Vec::new();
                sealed_uses(&data, &mut found);
                let (tenant, stream): (String, String) =
                    (row.try_get("tenant")?, row.try_get("stream")?);
                for (subject, key_id) in found {
                    uses.insert((tenant.clone(), subject, key_id, stream.clone()));
                }
            }
        }
        for (tenant, subject, key_id, stream) in uses {
            KeyTables::<DB>::note_use(tx, &tenant, &subject, &key_id, &stream).await?;
        }
        sqlx::query("DROP TABLE fieldstream_subject_keys")
            .execute(&mut *tx)
            .await?;
        Ok(Some(rows.len() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_are_found_at_any_depth() {
        let data = serde_json::json!({"name": {"$enc": "v1", "k": "c1", "i": "k1", "n": "", "c": ""},
                                      "list": [{"x": {"$enc": "v1", "k": "c2", "i": "k2"}}], "k": "plain"});
        let mut found = Vec::new();
        sealed_uses(&data, &mut found);
        found.sort();
        assert_eq!(
            found,
            [("c1".into(), "k1".into()), ("c2".into(), "k2".into())]
        );
    }
}
