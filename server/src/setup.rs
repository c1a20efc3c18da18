//! From flags to a running configuration: the authentication mode and its guards, the
//! key-encryption key, the limits, and the checks that refuse to start a server that would not
//! be safe (a short or command-line JWT secret, `--dev` beside a secret or on a public address,
//! a key-encryption key that does not match the database).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fieldstream_server::backend::KeyService;
use fieldstream_server::config::MIN_SECRET_BYTES;
use fieldstream_server::kek::Kek;
use fieldstream_server::serve::ServeOptions;
use fieldstream_server::{AnyBackend, AuthMode, Config, JwtRules, Limits};

use crate::cli::{KeyArg, ServeArgs};

/// A reason not to start.
pub type Failure = Box<dyn std::error::Error>;

/// The environment variable that may hold the JWT secret itself.
const SECRET_ENV: &str = "FIELDSTREAM_JWT_SECRET";

/// The environment variable that may hold the key-encryption key itself.
const KEK_ENV: &str = "FIELDSTREAM_KEY_ENCRYPTION_KEY";

/// The JWT secret from `--jwt-secret-file` or the environment, if any.
fn jwt_secret(args: &ServeArgs) -> Result<Option<Vec<u8>>, Failure> {
    if args.jwt_secret.is_some() {
        return Err(
            "--jwt-secret on the command line is refused (every user of the machine can \
                    read it): use --jwt-secret-file or FIELDSTREAM_JWT_SECRET"
                .into(),
        );
    }
    let secret = match (&args.jwt_secret_file, std::env::var(SECRET_ENV)) {
        (Some(_), Ok(_)) => {
            return Err(
                "give the JWT secret once: --jwt-secret-file or FIELDSTREAM_JWT_SECRET".into(),
            );
        }
        (Some(path), Err(_)) => {
            let mut text = std::fs::read(path)
                .map_err(|error| format!("--jwt-secret-file {}: {error}", path.display()))?;
            if text.ends_with(b"\n") {
                text.pop();
                if text.ends_with(b"\r") {
                    text.pop();
                }
            }
            Some(text)
        }
        (None, Ok(text)) if !text.is_empty() => Some(text.into_bytes()),
        (None, _) => None,
    };
    if let Some(secret) = &secret
        && secret.len() < MIN_SECRET_BYTES
    {
        return Err(format!(
            "the JWT secret is {} bytes; it must be at least {MIN_SECRET_BYTES} (use a long random one)",
            secret.len()
        )
        .into());
    }
    Ok(secret)
}

/// The authentication mode, and whether requests must name a loopback host.
pub fn auth(args: &ServeArgs) -> Result<(AuthMode, bool), Failure> {
    let secret = jwt_secret(args)?;
    if args.dev {
        if secret.is_some() {
            return Err(
                "--dev turns authentication off; it is refused while a JWT secret is \
                        configured (--jwt-secret-file or FIELDSTREAM_JWT_SECRET)"
                    .into(),
            );
        }
        if !args.listen.ip().is_loopback() && !args.dev_allow_remote {
            return Err(format!(
                "--dev listens only on a loopback address, not {} (add --dev-allow-remote to \
                 serve other machines without authentication)",
                args.listen
            )
            .into());
        }
        tracing::warn!(
            "!!! --dev: AUTHENTICATION IS OFF. Every request is tenant \"dev\". Never use this in production. !!!"
        );
        eprintln!("\n  WARNING: fieldstream-server runs with --dev: authentication is OFF.\n");
        return Ok((AuthMode::Dev, !args.dev_allow_remote));
    }
    let Some(secret) = secret else {
        return Err(
            "set FIELDSTREAM_JWT_SECRET or --jwt-secret-file, or pass --dev for local \
                    development"
                .into(),
        );
    };
    let mut rules = JwtRules::new(secret);
    rules.issuer = args.jwt_issuer.clone();
    rules.audience = args.jwt_audience.clone();
    rules.max_lifetime = (args.max_token_lifetime_secs > 0)
        .then(|| Duration::from_secs(args.max_token_lifetime_secs));
    Ok((AuthMode::Jwt(rules), false))
}

