//! The sandbox the behaviour tests run generated scripts in, and a small
//! fluent driver, so a test reads like what it checks:
//!
//! ```ignore
//! let sb = Sandbox::new();
//! sb.write("root/Dockerfile", "FROM scratch\n");
//! let deployment = sb.deploy(SPEC); // `$T` in the spec is the sandbox folder
//! deployment.build_script().arg("build").env("DEPLOYC_TAG", "t1").run().status(0);
//! assert_eq!(sb.calls().matching("docker", &["build"]).len(), 1);
//! ```
//!
//! A sandbox is a temporary folder holding:
//! - `fs/`: what specs point at (`$T` in a spec): project root, log folders, ...
//! - `mnt/<name>/`: what a script sees at the fixed host paths of the plan
//!   (see [`MASKS`]), so nothing it installs touches the real host;
//! - `ctl/`: the stubs' call log, counters and SSM values;
//! - `out/`: the rendered artifacts.
//!
//! Scripts run with `bash` under bubblewrap: the host's filesystem, with the
//! fixed paths bind-mounted from `mnt/`, a clean environment, and a PATH that
//! starts with the stubs of `tests/behaviour/stubs/` (see `lib.sh` there).
//!
//! Running a script to its [`Outcome`], and the common assertions on it, are
//! shared with the other test targets (`tests/common/outcome.rs`); the
//! assertions only these tests need are added here.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub use crate::outcome::{Outcome, Running};

/// How long one script may run before the test calls it a hang.
const TIME_LIMIT: Duration = Duration::from_secs(40);

/// The stubs: one small bash script per host command.
pub const STUBS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/behaviour/stubs");

/// Real commands, after the stubs on PATH.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Host paths the plan fixes, and the folder of `mnt/` that stands in for each.
pub const MASKS: &[(&str, &str)] = &[
    ("/var/lib/deployc", "state"),
    ("/usr/local/libexec/deployc", "libexec"),
    ("/etc/systemd/system", "systemd"),
    ("/opt/aws", "aws"),
    ("/usr/local/lib/docker", "plugins"),
    ("/tmp", "tmp"),
];

/// What /etc/os-release says in a sandbox unless a test says otherwise: the
/// default `host { os }`.
const AL2023: &str = "NAME=\"Amazon Linux\"\nVERSION_ID=\"2023\"\nID=\"amzn\"\n";

/// Where the CloudWatch agent's ctl is on a host (the plan's `cloudwatch.ctl`).
const CLOUDWATCH_CTL: &str = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";

/// Fails the test with a clear message when bubblewrap cannot run: these
/// tests never skip.
fn require_bwrap() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let result = CHECKED.get_or_init(|| {
        match Command::new("bwrap")
            .args(["--dev-bind", "/", "/", "--", "true"])
            .output()
        {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "`bwrap --dev-bind / / -- true` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Err(format!("cannot run bwrap: {e}")),
        }
    });
    if let Err(why) = result {
        panic!(
            "the behaviour tests run generated scripts under bubblewrap, which is not usable here: {why}\n\
             install it (as root: `make tools`, or apt-get install bubblewrap) and run the tests as root or with user namespaces enabled"
        );
    }
}

/// Where sandboxes are created: a folder whose path is a valid spec path
/// and not under /tmp or /var/tmp, where deployc refuses build logs (E0325)
/// since a unit's own /tmp vanishes with it. Cargo's target folder, unless
/// the checkout itself lives there; then the user's cache.
fn sandbox_parent() -> PathBuf {
    let usable = |p: &Path| {
        p.is_absolute()
            && !p.starts_with("/tmp")
            && !p.starts_with("/var/tmp")
            && p.to_str().is_some_and(|s| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._/@+-".contains(c))
            })
    };
    let home_cache =
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/deployc-behaviour"));
    [Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR"))), home_cache]
        .into_iter()
        .flatten()
        .find(|p| usable(p))
        .unwrap_or_else(|| PathBuf::from("/var/cache/deployc-behaviour"))
}

pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        require_bwrap();
        let parent = sandbox_parent();
        std::fs::create_dir_all(&parent).expect("creating the sandbox parent");
        let dir = tempfile::Builder::new()
            .prefix("deployc-bt-")
            .tempdir_in(&parent)
            .expect("creating a sandbox");
        let sandbox = Sandbox { dir };
        for sub in ["fs", "ctl/ssm", "out", "fs/home"] {
            std::fs::create_dir_all(sandbox.top(sub)).expect("creating the sandbox layout");
        }
        for (_, name) in MASKS {
            std::fs::create_dir_all(sandbox.top("mnt").join(name)).expect("creating a mask");
        }
        sandbox.os_release(AL2023);
        let ctl = sandbox.host_path(CLOUDWATCH_CTL);
        write_file(
            &ctl,
            format!("#!/bin/sh\nexec {STUBS}/amazon-cloudwatch-agent-ctl \"$@\"\n"),
        );
        set_mode(&ctl, 0o755);
        sandbox
    }

    fn top(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// `$T` in specs: the folder under which specs put the project and its logs.
    pub fn root(&self) -> PathBuf {
        self.top("fs")
    }

    /// A path under `$T`.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    /// `$T/relative` as a string, as a spec or a message spells it.
    pub fn spelt(&self, relative: &str) -> String {
        self.path(relative)
            .to_str()
            .expect("sandbox paths are UTF-8")
            .to_owned()
    }

    /// Writes a file under `$T`, creating its folders.
    pub fn write(&self, relative: &str, contents: impl AsRef<[u8]>) -> &Self {
        write_file(&self.path(relative), contents);
        self
    }

    #[track_caller]
    pub fn read(&self, relative: &str) -> String {
        read_text(&self.path(relative))
    }

    /// What scripts read in /etc/os-release.
    pub fn os_release(&self, text: &str) -> &Self {
        write_file(&self.top("mnt/os-release"), text);
        self
    }

    /// Stores an SSM parameter for the `aws` stub.
    pub fn ssm(&self, name: &str, value: &str) -> &Self {
        write_file(&self.top("ctl/ssm").join(name.replace('/', "%")), value);
        self
    }

    /// Where a file the script sees at a fixed host path really is.
    pub fn host_path(&self, host: &str) -> PathBuf {
        let (prefix, name) = MASKS
            .iter()
            .find(|(prefix, _)| host == *prefix || host.starts_with(&format!("{prefix}/")))
            .unwrap_or_else(|| panic!("{host} is not under a masked path"));
        let rest = host[prefix.len()..].trim_start_matches('/');
        self.top("mnt").join(name).join(rest)
    }

    /// Every folder the scripts could have written to (for leak searches).
    pub fn written_folders(&self) -> Vec<PathBuf> {
        vec![self.top("fs"), self.top("mnt")]
    }

    /// The calls the stubs recorded so far, in order.
    pub fn calls(&self) -> Calls {
        let text = std::fs::read_to_string(self.call_log()).unwrap_or_default();
        Calls(text.lines().map(Call::parse).collect())
    }

    pub fn call_log(&self) -> PathBuf {
        self.top("ctl/calls.log")
    }

    /// Compiles a spec (`$T` replaced by [`Sandbox::root`]) and writes its
    /// artifacts to `out/`; a gzip user-data is also written decompressed.
    #[track_caller]
    pub fn deploy(&self, spec: &str) -> Deployment<'_> {
        let spec = spec.replace("$T", &self.spelt(""));
        let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
        let rendered_diagnostics = || {
            compiled
                .checked
                .diagnostics
                .iter()
                .map(|d| deployc::diagnostic::render_human(d, &compiled.checked.source, false))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (Some(plan), Some(artifacts)) = (&compiled.plan, &compiled.artifacts) else {
            panic!(
                "the spec does not compile:\n{}\n--- spec ---\n{spec}",
                rendered_diagnostics()
            );
        };
        for artifact in artifacts {
            let path = self.top("out").join(&artifact.file);
            write_file(&path, &artifact.bytes);
            set_mode(&path, if artifact.executable { 0o755 } else { 0o644 });
            if let Some(plain) = artifact.file.strip_suffix(".gz") {
                write_file(&self.top("out").join(plain), gunzip(&artifact.bytes));
            }
        }
        Deployment {
            sandbox: self,
            plan: plan.clone(),
            artifacts: artifacts.clone(),
        }
    }

    /// A script under `out/` (or anywhere), to run in this sandbox.
    pub fn script(&self, path: impl Into<PathBuf>) -> Script<'_> {
        Script {
            sandbox: self,
            path: path.into(),
            args: Vec::new(),
            env: Vec::new(),
            path_first: vec![PathBuf::from(STUBS)],
            no_capabilities: false,
        }
    }

    /// bubblewrap's options: the host, with each masked path bound to its
    /// `mnt/` folder, and the sandbox and stubs visible even when a mask hides them.
    fn bwrap_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["--die-with-parent", "--dev-bind", "/", "/"]
            .map(Into::into)
            .to_vec();
        for (host, name) in MASKS {
            mask(&mut args, Path::new(host), &self.top("mnt").join(name));
        }
        let keep = [self.dir.path().to_path_buf(), PathBuf::from(STUBS)];
        for path in keep {
            args.extend(["--bind".into(), path.clone().into(), path.into()]);
        }
        args.extend([
            "--ro-bind".into(),
            self.top("mnt/os-release").into(),
            "/etc/os-release".into(),
        ]);
        args.extend(["--chdir".into(), self.root().into()]);
        args
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

