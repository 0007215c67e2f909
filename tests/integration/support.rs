//! A small fluent driver for the `deployc` binary, so tests read like specs:
//!
//! ```ignore
//! Deployc::new()
//!     .args(["check", "tests/fixtures/valid.kdl"])
//!     .run()
//!     .status(0)
//!     .stderr_contains("checked");
//! ```
//!
//! Every run has `NO_COLOR=1`, piped output, the repository root as its
//! working directory (unless told otherwise) and a time limit, so a hang
//! fails the test instead of stalling the suite.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run of the binary may take before it counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The repository root, where `tests/...` paths are relative to.
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the repository root.
pub fn repo_file(relative: &str) -> PathBuf {
    repo_root().join(relative)
}

pub struct Deployc {
    args: Vec<OsString>,
    stdin: Option<Vec<u8>>,
    current_dir: PathBuf,
    env: Vec<(OsString, OsString)>,
}

impl Default for Deployc {
    fn default() -> Self {
        Self::new()
    }
}

impl Deployc {
    pub fn new() -> Self {
        Deployc {
            args: Vec::new(),
            stdin: None,
            current_dir: repo_root().to_path_buf(),
            env: vec![("NO_COLOR".into(), "1".into())],
        }
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Bytes given on standard input (otherwise stdin is empty).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.current_dir = dir.as_ref().to_path_buf();
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Runs the binary to completion, or fails the test if it takes longer than
    /// [`TIME_LIMIT`] or is killed by a signal (a stack overflow aborts).
    pub fn run(self) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deployc"));
        command
            .args(&self.args)
            .current_dir(&self.current_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let shown = format!("deployc {}", shell_words(&self.args));
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{shown}`: {e}"));

        let stdin = self.stdin.unwrap_or_default();
        let mut child_stdin = child.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || {
            // The binary may exit without reading everything; that is not our failure.
            let _ = child_stdin.write_all(&stdin);
        });
        let mut child_stdout = child.stdout.take().expect("stdout is piped");
        let out_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = child_stdout.read_to_end(&mut buf);
            buf
        });
        let mut child_stderr = child.stderr.take().expect("stderr is piped");
        let err_reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = child_stderr.read_to_end(&mut buf);
            buf
        });

        let started = Instant::now();
        let status = loop {
            match child.try_wait().expect("waiting for deployc") {
                Some(status) => break status,
                None if started.elapsed() > TIME_LIMIT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("`{shown}` did not finish within {TIME_LIMIT:?}: it hangs");
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        let _ = writer.join();
        let stdout = out_reader.join().expect("stdout reader");
        let stderr = err_reader.join().expect("stderr reader");
        let stdout =
            String::from_utf8(stdout).unwrap_or_else(|e| panic!("`{shown}` wrote non-UTF-8 to stdout: {e}"));
        let stderr =
            String::from_utf8(stderr).unwrap_or_else(|e| panic!("`{shown}` wrote non-UTF-8 to stderr: {e}"));
        let code = status.code().unwrap_or_else(|| {
            panic!(
                "`{shown}` was killed by a signal ({status}), most likely a crash or stack overflow\n\
                 --- stderr ---\n{}",
                tail(&stderr)
            )
        });
        Output {
            command: shown,
            code,
            stdout,
            stderr,
        }
    }
}

fn shell_words(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The end of a long output, which is where the interesting part is.
fn tail(text: &str) -> &str {
    const LIMIT: usize = 4000;
    if text.len() <= LIMIT {
        return text;
    }
    let mut start = text.len() - LIMIT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// What a run produced. The assertion helpers return `&Self` so they chain.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn describe(&self) -> String {
        format!(
            "command: {}\nexit status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }

    #[track_caller]
    pub fn status(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            expected,
            "expected exit status {expected}\n{}",
            self.describe()
        );
        self
    }

    /// One of several acceptable exit statuses.
    #[track_caller]
    pub fn status_in(&self, expected: &[i32]) -> &Self {
        assert!(
            expected.contains(&self.code),
            "expected an exit status in {expected:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stdout, expected, "unexpected stdout\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn stderr_is(&self, expected: &str) -> &Self {
        assert_eq!(self.stderr, expected, "unexpected stderr\n{}", self.describe());
        self
    }

    #[track_caller]
    pub fn stdout_empty(&self) -> &Self {
        self.stdout_is("")
    }

    #[track_caller]
    pub fn stderr_empty(&self) -> &Self {
        self.stderr_is("")
    }

    #[track_caller]
    pub fn stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout does not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr does not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr contains {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout contains {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// Exit status 2 with a proper diagnostic: an `error[E....]` header, the
    /// one-line summary, and no trace of a panic.
    #[track_caller]
    pub fn invalid_spec(&self) -> &Self {
        self.status(2)
            .stderr_contains("error[E")
            .stderr_contains("error: could not check")
            .no_panic()
    }

    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        self.stderr_lacks("panicked").stderr_lacks("RUST_BACKTRACE")
    }

    /// No ANSI escape sequence on either stream.
    #[track_caller]
    pub fn no_ansi(&self) -> &Self {
        assert!(
            !self.stdout.contains('\x1b') && !self.stderr.contains('\x1b'),
            "output contains ANSI escapes\n{}",
            self.describe()
        );
        self
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

    /// Each stdout line parsed as JSON, as `--message-format json` prints them.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}\n{}", self.describe()))
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
