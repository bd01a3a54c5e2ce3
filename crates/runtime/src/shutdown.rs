//! Shutdown signals. Only binaries call [`signal`]; libraries take a shutdown future or token.

use tokio_util::sync::CancellationToken;

/// Installs SIGTERM and SIGINT (ctrl-c) handlers now and returns a token cancelled on the first
/// signal. Call it before slow start-up work so an early signal is not lost.
pub fn signal() -> CancellationToken {
    let token = CancellationToken::new();
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("the SIGTERM handler should install");
    let cancel = token.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => tracing::info!("received SIGTERM, shutting down"),
            _ = tokio::signal::ctrl_c() => tracing::info!("received ctrl-c, shutting down"),
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("received ctrl-c, shutting down");
        }
        cancel.cancel();
    });
    token
}
