//! Writing safely: read-only folders, renders killed part-way, renders cut short by an error.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use deployc::render::Artifact;

use crate::driver::deployc_binary;
use crate::support::*;

/// Runs `deployc ARGS` with `dir` (relative to the sandbox) read-only: a
/// read-only bind mount for root (permission bits do not stop root), mode
/// 0555 otherwise.
fn run_with_read_only_folder(sandbox: &Sandbox, dir: &str, args: &[&str]) -> Outcome {
    let path = sandbox.join(dir);
    if running_as_root() {
        sandbox.deployc(args).read_only(&[&path]).run()
    } else {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o555)).unwrap();
        let output = sandbox.deployc(args).run();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        output
    }
}

#[test]
#[ignore = "needs bubblewrap when run as root: run `make test`"]
fn a_read_only_folder_is_an_io_failure_and_the_old_files_stay_whole() {
    let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop_on_ec2());
    sandbox.deployc(["render"]).run().status(0);
    sandbox.change_spec("deploy.kdl", &Spec::shop_on_ec2().description("Changed"));
    let before = sandbox.folder("deploy");

    run_with_read_only_folder(&sandbox, "deploy", &["render"])
        .status(3)
        .stderr_contains("cannot write to `deploy`")
        .no_panic();

    let after = sandbox.folder("deploy");
    assert!(
        after.temp_files().is_empty(),
        "temporary files left: {:?}",
        after.temp_files()
    );
    after.unchanged_since(&before);
}

#[test]
#[ignore = "needs bubblewrap when run as root: run `make test`"]
fn a_first_render_into_a_read_only_folder_writes_nothing() {
    let sandbox = Sandbox::new()
        .spec("deploy.kdl", &Spec::shop())
        .write("deploy/notes.txt", "mine\n");
    let before = sandbox.folder("deploy");

    run_with_read_only_folder(&sandbox, "deploy", &["render"])
        .status(3)
        .stderr_contains("cannot write to `deploy`");

    sandbox.folder("deploy").unchanged_since(&before);
}

// ---------------------------------------------------------------------------
// Interrupted renders
// ---------------------------------------------------------------------------

/// Where version A of the spec is saved; both versions are `deploy.kdl`, as
/// one spec before and after a change, so each may render over the other.
const A: &str = "a/deploy.kdl";
/// Where version B of the spec is saved.
const B: &str = "b/deploy.kdl";
/// The file name both versions render as, which their manifests record.
const SPEC_FILE: &str = "deploy.kdl";

/// Two renders of the same project where every artifact differs: A from
/// `a/deploy.kdl`, B from `b/deploy.kdl`, both into `deploy/`.
struct TwoVersions {
    sandbox: Sandbox,
    a: Vec<Artifact>,
    b: Vec<Artifact>,
}

impl TwoVersions {
    fn new() -> TwoVersions {
        let a = Spec::shop().host().cloudwatch(30);
        let b = Spec::project("shop")
            .description("The shop, second edition")
            .built("api", "25m")
            .image("db", "postgres:16.5")
            .host()
            .token("deploy-token")
            .cloudwatch(90);
        let sandbox = Sandbox::new().spec(A, &a).spec(B, &b);
        let (a, b) = (a.artifacts(SPEC_FILE), b.artifacts(SPEC_FILE));
        assert_eq!(file_names(&a), file_names(&b), "precondition: the same files");
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(
                x.bytes, y.bytes,
                "precondition: {} differs between A and B",
                x.file
            );
        }
        TwoVersions { sandbox, a, b }
    }

    fn dir(&self) -> std::path::PathBuf {
        self.sandbox.join("deploy")
    }

    fn render(&self, spec: &str) -> Outcome {
        self.sandbox.deployc(["render", spec, "-o", "deploy"]).run()
    }

    /// Puts the folder back to A's render, through the library (fast, no process).
    fn reset_to_a(&self) {
        let survey = deployc::output::survey(&self.dir(), SPEC_FILE, &self.a).expect("survey");
        assert!(
            survey.conflicts.is_empty(),
            "resetting to A: {:?}",
            survey.conflicts
        );
        deployc::output::apply(&survey, false).expect("resetting to A");
    }

    /// Asserts every artifact is whole: A's or B's bytes with the matching
    /// mode; nothing else a reader would take for an artifact; a manifest
    /// that parses. Returns whether the folder is part-way between A and B.
    #[track_caller]
    fn assert_whole(&self, attempt: &str) -> bool {
        let folder = Folder::read(&self.dir());
        let names: std::collections::BTreeSet<String> = file_names(&self.a).into_iter().collect();
        assert!(
            folder.visible().is_subset(&names),
            "{attempt}: files a reader takes for artifacts: {:?}",
            folder.visible()
        );
        for name in folder.names().difference(&names) {
            assert!(name.starts_with('.'), "{attempt}: `{name}` is not hidden");
        }
        let mut from_a = 0;
        let mut from_b = 0;
        for (a, b) in self.a.iter().zip(&self.b) {
            let entry = folder
                .files
                .get(&a.file)
                .unwrap_or_else(|| panic!("{attempt}: `{}` is missing", a.file));
            let mode = if a.executable { 0o755 } else { 0o644 };
            if entry.bytes == a.bytes {
                from_a += 1;
            } else if entry.bytes == b.bytes {
                from_b += 1;
            } else {
                panic!(
                    "{attempt}: `{}` is neither A's nor B's version ({} bytes; A {}, B {})",
                    a.file,
                    entry.bytes.len(),
                    a.bytes.len(),
                    b.bytes.len()
                );
            }
            assert_eq!(entry.mode, mode, "{attempt}: mode of `{}`", a.file);
        }
        let manifest: serde_json::Value = serde_json::from_slice(folder.bytes(MANIFEST))
            .unwrap_or_else(|e| panic!("{attempt}: the manifest is not JSON: {e}"));
        let pending = manifest.get("pending").is_some();
        (from_a > 0 && from_b > 0) || pending || !folder.temp_files().is_empty()
    }
}

