//! What the integration tests share, so they read like specs:
//!
//! ```ignore
//! Deployc::new()
//!     .args(["check", "tests/fixtures/valid.kdl"])
//!     .run()
//!     .status(0)
//!     .stderr_contains("checked");
//! ```
//!
//! The [`Deployc`] driver, the [`Outcome`] of a run and the common assertions
//! are shared with the other test targets (`tests/common/`); the assertions
//! only these tests need are added here, with repository paths and a seeded
//! random generator.

use std::path::{Path, PathBuf};

pub use crate::driver::Deployc;
pub use crate::outcome::Outcome;

/// The repository root, where `tests/...` paths are relative to.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the repository root.
pub fn repo_file(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

/// The assertions only the integration tests need.
impl Outcome {
    /// Exit status 2 with a proper diagnostic: an `error[E....]` header, the
    /// one-line summary, and no trace of a panic.
    #[track_caller]
    pub fn invalid_spec(&self) -> &Self {
        self.status(2)
            .stderr_contains("error[E")
            .stderr_contains("error: could not check")
            .no_panic()
    }

    /// The `file:line:col` locations of the diagnostics on stderr, in order.
    pub fn locations(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("--> "))
            .map(str::to_owned)
            .collect()
    }

    /// The `[CODE]`s of the diagnostics on stderr, in order.
    pub fn codes(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error[") || l.starts_with("warning["))
            .filter_map(|l| {
                let open = l.find('[')?;
                let close = l.find(']')?;
                Some(l[open + 1..close].to_owned())
            })
            .collect()
    }
}

/// A fixed pseudo-random byte generator (xorshift64*), so "random" inputs are
/// the same on every run and any failure reproduces.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// Lists the files of a directory (relative to the repository root) with
/// the given extension, sorted, as paths relative to the repository root.
pub fn files_in(dir: &str, extension: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_file(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .map(|p| format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    files
}

/// Every path under `dir` (recursively), for "nothing was written" checks.
pub fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}
