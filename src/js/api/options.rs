//! The options object of `open()`: checked whole before anything is opened, each error naming
//! the option at fault. An option that needs a cargo feature this module was built without
//! (`sync`, storage "remote"; `personal`: a secret, personal data) fails here with a
//! `ValidationError` naming it; so does `sql: ctx.storage`, storage "durable-object", without
//! the feature `sql`.

use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Function, Object};
use wasm_bindgen::{JsCast, JsValue};

use crate::core::projection::ProjectionOptions;
use crate::core::{ConflictRetry, Result, Upcasters};
use crate::js::domain::{JsAggregate, JsProjection, read_upcasters};
#[cfg(feature = "sql")]
use crate::js::durable_object::JsSqlConnection;
use crate::js::fields;
use crate::store::Durability;

/// Where a store keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Nothing persists.
    #[cfg(feature = "memory")]
    Memory,
    /// IndexedDB (browsers, dedicated workers).
    IndexedDb,
    /// The sync server's streams, read models in memory (edge workers, servers); needs `sync.url`.
    #[cfg(feature = "sync")]
    Remote,
    /// A Cloudflare Durable Object's SQLite storage; needs `sql` (its `ctx.storage`).
    #[cfg(feature = "sql")]
    DurableObject,
}

/// The `sync` option: the server to sync with.
#[cfg(feature = "sync")]
pub struct SyncOptions {
    /// The `fieldstream-server` base URL.
    pub url: String,
    /// `async ({ refresh }) => token`, asked before each request and again after a `401`.
    pub token: Option<Function>,
    /// Whether the sync driver follows the live feed (default true; it polls otherwise).
    pub live: bool,
    /// Events pushed per batch request.
    pub batch_size: usize,
    /// Milliseconds a request may take before it is sent again.
    pub timeout_ms: Option<u32>,
    /// The option object as the app gave it.
    pub raw: JsValue,
}

/// Everything `open()` was asked for.
pub struct StoreOptions {
    /// The database name.
    pub name: String,
    /// Where data lives.
    pub storage: Storage,
    /// IndexedDB commit durability.
    pub durability: Durability,
    /// `(salt) => Promise<Uint8Array>`: derives the key that seals the store at rest from the
    /// user's secret (made by the JS layer from `secret`) and the database's salt.
    pub derive_at_rest_key: Option<Function>,
    /// The aggregates.
    pub aggregates: Vec<JsAggregate>,
    /// The projections and how each runs.
    pub projections: Vec<(JsProjection, ProjectionOptions)>,
    /// The upcasters.
    pub upcasters: Upcasters,
    /// Sync, when configured.
    #[cfg(feature = "sync")]
    pub sync: Option<SyncOptions>,
    /// How commands are decided again after another writer committed first.
    pub conflict_retry: ConflictRetry,
    /// The Durable Object's storage, for storage "durable-object".
    #[cfg(feature = "sql")]
    pub sql: Option<JsSqlConnection>,
}

const OPTIONS: &[&str] = &[
    "name",
    "storage",
    "durability",
    "deriveAtRestKey",
    "aggregates",
    "projections",
    "upcasters",
    "sync",
    "conflictRetry",
    "sql",
];

