//! The binary's command line: help text, refusing to start without auth, and `--dev`'s warning.

use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BINARY: &str = env!("CARGO_BIN_EXE_fieldstream-server");

fn help(args: &[&str]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .output()
        .expect("run the binary");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn help_explains_every_flag_and_its_environment_variable() {
    let serve = help(&["serve", "--help"]);
    for (flag, env) in [
        ("--database", "FIELDSTREAM_DATABASE"),
        ("--listen", "FIELDSTREAM_LISTEN"),
        ("--jwt-secret-file", "FIELDSTREAM_JWT_SECRET_FILE"),
        ("--jwt-issuer", "FIELDSTREAM_JWT_ISSUER"),
        ("--jwt-audience", "FIELDSTREAM_JWT_AUDIENCE"),
        (
            "--max-token-lifetime-secs",
            "FIELDSTREAM_MAX_TOKEN_LIFETIME_SECS",
        ),
        ("--key-file", "FIELDSTREAM_KEY_FILE"),
        ("--dev", "FIELDSTREAM_DEV"),
        ("--dev-allow-remote", "FIELDSTREAM_DEV_ALLOW_REMOTE"),
        ("--metrics-token", "FIELDSTREAM_METRICS_TOKEN"),
        ("--max-read-bytes", "FIELDSTREAM_MAX_READ_BYTES"),
        (
            "--rate-limit-unauthenticated",
            "FIELDSTREAM_RATE_LIMIT_UNAUTHENTICATED",
        ),
        (
            "--max-subscriptions-per-subject",
            "FIELDSTREAM_MAX_SUBSCRIPTIONS_PER_SUBJECT",
        ),
        (
            "--max-subscriptions-per-tenant",
            "FIELDSTREAM_MAX_SUBSCRIPTIONS_PER_TENANT",
        ),
        ("--header-timeout-secs", "FIELDSTREAM_HEADER_TIMEOUT_SECS"),
        ("--body-timeout-secs", "FIELDSTREAM_BODY_TIMEOUT_SECS"),
        ("--idle-timeout-secs", "FIELDSTREAM_IDLE_TIMEOUT_SECS"),
        ("--max-connections", "FIELDSTREAM_MAX_CONNECTIONS"),
        ("--max-header-bytes", "FIELDSTREAM_MAX_HEADER_BYTES"),
        ("--cors-origin", "FIELDSTREAM_CORS_ORIGINS"),
        ("--static", "FIELDSTREAM_STATIC"),
        ("--max-body-bytes", "FIELDSTREAM_MAX_BODY_BYTES"),
        (
            "--max-events-per-append",
            "FIELDSTREAM_MAX_EVENTS_PER_APPEND",
        ),
        ("--max-event-bytes", "FIELDSTREAM_MAX_EVENT_BYTES"),
        ("--rate-limit", "FIELDSTREAM_RATE_LIMIT"),
        ("--heartbeat-secs", "FIELDSTREAM_HEARTBEAT_SECS"),
        ("--log", "FIELDSTREAM_LOG"),
        ("--otlp-endpoint", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ] {
        assert!(
            serve.contains(flag) && serve.contains(env),
            "serve --help lacks {flag} / {env}"
        );
    }
    let top = help(&["--help"]);
    for command in ["serve", "export", "import"] {
        assert!(top.contains(command));
    }
    assert!(
        serve.contains("FIELDSTREAM_JWT_SECRET")
            && serve.contains("FIELDSTREAM_KEY_ENCRYPTION_KEY"),
        "the variables that hold a secret itself are named"
    );
    assert!(
        !serve.contains("--jwt-secret <"),
        "no flag takes the secret on the command line"
    );
    assert!(help(&["export", "--help"]).contains("FIELDSTREAM_EXPORT_OUT"));
    let import = help(&["import", "--help"]);
    assert!(import.contains("FIELDSTREAM_IMPORT_IN") && import.contains("--key-file"));
}

#[test]
fn serve_refuses_to_start_without_a_secret_or_dev() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("FIELDSTREAM_JWT_SECRET")
        .env_remove("FIELDSTREAM_DEV")
        .output()
        .expect("run the binary");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--jwt-secret-file"));
}

#[tokio::test]
async fn dev_mode_warns_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(BINARY)
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let log = tokio::time::timeout(Duration::from_secs(30), async {
        let mut log = String::new();
        while let Some(line) = lines.next_line().await.unwrap() {
            log.push_str(&line);
            log.push('\n');
            if line.contains("listening on") {
                return log;
            }
        }
        panic!("exited early:\n{log}");
    })
    .await
    .expect("starts within 30 s");
    assert!(log.contains("authentication is OFF"), "{log}");
    assert!(
        dir.path().join("fieldstream.db").exists(),
        "default database ./fieldstream.db"
    );
}
