//! The `fieldstream-server` binary: parses flags, opens the database, then serves, exports or
//! imports.
#![forbid(unsafe_code)]

mod cli;

use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use fieldstream_server::{AnyBackend, AppState, AuthMode, Config, Limits, export, router};
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command, ServeArgs};

type Failure = Box<dyn std::error::Error>;

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let auth = match (args.dev, args.jwt_secret) {
        (true, _) => {
            tracing::warn!(
                "!!! --dev: AUTHENTICATION IS OFF. Every request is tenant \"dev\". Never use this in production. !!!"
            );
            eprintln!("\n  WARNING: fieldstream-server runs with --dev: authentication is OFF.\n");
            AuthMode::Dev
        }
        (false, Some(secret)) if !secret.is_empty() => {
            if secret.len() < 32 {
                tracing::warn!("the JWT secret is shorter than 32 bytes; use a longer random one");
            }
            AuthMode::Jwt {
                secret: secret.into_bytes(),
            }
        }
        (false, _) => {
            return Err(
                "set --jwt-secret (or FIELDSTREAM_JWT_SECRET), or pass --dev for local development"
                    .into(),
            );
        }
    };
    let config = Config {
        auth,
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_events_per_append: args.max_events_per_append,
            max_event_bytes: args.max_event_bytes,
            requests_per_second: args.rate_limit,
        },
        cors_origins: args.cors_origins,
        static_dir: args.static_dir,
        heartbeat: Duration::from_secs(args.heartbeat_secs.max(1)),
    };
    let backend = AnyBackend::open(&args.database.database).await?;
    let state = AppState::new(backend, config);
    let app = router(state.clone())?;
    if let Some(limiter) = state.limiter.clone() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limiter.forget_idle();
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(
        backend = state.backend.kind(),
        "listening on http://{}",
        listener.local_addr()?
    );
    let stopping = state.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            stopping.shut_down();
        })
        .await?;
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
        Command::Serve(args) => serve(args).await,
        Command::Export(args) => {
            let backend = AnyBackend::open(&args.database.database).await?;
            let mut out = BufWriter::new(File::create(&args.out)?);
            let count = export::export(&backend, &mut out).await?;
            tracing::info!(count, file = %args.out.display(), "exported");
            Ok(())
        }
        Command::Import(args) => {
            let backend = AnyBackend::open(&args.database.database).await?;
            let count = export::import(&backend, &args.input).await?;
            tracing::info!(count, file = %args.input.display(), "imported");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("fieldstream-server: {error}");
            ExitCode::FAILURE
        }
    }
}