/// When, after starting render B, it is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after the process was spawned.
    AfterSpawn(Duration),
    /// This long after its first change to the folder (the pending manifest's temporary file).
    AfterFirstWrite(Duration),
}

/// What changes when a render creates its first temporary file: the folder's
/// modification time (coarse on some file systems) and its list of names.
fn folder_state(dir: &Path) -> (SystemTime, Vec<std::ffi::OsString>) {
    let time = std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .expect("folder mtime");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("list the folder")
        .map(|e| e.expect("directory entry").file_name())
        .collect();
    names.sort();
    (time, names)
}

/// Waits (politely: the child needs the CPU) until the folder changes or the child exits.
fn wait_for_first_write(dir: &Path, before: &(SystemTime, Vec<std::ffi::OsString>), child: &mut Child) {
    let started = Instant::now();
    while folder_state(dir) == *before {
        if child.try_wait().expect("try_wait").is_some() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "render B never wrote"
        );
        std::thread::sleep(Duration::from_micros(20));
    }
}

/// Waits precisely (sleep is too coarse for tens of microseconds).
fn spin_for(delay: Duration) {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// How long render B spends writing here (first temporary file to final
/// manifest), so the kills can be spread over all of it. Leaves the folder at A.
fn measure_write_phase(versions: &TwoVersions) -> Duration {
    let dir = versions.dir();
    let before = folder_state(&dir);
    let mut child = versions.sandbox.deployc(["render", B, "-o", "deploy"]).spawn();
    wait_for_first_write(&dir, &before, &mut child);
    let first_write = Instant::now();
    let b_hash = deployc::output::hash(&versions.b[0].bytes);
    let finished = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        text.contains(&b_hash) && !text.contains("\"pending\"")
    };
    while !std::fs::read(dir.join(MANIFEST)).is_ok_and(|b| finished(&b)) {
        if child.try_wait().expect("try_wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_micros(20));
    }
    let phase = first_write.elapsed();
    assert!(child.wait().expect("wait").success(), "render B failed");
    versions.reset_to_a();
    phase
}

/// Starts render B and SIGKILLs it at `kill`.
fn start_and_kill(versions: &TwoVersions, kill: Kill) {
    let dir = versions.dir();
    let before = folder_state(&dir);
    let mut child = versions.sandbox.deployc(["render", B, "-o", "deploy"]).spawn();
    match kill {
        Kill::AfterSpawn(delay) => spin_for(delay),
        Kill::AfterFirstWrite(delay) => {
            wait_for_first_write(&dir, &before, &mut child);
            spin_for(delay);
        }
    }
    let _ = child.kill(); // SIGKILL; it may have finished already
    let _ = child.wait();
}

/// What a series of kills found.
#[derive(Default)]
struct Findings {
    /// Kills that left the folder part-way between A and B.
    part_way: usize,
    /// Temporary files that were still there after the next complete render.
    outliving_temp_files: Vec<String>,
}

/// Kills render B at each point, from A's render; checks the folder after
/// each kill and after the complete render that follows it.
fn kill_at_each(kills: &[Kill]) -> Findings {
    let versions = TwoVersions::new();
    versions.render(A).status(0);
    let mut findings = Findings::default();
    for (n, kill) in kills.iter().enumerate() {
        let attempt = format!("attempt {n} ({kill:?})");
        start_and_kill(&versions, *kill);
        if versions.assert_whole(&attempt) {
            findings.part_way += 1;
        }

        // The next normal render, of either spec, needs no --force and leaves exactly that render.
        let (spec, artifacts) = if n % 2 == 0 {
            (A, &versions.a)
        } else {
            (B, &versions.b)
        };
        versions
            .render(spec)
            .status(0)
            .stderr_lacks("edited by hand")
            .stderr_lacks("not generated by deployc");
        let folder = Folder::read(&versions.dir());
        folder.renders(artifacts, SPEC_FILE);
        if !folder.temp_files().is_empty() {
            findings
                .outliving_temp_files
                .push(format!("{attempt}: {:?}", folder.temp_files()));
        }
        if spec == B {
            versions.reset_to_a();
        }
    }
    findings
}

#[test]
fn a_render_killed_at_any_point_leaves_whole_files_and_no_false_hand_edit() {
    let calibration = TwoVersions::new();
    calibration.render(A).status(0);
    let started = Instant::now();
    calibration.render(B).status(0);
    let whole = started.elapsed();
    calibration.reset_to_a();
    let writing = measure_write_phase(&calibration);

    // A few right after spawn, a few spread over a whole run, and most in
    // growing steps from the first write to a little past the last.
    const STEPS: u32 = 60;
    let step = (writing * 5 / 4 / STEPS).max(Duration::from_micros(20));
    let mut kills = vec![Kill::AfterSpawn(Duration::ZERO); 4];
    kills.extend((1..=8).map(|i| Kill::AfterSpawn(whole * i / 8)));
    kills.extend((0..STEPS).map(|i| Kill::AfterFirstWrite(step * i)));

    // Two sandboxes take alternate kills, in parallel, to halve the time.
    let halves: [Vec<Kill>; 2] = [
        kills.iter().copied().step_by(2).collect(),
        kills.iter().copied().skip(1).step_by(2).collect(),
    ];
    let findings: Vec<Findings> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .iter()
            .map(|half| scope.spawn(move || kill_at_each(half)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });

    let part_way: usize = findings.iter().map(|f| f.part_way).sum();
    assert!(
        part_way > 0,
        "none of {} kills landed while render B was writing (a render takes {whole:?}, writing {writing:?}); the test proves nothing",
        kills.len()
    );
    let outliving: Vec<&String> = findings.iter().flat_map(|f| &f.outliving_temp_files).collect();
    assert!(
        outliving.is_empty(),
        "temporary files of a killed render outlived the next render: {outliving:?}"
    );
    eprintln!(
        "{} kills, {part_way} part-way; render {whole:?}, writing {writing:?}, step {step:?}",
        kills.len()
    );
}

/// Makes `render` fail with an I/O error when it comes to replace `file`:
/// a read-only bind mount of the file onto itself (rename over a mount point
/// fails). Everything before that point is written, as if it had been killed
/// there, but deterministically.
fn render_cut_short_at(versions: &TwoVersions, spec: &str, file: &str) {
    let path = versions.dir().join(file);
    versions
        .sandbox
        .deployc(["render", spec, "-o", "deploy"])
        .read_only(&[path.as_path()])
        .run()
        .status(3)
        .stderr_contains("cannot write to `deploy`");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_render_cut_short_between_two_files_is_recovered_without_force() {
    let versions = TwoVersions::new();
    for (follow_up, artifacts) in [(A, &versions.a), (B, &versions.b)] {
        versions.render(A).status(0);
        render_cut_short_at(&versions, B, "shop-build.sh");
        let folder = Folder::read(&versions.dir());
        assert_eq!(
            folder.bytes("shop.service"),
            versions.b[0].bytes,
            "the unit was written before the cut"
        );
        assert_eq!(
            folder.bytes("shop-build.sh"),
            versions.a[1].bytes,
            "the build script was not"
        );
        assert!(versions.assert_whole("cut short"));

        versions
            .render(follow_up)
            .status(0)
            .stderr_lacks("edited by hand");
        Folder::read(&versions.dir()).renders(artifacts, SPEC_FILE);
    }
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_render_interrupted_twice_still_knows_its_own_files() {
    let versions = TwoVersions::new();
    versions.render(A).status(0);
    // B is cut short after writing its unit: unit B, the rest A.
    render_cut_short_at(&versions, B, "shop-build.sh");
    // A is cut short before it can put the unit back: the unit is still B's.
    render_cut_short_at(&versions, A, "shop.service");
    assert!(versions.assert_whole("cut short twice"));
    assert_eq!(
        Folder::read(&versions.dir()).bytes("shop.service"),
        versions.b[0].bytes
    );

    // Every file is one deployc wrote, so a normal render must go through.
    versions.render(A).status(0).stderr_lacks("edited by hand");
    Folder::read(&versions.dir()).renders(&versions.a, SPEC_FILE);
}

#[test]
fn a_later_render_removes_the_temporary_files_of_a_killed_one() {
    // What a render killed right after creating its first temporary file leaves
    // (the kill test above finds this state in most runs).
    let versions = TwoVersions::new();
    versions.render(A).status(0);
    versions
        .sandbox
        .put("deploy/..deployc-manifest.deployc-tmp", "{\n  \"spec\": \"deplo");
    versions.sandbox.put(
        "deploy/.shop.service.deployc-tmp",
        "# Generated by deployc from deploy.kdl",
    );

    versions.render(A).status(0);

    let folder = Folder::read(&versions.dir());
    assert!(
        folder.temp_files().is_empty(),
        "left behind: {:?}",
        folder.temp_files()
    );
    folder.renders(&versions.a, SPEC_FILE);
}

#[test]
fn rewriting_a_file_clears_the_temporary_file_a_killed_render_left_for_it() {
    // A killed render can leave `.<file>.deployc-tmp` behind (hidden, so no
    // reader takes it for an artifact). Rewriting that file reuses it.
    let versions = TwoVersions::new();
    versions.render(A).status(0);
    for file in file_names(&versions.a) {
        versions
            .sandbox
            .put(&format!("deploy/.{file}.deployc-tmp"), "half a file");
    }

    versions.render(B).status(0).stderr_lacks("deployc-tmp");

    let after = Folder::read(&versions.dir());
    after.renders(&versions.b, SPEC_FILE);
    assert!(
        after.temp_files().is_empty(),
        "left behind: {:?}",
        after.temp_files()
    );
}

/// A version of the spec with `project` last: any prefix of it lacks the
/// project, so half a spec is always invalid, never another valid spec.
fn spec_with_project_last(description: &str) -> String {
    format!(
        "version 1\nservice \"db\" {{ image \"postgres:16.4\"; }}\nproject \"shop\" {{\n    description \"{description}\"\n}}\n"
    )
}

/// Whether `folder` holds exactly the artifacts of `spec` (and the manifest).
fn holds_exactly(folder: &Folder, spec: &str) -> bool {
    let artifacts = compiled("deploy.kdl", spec.as_bytes());
    let mut names: Vec<&str> = folder.files.keys().map(String::as_str).collect();
    names.retain(|n| *n != ".deployc-manifest");
    names.len() == artifacts.len()
        && artifacts
            .iter()
            .all(|a| folder.files.get(&a.file).is_some_and(|e| e.bytes == a.bytes))
}

#[test]
fn a_spec_rewritten_or_removed_during_renders_gives_one_whole_version_or_a_clear_failure() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let versions = [
        spec_with_project_last("Version A"),
        spec_with_project_last("Version B"),
    ];
    let sandbox = Sandbox::new().write("deploy.kdl", &versions[0]);
    sandbox.deployc(["render"]).run().status(0);
    let spec_path = sandbox.join("deploy.kdl");
    let stop = Arc::new(AtomicBool::new(false));
    // An editor that saves in place, in two writes, and sometimes deletes the file first.
    let editor = {
        let stop = Arc::clone(&stop);
        let versions = versions.clone();
        let path = spec_path.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut round = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let text = versions[round % 2].as_bytes();
                if round % 3 == 2 {
                    let _ = std::fs::remove_file(&path);
                    std::thread::sleep(Duration::from_millis(2));
                }
                if let Ok(mut file) = std::fs::File::create(&path) {
                    let (head, tail) = text.split_at(text.len() / 2);
                    let _ = file.write_all(head);
                    std::thread::sleep(Duration::from_micros(300));
                    let _ = file.write_all(tail);
                }
                std::thread::sleep(Duration::from_millis(3));
                round += 1;
            }
        })
    };

    let mut statuses = Vec::new();
    for _ in 0..60 {
        let before = sandbox.folder("deploy");
        let output = sandbox.deployc(["render"]).run();
        output.no_panic();
        let after = sandbox.folder("deploy");
        assert!(
            after.temp_files().is_empty(),
            "temporary files left: {:?}",
            after.temp_files()
        );
        match output.code {
            0 => assert!(
                versions.iter().any(|v| holds_exactly(&after, v)),
                "the folder mixes versions after a successful render:\n{}",
                output.stderr
            ),
            2 => {
                output.stderr_contains("error[E0");
                after.unchanged_since(&before);
            }
            3 => {
                assert!(
                    output.stderr.contains("cannot read `deploy.kdl`")
                        || output.stderr.contains("kept changing while it was read"),
                    "{}",
                    output.stderr
                );
                after.unchanged_since(&before);
            }
            other => panic!("exit status {other}:\n{}", output.stderr),
        }
        statuses.push(output.code);
    }
    stop.store(true, Ordering::Relaxed);
    editor.join().unwrap();
    assert!(statuses.contains(&0), "no render succeeded: {statuses:?}");
}

