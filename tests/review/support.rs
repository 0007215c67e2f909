//! A small fluent vocabulary for the review-workflow tests, so they read like specs:
//!
//! ```ignore
//! let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop());
//! sandbox.deployc(["render"]).run().status(0);
//! sandbox.folder("deploy").renders(&sandbox.compiled("deploy.kdl"));
//! ```
//!
//! Every run of the binary has piped output, `NO_COLOR=1`, the sandbox as its
//! working directory and a time limit, so a hang fails instead of stalling.
//! The [`Deployc`] driver, the [`Outcome`] of a run and the common assertions
//! are shared with the other test targets (`tests/common/`); what only these
//! tests need is added here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use deployc::render::Artifact;

pub use crate::driver::Deployc;
use crate::driver::{deployc_binary, shell_words};
pub use crate::outcome::Outcome;

/// EC2's user-data limit, as render reports it.
pub const USER_DATA_LIMIT: usize = 16_384;

pub const MANIFEST: &str = ".deployc-manifest";

// ---------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------

/// A deployment spec, built up in KDL text.
#[derive(Clone, Debug)]
pub struct Spec {
    project: String,
    description: String,
    services: Vec<String>,
    host: bool,
    /// The SSM parameter of the repository token, under `/<project>/`.
    token: &'static str,
    cloudwatch: Option<u32>,
}

impl Spec {
    /// A project with no services yet.
    pub fn project(name: &str) -> Spec {
        Spec {
            project: name.to_owned(),
            description: format!("The {name} service"),
            services: Vec::new(),
            host: false,
            token: "github-token",
            cloudwatch: None,
        }
    }

    /// `shop`: one built service and one pulled image, no host, no CloudWatch.
    pub fn shop() -> Spec {
        Spec::project("shop")
            .built("api", "15m")
            .image("db", "postgres:16.4")
    }

    /// `shop` on EC2 with an image only: a small bootstrap.
    pub fn shop_on_ec2() -> Spec {
        Spec::project("shop").image("db", "postgres:16.4").host()
    }

    pub fn description(mut self, text: &str) -> Spec {
        self.description = text.to_owned();
        self
    }

    /// A service built from `Dockerfile` with its own build timeout.
    pub fn built(mut self, name: &str, timeout: &str) -> Spec {
        self.services.push(format!(
            "service \"{name}\" {{\n    build \"Dockerfile\" context=\"{name}\"\n    timeout \"{timeout}\"\n}}"
        ));
        self
    }

    /// A service run from an external image.
    pub fn image(mut self, name: &str, image: &str) -> Spec {
        self.services
            .push(format!("service \"{name}\" {{ image \"{image}\"; }}"));
        self
    }

    /// A `host` block: user-data.sh to read, user-data.sh.gz to deliver.
    pub fn host(mut self) -> Spec {
        self.host = true;
        self
    }

    /// The repository token in another SSM parameter.
    pub fn token(mut self, parameter: &'static str) -> Spec {
        self.token = parameter;
        self
    }

    pub fn without_host(mut self) -> Spec {
        self.host = false;
        self
    }

    /// A `cloudwatch` block: cloudwatch-agent.json.
    pub fn cloudwatch(mut self, retention_days: u32) -> Spec {
        self.cloudwatch = Some(retention_days);
        self
    }

    pub fn text(&self) -> String {
        let mut out = String::from("version 1\n\n");
        let _ = writeln!(
            out,
            "project \"{}\" {{\n    description \"{}\"\n}}\n",
            self.project, self.description
        );
        for service in &self.services {
            let _ = writeln!(out, "{service}\n");
        }
        if self.host {
            let _ = writeln!(
                out,
                "host {{\n    repo \"https://github.com/acme/{}\" branch=\"main\" token=\"ssm:/{}/{}\"\n}}\n",
                self.project, self.project, self.token,
            );
        }
        if let Some(days) = self.cloudwatch {
            let _ = writeln!(
                out,
                "cloudwatch {{\n    log-group \"/aws/ec2/{}\" retention-days={days}\n}}\n",
                self.project
            );
        }
        out
    }

    /// What deployc renders for this spec saved as `file_name`, computed by the library.
    pub fn artifacts(&self, file_name: &str) -> Vec<Artifact> {
        compiled(file_name, self.text().as_bytes())
    }
}

/// The artifacts of a spec, computed in memory by the library; panics with
/// the diagnostics if the spec does not compile.
/// Memoised: tests compile the same few specs many times, and a debug build compiles slowly.
pub fn compiled(name: &str, bytes: &[u8]) -> Vec<Artifact> {
    type Cache = Mutex<HashMap<(String, Vec<u8>), Vec<Artifact>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let key = (name.to_owned(), bytes.to_vec());
    if let Some(artifacts) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return artifacts.clone();
    }
    let artifacts = compile_now(name, bytes);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, artifacts.clone());
    artifacts
}