/// Reads and checks the options of `open()`.
pub fn read(options: &JsValue) -> Result<StoreOptions> {
    let object = if options.is_undefined() || options.is_null() {
        Object::new()
    } else {
        fields::object(options, "options")?
    };
    fields::only(&object, OPTIONS, "options")?;
    let path = "options";
    let name = fields::optional_string(&object, "name", path)?.unwrap_or("fieldstream".into());
    if name.is_empty() {
        return Err(fields::invalid("options.name", "must not be empty"));
    }
    let storage = match fields::optional_string(&object, "storage", path)?.as_deref() {
        None if has_indexed_db() => Storage::IndexedDb,
        #[cfg(feature = "memory")]
        None | Some("memory") => Storage::Memory,
        #[cfg(not(feature = "memory"))]
        None | Some("memory") => {
            return Err(fields::missing_feature(
                "options.storage \"memory\"",
                "memory",
            ));
        }
        Some("indexeddb") => Storage::IndexedDb,
        #[cfg(feature = "sync")]
        Some("remote") => Storage::Remote,
        #[cfg(not(feature = "sync"))]
        Some("remote") => {
            return Err(fields::missing_feature(
                "options.storage \"remote\"",
                "sync",
            ));
        }
        #[cfg(feature = "sql")]
        Some("durable-object") => Storage::DurableObject,
        #[cfg(not(feature = "sql"))]
        Some("durable-object") => {
            return Err(fields::missing_feature(
                "options.storage \"durable-object\"",
                "sql",
            ));
        }
        Some(other) => {
            return Err(fields::invalid(
                "options.storage",
                format!(
                    "must be \"indexeddb\", \"memory\", \"remote\" or \"durable-object\", \
                     not {other:?}"
                ),
            ));
        }
    };
    let durability = match fields::optional_string(&object, "durability", path)?.as_deref() {
        None | Some("relaxed") => Durability::Relaxed,
        Some("strict") => Durability::Strict,
        Some(_) => {
            return Err(fields::invalid(
                "options.durability",
                "must be \"relaxed\" or \"strict\"",
            ));
        }
    };
    let derive_at_rest_key = match fields::get(&object, "deriveAtRestKey") {
        None => None,
        #[cfg(not(feature = "personal"))]
        Some(_) => return Err(fields::missing_feature("options.secret", "personal")),
        #[cfg(feature = "personal")]
        Some(value) => {
            let derive = value
                .dyn_into::<Function>()
                .map_err(|_| fields::invalid("options.deriveAtRestKey", "must be a function"))?;
            if storage != Storage::IndexedDb {
                return Err(fields::invalid(
                    "options.secret",
                    "seals the IndexedDB store at rest: it needs storage \"indexeddb\"",
                ));
            }
            Some(derive)
        }
    };
    let (upcasters, versions) = read_upcasters(fields::get(&object, "upcasters"))?;
    let versions = Rc::new(versions);
    let mut aggregates = Vec::new();
    for (name, definition) in entries(&object, "aggregates")? {
        aggregates.push(JsAggregate::from_definition(
            &name,
            &definition,
            versions.clone(),
        )?);
    }
    let mut projections = Vec::new();
    for (name, definition) in entries(&object, "projections")? {
        projections.push(JsProjection::from_definition(&name, &definition)?);
    }
    #[cfg(feature = "sync")]
    let sync = fields::get(&object, "sync")
        .map(|value| read_sync(&value))
        .transpose()?;
    #[cfg(feature = "sync")]
    if storage == Storage::Remote && sync.is_none() {
        return Err(fields::invalid(
            "options.storage",
            "\"remote\" needs options.sync.url: the server whose streams it reads and appends to",
        ));
    }
    #[cfg(not(feature = "sync"))]
    if fields::get(&object, "sync").is_some() {
        return Err(fields::missing_feature("options.sync", "sync"));
    }
    #[cfg(feature = "sql")]
    let sql = read_sql(&object, storage)?;
    #[cfg(not(feature = "sql"))]
    if fields::get(&object, "sql").is_some() {
        return Err(fields::missing_feature("options.sql", "sql"));
    }
    Ok(StoreOptions {
        name,
        storage,
        durability,
        derive_at_rest_key,
        aggregates,
        projections,
        upcasters,
        #[cfg(feature = "sync")]
        sync,
        conflict_retry: read_conflict_retry(fields::get(&object, "conflictRetry"))?,
        #[cfg(feature = "sql")]
        sql,
    })
}

/// The `sql` option: the Durable Object's `ctx.storage`, given exactly with storage
/// "durable-object" (which does not sync yet).
#[cfg(feature = "sql")]
fn read_sql(object: &Object, storage: Storage) -> Result<Option<JsSqlConnection>> {
    let value = fields::get(object, "sql");
    if storage != Storage::DurableObject {
        return match value {
            Some(_) => Err(fields::invalid(
                "options.sql",
                "is the storage of storage \"durable-object\", which was not asked for",
            )),
            None => Ok(None),
        };
    }
    let Some(value) = value else {
        return Err(fields::invalid(
            "options.storage",
            "\"durable-object\" needs options.sql: the Durable Object's ctx.storage",
        ));
    };
    if fields::get(object, "sync").is_some() {
        return Err(fields::invalid(
            "options.sync",
            "is not supported with storage \"durable-object\" yet",
        ));
    }
    JsSqlConnection::new(&value, "options.sql").map(Some)
}

