//! Reading files a repository ships (configuration, rule packs, task files, manifests) without
//! trusting them: only regular files, only inside the repository, only up to a size limit. A
//! clone can ship `.gatehouse/config.toml` as a symlink to `/dev/zero`, a FIFO or a huge file;
//! reading one must fail at once with a clear error, not hang or exhaust memory.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest configuration file (or rule pack, task file) gatehouse reads: 1 MiB.
pub const MAX_CONFIG_SIZE: u64 = 1024 * 1024;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum UnsafeFile {
    #[error("a symlink to {}, outside the repository", target.display())]
    Outside { target: PathBuf },
    #[error("not a regular file ({0})")]
    NotRegular(&'static str),
    #[error("larger than {} KiB ({size} bytes)", limit / 1024)]
    TooLarge { size: u64, limit: u64 },
    #[error("a symlink in the commit")]
    SymlinkBlob,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads the regular file at `path` (symlinks followed), at most `limit` bytes; `None` when it
/// does not exist. FIFOs, devices, directories and sockets are refused without blocking.
pub fn read_regular(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, UnsafeFile> {
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    let file = match File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(UnsafeFile::NotRegular(kind(&meta.file_type())));
    }
    if meta.len() > limit {
        return Err(UnsafeFile::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // The file may grow after the stat: never read past the limit.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(UnsafeFile::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(Some(bytes))
}

/// The last `max` bytes of the regular file at `path`, for files in a directory an agent writes
/// in (its run directory: `agent.log`, an acceptance command's output): the last component is
/// never followed when it is a symlink (the agent cannot read `~/.ssh/id_ed25519`, but gatehouse
/// can), and FIFOs and devices are refused without blocking. `None` when it does not exist.
pub fn tail_no_follow(path: &Path, max: u64) -> Result<Option<Vec<u8>>, UnsafeFile> {
    use std::io::{Seek, SeekFrom};
    let opened = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    let mut file = match opened {
        Ok(file) => file,
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(UnsafeFile::NotRegular("a symbolic link"));
        }
        Err(e) => return Err(e.into()),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(UnsafeFile::NotRegular(kind(&meta.file_type())));
    }
    file.seek(SeekFrom::Start(meta.len().saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Refuses `rel` of the working tree `workdir` as a place to write when it would land outside
/// `workdir`: the file itself when it exists (a symlink, dangling or not, must resolve inside),
/// else the deepest directory above it that exists (a file created below a symlinked directory
/// is created wherever that points). For files gatehouse writes into a clone: hook managers'
/// configs (`install --via`), `.gatehouse/config.toml` (`init`).
pub fn ensure_inside(workdir: &Path, rel: &str) -> Result<(), UnsafeFile> {
    let root = workdir.canonicalize()?;
    let path = workdir.join(rel);
    for at in path.ancestors() {
        match std::fs::symlink_metadata(at) {
            Err(e) if is_absent(&e) => continue,
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        let real = match at.canonicalize() {
            Ok(real) => real,
            Err(e) if is_absent(&e) => {
                let target = std::fs::read_link(at).unwrap_or_else(|_| at.to_path_buf());
                return Err(UnsafeFile::Outside { target });
            }
            Err(e) => return Err(e.into()),
        };
        return if real.starts_with(&root) {
            Ok(())
        } else {
            Err(UnsafeFile::Outside { target: real })
        };
    }
    Ok(())
}

/// Reads `rel` of the working tree `workdir` like [`read_regular`], refusing a path that
/// resolves (through any symlink, of the file or of a directory above it) outside `workdir`.
pub fn read_repo_file(
    workdir: &Path,
    rel: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>, UnsafeFile> {
    let path = workdir.join(rel);
    match std::fs::symlink_metadata(&path) {
        Err(e) if is_absent(&e) => return Ok(None),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let root = workdir.canonicalize()?;
    let resolved = match path.canonicalize() {
        Ok(resolved) => resolved,
        // A dangling symlink: say where it points.
        Err(e) if is_absent(&e) => {
            let target = std::fs::read_link(&path).unwrap_or(path);
            return Err(UnsafeFile::Outside { target });
        }
        Err(e) => return Err(e.into()),
    };
    if !resolved.starts_with(&root) {
        return Err(UnsafeFile::Outside { target: resolved });
    }
    read_regular(&resolved, limit)
}

fn is_absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

fn kind(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_special_files_outside_paths_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/ok.toml"), "a = 1\n").unwrap();
        std::fs::write(dir.path().join("outside.toml"), "a = 1\n").unwrap();
        std::os::unix::fs::symlink("/dev/zero", root.join("zero")).unwrap();
        std::os::unix::fs::symlink("../outside.toml", root.join("out")).unwrap();
        std::os::unix::fs::symlink("sub/ok.toml", root.join("in")).unwrap();
        std::fs::write(root.join("big"), vec![b'#'; 2000]).unwrap();
        let read = |rel: &str| read_repo_file(&root, rel, 1000);
        assert_eq!(read("sub/ok.toml").unwrap().unwrap(), b"a = 1\n");
        assert_eq!(read("in").unwrap().unwrap(), b"a = 1\n");
        assert!(read("missing").unwrap().is_none());
        assert!(read("sub/ok.toml/x").unwrap().is_none());
        assert!(matches!(read("zero"), Err(UnsafeFile::Outside { .. })));
        assert!(matches!(read("out"), Err(UnsafeFile::Outside { .. })));
        assert!(matches!(
            read("big"),
            Err(UnsafeFile::TooLarge { size: 2000, .. })
        ));
        assert!(matches!(
            read("sub"),
            Err(UnsafeFile::NotRegular("a directory"))
        ));
        let fifo = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            read("fifo"),
            Err(UnsafeFile::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read_regular(Path::new("/dev/zero"), 1000),
            Err(UnsafeFile::NotRegular("a device"))
        ));
    }

    #[test]
    fn places_to_write_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let (root, outside) = (dir.path().join("repo"), dir.path().join("outside"));
        std::fs::create_dir_all(root.join("tools")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("bashrc"), "x\n").unwrap();
        std::os::unix::fs::symlink(outside.join("bashrc"), root.join("file")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("dir")).unwrap();
        std::os::unix::fs::symlink(outside.join("gone"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink("tools", root.join("inside")).unwrap();
        let outside_of =
            |rel: &str| matches!(ensure_inside(&root, rel), Err(UnsafeFile::Outside { .. }));
        assert!(outside_of("file"));
        assert!(outside_of("dir/new.toml"));
        assert!(outside_of("dir/deeper/new.toml"));
        assert!(outside_of("dangling"));
        assert!(outside_of("dangling/new.toml"));
        assert!(ensure_inside(&root, "inside/new.toml").is_ok());
        assert!(ensure_inside(&root, "tools/a/b/new.toml").is_ok());
        assert!(ensure_inside(&root, "new.toml").is_ok());
    }

    #[test]
    fn tails_follow_no_symlink_and_never_block() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("agent.log");
        std::fs::write(&log, "first\nsecond\n").unwrap();
        let tail = |p: &Path| tail_no_follow(p, 7);
        assert_eq!(tail(&log).unwrap().unwrap(), b"second\n");
        assert_eq!(
            tail_no_follow(&log, 100).unwrap().unwrap(),
            b"first\nsecond\n"
        );
        assert!(tail(&dir.path().join("missing")).unwrap().is_none());
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&log, &link).unwrap();
        assert!(matches!(
            tail(&link),
            Err(UnsafeFile::NotRegular("a symbolic link"))
        ));
        let zero = dir.path().join("zero.log");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        assert!(matches!(
            tail(&zero),
            Err(UnsafeFile::NotRegular("a symbolic link"))
        ));
        let fifo = dir.path().join("fifo.log");
        let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
        assert!(matches!(tail(&fifo), Err(UnsafeFile::NotRegular("a FIFO"))));
        assert!(matches!(
            tail(Path::new("/dev/null")),
            Err(UnsafeFile::NotRegular("a device"))
        ));
    }
}