fn compile_now(name: &str, bytes: &[u8]) -> Vec<Artifact> {
    let compiled = deployc::compile(name, bytes);
    match compiled.artifacts {
        Some(artifacts) => artifacts,
        None => panic!(
            "test spec `{name}` does not compile ({} errors):\n{}",
            compiled.checked.diagnostics.error_count(),
            String::from_utf8_lossy(bytes)
        ),
    }
}

pub fn file_names(artifacts: &[Artifact]) -> Vec<String> {
    artifacts.iter().map(|a| a.file.clone()).collect()
}

// ---------------------------------------------------------------------------
// Sandboxes
// ---------------------------------------------------------------------------

/// A fresh temporary folder that is the working directory of every run.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::Builder::new()
                .prefix("deployc-review-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file, creating its folder.
    pub fn write(self, relative: &str, contents: impl AsRef<[u8]>) -> Sandbox {
        self.put(relative, contents);
        self
    }

    /// `write`, for a sandbox that is borrowed.
    pub fn put(&self, relative: &str, contents: impl AsRef<[u8]>) {
        let path = self.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Saves a spec as `relative`.
    pub fn spec(self, relative: &str, spec: &Spec) -> Sandbox {
        self.put(relative, spec.text());
        self
    }

    /// Replaces a saved spec (the "edit the spec" step of a review).
    pub fn change_spec(&self, relative: &str, spec: &Spec) {
        self.put(relative, spec.text());
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        let path = self.join(relative);
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }

    pub fn exists(&self, relative: &str) -> bool {
        self.join(relative).exists()
    }

    /// A hand edit: appends a line to a file.
    pub fn hand_edit(&self, relative: &str) {
        let mut bytes = self.read(relative);
        bytes.extend_from_slice(b"# edited by hand\n");
        std::fs::write(self.join(relative), bytes).expect("hand edit");
    }

    /// The binary, run in this sandbox.
    pub fn deployc<I, S>(&self, args: I) -> Deployc
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Deployc::new().current_dir(self.path()).args(args)
    }

    /// Everything in a folder of the sandbox, hidden files included.
    pub fn folder(&self, relative: &str) -> Folder {
        Folder::read(&self.join(relative))
    }

    /// Runs git in the sandbox with no user or system configuration; panics on failure.
    pub fn git<I, S>(&self, args: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.run_git(&args);
        assert!(
            output.status.success(),
            "git {} failed:\n{}",
            shell_words(&args),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `git`, for a command that may fail (a merge with conflicts); whether it succeeded.
    pub fn git_succeeds<I, S>(&self, args: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self.run_git(&args).status.success()
    }

    /// git's standard output, for a command that must succeed.
    pub fn git_output<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let output = self.run_git(&args);
        assert!(output.status.success(), "git {} failed", shell_words(&args));
        String::from_utf8(output.stdout).expect("git prints UTF-8")
    }

    fn run_git(&self, args: &[OsString]) -> std::process::Output {
        Command::new("git")
            .args(args)
            .current_dir(self.path())
            .envs(git_env())
            .output()
            .unwrap_or_else(|e| panic!("cannot run git (is it installed?): {e}"))
    }
}

/// Keeps git away from the user's and the system's configuration.
pub fn git_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("GIT_CONFIG_GLOBAL", "/dev/null"),
        ("GIT_CONFIG_NOSYSTEM", "1"),
        ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
    ]
}

/// Whether this process can write anywhere regardless of permission bits.
pub fn running_as_root() -> bool {
    let probe = tempfile::NamedTempFile::new().expect("a temporary file");
    probe.as_file().metadata().expect("metadata").uid() == 0
}

/// Sets a file's modification time (for "was it rewritten?" checks).
pub fn set_mtime(path: &Path, time: SystemTime) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    file.set_modified(time)
        .unwrap_or_else(|e| panic!("cannot set the mtime of {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------
// Folders
// ---------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub bytes: Vec<u8>,
    pub mode: u32,
    pub mtime: SystemTime,
}

/// A folder's regular files (not recursive), hidden ones included: bytes, mode, mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folder {
    pub path: PathBuf,
    pub files: BTreeMap<String, Entry>,
}