/// The `conflictRetry` option: `{ maxMs, baseMs, maxDelayMs }`, each optional.
fn read_conflict_retry(value: Option<JsValue>) -> Result<ConflictRetry> {
    let defaults = ConflictRetry::default();
    let Some(value) = value else {
        return Ok(defaults);
    };
    let path = "options.conflictRetry";
    let object = fields::object(&value, path)?;
    fields::only(&object, &["maxMs", "baseMs", "maxDelayMs"], path)?;
    let max_ms = fields::optional_integer(&object, "maxMs", path, 0, 600_000)?;
    let base_ms = fields::optional_integer(&object, "baseMs", path, 0, 60_000)?;
    let max_delay_ms = fields::optional_integer(&object, "maxDelayMs", path, 0, 600_000)?;
    let base_ms = base_ms.unwrap_or(defaults.base_ms);
    Ok(ConflictRetry {
        base_ms,
        max_delay_ms: max_delay_ms.unwrap_or(defaults.max_delay_ms.max(base_ms)),
        max_ms: max_ms.unwrap_or(defaults.max_ms),
        ..defaults
    })
}

/// The at-rest key `derive` (the JS layer's PBKDF2 over the user's secret) makes from `salt`;
/// awaited outside any IndexedDB transaction.
pub async fn derive_key(derive: &Function, salt: &[u8]) -> Result<[u8; 32]> {
    let salt = js_sys::Uint8Array::from(salt);
    let promise = derive
        .call1(&JsValue::UNDEFINED, &salt)
        .and_then(|value| value.dyn_into::<js_sys::Promise>())
        .map_err(|_| fields::invalid("options.secret", "could not be turned into a key"))?;
    let bits = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|error| {
            crate::core::Error::Crypto(crate::platform::held::detail(
                "deriving the at-rest key failed",
                error,
            ))
        })?;
    js_sys::Uint8Array::new(&bits)
        .to_vec()
        .try_into()
        .map_err(|_| fields::invalid("options.secret", "did not derive a 256-bit key"))
}

/// The `(name, definition)` pairs of a plain-object option such as `aggregates`.
fn entries(object: &Object, key: &str) -> Result<Vec<(String, JsValue)>> {
    let Some(value) = fields::get(object, key) else {
        return Ok(Vec::new());
    };
    let map = fields::object(&value, &format!("options.{key}"))?;
    Ok(fields::keys(&map)
        .into_iter()
        .map(|name| {
            let definition = fields::get(&map, &name).unwrap_or(JsValue::UNDEFINED);
            (name, definition)
        })
        .collect())
}

/// The sync driver's first retry delay after a failed round when `retryMs` is not given (the
/// default of `js/sync.js`).
#[cfg(feature = "sync")]
const DEFAULT_RETRY_MS: u64 = 1_000;

#[cfg(feature = "sync")]
fn read_sync(value: &JsValue) -> Result<SyncOptions> {
    let path = "options.sync";
    let object = fields::object(value, path)?;
    fields::only(
        &object,
        &[
            "url",
            "token",
            "live",
            "auto",
            "batchSize",
            "pollMs",
            "retryMs",
            "maxRetryMs",
            "timeoutMs",
        ],
        path,
    )?;
    // Read by the sync driver of the JS layer; checked here with everything else.
    fields::optional_integer(&object, "pollMs", path, 10, 86_400_000)?;
    fields::optional_bool(&object, "auto", path)?;
    let retry_ms = fields::optional_integer(&object, "retryMs", path, 10, 3_600_000)?;
    let max_retry_ms = fields::optional_integer(&object, "maxRetryMs", path, 10, 86_400_000)?;
    if let Some(max_retry_ms) = max_retry_ms {
        let retry_ms = retry_ms.unwrap_or(DEFAULT_RETRY_MS);
        if max_retry_ms < retry_ms {
            return Err(fields::invalid(
                "options.sync.maxRetryMs",
                format!("must be at least retryMs ({retry_ms})"),
            ));
        }
    }
    let url = fields::optional_string(&object, "url", path)?
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .ok_or_else(|| fields::invalid("options.sync.url", "must be an http(s) URL"))?;
    Ok(SyncOptions {
        url,
        token: fields::optional_function(&object, "token", path)?,
        live: fields::optional_bool(&object, "live", path)?.unwrap_or(true),
        batch_size: fields::optional_integer(&object, "batchSize", path, 1, 10_000)?.unwrap_or(100)
            as usize,
        timeout_ms: fields::optional_integer(&object, "timeoutMs", path, 1, 600_000)?
            .map(|ms| ms as u32),
        raw: value.clone(),
    })
}

/// Whether this runtime has IndexedDB (`globalThis.indexedDB`).
fn has_indexed_db() -> bool {
    fields::get(&js_sys::global(), "indexedDB").is_some_and(|db| !db.is_null())
}

/// Read model name → its declared indexes.
pub type ProjectionIndexes = HashMap<String, Vec<String>>;
