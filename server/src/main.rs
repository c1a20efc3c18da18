//! The `fieldstream-server` binary: parses flags, opens the database, then serves, exports or
//! imports.
#![forbid(unsafe_code)]

mod cli;
mod setup;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fieldstream_server::backend::Backend;
use fieldstream_server::telemetry::otlp::OtlpExport;
use fieldstream_server::{AnyBackend, AppState, export, router, serve};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use cli::{Cli, Command, ServeArgs};
use setup::Failure;

async fn open(database: &str) -> Result<AnyBackend, Failure> {
    let backend = AnyBackend::open(database).await?;
    let durability = backend.durability().await?;
    tracing::info!(durability = %durability.0, "database opened");
    Ok(backend)
}

async fn run_server(args: ServeArgs) -> Result<(), Failure> {
    let (auth, loopback_host_only) = setup::auth(&args)?;
    let options = setup::serve_options(&args)?;
    let kek = setup::kek(&args.key, &args.database.database)?;
    let backend = open(&args.database.database).await?;
    setup::check_kek(&backend, &kek).await?;
    setup::migrate_plain_keys(&backend, &kek).await?;
    let config = setup::config(&args, auth, loopback_host_only, kek);
    let state = AppState::new(backend, config);
    let app = router(state.clone())?;
    let idle = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            idle.forget_idle_limits();
        }
    });
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(
        backend = state.backend.kind(),
        "listening on http://{}",
        listener.local_addr()?
    );
    let stopping = state.clone();
    serve::serve(listener, app, options, async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        stopping.shut_down();
    })
    .await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => run_server(*args).await,
        Command::Export(args) => {
            let backend = open(&args.database.database).await?;
            let counts = export::export_to(&backend, &args.out).await?;
            tracing::info!(
                events = counts.events,
                key_records = counts.key_records,
                file = %args.out.display(),
                "exported"
            );
            Ok(())
        }
        Command::Import(args) => {
            let kek = setup::kek(&args.key, &args.database.database)?;
            let backend = open(&args.database.database).await?;
            setup::migrate_plain_keys(&backend, &kek).await?;
            let counts = export::import(&backend, &kek, &args.input).await?;
            tracing::info!(
                events = counts.events,
                key_records = counts.key_records,
                file = %args.input.display(),
                "imported"
            );
            Ok(())
        }
    }
}

/// Installs the log output (stderr, filtered by `--log`) and, when `--otlp-endpoint` (or
/// `OTEL_EXPORTER_OTLP_ENDPOINT`) is set, the OTLP export of spans, returned to be shut down.
fn init_tracing(cli: &Cli) -> Result<Option<OtlpExport>, Failure> {
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let export = match cli.otlp_endpoint.as_deref().map(str::trim) {
        Some(endpoint) if !endpoint.is_empty() => Some(OtlpExport::start(endpoint)?),
        _ => None,
    };
    tracing_subscriber::registry()
        .with(log)
        .with(export.as_ref().map(OtlpExport::layer))
        .init();
    Ok(export)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let export = match init_tracing(&cli) {
        Ok(export) => export,
        Err(error) => {
            eprintln!("fieldstream-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("fieldstream-server: {error}");
            ExitCode::FAILURE
        }
    };
    if let Some(export) = export {
        export.shut_down().await;
    }
    code
}
