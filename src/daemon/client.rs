//! The client side of the socket: one request, one response, within a time limit. The CLI and
//! the hint hooks use it; a daemon that is not running is an ordinary answer, not a failure.

use std::path::Path;
use std::time::{Duration, Instant};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::traits::tokio::Stream as _;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::DaemonError;
use super::protocol::{Command, Request, Response};

/// Sends `command` to the daemon at `socket` and returns its result. A daemon serving too many
/// connections answers `busy`: the request is sent again until `limit` is over.
pub async fn request(
    socket: &Path,
    command: Command,
    limit: Duration,
) -> Result<Value, DaemonError> {
    let started = Instant::now();
    let retrying = async {
        loop {
            match exchange(socket, &command).await {
                Err(DaemonError::Refused { code, .. }) if code == "busy" => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    };
    match tokio::time::timeout(limit, retrying).await {
        Ok(result) => result,
        Err(_) => Err(DaemonError::Timeout {
            socket: socket.to_path_buf(),
            millis: started.elapsed().as_millis(),
        }),
    }
}

/// One connection, one request, one response.
async fn exchange(socket: &Path, command: &Command) -> Result<Value, DaemonError> {
    let name = socket
        .to_fs_name::<GenericFilePath>()
        .map_err(DaemonError::io("invalid socket path", socket))?;
    let stream = Stream::connect(name).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            DaemonError::NotRunning {
                socket: socket.to_path_buf(),
            }
        }
        _ => DaemonError::io("cannot connect to", socket)(e),
    })?;
    let (recv, mut send) = tokio::io::split(stream);
    send.write_all(Request::new(command.clone()).encode().as_bytes())
        .await
        .map_err(DaemonError::io("cannot write to", socket))?;
    let mut line = String::new();
    BufReader::new(recv)
        .read_line(&mut line)
        .await
        .map_err(DaemonError::io("cannot read from", socket))?;
    parse_response(&line)
}

/// The same, from synchronous code (a small single-threaded runtime just for this exchange).
pub fn request_blocking(
    socket: &Path,
    command: Command,
    limit: Duration,
) -> Result<Value, DaemonError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DaemonError::io("cannot start a runtime for", socket))?;
    runtime.block_on(request(socket, command, limit))
}

fn parse_response(line: &str) -> Result<Value, DaemonError> {
    if line.is_empty() {
        return Err(DaemonError::BadResponse(
            "the daemon closed the connection".into(),
        ));
    }
    let response: Response = serde_json::from_str(line.trim_end())
        .map_err(|e| DaemonError::BadResponse(e.to_string()))?;
    match (response.ok, response.result, response.error) {
        (true, Some(result), _) => Ok(result),
        (false, _, Some(error)) => Err(DaemonError::Refused {
            code: error.code,
            message: error.message,
        }),
        _ => Err(DaemonError::BadResponse(line.trim_end().to_string())),
    }
}
