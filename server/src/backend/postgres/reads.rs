//! The PostgreSQL backend's reads. A page is read in two steps: the positions (or versions) and
//! sizes of up to `limit` events, then the events that fit the byte budget, so that a page of
//! large events is never loaded whole.

use fieldstream::core::StreamId;
use fieldstream::protocol::ServerEvent;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::event_from_row;
use crate::backend::rows::{COLUMNS, SIZE, fitting, signed, unsigned};
use crate::backend::{ExportedEvent, LogPage, PageSize, StoreError};
use crate::grants::{Grant, push_filter};

/// The version of `stream` (0 when it has no events).
pub(super) async fn stream_version(
    connection: &mut PgConnection,
    tenant: &str,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let current: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM fieldstream_events \
         WHERE tenant = $1 AND stream = $2",
    )
    .bind(tenant.to_owned())
    .bind(stream.to_string())
    .fetch_one(&mut *connection)
    .await?;
    unsigned(current, "version")
}

/// One page of `stream` from version `from`.
pub(super) async fn stream_page(
    connection: &mut PgConnection,
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
    let sizes: Vec<(i64, i64)> = sizes
        .iter()
        .map(|row| Ok((row.try_get("version")?, row.try_get("size")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let fit = fitting(
        &sizes.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        page.max_bytes,
    );
    let Some((last, _)) = sizes.get(fit.wrapping_sub(1)).copied() else {
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
    rows.iter().map(event_from_row).collect()
}

/// `WHERE tenant = ? AND position > ? [AND <granted>]` for the log reads.
fn log_filter(
    query: &mut QueryBuilder<Postgres>,
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

/// One page of the tenant's log after `after`, restricted to the granted streams.
pub(super) async fn log_page(
    connection: &mut PgConnection,
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
        QueryBuilder::<Postgres>::new(format!("SELECT position, {SIZE} FROM fieldstream_events"));
    log_filter(&mut query, tenant, after, grants)?;
    query
        .push(" ORDER BY position LIMIT ")
        .push_bind(i64::from(page.limit));
    let sizes: Vec<(i64, i64)> = query
        .build()
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| Ok((row.try_get("position")?, row.try_get("size")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let fit = fitting(
        &sizes.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        page.max_bytes,
    );
    let exhausted = fit == sizes.len() && sizes.len() < page.limit as usize;
    let Some((last, _)) = sizes.get(fit.wrapping_sub(1)).copied() else {
        return Ok(LogPage {
            events: Vec::new(),
            exhausted,
        });
    };
    let mut query =
        QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM fieldstream_events"));
    log_filter(&mut query, tenant, after, grants)?;
    query
        .push(" AND position <= ")
        .push_bind(last)
        .push(" ORDER BY position");
    let rows = query.build().fetch_all(&mut *connection).await?;
    Ok(LogPage {
        events: rows.iter().map(event_from_row).collect::<Result<_, _>>()?,
        exhausted,
    })
}

/// The newest position of the granted streams.
pub(super) async fn readable_head(
    connection: &mut PgConnection,
    tenant: &str,
    grants: &[Grant],
) -> Result<u64, StoreError> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT COALESCE(MAX(position), 0)::BIGINT FROM fieldstream_events",
    );
    log_filter(&mut query, tenant, 0, Some(grants))?;
    let head: i64 = query
        .build_query_scalar()
        .fetch_one(&mut *connection)
        .await?;
    unsigned(head, "position")
}

/// Up to `limit` events ordered by tenant, then position, strictly after `after`.
pub(super) async fn export_page(
    connection: &mut PgConnection,
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
                event: event_from_row(row)?,
            })
        })
        .collect()
}
