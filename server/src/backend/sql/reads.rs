//! The reads of both databases. A page is read in two steps: the positions (or versions) and
//! sizes of up to `limit` events, then the events that fit the byte budget, so that a page of
//! large events is never loaded whole.

use std::marker::PhantomData;

use fieldstream::core::StreamId;
use fieldstream::protocol::ServerEvent;
use sqlx::{ColumnIndex, Decode, Encode, Executor, IntoArguments, Pool, QueryBuilder, Row, Type};

use super::SqlDialect;
use super::events::EventRows;
use crate::backend::rows::{COLUMNS, SIZE, fitting, signed, unsigned};
use crate::backend::{ExportedEvent, LogPage, PageSize, StoreError};
use crate::grants::{Grant, push_filter};

/// The reads on database `DB`.
pub struct Reads<DB>(PhantomData<DB>);

impl<DB> Reads<DB>
where
    DB: SqlDialect,
    for<'e> &'e mut DB::Connection: Executor<'e, Database = DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'a> &'a str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
    DB::Arguments: IntoArguments<DB>,
{
    /// The version of `stream` (0 when it has no events).
    pub async fn stream_version(
        connection: &mut DB::Connection,
        tenant: &str,
        stream: &StreamId,
    ) -> Result<u64, StoreError> {
        let current: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM fieldstream_events \
             WHERE tenant = $1 AND stream = $2",
        )
        .bind(tenant.to_owned())
        .bind(stream.to_string())
        .fetch_one(&mut *connection)
        .await?;
        unsigned(current, "version")
    }

    /// One page of `stream` from version `from`.
    pub async fn stream_page(
        connection: &mut DB::Connection,
        tenant: &str,
        stream: &StreamId,
        from: u64,
        page: PageSize,
    ) -> Result<Vec<ServerEvent>, StoreError> {
        let sql = format!(
            "SELECT version, {SIZE} FROM fieldstream_events WHERE tenant = $1 AND stream = $2 \
             AND version >= $3 ORDER BY version LIMIT $4"
        );
        let sizes = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_owned())
            .bind(stream.to_string())
            .bind(signed(from)?)
            .bind(i64::from(page.limit))
            .fetch_all(&mut *connection)
            .await?;
        let sizes = Self::sizes(&sizes, "version")?;
        let Some(last) = Self::last_fitting(&sizes, page).1 else {
            return Ok(Vec::new());
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM fieldstream_events WHERE tenant = $1 AND stream = $2 \
             AND version >= $3 AND version <= $4 ORDER BY version"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_owned())
            .bind(stream.to_string())
            .bind(signed(from)?)
            .bind(last)
            .fetch_all(&mut *connection)
            .await?;
        rows.iter().map(EventRows::<DB>::decode).collect()
    }

    /// One page of the tenant's log after `after`, restricted to the granted streams.
    pub async fn log_page(
        connection: &mut DB::Connection,
        tenant: &str,
        after: u64,
        page: PageSize,
        grants: Option<&[Grant]>,
    ) -> Result<LogPage, StoreError> {
        if grants.is_some_and(<[Grant]>::is_empty) {
            return Ok(LogPage {
                events: Vec::new(),
                exhausted: true,
            });
        }
        let mut query =
            QueryBuilder::<DB>::new(format!("SELECT position, {SIZE} FROM fieldstream_events"));
        Self::log_filter(&mut query, tenant, after, grants)?;
        query
            .push(" ORDER BY position LIMIT ")
            .push_bind(i64::from(page.limit));
        let rows = query.build().fetch_all(&mut *connection).await?;
        let sizes = Self::sizes(&rows, "position")?;
        let (fit, last) = Self::last_fitting(&sizes, page);
        let exhausted = fit == sizes.len() && sizes.len() < page.limit as usize;
        let Some(last) = last else {
            return Ok(LogPage {
                events: Vec::new(),
                exhausted,
            });
        };
        let mut query =
            QueryBuilder::<DB>::new(format!("SELECT {COLUMNS} FROM fieldstream_events"));
        Self::log_filter(&mut query, tenant, after, grants)?;
        query
            .push(" AND position <= ")
            .push_bind(last)
            .push(" ORDER BY position");
        let rows = query.build().fetch_all(&mut *connection).await?;
        Ok(LogPage {
            events: rows
                .iter()
                .map(EventRows::<DB>::decode)
                .collect::<Result<_, _>>()?,
            exhausted,
        })
    }

    /// The newest position of the granted streams.
    pub async fn readable_head(
        connection: &mut DB::Connection,
        tenant: &str,
        grants: &[Grant],
    ) -> Result<u64, StoreError> {
        let mut query = QueryBuilder::<DB>::new(
            "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM fieldstream_events",
        );
        Self::log_filter(&mut query, tenant, 0, Some(grants))?;
        let head: i64 = query
            .build_query_scalar()
            .fetch_one(&mut *connection)
            .await?;
        unsigned(head, "position")
    }

    /// The newest position of `tenant` as its head row holds it; 0 when it has no events.
    pub async fn head(pool: &Pool<DB>, tenant: &str) -> Result<u64, StoreError> {
        let head: Option<i64> =
            sqlx::query_scalar("SELECT position FROM fieldstream_heads WHERE tenant = $1")
                .bind(tenant.to_owned())
                .fetch_optional(pool)
                .await?;
        unsigned(head.unwrap_or(0), "position")
    }

    /// How many events the database holds, all tenants together.
    pub async fn count_events(pool: &Pool<DB>) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM fieldstream_events")
            .fetch_one(pool)
            .await?;
        unsigned(count, "count")
    }

    /// Up to `limit` events ordered by tenant, then position, strictly after `after`.
    pub async fn export_page(
        connection: &mut DB::Connection,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<ExportedEvent>, StoreError> {
        let (tenant, position) = after.unwrap_or(("", 0));
        let sql = format!(
            "SELECT tenant, {COLUMNS} FROM fieldstream_events \
             WHERE (tenant, position) > ($1, $2) ORDER BY tenant, position LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant.to_owned())
            .bind(signed(position)?)
            .bind(i64::from(limit))
            .fetch_all(&mut *connection)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(ExportedEvent {
                    tenant: row.try_get("tenant")?,
                    event: EventRows::<DB>::decode(row)?,
                })
            })
            .collect()
    }

    /// `WHERE tenant = ? AND position > ? [AND <granted>]` for the log reads.
    fn log_filter(
        query: &mut QueryBuilder<DB>,
        tenant: &str,
        after: u64,
        grants: Option<&[Grant]>,
    ) -> Result<(), StoreError> {
        query
            .push(" WHERE tenant = ")
            .push_bind(tenant.to_owned())
            .push(" AND position > ")
            .push_bind(signed(after)?);
        if let Some(grants) = grants {
            query.push(" AND ");
            push_filter(query, "stream", grants);
        }
        Ok(())
    }

    /// The order key (`version` or `position`) and size of each row of a page's first step.
    fn sizes(rows: &[DB::Row], key: &str) -> Result<Vec<(i64, i64)>, StoreError> {
        Ok(rows
            .iter()
            .map(|row| Ok((row.try_get(key)?, row.try_get("size")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// How many rows of `sizes` the page holds, and the order key of its last one (`None`:
    /// the page is empty).
    fn last_fitting(sizes: &[(i64, i64)], page: PageSize) -> (usize, Option<i64>) {
        let fit = fitting(
            &sizes.iter().map(|(_, size)| *size).collect::<Vec<_>>(),
            page.max_bytes,
        );
        (fit, sizes.get(fit.wrapping_sub(1)).map(|(key, _)| *key))
    }
}
