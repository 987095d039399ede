//! The daemon's log: `tracing` to `<git-common-dir>/gatehouse/logs/daemon.log`, rotated by size
//! (`daemon.log.1`, `daemon.log.2`), and to stderr too when it runs in the foreground.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use super::DaemonError;

/// A log file grows to this many bytes before it is rotated.
pub const MAX_LOG_BYTES: u64 = 4 * 1024 * 1024;
/// Rotated files kept (`daemon.log.1` … `daemon.log.N`).
pub const KEEP: u32 = 2;

/// A file that rotates itself once it exceeds its cap.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    cap: u64,
    file: File,
    size: u64,
    /// Rotate only between lines, so no line is split across two files.
    line_start: bool,
}

impl RotatingFile {
    pub fn open(path: &Path, cap: u64) -> io::Result<RotatingFile> {
        let file = crate::store::files::private_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            cap,
            file,
            size,
            line_start: true,
        })
    }

    fn rotate(&mut self) -> io::Result<()> {
        for n in (1..KEEP).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        std::fs::rename(&self.path, rotated(&self.path, 1))?;
        *self = RotatingFile::open(&self.path, self.cap)?;
        Ok(())
    }
}

/// `daemon.log.N`.
pub fn rotated(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.line_start && self.size > 0 && self.size + buf.len() as u64 > self.cap {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        if n > 0 {
            self.line_start = buf[n - 1] == b'\n';
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// A shareable handle that tracing writes each event through.
#[derive(Debug, Clone)]
pub struct LogFile(Arc<Mutex<RotatingFile>>);

/// One event's write access to the log file.
pub struct LogWriter<'a>(std::sync::MutexGuard<'a, RotatingFile>);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogWriter<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        // A writer that panicked mid-line leaves a file that is still usable.
        LogWriter(
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Sends `tracing` events to the log file (and to stderr when `stderr`). `verbose` adds debug.
pub fn init(log: &Path, stderr: bool, verbose: bool) -> Result<(), DaemonError> {
    let file =
        RotatingFile::open(log, MAX_LOG_BYTES).map_err(DaemonError::io("cannot open", log))?;
    let file = LogFile(Arc::new(Mutex::new(file)));
    let level = if verbose {
        tracing::Level::DEBUG
    } else {
        tracing::Level::INFO
    };
    let builder = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(level);
    // Another subscriber already set (tests run several daemons in one process) is fine.
    let _ = if stderr {
        builder.with_writer(file.and(io::stderr)).try_init()
    } else {
        builder.with_writer(file).try_init()
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_at_the_cap_and_keeps_two() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("daemon.log");
        let mut file = RotatingFile::open(&path, 100).unwrap();
        for i in 0..50 {
            // One write per line, as tracing writes one formatted event.
            file.write_all(format!("line {i:04} of the log\n").as_bytes())
                .unwrap();
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 100);
        assert!(rotated(&path, 1).exists() && rotated(&path, 2).exists());
        assert!(!rotated(&path, 3).exists());
        let newest = std::fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with("line 0049 of the log\n"), "{newest}");
    }
}
