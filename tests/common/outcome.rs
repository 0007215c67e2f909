//! Running a command to its [`Outcome`], and the fluent assertions on what it
//! produced, shared by the test targets (each includes this file with `#[path]`):
//!
//! ```ignore
//! let outcome = Running::start(&mut command, "deployc check".into(), None, TIME_LIMIT).wait();
//! outcome.status(0).stderr_contains("checked").stdout_lacks("warning");
//! ```
//!
//! Every assertion returns `&Self`, so they chain, and fails with the command,
//! its exit status, how long it took and the end of both streams.
//! Assertions only one target needs are added to [`Outcome`] by that target's
//! `support` module (an `impl Outcome` block there).

use std::fmt::Arguments;
use std::io::{Read, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much of each stream a failure message shows: the end, where the
/// interesting part is.
const SHOWN: usize = 6000;

/// What a run produced. The assertions return `&Self` so they chain.
#[derive(Debug)]
pub struct Outcome {
    /// The command as shown in failure messages.
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// From the start of the run until it exited and its output was closed.
    pub elapsed: Duration,
}

impl Outcome {
    /// The run, for failure messages: command, exit status, stdout and stderr.
    pub fn describe(&self) -> String {
        format!(
            "command: {}\nexit status: {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command,
            self.code,
            self.elapsed,
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
        self.check(
            expected.contains(&self.code),
            format_args!("expected an exit status in {expected:?}"),
        )
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
        self.check(
            self.stdout.contains(needle),
            format_args!("stdout does not contain {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_contains(&self, needle: &str) -> &Self {
        self.check(
            self.stderr.contains(needle),
            format_args!("stderr does not contain {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        self.check(
            !self.stdout.contains(needle),
            format_args!("stdout contains {needle:?}"),
        )
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        self.check(
            !self.stderr.contains(needle),
            format_args!("stderr contains {needle:?}"),
        )
    }

    /// No trace of a Rust panic on stderr: neither the message nor the backtrace hint.
    #[track_caller]
    pub fn no_panic(&self) -> &Self {
        self.stderr_lacks("panicked").stderr_lacks("RUST_BACKTRACE")
    }

    /// No ANSI escape sequence on either stream.
    #[track_caller]
    pub fn no_ansi(&self) -> &Self {
        self.check(
            !self.stdout.contains('\x1b') && !self.stderr.contains('\x1b'),
            format_args!("output contains ANSI escapes"),
        )
    }

    #[track_caller]
    pub fn took_less_than(&self, limit: Duration) -> &Self {
        self.check(
            self.elapsed < limit,
            format_args!("took {:?}, over {limit:?}", self.elapsed),
        )
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

    /// Fails the test with `what` and the run unless `ok`; for assertions
    /// built on this type.
    #[track_caller]
    pub fn check(&self, ok: bool, what: Arguments<'_>) -> &Self {
        assert!(ok, "{what}\n{}", self.describe());
        self
    }
}

/// A command that was started and is not yet collected; its output is read
/// while it runs, so a full pipe never blocks it.
pub struct Running {
    child: Child,
    command: String,
    limit: Duration,
    started: Instant,
    stdin: Option<JoinHandle<()>>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

impl Running {
    /// Starts `command` (`shown` as in failure messages) with stdout and
    /// stderr piped and stdin holding `stdin` (none: `/dev/null`). It may run
    /// for `limit`, after which [`Running::wait`] calls it a hang.
    pub fn start(command: &mut Command, shown: String, stdin: Option<Vec<u8>>, limit: Duration) -> Running {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{shown}` ({:?}): {e}", command.get_program()));
        let stdin = stdin.map(|bytes| {
            let mut pipe = child.stdin.take().expect("piped stdin");
            std::thread::spawn(move || {
                // The command may exit without reading everything; that is not our failure.
                let _ = pipe.write_all(&bytes);
            })
        });
        let stdout = reader(child.stdout.take().expect("piped stdout"));
        let stderr = reader(child.stderr.take().expect("piped stderr"));
        Running {
            child,
            command: shown,
            limit,
            started: Instant::now(),
            stdin,
            stdout,
            stderr,
        }
    }

    /// Waits for the command and for everything that holds its output open,
    /// or fails the test when that takes longer than the limit or the command
    /// is killed by a signal. Output that is not UTF-8 is decoded lossily.
    pub fn wait(self) -> Outcome {
        self.finish(|_, bytes| String::from_utf8_lossy(&bytes).into_owned())
    }

    /// [`Running::wait`], failing the test when the output is not UTF-8.
    pub fn wait_utf8(self) -> Outcome {
        self.finish(|(command, stream), bytes| {
            String::from_utf8(bytes)
                .unwrap_or_else(|e| panic!("`{command}` wrote non-UTF-8 to {stream}: {e}"))
        })
    }

    fn finish(mut self, text: impl Fn((&str, &str), Vec<u8>) -> String) -> Outcome {
        let status = self.exit_status();
        // A process the command left behind may hold its output open: that is a hang too.
        while !(self.stdout.is_finished() && self.stderr.is_finished()) {
            assert!(
                self.started.elapsed() < self.limit,
                "`{}` exited, but something it started still holds its output open",
                self.command
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = self.started.elapsed();
        if let Some(writer) = self.stdin {
            let _ = writer.join();
        }
        let command = self.command;
        let stdout = text((&command, "stdout"), self.stdout.join().expect("stdout reader"));
        let stderr = text((&command, "stderr"), self.stderr.join().expect("stderr reader"));
        let code = status.code().unwrap_or_else(|| {
            panic!(
                "`{command}` was killed by a signal ({status}), most likely a crash or stack overflow\n\
                 --- stderr ---\n{}",
                tail(&stderr)
            )
        });
        Outcome {
            command,
            code,
            stdout,
            stderr,
            elapsed,
        }
    }

    fn exit_status(&mut self) -> ExitStatus {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if self.started.elapsed() > self.limit => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "`{}` did not finish within {:?}: it hangs",
                        self.command, self.limit
                    );
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => panic!("waiting for `{}`: {e}", self.command),
            }
        }
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// The end of a long output, which is where the interesting part is; says how
/// much was left out.
fn tail(text: &str) -> String {
    if text.len() <= SHOWN {
        return text.to_owned();
    }
    let mut start = text.len() - SHOWN;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("[... the first {start} bytes left out ...]\n{}", &text[start..])
}
