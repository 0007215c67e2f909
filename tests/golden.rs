//! The golden artifacts: `golden/<example>/` holds exactly what deployc renders
//! for `examples/<example>.kdl`, and every golden artifact passes the real
//! validators.
//!
//! Nothing here updates the golden files. When a change to them is intended:
//!
//! ```text
//! cargo run -q -- render examples/*.kdl -o golden
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use deployc::diff::{DiffStyle, FilePair, readable, unified};
use deployc::render::Artifact;

const REFRESH: &str =
    "golden files are stale; if the change is intended run: cargo run -q -- render examples/*.kdl -o golden";
const MANIFEST: &str = ".deployc-manifest";
/// Diff lines shown per stale file, so a failure stays readable.
const DIFF_LINES: usize = 40;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One example spec and its golden folder.
struct Example {
    name: String,
    spec: PathBuf,
    golden: PathBuf,
}

impl Example {
    /// Every `examples/*.kdl`, sorted.
    fn all() -> Vec<Example> {
        let mut examples: Vec<Example> = std::fs::read_dir(repo().join("examples"))
            .expect("examples/ exists")
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "kdl"))
            .map(|spec| {
                let name = spec.file_stem().unwrap().to_string_lossy().into_owned();
                Example {
                    golden: repo().join("golden").join(&name),
                    spec,
                    name,
                }
            })
            .collect();
        examples.sort_by(|a, b| a.name.cmp(&b.name));
        assert!(!examples.is_empty(), "no examples/*.kdl");
        examples
    }

    fn relative_spec(&self) -> String {
        format!("examples/{}.kdl", self.name)
    }

    /// What deployc renders for this example, through the library.
    fn artifacts(&self) -> Vec<Artifact> {
        let bytes = std::fs::read(&self.spec).expect("read the example");
        let compiled = deployc::compile(&self.relative_spec(), &bytes);
        compiled.artifacts.unwrap_or_else(|| {
            panic!(
                "{} does not compile ({} errors); run `cargo run -q -- check {}`",
                self.relative_spec(),
                compiled.checked.diagnostics.error_count(),
                self.relative_spec()
            )
        })
    }

    /// Every file in the golden folder, hidden ones included: bytes and mode.
    fn golden_files(&self) -> BTreeMap<String, (Vec<u8>, u32)> {
        let mut files = BTreeMap::new();
        let entries = std::fs::read_dir(&self.golden).unwrap_or_else(|e| {
            panic!("{}: {e}\n{REFRESH}", self.golden.display());
        });
        for entry in entries {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let metadata = entry.metadata().expect("metadata");
            assert!(metadata.is_file(), "golden/{}/{name} is not a file", self.name);
            files.insert(
                name,
                (
                    std::fs::read(entry.path()).expect("read"),
                    metadata.permissions().mode() & 0o777,
                ),
            );
        }
        files
    }

    /// What is wrong with the golden folder, or nothing.
    fn problems(&self) -> Vec<String> {
        let artifacts = self.artifacts();
        let golden = self.golden_files();
        let shown = |file: &str| format!("golden/{}/{file}", self.name);
        let mut problems = Vec::new();

        let expected: BTreeSet<&str> = artifacts
            .iter()
            .map(|a| a.file.as_str())
            .chain([MANIFEST])
            .collect();
        for name in golden.keys().filter(|n| !expected.contains(n.as_str())) {
            problems.push(format!(
                "{}: not rendered from {} any more\n",
                shown(name),
                self.relative_spec()
            ));
        }
        for artifact in &artifacts {
            let path = shown(&artifact.file);
            let Some((bytes, mode)) = golden.get(&artifact.file) else {
                problems.push(format!("{path}: missing\n"));
                continue;
            };
            if *bytes != artifact.bytes {
                let pair = FilePair {
                    path: &path,
                    old: Some(readable(&artifact.file, bytes)),
                    new: Some(readable(&artifact.file, &artifact.bytes)),
                    mode_change: None,
                };
                let diff = unified(
                    &pair,
                    DiffStyle {
                        context: 2,
                        color: false,
                    },
                );
                let mut short: Vec<&str> = diff.lines().take(DIFF_LINES).collect();
                if diff.lines().count() > DIFF_LINES {
                    short.push("...");
                }
                let diff = if diff.is_empty() {
                    "(the bytes differ, the text does not)".to_owned()
                } else {
                    short.join("\n")
                };
                problems.push(format!("{path}: differs from what deployc renders\n{diff}\n"));
            }
            let wanted = if artifact.executable { 0o755 } else { 0o644 };
            let executable = mode & 0o111 != 0;
            if (artifact.executable && *mode != 0o755) || (!artifact.executable && executable) {
                problems.push(format!("{path}: mode {mode:04o}, expected {wanted:04o}\n"));
            }
        }
        problems.extend(self.manifest_problems(&artifacts, golden.get(MANIFEST).map(|(b, _)| b.as_slice())));
        problems
    }

    /// The manifest must record this spec and the hash of every artifact, and nothing pending.
    fn manifest_problems(&self, artifacts: &[Artifact], manifest: Option<&[u8]>) -> Vec<String> {
        let path = format!("golden/{}/{MANIFEST}", self.name);
        let Some(bytes) = manifest else {
            return vec![format!("{path}: missing\n")];
        };
        let found: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(value) => value,
            Err(e) => return vec![format!("{path}: not JSON ({e})\n")],
        };
        let files: serde_json::Map<String, serde_json::Value> = artifacts
            .iter()
            .map(|a| (a.file.clone(), deployc::output::hash(&a.bytes).into()))
            .collect();
        let expected = serde_json::json!({ "spec": format!("{}.kdl", self.name), "files": files });
        if found == expected {
            Vec::new()
        } else {
            vec![format!("{path}: expected\n{expected:#}\nfound\n{found:#}\n")]
        }
    }
}

