//! Private folders for plaintext that must touch the disk (a decrypted file
//! being edited, helm's values and kubeconfig): mode 0700, on a memory
//! filesystem when there is one (`$XDG_RUNTIME_DIR`, then `/dev/shm`),
//! files in them 0600, and removed on every way out of the process: when
//! dropped (normal return, error, panic unwinding), and by [`remove_all`],
//! which the signal handler calls before the process ends. Children working on the plaintext (an editor) are registered too,
//! and ended on an interruption.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Every private folder that exists now, and the children using them.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Where private folders go: a memory filesystem when one is writable,
/// else the temporary folder.
fn base() -> PathBuf {
    let writable = |p: &Path| {
        p.is_dir() && {
            let probe = tempfile::Builder::new().prefix(".bp-probe-").tempdir_in(p);
            probe.is_ok()
        }
    };
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| writable(p))
        .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| writable(p)))
        .unwrap_or_else(std::env::temp_dir)
}

/// A private folder, removed with everything in it when dropped.
pub struct Dir {
    path: PathBuf,
}

impl Dir {
    /// A new private folder whose name starts with `prefix`.
    pub fn new(prefix: &str) -> std::io::Result<Dir> {
        use std::os::unix::fs::PermissionsExt;
        let path = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(base())?
            .keep();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.clone());
        Ok(Dir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` in the folder: created new, mode 0600.
    pub fn write(&self, name: &str, text: &[u8]) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let file = self.path.join(name);
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)?;
        out.write_all(text)?;
        out.sync_all()?;
        Ok(file)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &self.path);
    }
}

/// A child process that works on plaintext: ended by [`remove_all`].
pub struct Child(u32);

impl Child {
    pub fn watch(pid: u32) -> Child {
        CHILDREN.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        Child(pid)
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        CHILDREN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != self.0);
    }
}

/// Ends the watched children and removes every private folder: for the
/// signal handler, just before the process ends.
pub fn remove_all() {
    let children: Vec<u32> = CHILDREN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .collect();
    for pid in children {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: sending a signal to a process this process started.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
    let dirs: Vec<PathBuf> = LIVE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
        .collect();
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn folders_are_private_and_go_when_dropped_or_removed() {
        let d = Dir::new("bp-test-").unwrap();
        let f = d.write("x", b"plain").unwrap();
        assert_eq!(
            std::fs::metadata(d.path()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let p = d.path().to_path_buf();
        drop(d);
        assert!(!p.exists());

        let d = Dir::new("bp-test-").unwrap();
        let p = d.path().to_path_buf();
        remove_all();
        assert!(!p.exists());
        drop(d);
    }
}
