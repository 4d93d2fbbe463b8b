//! A small file system for one worker's `--sorted-kv-dir`, so that its disk
//! fills up for real (ENOSPC from the kernel, not a simulated error): a
//! tmpfs of a given size, mounted by `mount(8)` (needs root), grown later
//! with a remount (an operator freeing space), unmounted on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallDisk {
    dir: PathBuf,
}

impl SmallDisk {
    /// Mounts a tmpfs of `size` (`mount -o size=` syntax: `512k`, `64m`) at
    /// `dir`. `Err` says why it cannot (not root, no mount(8), a container
    /// without CAP_SYS_ADMIN).
    pub fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        mount(
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ],
            dir,
        )?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Gives the file system `size` in all (its files stay).
    pub fn grow(&self, size: &str) -> Result<(), String> {
        mount(&["-o", &format!("remount,size={size}")], &self.dir)
    }
}

fn mount(args: &[&str], dir: &Path) -> Result<(), String> {
    let out = Command::new("mount")
        .args(args)
        .arg(dir)
        .output()
        .map_err(|e| format!("running mount: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mount {} {}: {} {}",
            args.join(" "),
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        // Lazy: a process killed a moment ago may still hold a file open.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