/// Hides `host` behind `backing`. A missing `host` cannot be a mount point
/// without creating it on the real host, so its nearest existing ancestor
/// becomes a tmpfs holding that ancestor's entries again, plus `host`.
fn mask(args: &mut Vec<OsString>, host: &Path, backing: &Path) {
    if !host.exists() {
        let mut ancestor = host.parent().expect("masks are not /");
        while !ancestor.exists() {
            ancestor = ancestor.parent().expect("/ exists");
        }
        assert!(
            ancestor != Path::new("/"),
            "cannot mask {}: no folder of its path exists on this host",
            host.display()
        );
        args.extend(["--tmpfs".into(), ancestor.into()]);
        let entries =
            std::fs::read_dir(ancestor).unwrap_or_else(|e| panic!("reading {}: {e}", ancestor.display()));
        for entry in entries {
            let path = entry.expect("a folder entry").path();
            let kind = std::fs::symlink_metadata(&path)
                .expect("an entry's metadata")
                .file_type();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path).expect("reading a symlink");
                args.extend(["--symlink".into(), target.into(), path.into()]);
            } else {
                args.extend(["--dev-bind".into(), path.clone().into(), path.into()]);
            }
        }
    }
    args.extend(["--bind".into(), backing.into(), host.into()]);
}

/// A compiled spec whose artifacts are in the sandbox's `out/`.
pub struct Deployment<'a> {
    sandbox: &'a Sandbox,
    pub plan: deployc::plan::Plan,
    pub artifacts: Vec<deployc::render::Artifact>,
}

impl Deployment<'_> {
    /// The bytes of an artifact (a gzip user-data decompressed).
    #[track_caller]
    pub fn artifact(&self, file: &str) -> Vec<u8> {
        if let Some(a) = self.artifacts.iter().find(|a| a.file == file) {
            return a.bytes.clone();
        }
        let gz = format!("{file}.gz");
        match self.artifacts.iter().find(|a| a.file == gz) {
            Some(a) => gunzip(&a.bytes),
            None => panic!("no artifact {file}; there are {:?}", self.files()),
        }
    }

    fn files(&self) -> Vec<&str> {
        self.artifacts.iter().map(|a| a.file.as_str()).collect()
    }

    /// The rendered build script, to run in the sandbox.
    pub fn build_script(&self) -> Script<'_> {
        self.sandbox
            .script(self.sandbox.top("out").join(&self.plan.files.build_script))
    }

    /// The rendered user-data (decompressed), to run in the sandbox.
    pub fn user_data(&self) -> Script<'_> {
        assert!(
            self.plan.host.is_some(),
            "the spec has no host block, so no user-data"
        );
        self.sandbox.script(self.sandbox.top("out").join("user-data.sh"))
    }
}

/// One run of a script: `bash SCRIPT ARGS` in the sandbox, with the stubs first on PATH.
pub struct Script<'a> {
    sandbox: &'a Sandbox,
    path: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    path_first: Vec<PathBuf>,
    /// Runs without capabilities, as root in a unit with an empty bounding set:
    /// files whose mode does not let their owner read them are unreadable then.
    no_capabilities: bool,
}