#[test]
fn golden_folders_hold_exactly_what_deployc_renders() {
    let mut problems = Vec::new();
    for example in Example::all() {
        problems.extend(example.problems());
    }
    assert!(problems.is_empty(), "{}\n\n{REFRESH}", problems.join("\n"));

    // The binary agrees: nothing to change in any golden folder.
    let specs: Vec<String> = Example::all().iter().map(Example::relative_spec).collect();
    let output = Command::new(env!("CARGO_BIN_EXE_deployc"))
        .arg("diff")
        .args(&specs)
        .args(["-o", "golden"])
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("run deployc");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "`deployc diff examples/*.kdl -o golden` reports changes:\n{}{}\n{REFRESH}",
        stdout.lines().take(DIFF_LINES).collect::<Vec<_>>().join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn every_golden_folder_has_its_example_and_every_example_its_folder() {
    let examples: BTreeSet<String> = Example::all().into_iter().map(|e| e.name).collect();
    let folders: BTreeSet<String> = std::fs::read_dir(repo().join("golden"))
        .expect("golden/ exists")
        .map(|e| e.expect("directory entry"))
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let orphans: Vec<_> = folders.difference(&examples).collect();
    assert!(
        orphans.is_empty(),
        "golden folders without an examples/<name>.kdl: {orphans:?}"
    );
    let missing: Vec<_> = examples.difference(&folders).collect();
    assert!(
        missing.is_empty(),
        "examples without a golden folder: {missing:?}\n{REFRESH}"
    );
}

/// The highest `systemd-analyze security` exposure a golden unit may have.
const MAX_EXPOSURE: &str = "2.0";

/// The project's validator: every artifact in a folder through the real tool for its kind.
fn validator() -> PathBuf {
    repo().join("tests/validators/check-artifacts")
}

const INSTALL: &str =
    "install the validators as root with `make tools` (Debian or Ubuntu), or run everything with `make test`";

/// What the validator printed over a folder, and how it exited.
struct Report {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Report {
    /// Runs the validator over `dir`.
    fn of(dir: &Path, max_exposure: &str) -> Report {
        let output = Command::new(validator())
            .args(["--max-exposure", max_exposure])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", validator().display()));
        Report {
            code: output.status.code().expect("the validator exits"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Fails the test with the install hint when a tool is missing (exit 2).
    fn tools_present(self) -> Report {
        assert_ne!(
            self.code, 2,
            "a validator is missing; {INSTALL}\n{}{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The PASS lines, as (label, line).
    fn passes(&self) -> Vec<(&str, &str)> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("PASS "))
            .map(|l| (l.split_whitespace().nth(2).unwrap_or(""), l))
            .collect()
    }
}

/// An artifact's bytes, decompressed when it is gzip'd.
fn plain(artifact: &Artifact) -> Vec<u8> {
    if !artifact.file.ends_with(".gz") {
        return artifact.bytes.clone();
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&artifact.bytes[..]), &mut out)
        .expect("a gzip artifact decompresses");
    out
}

#[test]
#[ignore = "needs systemd-analyze, shellcheck, cloud-init and python3-jsonschema: run `make test`"]
fn golden_artifacts_pass_the_real_validators() {
    // One validator run per folder, in parallel: they are slow (systemd-analyze, shellcheck).
    let examples = Example::all();
    let runs: Vec<_> = examples
        .iter()
        .map(|example| {
            let dir = example.golden.clone();
            std::thread::spawn(move || Report::of(&dir, MAX_EXPOSURE))
        })
        .collect();

    let mut failures = Vec::new();
    for (example, run) in examples.iter().zip(runs) {
        let report = run.join().expect("validator thread").tools_present();
        let stdout = &report.stdout;
        if report.code != 0 {
            failures.push(format!("golden/{}:\n{stdout}", example.name));
            continue;
        }
        let passed = report.passes();
        let artifacts = example.artifacts();
        // A gzip'd artifact is checked (and named) as what it decompresses to,
        // so the readable user-data and the delivered one share a name.
        let named = |artifact: &Artifact| {
            artifact
                .file
                .strip_suffix(".gz")
                .unwrap_or(&artifact.file)
                .to_owned()
        };
        // Every artifact was really checked (nothing passes by being skipped) ...
        for artifact in &artifacts {
            let name = named(artifact);
            let name = name.as_str();
            let copies = artifacts.iter().filter(|a| named(a) == name).count();
            if !passed.iter().any(|(label, _)| *label == name) {
                failures.push(format!(
                    "golden/{}/{}: no PASS line\n{stdout}",
                    example.name, artifact.file
                ));
            }
            // ... and so was each file a script writes with a heredoc (user-data
            // carries the unit, the build script and the CloudWatch config).
            let bytes = plain(artifact);
            let written = String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| l.starts_with("cat > ") && l.contains(" <<'"))
                .count();
            let embedded = passed
                .iter()
                .filter(|(label, _)| label.starts_with(&format!("{name}:")))
                .count();
            if embedded != written * copies {
                failures.push(format!(
                    "golden/{}/{}: {written} heredoc artifacts, {embedded} PASS lines for them\n{stdout}",
                    example.name, artifact.file
                ));
            }
        }
        // ... and the validator held every service to the exposure limit.
        for (_, line) in passed.iter().filter(|(label, _)| label.ends_with(".service")) {
            if !line.contains(&format!("(max {MAX_EXPOSURE})")) {
                failures.push(format!("golden/{}: no exposure limit in {line}", example.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The validator fails what it must: it is what tells CI an artifact is wrong.
#[test]
#[ignore = "needs systemd-analyze, shellcheck, cloud-init and python3-jsonschema: run `make test`"]
fn the_validator_fails_broken_and_unknown_artifacts() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let write = |name: &str, text: &[u8]| std::fs::write(dir.path().join(name), text).expect("write");
    let unit = std::fs::read_to_string(repo().join("golden/minimal/hello.service")).expect("a golden unit");
    let script = std::fs::read(repo().join("golden/minimal/hello-build.sh")).expect("a golden script");
    write("hello-build.sh", &script);
    write("hello.service", unit.as_bytes());
    write(
        "typo.service",
        unit.replace("TimeoutStopSec=", "TimeoutStopSecs=").as_bytes(),
    );
    // The unit without its sandbox: what the exposure bar is there to catch.
    let sandbox =
        unit.find("UMask=").expect("a sandbox")..unit.find("[Install]").expect("an install section");
    write(
        "unsafe.service",
        format!("{}{}", &unit[..sandbox.start], &unit[sandbox.end..]).as_bytes(),
    );
    write("warning.sh", b"#!/bin/bash\nrm -rf $1/*\n");
    write(
        "cloudwatch.json",
        br#"{"logs": {"logs_collected": {"files": {"collect_list": [{"file_path": 5}]}}}}"#,
    );
    write("misspelt.json", br#"{"agent": {}, "log": {}}"#);
    write("other.json", br#"{"name": "not an agent config"}"#);
    write("config.yaml", b"#cloud-config\nruncmd: 5\n");
    write("notes.txt", b"hello\n");
    write("broken.gz", b"not gzip\n");
    write(
        "user-data.sh",
        b"#!/bin/bash\ncat > /etc/systemd/system/x.service <<EOF\n[Service]\nExecStart=/bin/echo $HOME\nEOF\n",
    );
    write(".hidden", b"bookkeeping\n");

    let report = Report::of(dir.path(), MAX_EXPOSURE).tools_present();
    let stdout = &report.stdout;
    assert_eq!(report.code, 1, "{stdout}");
    let fails = |label: &str, why: &str| {
        stdout
            .lines()
            .any(|l| l.starts_with("FAIL ") && l.split_whitespace().nth(2) == Some(label) && l.contains(why))
    };
    for (label, why) in [
        ("typo.service", "Unknown key 'TimeoutStopSecs'"),
        ("unsafe.service", "above the maximum 2.0"),
        ("warning.sh", "SC2115"),
        ("cloudwatch.json", "5 is not of type 'string'"),
        ("misspelt.json", "/log: not a section"),
        ("other.json", "not a CloudWatch agent config"),
        ("config.yaml", "runcmd: 5 is not of type 'array'"),
        ("notes.txt", "no check for this kind of file"),
        ("broken.gz", "does not decompress"),
        ("user-data.sh:2:/etc/systemd/system/x.service", "unquoted heredoc"),
    ] {
        assert!(
            fails(label, why),
            "no FAIL line for {label} with {why:?}:\n{stdout}"
        );
    }
    let passed: Vec<&str> = report.passes().into_iter().map(|(label, _)| label).collect();
    assert_eq!(
        passed,
        ["hello-build.sh", "hello.service", "user-data.sh"],
        "{stdout}"
    );
    assert!(stdout.contains("NOTE .hidden "), "{stdout}");
    assert!(stdout.ends_with("3 passed, 10 failed\n"), "{stdout}");
}

/// Each example's instance role policy (`deployc iam-policy`, kept out of the
/// golden folders because it is not the host's) passes IAM's policy grammar.
#[test]
#[ignore = "needs python3: run `make test`"]
fn every_example_s_iam_policy_passes_the_policy_grammar() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut written = Vec::new();
    for example in Example::all() {
        let bytes = std::fs::read(&example.spec).expect("read the example");
        let compiled = deployc::compile(&example.relative_spec(), &bytes);
        let plan = compiled.plan.as_ref().expect("the example compiles");
        if let Some(policy) = deployc::render::iam_policy(plan) {
            let file = format!("{}.json", example.name);
            std::fs::write(dir.path().join(&file), policy).expect("write the policy");
            written.push(file);
        }
    }
    assert!(
        !written.is_empty(),
        "no example calls AWS: nothing checks the policy"
    );
    let report = Report::of(dir.path(), MAX_EXPOSURE).tools_present();
    assert_eq!(report.code, 0, "{}{}", report.stdout, report.stderr);
    let passed = report.passes();
    for file in &written {
        assert!(
            passed
                .iter()
                .any(|(label, line)| label == file && line.starts_with("PASS iam ")),
            "{file} was not checked as an IAM policy:\n{}",
            report.stdout
        );
    }
}

/// The unit's `up` and the build script's preflight and builds run the same
/// engine client: both name it and find it on the unit's PATH, so a client
/// installed elsewhere cannot pass preflight and then not be the one that runs.
#[test]
fn each_unit_runs_the_engine_its_build_script_checks() {
    for example in Example::all() {
        let artifacts = example.artifacts();
        let text = |suffix: &str| {
            let artifact = artifacts
                .iter()
                .find(|a| a.file.ends_with(suffix) && !a.file.ends_with("-deploy.service"))
                .unwrap_or_else(|| panic!("{}: no *{suffix}", example.name));
            String::from_utf8(artifact.bytes.clone()).expect("UTF-8")
        };
        let script = text("-build.sh");
        let engine = script
            .lines()
            .find_map(|l| l.strip_prefix("readonly ENGINE="))
            .unwrap_or_else(|| panic!("{}: the script names no engine", example.name));
        let unit = text(".service");
        let up: Vec<&str> = unit
            .lines()
            .filter(|l| l.starts_with("ExecStart=/usr/bin/timeout") || l.starts_with("ExecReload="))
            .collect();
        assert_eq!(up.len(), 2, "{}: {up:?}", example.name);
        for line in up {
            let client = line.split_whitespace().nth(3).expect("timeout's command");
            assert_eq!(client, engine, "{}: {line}", example.name);
        }
    }
}
