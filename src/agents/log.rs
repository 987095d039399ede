//! `agent.log`: the agent's output, live on disk while it runs, bounded in size.
//!
//! The log is written in two halves: when the current file reaches half the cap it becomes
//! `agent.log.1` (replacing the previous one) and a fresh `agent.log` starts. At the end the tail
//! of `agent.log.1` that fits and the current file are joined into `agent.log` behind a line that
//! says how much was dropped. Adapters read events from the stream itself, so nothing they need is
//! lost to the cap.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The smallest cap honoured (so that one gatehouse note always fits).
const MIN_CAP: u64 = 4096;

pub struct BoundedLog {
    path: PathBuf,
    previous: PathBuf,
    file: Option<File>,
    written: u64,
    cap: u64,
    dropped: u64,
    rotated: bool,
}

impl BoundedLog {
    pub fn create(path: &Path, cap: u64) -> io::Result<Self> {
        let previous = path.with_extension("log.1");
        let _ = std::fs::remove_file(&previous);
        Ok(BoundedLog {
            path: path.to_path_buf(),
            previous,
            file: Some(private_file(path)?),
            written: 0,
            cap: cap.max(MIN_CAP),
            dropped: 0,
            rotated: false,
        })
    }

    /// Appends one line of the agent's output (without its newline). Write errors are ignored:
    /// a full disk must not fail the run, and the adapters read the stream, not the log.
    pub fn line(&mut self, line: &[u8]) {
        let half = self.cap / 2;
        let limit = usize::try_from(half / 2).unwrap_or(usize::MAX);
        let (body, cut) = if line.len() > limit {
            (&line[..limit], true)
        } else {
            (line, false)
        };
        let len = body.len() as u64 + 1 + if cut { 24 } else { 0 };
        if self.written > 0 && self.written + len > half {
            self.rotate();
        }
        if let Some(file) = &mut self.file {
            let _ = file.write_all(body);
            if cut {
                let _ = file.write_all(b" [gatehouse: line cut]");
            }
            let _ = file.write_all(b"\n");
        }
        self.written += len;
    }

    /// A line from gatehouse itself.
    pub fn note(&mut self, message: &str) {
        self.line(format!("[gatehouse] {message}").as_bytes());
    }

    fn rotate(&mut self) {
        if let Ok(meta) = std::fs::metadata(&self.previous) {
            self.dropped += meta.len();
        }
        self.file = None;
        if std::fs::rename(&self.path, &self.previous).is_ok() {
            self.rotated = true;
        }
        self.file = private_file(&self.path).ok();
        self.written = 0;
    }

    /// Joins the halves into one `agent.log` of at most the cap.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        if !self.rotated {
            return Ok(());
        }
        // The run directory is the agent's to write in: either half may have been replaced by a
        // symlink (to a secret gatehouse can read) or a FIFO (reading it would hang the runner).
        let current = read_own(&self.path, self.cap)?;
        let tail = read_own(
            &self.previous,
            self.cap.saturating_sub(current.len() as u64 + 100),
        )?;
        let old_len = std::fs::symlink_metadata(&self.previous)?.len();
        let keep = tail.len() as u64;
        // Start at a line boundary.
        let start = if keep < old_len {
            tail.iter()
                .position(|&b| b == b'\n')
                .map_or(tail.len(), |i| i + 1)
        } else {
            0
        };
        let dropped = self.dropped + old_len.saturating_sub(keep) + start as u64;
        let joined = self.path.with_extension("log.tmp");
        let mut out = private_file(&joined)?;
        writeln!(
            out,
            "[gatehouse] {dropped} bytes of earlier output dropped (log cap {} bytes)",
            self.cap
        )?;
        out.write_all(&tail[start..])?;
        out.write_all(&current)?;
        out.flush()?;
        std::fs::rename(&joined, &self.path)?;
        std::fs::remove_file(&self.previous)
    }
}

/// Reads the last `max` bytes of one of the log's own files without following a symlink or
/// opening a FIFO or device (see [`crate::config::read::tail_no_follow`]).
fn read_own(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    match crate::config::read::tail_no_follow(path, max) {
        Ok(bytes) => Ok(bytes.unwrap_or_default()),
        Err(crate::config::read::UnsafeFile::Io(e)) => Err(e),
        Err(why) => Err(io::Error::other(format!(
            "{} was replaced by {why}",
            path.display()
        ))),
    }
}

/// Creates `path` afresh, readable by its owner only, whatever the umask. Whatever is there is
/// removed first and the file is created exclusively (`O_EXCL` follows no symlink): the run
/// directory is the agent's to write in, and a symlink it planted at `agent.log` must not make
/// gatehouse truncate and fill the file it points to. If the agent wins the race and creates
/// something there again, creating fails (the log then loses lines, never a foreign file).
pub(super) fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_tail_within_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.log");
        let mut log = BoundedLog::create(&path, 8192).expect("log");
        for i in 0..2000 {
            log.line(format!("line {i:05}").as_bytes());
        }
        log.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.len() <= 8192, "{} bytes", text.len());
        assert!(text.starts_with("[gatehouse] "), "{}", &text[..80]);
        assert!(text.contains("bytes of earlier output dropped"));
        assert!(text.ends_with("line 01999\n"));
        // Whole lines only, consecutive up to the end.
        let numbers: Vec<u32> = text
            .lines()
            .skip(1)
            .map(|l| l.trim_start_matches("line ").parse().expect("a whole line"))
            .collect();
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1));
        assert!(!dir.path().join("agent.log.1").exists());
    }

    #[test]
    fn links_the_agent_planted_are_neither_written_through_nor_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "PRIVATE KEY\n").expect("write");
        let run = dir.path().join("run");
        std::fs::create_dir(&run).expect("mkdir");
        let path = run.join("agent.log");
        // A link planted where the log goes: replaced, the file it points to untouched.
        std::os::unix::fs::symlink(&secret, &path).expect("symlink");
        let mut log = BoundedLog::create(&path, 8192).expect("log");
        for i in 0..1000 {
            log.line(format!("line {i:05}").as_bytes());
        }
        // The rotated half replaced by a link to the secret before the halves are joined.
        let previous = run.join("agent.log.1");
        std::fs::remove_file(&previous).expect("rotated");
        std::os::unix::fs::symlink(&secret, &previous).expect("symlink");
        assert!(log.finish().is_err());
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "PRIVATE KEY\n");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }

    #[test]
    fn small_logs_are_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.log");
        let mut log = BoundedLog::create(&path, 1 << 20).expect("log");
        log.line(b"hello");
        log.note("done");
        log.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text, "hello\n[gatehouse] done\n");
    }

    #[test]
    fn an_overlong_line_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("agent.log");
        let mut log = BoundedLog::create(&path, 8192).expect("log");
        log.line(&vec![b'x'; 100_000]);
        log.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.len() <= 8192);
        assert!(text.contains("[gatehouse: line cut]"));
    }
}
