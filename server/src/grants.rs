//! Stream grants: what a token's `streams` claim allows. Each entry is either an exact stream id
//! (`Order-1` grants `Order-1` and nothing else) or an explicit wildcard, a stream-id prefix
//! followed by `*` (`Order-*` grants every stream whose id starts with `Order-`; `*` alone grants
//! every stream). Anything else makes the token invalid.

use fieldstream::core::StreamId;
use sqlx::{Database, Encode, QueryBuilder, Type};

/// One entry of a `streams` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// Exactly this stream.
    Stream(String),
    /// Every stream whose id starts with this text.
    Prefix(String),
}

impl Grant {
    /// Parses one `streams` entry.
    pub fn parse(entry: &str) -> Result<Self, String> {
        match entry.strip_suffix('*') {
            Some(prefix) if prefix.contains('*') => Err(format!(
                "streams entry {entry:?}: `*` may only end an entry"
            )),
            Some("") => Ok(Grant::Prefix(String::new())),
            Some(prefix) => StreamId::parse(prefix)
                .map(|_| Grant::Prefix(prefix.to_owned()))
                .map_err(|_| format!("streams entry {entry:?}: not a stream-id prefix")),
            None => StreamId::parse(entry)
                .map(|_| Grant::Stream(entry.to_owned()))
                .map_err(|_| format!("streams entry {entry:?}: not a stream id")),
        }
    }

    /// Whether this entry grants `stream`.
    pub fn allows(&self, stream: &str) -> bool {
        match self {
            Grant::Stream(exact) => exact == stream,
            Grant::Prefix(prefix) => stream.starts_with(prefix.as_str()),
        }
    }
}

/// The streams a caller may read and write in its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants(Option<Vec<Grant>>);

impl Grants {
    /// Every stream of the tenant (no `streams` claim, or an entry `*`).
    pub fn all() -> Self {
        Grants(None)
    }

    /// The grants of a `streams` claim (`None`: the claim is absent).
    pub fn from_claim(claim: Option<&[String]>) -> Result<Self, String> {
        let Some(entries) = claim else {
            return Ok(Grants::all());
        };
        let grants = entries
            .iter()
            .map(|entry| Grant::parse(entry))
            .collect::<Result<Vec<_>, _>>()?;
        if grants.contains(&Grant::Prefix(String::new())) {
            return Ok(Grants::all());
        }
        Ok(Grants(Some(grants)))
    }

    /// Only these entries.
    pub fn only(grants: Vec<Grant>) -> Self {
        Grants(Some(grants))
    }

    /// The entries when the caller is restricted; `None` when it may touch every stream.
    pub fn restricted(&self) -> Option<&[Grant]> {
        self.0.as_deref()
    }

    /// Whether the caller may touch every stream of its tenant.
    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// Whether the caller may touch `stream`.
    pub fn allows(&self, stream: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|grants| grants.iter().any(|grant| grant.allows(stream)))
    }
}

/// Appends to `query` a condition that `column` names a granted stream: `(col = $1 OR
/// substr(col, 1, 6) = $2 …)`, or `FALSE` for no entry. Valid SQL on SQLite and PostgreSQL;
/// stream ids are ASCII, so `substr` counts bytes and characters alike.
pub fn push_filter<DB>(query: &mut QueryBuilder<DB>, column: &str, grants: &[Grant])
where
    DB: Database,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    if grants.is_empty() {
        query.push("(1 = 0)");
        return;
    }
    query.push("(");
    for (index, grant) in grants.iter().enumerate() {
        if index > 0 {
            query.push(" OR ");
        }
        match grant {
            Grant::Stream(stream) => {
                query.push(format!("{column} = ")).push_bind(stream.clone());
            }
            Grant::Prefix(prefix) => {
                // The length is a number computed here, never text from the token.
                query
                    .push(format!("substr({column}, 1, {}) = ", prefix.len()))
                    .push_bind(prefix.clone());
            }
        }
    }
    query.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(entries: &[&str]) -> Result<Grants, String> {
        let entries: Vec<String> = entries.iter().map(|e| e.to_string()).collect();
        Grants::from_claim(Some(&entries))
    }

    #[test]
    fn an_entry_is_exact_or_an_explicit_wildcard() {
        let exact = grants(&["Order-1"]).unwrap();
        assert!(exact.allows("Order-1"));
        for other in ["Order-10", "Order-123", "Order-1@x", "Order-", "order-1"] {
            assert!(!exact.allows(other), "{other}");
        }
        let wildcard = grants(&["Order-1*"]).unwrap();
        assert!(wildcard.allows("Order-1") && wildcard.allows("Order-10"));
        assert!(!wildcard.allows("Order-2"));
        assert!(grants(&["*"]).unwrap().is_all());
        assert!(grants(&[]).unwrap().restricted() == Some(&[][..]));
        for bad in ["Or*der", "**", "Order-*-x", "-x*", "a b", ""] {
            assert!(grants(&[bad]).is_err(), "{bad}");
        }
    }
}