#[test]
fn a_spec_that_is_gone_is_an_io_failure_that_writes_nothing() {
    let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop());
    sandbox.deployc(["render"]).run().status(0);
    let before = sandbox.folder("deploy");
    std::fs::remove_file(sandbox.join("deploy.kdl")).unwrap();
    sandbox
        .deployc(["render"])
        .run()
        .status(3)
        .stdout_empty()
        .stderr_contains("error: cannot read `deploy.kdl`: no such file or directory");
    sandbox.folder("deploy").unchanged_since(&before);
}

/// Renders into a 64 KiB tmpfs (bubblewrap's `--size`) that a filler leaves
/// `room` bytes free: first `first`, then, with the disk full, `second`.
/// Returns the second run's exit status and stderr, and the folder before and after it.
/// Both are versions of one `deploy.kdl`, so the second may render over the first.
fn render_onto_a_full_disk(first: &Spec, second: &Spec, room: usize) -> (i32, String, Folder, Folder) {
    let sandbox = Sandbox::new()
        .spec("first/deploy.kdl", first)
        .spec("second/deploy.kdl", second);
    let full = sandbox.join("full");
    std::fs::create_dir(&full).unwrap();
    let script = format!(
        r#"set -u
deployc={deployc}
out="$FULL/deploy"
"$deployc" -q render first/deploy.kdl -o "$out" || exit 90
head -c {room} /dev/zero > "$FULL/pad"
head -c 1048576 /dev/zero > "$FULL/filler" 2>/dev/null
rm "$FULL/pad"
cp -a "$out" before
"$deployc" -q render second/deploy.kdl -o "$out" 2> stderr
echo $? > status
cp -a "$out" after
"#,
        deployc = deployc_binary().display(),
    );
    let bwrap = ["/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("bwrap is installed (as root: `make tools`, or apt-get install bubblewrap)");
    let status = std::process::Command::new(bwrap)
        .args(["--dev-bind", "/", "/", "--size", "65536", "--tmpfs"])
        .arg(&full)
        .arg("--chdir")
        .arg(sandbox.path())
        .args(["--setenv", "FULL"])
        .arg(&full)
        .args(["--", "bash", "-c", &script])
        .status()
        .expect("bwrap runs");
    assert!(status.success(), "the full-disk script failed: {status}");
    let code: i32 = String::from_utf8(sandbox.read("status"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let stderr = String::from_utf8(sandbox.read("stderr")).unwrap();
    (code, stderr, sandbox.folder("before"), sandbox.folder("after"))
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_full_disk_is_an_io_failure_that_leaves_every_file_as_it_was() {
    let first = Spec::shop();
    let second = Spec::shop().description("Changed").built("worker", "20m");
    // No room at all, then room for a small file but not for all of them.
    for room in [0, 8192] {
        let (code, stderr, before, mut after) = render_onto_a_full_disk(&first, &second, room);
        // Both are copies of the same folder, made before and after the render.
        after.path.clone_from(&before.path);
        assert_eq!(code, 3, "room {room}: exit status {code}\n{stderr}");
        assert!(
            stderr.contains("no space left on device"),
            "room {room}:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            after.temp_files().is_empty(),
            "room {room}: {:?}",
            after.temp_files()
        );
        after.unchanged_since(&before);
    }
}
