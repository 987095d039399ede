//! The connection table. At most `limit` connections are served at once, and admitting one
//! never waits: when the table is full, the connection that has waited longest for a request
//! (longer than a short grace, which a real client never needs) is closed to make room, and when
//! none has, the newcomer is refused with `busy`. So idle or slow peers cannot lock out `status`,
//! `stop` or the accept loop (and with it the signal handling). Answers and refusals are
//! written within a deadline, so a peer that does not read cannot hold a task either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use interprocess::local_socket::tokio::Stream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Notify;

use super::protocol::{ProtocolError, Response};

/// A peer that does not take its answer within this time is hung up on.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);

/// The connections being served.
#[derive(Debug)]
pub struct Table {
    limit: usize,
    grace: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next: u64,
    conns: HashMap<u64, Entry>,
}

#[derive(Debug)]
struct Entry {
    /// Since when it waits for (the rest of) a request; `None` while one is being answered.
    waiting_since: Option<Instant>,
    evict: Arc<Notify>,
}

/// A connection's place in the table; dropping it frees the place.
#[derive(Debug)]
pub struct Slot {
    table: Arc<Table>,
    id: u64,
    evict: Arc<Notify>,
}

impl Table {
    pub fn new(limit: usize, grace: Duration) -> Arc<Table> {
        Arc::new(Table {
            limit,
            grace,
            inner: Mutex::new(Inner::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection (waiting for its first request), closing the longest idle
    /// one when the table is full; `None` when every connection is busy or only just arrived.
    pub fn admit(self: &Arc<Self>) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.conns.len() >= self.limit {
            let now = Instant::now();
            let idlest = inner
                .conns
                .iter()
                .filter_map(|(id, e)| Some((*id, e.waiting_since?)))
                .filter(|(_, since)| now.duration_since(*since) >= self.grace)
                .min_by_key(|(_, since)| *since)
                .map(|(id, _)| id)?;
            if let Some(evicted) = inner.conns.remove(&idlest) {
                evicted.evict.notify_one();
            }
        }
        let id = inner.next;
        inner.next += 1;
        let evict = Arc::new(Notify::new());
        inner.conns.insert(
            id,
            Entry {
                waiting_since: Some(Instant::now()),
                evict: evict.clone(),
            },
        );
        Some(Slot {
            table: self.clone(),
            id,
            evict,
        })
    }

    /// How many connections are being served.
    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }
}

impl Slot {
    /// The connection now waits for a request (it may be closed to make room).
    pub fn waiting(&self) {
        if let Some(entry) = self.table.lock().conns.get_mut(&self.id) {
            entry.waiting_since = Some(Instant::now());
        }
    }

    /// A whole request arrived: it is answered, not closed to make room.
    pub fn working(&self) {
        if let Some(entry) = self.table.lock().conns.get_mut(&self.id) {
            entry.waiting_since = None;
        }
    }

    /// Resolves once the connection was closed to make room (at once if that already happened).
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.lock().conns.remove(&self.id);
    }
}

/// Writes one response line, within [`WRITE_DEADLINE`].
pub async fn respond(
    send: &mut (impl tokio::io::AsyncWrite + Unpin),
    response: &Response,
) -> std::io::Result<()> {
    let write = async {
        send.write_all(response.encode().as_bytes()).await?;
        send.flush().await
    };
    match tokio::time::timeout(WRITE_DEADLINE, write).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the peer does not read its answer",
        )),
    }
}

/// Answers `err` to a connection that is not served, then closes it.
pub async fn refuse(stream: Stream, err: &ProtocolError) -> std::io::Result<()> {
    let (recv, mut send) = tokio::io::split(stream);
    // Take (a little of) the request first: closing with it unread would reset the connection
    // and lose the answer.
    let mut ignored = Vec::new();
    let mut limited = BufReader::new(recv).take(1024);
    let read = limited.read_until(b'\n', &mut ignored);
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    let answer = Response::error(err).encode();
    let write = send.write_all(answer.as_bytes());
    tokio::time::timeout(Duration::from_secs(1), write)
        .await
        .unwrap_or(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_table_closes_the_longest_idle_or_refuses() {
        let table = Table::new(2, Duration::from_millis(30));
        let first = table.admit().unwrap();
        let second = table.admit().unwrap();
        // Both just arrived: neither is closed for a newcomer.
        assert!(table.admit().is_none());
        std::thread::sleep(Duration::from_millis(40));
        second.working();
        let third = table.admit().expect("the idle first makes room");
        tokio::time::timeout(Duration::from_secs(1), first.evicted())
            .await
            .expect("the first connection is told to close");
        assert_eq!(table.len(), 2);
        // The busy second and the new third stay; nothing else is idle long enough.
        assert!(table.admit().is_none());
        drop(first);
        assert_eq!(
            table.len(),
            2,
            "dropping an evicted slot frees nothing twice"
        );
        drop((second, third));
        assert_eq!(table.len(), 0);
    }
}
