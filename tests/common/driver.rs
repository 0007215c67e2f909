//! A small fluent driver for the `deployc` binary, shared by the test targets
//! that run it (each includes this file with `#[path]`, next to `outcome.rs`):
//!
//! ```ignore
//! Deployc::new()
//!     .args(["check", "tests/fixtures/valid.kdl"])
//!     .run()
//!     .status(0)
//!     .stderr_contains("checked");
//! ```
//!
//! Every run has `NO_COLOR=1` (unless told otherwise), piped output, the
//! repository root as its working directory (unless told otherwise) and a time
//! limit, so a hang fails the test instead of stalling the suite. What only
//! one target needs (a wrapper, say) is added by its `support` module.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::outcome::{Outcome, Running};

/// How long one run of the binary may take before it counts as a hang.
const TIME_LIMIT: Duration = Duration::from_secs(60);

pub fn deployc_binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_deployc"))
}

/// One run of the binary, to be built up and then [`Deployc::run`].
pub struct Deployc {
    /// What runs: the binary, or a wrapper, its arguments and then the binary.
    pub program: Vec<OsString>,
    pub args: Vec<OsString>,
    /// Bytes given on standard input; none: `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    pub current_dir: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    pub env_remove: Vec<OsString>,
}

impl Default for Deployc {
    fn default() -> Self {
        Self::new()
    }
}

impl Deployc {
    pub fn new() -> Self {
        Deployc {
            program: vec![deployc_binary().as_os_str().to_owned()],
            args: Vec::new(),
            stdin: None,
            current_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
            env: vec![("NO_COLOR".into(), "1".into())],
            env_remove: Vec::new(),
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

    /// Runs without `NO_COLOR` in the environment.
    pub fn colour_allowed(mut self) -> Self {
        self.env.retain(|(k, _)| k != "NO_COLOR");
        self.env_remove.push("NO_COLOR".into());
        self
    }

    /// The command line as failure messages show it.
    pub fn shown(&self) -> String {
        format!("deployc {}", shell_words(&self.args))
    }

    /// The command, without its standard streams set.
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program[0]);
        command
            .args(&self.program[1..])
            .args(&self.args)
            .current_dir(&self.current_dir);
        for key in &self.env_remove {
            command.env_remove(key);
        }
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// Starts the binary without waiting for it, its output discarded (for kill tests).
    pub fn spawn(&self) -> Child {
        self.command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", self.shown()))
    }

    /// Runs the binary to completion, or fails the test if it takes longer than
    /// [`TIME_LIMIT`], is killed by a signal (a stack overflow aborts) or
    /// writes anything but UTF-8.
    pub fn run(self) -> Outcome {
        Running::start(&mut self.command(), self.shown(), self.stdin, TIME_LIMIT).wait_utf8()
    }
}

/// Arguments joined with spaces, for messages.
pub fn shell_words(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}