/// The key-encryption key: `--key-file`, else FIELDSTREAM_KEY_ENCRYPTION_KEY, else (SQLite)
/// `<database>.key`, made on first start.
pub fn kek(key: &KeyArg, database: &str) -> Result<Kek, Failure> {
    let from_env = std::env::var(KEK_ENV).ok().filter(|text| !text.is_empty());
    match (&key.key_file, from_env) {
        (Some(_), Some(_)) => Err(
            "give the key-encryption key once: --key-file or FIELDSTREAM_KEY_ENCRYPTION_KEY".into(),
        ),
        (Some(path), None) => Ok(Kek::read(path)?),
        (None, Some(text)) => Ok(Kek::parse(&text).map_err(|error| format!("{KEK_ENV}: {error}"))?),
        (None, None) if AnyBackend::is_postgres(database) => Err(
            "PostgreSQL needs a key-encryption key: --key-file or FIELDSTREAM_KEY_ENCRYPTION_KEY \
             (the same for every process on the database)"
                .into(),
        ),
        (None, None) => match AnyBackend::sqlite_file(database) {
            None => Ok(Kek::random()),
            Some(file) => {
                let mut path = file.into_os_string();
                path.push(".key");
                let path = PathBuf::from(path);
                let (kek, made) = Kek::read_or_create(&path)?;
                if made {
                    tracing::info!(file = %path.display(), "made a new key-encryption key");
                }
                Ok(kek)
            }
        },
    }
}

/// Stores `kek`'s check value with a database that has none, or refuses a KEK that is not the
/// one the database's keys are sealed under.
pub async fn check_kek(backend: &AnyBackend, kek: &Kek) -> Result<(), Failure> {
    let check = match backend.kek_check().await? {
        Some(check) => check,
        None => backend.store_kek_check(&kek.check_value()).await?,
    };
    if kek.verifies(&check) {
        Ok(())
    } else {
        Err(
            "the key-encryption key is not the one this database's keys are sealed under \
             (check --key-file / FIELDSTREAM_KEY_ENCRYPTION_KEY)"
                .into(),
        )
    }
}

/// Moves the keys an older version kept in clear into the sealed table.
pub async fn migrate_plain_keys(backend: &AnyBackend, kek: &Kek) -> Result<(), Failure> {
    if let Some(moved) = backend.migrate_plain_keys(kek).await? {
        tracing::info!(moved, "sealed the keys an older version kept in clear");
    }
    Ok(())
}

/// The router's configuration.
pub fn config(args: &ServeArgs, auth: AuthMode, loopback_host_only: bool, kek: Kek) -> Config {
    Config {
        auth,
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_events_per_append: args.max_events_per_append,
            max_event_bytes: args.max_event_bytes,
            requests_per_second: args.rate_limit,
            unauthenticated_per_second: args.rate_limit_unauthenticated,
            max_read_bytes: args.max_read_bytes.max(1),
            max_subscriptions_per_subject: args.max_subscriptions_per_subject,
            max_subscriptions_per_tenant: args.max_subscriptions_per_tenant,
            body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
        },
        cors_origins: args.cors_origins.clone(),
        static_dir: args.static_dir.clone(),
        heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
        metrics_token: args.metrics_token.clone().filter(|token| !token.is_empty()),
        loopback_host_only,
        kek: Arc::new(kek),
    }
}

/// The connection limits; refused when the idle timeout would cut live subscriptions.
pub fn serve_options(args: &ServeArgs) -> Result<ServeOptions, Failure> {
    let heartbeat = args.heartbeat_secs.max(1);
    if args.idle_timeout_secs <= heartbeat {
        return Err(format!(
            "--idle-timeout-secs ({}) must exceed --heartbeat-secs ({heartbeat}), or idle \
             live subscriptions would be cut",
            args.idle_timeout_secs
        )
        .into());
    }
    Ok(ServeOptions {
        header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        max_connections: args.max_connections.max(1),
        max_header_bytes: args.max_header_bytes.max(8 * 1024),
        ..ServeOptions::default()
    })
}
