//! What the binary refuses to start with, and what it sets up when it starts: JWT secrets only
//! from a file or the environment and at least 32 bytes; `--dev` never beside a secret nor on
//! a public address (unless `--dev-allow-remote`); `--cors-origin '*'` alone; a key-encryption
//! key made on first start (mode 0600) and checked against the database afterwards; database
//! files readable by their owner only; the durability settings checked and logged.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{SECRET, TEST_KEK};

const BINARY: &str = env!("CARGO_BIN_EXE_fieldstream-server");

/// A started server (it runs until this is dropped), its base URL and its log so far.
pub struct Started {
    _child: Child,
    pub base: String,
    pub log: String,
}

/// Starts `serve` with `args` and exactly the `FIELDSTREAM_*` variables in `env`; `Err` with its
/// log when it exits before listening.
pub async fn serve(args: &[&str], env: &[(&str, &str)]) -> Result<Started, String> {
    let mut command = Command::new(BINARY);
    command.arg("serve").args(args);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("FIELDSTREAM_")) {
        command.env_remove(name);
    }
    let env: HashMap<&str, &str> = env.iter().copied().collect();
    command.envs(env).env("FIELDSTREAM_LOG", "info");
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let started = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if let Some((_, rest)) = line.split_once("listening on ") {
                return Some(rest.split_whitespace().next().unwrap().to_owned());
            }
        }
        None
    })
    .await
    .expect("starts or exits within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    match started {
        Some(base) => Ok(Started {
            _child: child,
            base,
            log,
        }),
        None => Err(log),
    }
}

/// Starts `serve`; fails the test unless it exits with a log containing `why`.
async fn refused(args: &[&str], env: &[(&str, &str)], why: &str) {
    match serve(args, env).await {
        Ok(_) => panic!("started: {why}"),
        Err(log) => assert!(log.contains(why), "{why}: {log}"),
    }
}

fn secret() -> &'static str {
    std::str::from_utf8(SECRET).unwrap()
}

#[tokio::test]
async fn jwt_secrets_come_from_a_file_or_the_environment_and_are_long() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db").to_string_lossy().into_owned();
    let base = ["--database", db.as_str(), "--listen", "127.0.0.1:0"];
    let kek = ("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK);
    let short = "only-twenty-bytes-xx";
    refused(
        &base,
        &[kek, ("FIELDSTREAM_JWT_SECRET", short)],
        "at least 32",
    )
    .await;
    let mut with_flag = base.to_vec();
    with_flag.extend(["--jwt-secret", secret()]);
    refused(&with_flag, &[kek], "command line").await;
    let file = dir.path().join("secret");
    std::fs::write(&file, format!("{}\n", secret())).unwrap();
    let mut from_file = base.to_vec();
    from_file.extend(["--jwt-secret-file", file.to_str().unwrap()]);
    refused(
        &from_file,
        &[kek, ("FIELDSTREAM_JWT_SECRET", secret())],
        "once",
    )
    .await;
    refused(&base, &[kek], "FIELDSTREAM_JWT_SECRET").await;
    let started = serve(&from_file, &[kek])
        .await
        .expect("a secret from a file");
    let answer = reqwest::Client::new()
        .get(format!("{}/v1/events", started.base))
        .bearer_auth(crate::support::token("t", "a", None))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        200,
        "the file's trailing newline is not part of the secret"
    );
}

#[tokio::test]
async fn dev_mode_refuses_a_secret_and_public_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db").to_string_lossy().into_owned();
    let log = serve(
        &["--dev", "--database", &db, "--listen", "127.0.0.1:0"],
        &[("FIELDSTREAM_JWT_SECRET", secret())],
    )
    .await
    .err()
    .expect("--dev beside a secret is refused");
    assert!(log.contains("refused while a JWT secret"), "{log}");
    let log = serve(&["--dev", "--database", &db, "--listen", "0.0.0.0:0"], &[])
        .await
        .err()
        .expect("--dev on a public address is refused");
    assert!(log.contains("--dev-allow-remote"), "{log}");
    let started = serve(
        &[
            "--dev",
            "--dev-allow-remote",
            "--database",
            &db,
            "--listen",
            "0.0.0.0:0",
        ],
        &[],
    )
    .await
    .expect("allowed explicitly");
    assert!(started.log.contains("authentication is OFF"));

    let local = serve(
        &["--dev", "--database", &db, "--listen", "127.0.0.1:0"],
        &[],
    )
    .await
    .unwrap();
    let url = format!("{}/v1/events", local.base);
    let http = reqwest::Client::new();
    let port = local.base.rsplit(':').next().unwrap().to_owned();
    for (host, status) in [
        (format!("localhost:{port}"), 200),
        (format!("127.0.0.1:{port}"), 200),
        (format!("[::1]:{port}"), 200),
        (format!("evil.example:{port}"), 403),
        ("127.0.0.1.nip.io".to_owned(), 403),
    ] {
        let answer = http.get(&url).header("host", &host).send().await.unwrap();
        assert_eq!(answer.status(), status, "Host: {host}");
    }
}

