//! Helpers for tests that run the real service binaries: free ports, waiting for health, and
//! stopping a process with SIGTERM while timing how long it takes.

use std::{
    net::SocketAddr,
    process::{Child, ExitStatus},
    time::{Duration, Instant},
};

use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// A loopback address with a port that was free a moment ago.
pub fn free_address() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    listener.local_addr().expect("a bound address")
}

/// Waits until the server at `address` reports SERVING, or fails after `deadline` with the last
/// answer. Fails early if `child` exits.
pub async fn wait_serving(
    child: &mut Child,
    address: SocketAddr,
    deadline: Duration,
) -> Result<(), String> {
    let give_up = Instant::now() + deadline;
    let channel = crate::client::lazy_channel(&format!("http://{address}"))
        .map_err(|error| error.to_string())?;
    let mut health = HealthClient::new(channel);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the process exited before serving: {status}"));
        }
        let answer = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await;
        match answer {
            Ok(response) if response.get_ref().status == ServingStatus::Serving as i32 => {
                return Ok(());
            }
            other if Instant::now() >= give_up => {
                return Err(format!("not serving after {deadline:?}: {other:?}"));
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// Sends SIGTERM and waits up to `deadline` for the exit; returns the status and how long it took.
pub async fn terminate(
    child: &mut Child,
    deadline: Duration,
) -> Result<(ExitStatus, Duration), String> {
    let pid =
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).map_err(|error| error.to_string())?);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
        .map_err(|error| error.to_string())?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
            return Ok((status, started.elapsed()));
        }
        if started.elapsed() >= deadline {
            let _ = child.kill();
            return Err(format!("still running {deadline:?} after SIGTERM"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
