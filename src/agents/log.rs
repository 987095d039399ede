//! `agent.log`: the agent's output, live on disk while it runs, bounded in size.
//!
//! The log is written in two halves: when the current file reaches half the cap it becomes
//! `agent.log.1` (replacing the previous one) and a fresh `agent.log` starts. At the end the tail
//! of `agent.log.1` that fits and the current file are joined into `agent.log` behind a line that
//! says how much was dropped. Adapters read events from the stream itself, so nothing they need is
//! lost to the cap.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
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
        let current = std::fs::read(&self.path)?;
        let mut old = File::open(&self.previous)?;
        let old_len = old.metadata()?.len();
        let room = self.cap.saturating_sub(current.len() as u64 + 100);
        let keep = room.min(old_len);
        old.seek(SeekFrom::Start(old_len - keep))?;
        let mut tail = Vec::new();
        old.read_to_end(&mut tail)?;
        // Start at a line boundary.
        let start = if keep < old_len {
            tail.iter()
                .position(|&b| b == b'\n')
                .map_or(tail.len(), |i| i + 1)
        } else {
            0
        };
        let dropped = self.dropped + old_len - keep + start as u64;
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

/// Creates (or truncates) `path` readable by its owner only, whatever the umask.
fn private_file(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
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