#[tokio::test]
async fn a_cors_wildcard_means_any_origin_or_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("c.db").to_string_lossy().into_owned();
    let env = [
        ("FIELDSTREAM_JWT_SECRET", secret()),
        ("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK),
    ];
    let started = serve(
        &[
            "--database",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--cors-origin",
            "*",
        ],
        &env,
    )
    .await
    .expect("starts with --cors-origin '*'");
    let answer = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/events", started.base),
        )
        .header("origin", "https://anything.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let log = serve(
        &[
            "--database",
            &db,
            "--listen",
            "127.0.0.1:0",
            "--cors-origin",
            "*",
            "--cors-origin",
            "https://a.example",
        ],
        &env,
    )
    .await
    .err()
    .expect("'*' with another origin is refused");
    assert!(
        log.contains("cannot be combined") && !log.contains("panicked"),
        "{log}"
    );
}

#[tokio::test]
async fn an_otlp_export_starts_only_when_it_can_work() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.db").to_string_lossy().into_owned();
    let env = [
        ("FIELDSTREAM_JWT_SECRET", secret()),
        ("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK),
    ];
    let args = ["--database", &db, "--listen", "127.0.0.1:0"];
    let with = |endpoint: &'static str| [&args[..], &["--otlp-endpoint", endpoint]].concat();
    refused(&with("http://bad host:4318"), &env, "--otlp-endpoint").await;
    let grpc = [&env[..], &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]].concat();
    refused(
        &with("http://127.0.0.1:4318"),
        &grpc,
        "\"grpc\" is not supported",
    )
    .await;
    // Nothing listens there: the server serves all the same, and exports when it can.
    let json = [&env[..], &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]].concat();
    serve(&with("http://127.0.0.1:9"), &json)
        .await
        .expect("starts with an unreachable collector");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_key_file_is_made_once_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.db");
    let db_text = db.to_string_lossy().into_owned();
    let env = [("FIELDSTREAM_JWT_SECRET", secret())];
    let args = ["--database", db_text.as_str(), "--listen", "127.0.0.1:0"];
    let first = serve(&args, &env).await.expect("first start");
    assert!(
        first.log.contains("made a new key-encryption key"),
        "{}",
        first.log
    );
    assert!(
        first.log.contains("journal_mode=wal") && first.log.contains("synchronous=2"),
        "the durability settings are checked and logged: {}",
        first.log
    );
    let key_file = dir.path().join("k.db.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    drop(first);
    for name in ["k.db", "k.db-wal", "k.db-shm", "k.db.key"] {
        let path = dir.path().join(name);
        assert!(path.exists(), "{name}");
        assert_eq!(mode(&path), 0o600, "{name} is readable by its owner only");
    }
    let again = serve(&args, &env).await.expect("second start");
    assert!(!again.log.contains("made a new"), "{}", again.log);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    drop(again);
    let mut other = env.to_vec();
    other.push(("FIELDSTREAM_KEY_ENCRYPTION_KEY", TEST_KEK));
    let log = serve(&args, &other)
        .await
        .err()
        .expect("another KEK is refused");
    assert!(log.contains("not the one this database"), "{log}");
    let log = serve(
        &[
            "--database",
            "postgres://nobody@127.0.0.1:1/x",
            "--listen",
            "127.0.0.1:0",
        ],
        &env,
    )
    .await
    .err()
    .expect("PostgreSQL without a KEK is refused");
    assert!(
        log.contains("PostgreSQL needs a key-encryption key"),
        "{log}"
    );
}
