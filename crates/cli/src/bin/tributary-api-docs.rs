//! `tributary-api-docs [PATH]`: writes the API reference rendered from the proto comments to PATH,
//! or to standard output. `docs/api.md` is its output; a test keeps the two equal.

use std::{io::Write as _, process::ExitCode};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let markdown = tributary_cli::api_docs::render_tributary()?;
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (None, _) => std::io::stdout().lock().write_all(markdown.as_bytes())?,
        (Some(path), None) => std::fs::write(&path, markdown)?,
        (Some(_), Some(_)) => anyhow::bail!("usage: tributary-api-docs [PATH]"),
    }
    Ok(())
}