impl Script<'_> {
    pub fn without_capabilities(mut self) -> Self {
        self.no_capabilities = true;
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// An environment variable, for the script and the stubs (`STUB_*`).
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// PATH starts with the stubs but `name`, as on a host without that command.
    pub fn without_stub(self, name: &str) -> Self {
        let dir = self.sandbox.top(&format!("ctl/stubs-without-{name}"));
        std::fs::create_dir_all(&dir).expect("creating a stubs folder");
        for entry in std::fs::read_dir(STUBS).expect("reading the stubs") {
            let path = entry.expect("a stub").path();
            if path.file_name().is_some_and(|n| n != name) {
                let link = dir.join(path.file_name().expect("a file name"));
                if !link.exists() {
                    std::os::unix::fs::symlink(&path, link).expect("linking a stub");
                }
            }
        }
        self.path_first_instead_of_stubs(dir)
    }

    /// PATH starts with `dir` instead of the stubs.
    pub fn path_first_instead_of_stubs(mut self, dir: impl Into<PathBuf>) -> Self {
        self.path_first = vec![dir.into()];
        self
    }

    pub fn run(self) -> Outcome {
        self.spawn().wait()
    }

    /// Starts the script; [`Running::wait`] collects it.
    pub fn spawn(self) -> Running {
        let sb = self.sandbox;
        let mut command = Command::new("bwrap");
        command.args(sb.bwrap_args());
        if self.no_capabilities {
            command.args(["--cap-drop", "ALL"]);
        }
        command.arg("--").arg("bash");
        command.arg(&self.path).args(&self.args);
        let mut path = self
            .path_first
            .iter()
            .map(|p| p.to_str().expect("UTF-8 paths").to_owned())
            .collect::<Vec<_>>();
        path.push(SYSTEM_PATH.to_owned());
        command
            .env_clear()
            .env("PATH", path.join(":"))
            .env("HOME", sb.path("home"))
            .env("LANG", "C.UTF-8")
            .env("STUB_CTL", sb.top("ctl"))
            .env("STUB_REAL_PATH", SYSTEM_PATH)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        let shown = format!(
            "{}{} {}",
            self.env.iter().fold(String::new(), |mut s, (k, v)| {
                let _ = write!(s, "{k}={v:?} ");
                s
            }),
            self.path.display(),
            self.args.join(" ")
        );
        Running::start(&mut command, shown, None, TIME_LIMIT)
    }
}

/// The assertions only the behaviour tests need.
impl Outcome {
    /// The last line of standard output (the user-data sends everything there).
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    #[track_caller]
    pub fn last_line_has(&self, needle: &str) -> &Self {
        self.check(
            self.last_line().contains(needle),
            format_args!("the last line is {:?}, not one with {needle:?}", self.last_line()),
        )
    }

    /// Lines of standard output containing `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.stdout.lines().filter(|l| l.contains(needle)).collect()
    }
}

/// One call a stub recorded.
#[derive(Clone, Debug)]
pub struct Call {
    /// When, in nanoseconds since the epoch.
    pub at: u128,
    pub name: String,
    pub args: Vec<String>,
}

impl Call {
    fn parse(line: &str) -> Call {
        let mut fields = line.split('\t').map(unescape);
        let at = fields
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("bad call line {line:?}"));
        let name = fields.next().unwrap_or_else(|| panic!("bad call line {line:?}"));
        Call {
            at,
            name,
            args: fields.collect(),
        }
    }

    /// Whether it is `name` called with arguments that start with `prefix`.
    pub fn is(&self, name: &str, prefix: &[&str]) -> bool {
        self.name == name
            && self.args.len() >= prefix.len()
            && self.args.iter().zip(prefix).all(|(a, p)| a == p)
    }

    pub fn has(&self, arg: &str) -> bool {
        self.args.iter().any(|a| a == arg)
    }
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name)?;
        for arg in &self.args {
            write!(f, " {arg:?}")?;
        }
        Ok(())
    }
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The calls the stubs recorded, in order.
#[derive(Clone, Debug)]
pub struct Calls(pub Vec<Call>);

impl Calls {
    /// Calls of `name` whose arguments start with `prefix`.
    pub fn matching(&self, name: &str, prefix: &[&str]) -> Vec<&Call> {
        self.0.iter().filter(|c| c.is(name, prefix)).collect()
    }

    /// Where the first such call is; fails the test when there is none.
    #[track_caller]
    pub fn position(&self, name: &str, prefix: &[&str]) -> usize {
        self.0
            .iter()
            .position(|c| c.is(name, prefix))
            .unwrap_or_else(|| panic!("no call `{name} {}`; the calls were:\n{self}", prefix.join(" ")))
    }

    /// The arguments of every call of `name`, one string each.
    pub fn args_of(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.args.join(" "))
            .collect()
    }
}

impl std::fmt::Display for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for call in &self.0 {
            writeln!(f, "  {call}")?;
        }
        Ok(())
    }
}

pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("creating {}: {e}", parent.display()));
    }
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

#[track_caller]
pub fn read_text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a gzip artifact decompresses");
    out
}

/// Every regular file under `dir` whose contents contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|path| {
            std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
                && std::fs::read(path).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

/// Every regular file under `dir`.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(k) if k.is_dir() => stack.push(path),
                Ok(_) => found.push(path),
                Err(_) => {}
            }
        }
    }
    found
}
