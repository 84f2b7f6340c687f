//! The `terraform-provider-flink` binary: Terraform starts it and talks to it over gRPC after the
//! go-plugin handshake. `--debug` starts it by hand in reattach mode; `generate-docs` writes docs/;
//! `--version` names the release (Cargo.toml's version, the one the release packages carry).

use flink_provider::{docs, logging, protocol, provider::Provider};
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate-docs") => generate_docs(&args[1..]),
        Some("--debug") => serve(protocol::ServeMode::Debug),
        Some("--version") => print_version(),
        None => serve(protocol::ServeMode::Terraform),
        Some(other) => {
            eprintln!(
                "unknown argument {other:?}; usage: terraform-provider-flink [--debug | --version | generate-docs [--check] [DIR]]"
            );
            ExitCode::from(2)
        }
    }
}

/// Answers on stdout, as command-line tools do: Terraform never starts the provider with this
/// argument, so nothing here can disturb the handshake that stdout carries when serving.
fn print_version() -> ExitCode {
    use std::io::Write;
    let line = format!("terraform-provider-flink {}", env!("CARGO_PKG_VERSION"));
    match writeln!(std::io::stdout(), "{line}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn serve(mode: protocol::ServeMode) -> ExitCode {
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(protocol::serve(mode, Arc::new(Provider::new()))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn generate_docs(args: &[String]) -> ExitCode {
    let check = args.iter().any(|a| a == "--check");
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map_or("docs", String::as_str);
    let examples = std::path::Path::new("examples");
    match docs::write_or_check(&Provider::new(), std::path::Path::new(dir), examples, check) {
        Ok(stale) if stale.is_empty() || !check => {
            for page in stale {
                eprintln!("wrote {dir}/{page}");
            }
            ExitCode::SUCCESS
        }
        Ok(stale) => {
            eprintln!(
                "docs are stale, run `cargo run -- generate-docs`: {}",
                stale.join(", ")
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("generating docs: {e}");
            ExitCode::FAILURE
        }
    }
}