impl Folder {
    /// Reads a folder; a missing folder reads as empty.
    pub fn read(path: &Path) -> Folder {
        let mut files = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(path) {
            for entry in entries {
                let entry = entry.expect("directory entry");
                let name = entry.file_name().to_string_lossy().into_owned();
                let metadata = entry.metadata().expect("metadata");
                assert!(
                    metadata.is_file(),
                    "{} holds `{name}`, which is not a regular file",
                    path.display()
                );
                files.insert(
                    name,
                    Entry {
                        bytes: std::fs::read(entry.path()).expect("read"),
                        mode: metadata.permissions().mode() & 0o7777,
                        mtime: metadata.modified().expect("mtime"),
                    },
                );
            }
        }
        Folder {
            path: path.to_path_buf(),
            files,
        }
    }

    /// The folder without a file that is not deployc's business (a user's notes, say).
    pub fn without(mut self, name: &str) -> Folder {
        assert!(
            self.files.remove(name).is_some(),
            "{} has no `{name}`",
            self.path.display()
        );
        self
    }

    pub fn names(&self) -> BTreeSet<String> {
        self.files.keys().cloned().collect()
    }

    /// Files a reader such as `check-artifacts` takes for artifacts: the ones not hidden.
    pub fn visible(&self) -> BTreeSet<String> {
        self.files
            .keys()
            .filter(|n| !n.starts_with('.'))
            .cloned()
            .collect()
    }

    /// Temporary files a render left behind.
    pub fn temp_files(&self) -> BTreeSet<String> {
        self.files
            .keys()
            .filter(|n| n.ends_with(".deployc-tmp"))
            .cloned()
            .collect()
    }

    pub fn bytes(&self, name: &str) -> &[u8] {
        &self
            .files
            .get(name)
            .unwrap_or_else(|| {
                panic!(
                    "{} has no `{name}`; it holds {:?}",
                    self.path.display(),
                    self.names()
                )
            })
            .bytes
    }

    /// Asserts the folder is exactly what `before` was: same files, bytes, modes and mtimes.
    #[track_caller]
    pub fn unchanged_since(&self, before: &Folder) -> &Self {
        if self != before {
            panic!(
                "{} changed:\n{}",
                self.path.display(),
                before.describe_changes(self)
            );
        }
        self
    }

    /// Asserts the folder holds exactly `artifacts` (modes included) plus a
    /// manifest recording them for `spec_file`, and nothing else that a
    /// reader would take for an artifact.
    #[track_caller]
    pub fn renders(&self, artifacts: &[Artifact], spec_file: &str) -> &Self {
        let expected: BTreeSet<String> = artifacts.iter().map(|a| a.file.clone()).collect();
        assert_eq!(
            self.visible(),
            expected,
            "{} should hold exactly the artifacts",
            self.path.display()
        );
        for artifact in artifacts {
            let entry = &self.files[&artifact.file];
            assert!(
                entry.bytes == artifact.bytes,
                "{}/{} differs from what the library renders",
                self.path.display(),
                artifact.file
            );
            let mode = if artifact.executable { 0o755 } else { 0o644 };
            assert_eq!(
                entry.mode,
                mode,
                "{}/{} has mode {:04o}, expected {mode:04o}",
                self.path.display(),
                artifact.file,
                entry.mode
            );
        }
        self.manifest_records(artifacts, spec_file)
    }

    /// Asserts the manifest names the spec and the hash of every artifact, with nothing pending.
    #[track_caller]
    pub fn manifest_records(&self, artifacts: &[Artifact], spec_file: &str) -> &Self {
        let manifest: serde_json::Value = serde_json::from_slice(self.bytes(MANIFEST))
            .unwrap_or_else(|e| panic!("{}/{MANIFEST} is not JSON: {e}", self.path.display()));
        let files: serde_json::Map<String, serde_json::Value> = artifacts
            .iter()
            .map(|a| (a.file.clone(), deployc::output::hash(&a.bytes).into()))
            .collect();
        let expected = serde_json::json!({ "spec": spec_file, "files": files });
        assert_eq!(manifest, expected, "{}/{MANIFEST}", self.path.display());
        self
    }

    /// What differs between two readings of a folder, for failure messages.
    pub fn describe_changes(&self, after: &Folder) -> String {
        let mut out = String::new();
        for name in self.names().union(&after.names()) {
            match (self.files.get(name), after.files.get(name)) {
                (Some(_), None) => {
                    let _ = writeln!(out, "  removed {name}");
                }
                (None, Some(_)) => {
                    let _ = writeln!(out, "  added   {name}");
                }
                (Some(a), Some(b)) => {
                    if a.bytes != b.bytes {
                        let _ = writeln!(out, "  content of {name}");
                    }
                    if a.mode != b.mode {
                        let _ = writeln!(out, "  mode of {name}: {:04o} -> {:04o}", a.mode, b.mode);
                    }
                    if a.mtime != b.mtime {
                        let _ = writeln!(out, "  mtime of {name}");
                    }
                }
                (None, None) => {}
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Running the binary (the driver itself is in `tests/common/driver.rs`)
// ---------------------------------------------------------------------------

/// The wrappers only the review tests need.
impl Deployc {
    /// Runs inside `bwrap`, where `read_only` paths are bind-mounted read-only
    /// on themselves (which also makes renaming over them fail). Fails the
    /// test clearly when bwrap is missing.
    pub fn read_only<P: AsRef<Path>>(mut self, read_only: &[P]) -> Deployc {
        let bwrap = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!("bwrap is not installed; these tests need it to make a folder read-only for root (as root: `make tools`, or apt-get install bubblewrap)")
            });
        let mut wrapper: Vec<OsString> = vec![bwrap.into(), "--dev-bind".into(), "/".into(), "/".into()];
        for path in read_only {
            let path = path.as_ref().as_os_str();
            wrapper.extend(["--ro-bind".into(), path.to_owned(), path.to_owned()]);
        }
        wrapper.extend([
            "--chdir".into(),
            self.current_dir.as_os_str().to_owned(),
            "--".into(),
        ]);
        wrapper.append(&mut self.program);
        self.program = wrapper;
        self
    }

    /// Runs inside a pseudo-terminal (`script`), so stdout and stderr are terminals.
    pub fn in_terminal(mut self) -> Deployc {
        assert!(
            ["/usr/bin/script", "/bin/script"]
                .iter()
                .any(|p| Path::new(p).exists()),
            "`script` (util-linux) is not installed; the colour tests need it for a terminal"
        );
        let command = std::iter::once(deployc_binary().as_os_str().to_owned())
            .chain(self.args.drain(..))
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        self.program = vec!["script".into()];
        self.args = vec!["-qec".into(), command.into(), "/dev/null".into()];
        self
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The assertions only the review tests need.
impl Outcome {
    /// render's status lines on stdout: (verb, path, rest of the line), in order.
    pub fn status_lines(&self) -> Vec<(String, String, String)> {
        self.stdout
            .lines()
            .filter_map(|line| {
                let mut words = line.trim_start().splitn(3, ' ');
                let verb = words.next()?;
                if !matches!(verb, "created" | "updated" | "unchanged" | "removed") {
                    return None;
                }
                Some((
                    verb.to_owned(),
                    words.next().unwrap_or("").to_owned(),
                    words.next().unwrap_or("").to_owned(),
                ))
            })
            .collect()
    }

    /// The status line for `path`, which must exist exactly once.
    #[track_caller]
    pub fn status_of(&self, path: &str) -> (String, String) {
        let lines: Vec<_> = self
            .status_lines()
            .into_iter()
            .filter(|(_, p, _)| p == path)
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one status line for {path}\n{}",
            self.describe()
        );
        let (verb, _, rest) = lines.into_iter().next().expect("one line");
        (verb, rest)
    }

    /// Asserts one status line per artifact, each with `verb`, its path under
    /// `dir`, its size, and for user-data the size against EC2's limit.
    #[track_caller]
    pub fn reports_each(&self, verb: &str, dir: &str, artifacts: &[Artifact]) -> &Self {
        let prefix = format!("{dir}/");
        assert_eq!(
            self.status_lines()
                .iter()
                .filter(|(_, path, _)| path.starts_with(&prefix))
                .count(),
            artifacts.len(),
            "expected one status line per artifact\n{}",
            self.describe()
        );
        for artifact in artifacts {
            let path = format!("{dir}/{}", artifact.file);
            let (found, rest) = self.status_of(&path);
            assert_eq!(found, verb, "status of {path}\n{}", self.describe());
            let size = human_size(artifact.bytes.len());
            assert!(
                rest.starts_with(&format!("({size})")),
                "{path}: size ({size}) missing\n{}",
                self.describe()
            );
            // The budget is the size of what EC2 receives: the gzip'd file.
            if artifact.file == "user-data.sh.gz" {
                let budget = format!("{} of EC2's {USER_DATA_LIMIT} bytes", artifact.bytes.len());
                assert!(
                    rest.contains(&budget),
                    "{path}: user-data budget missing ({budget})\n{}",
                    self.describe()
                );
            } else {
                assert!(
                    !rest.contains("EC2"),
                    "{path}: only user-data has a budget\n{}",
                    self.describe()
                );
            }
        }
        self
    }
}

/// Sizes as render prints them.
pub fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
