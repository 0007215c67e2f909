//! The compile-time checks against failures seen in real deployments. Each
//! check has three specs in `tests/checks/`: `NAME.kdl` triggers it (its
//! diagnostics are snapshotted as `check-NAME`), `NAME.ok.kdl` is the nearest
//! spec that must not, and `NAME.allowed.kdl` silences it with `allow` — or,
//! for a check that is an error, shows that `allow` refuses to.

use crate::support::{Deployc, files_in, repo_file};

/// Whether a check is an error or a lint that `allow` can silence.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Error,
    Lint,
}

const CHECKS: &[(&str, &str, Kind)] = &[
    ("start-budget", "E0401", Kind::Error),
    ("stop-timeout", "E0402", Kind::Error),
    ("literal-secret", "E0403", Kind::Error),
    ("user-data-size", "E0404", Kind::Error),
    ("env-file-in-context", "E0405", Kind::Error),
    ("parallel-memory", "W0501", Kind::Lint),
    ("arg-override", "W0502", Kind::Lint),
    ("unpinned-image", "W0503", Kind::Lint),
    ("missing-ignore", "W0505", Kind::Lint),
    ("memory-estimates", "W0506", Kind::Lint),
];

fn header(path: &str) -> String {
    let text = std::fs::read_to_string(repo_file(path)).expect("readable spec");
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("//"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

fn snapshot(name: &str, input: &str, stderr: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(input);
    settings.set_description(header(input));
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(format!("check-{name}"), stderr));
}

fn check_triggers(name: &str, code: &str, kind: Kind) {
    let path = format!("tests/checks/{name}.kdl");
    let output = Deployc::new().args(["check", "--spec-only", &path]).run();
    output.no_panic().no_ansi().stdout_empty();
    match kind {
        Kind::Error => output.invalid_spec(),
        Kind::Lint => output.status(0).stderr_lacks("error"),
    };
    assert!(
        output.codes().iter().any(|c| c == code),
        "{path}: no {code}\n{}",
        output.stderr
    );
    snapshot(name, &path, &output.stderr);
    if kind == Kind::Lint {
        Deployc::new()
            .args(["check", "--spec-only", "--deny-warnings", &path])
            .run()
            .status(2)
            .no_panic()
            .stderr_contains(&format!("error[{code}]"));
    }
}

fn check_near_miss(name: &str) {
    let path = format!("tests/checks/{name}.ok.kdl");
    Deployc::new()
        .args(["check", "--spec-only", "--deny-warnings", &path])
        .run()
        .status(0)
        .stderr_lacks("warning[")
        .stderr_lacks("error");
}

fn check_allowed(name: &str, code: &str, kind: Kind) {
    let path = format!("tests/checks/{name}.allowed.kdl");
    let output = Deployc::new()
        .args(["check", "--spec-only", "--deny-warnings", &path])
        .run();
    match kind {
        // Silenced, and the allow is used: nothing is reported at all.
        Kind::Lint => output.status(0).stderr_lacks("warning[").stderr_lacks("error"),
        Kind::Error => output
            .invalid_spec()
            .stderr_contains(&format!("error[E0317]: `{name}` is an error, not a lint")),
    };
    assert!(!output.codes().iter().any(|c| c == code) || kind == Kind::Error);
}

macro_rules! checks {
    ($($test:ident: $name:literal,)+) => {
        $(
            #[test]
            fn $test() {
                let (name, code, kind) = *CHECKS.iter().find(|(n, ..)| *n == $name).expect("listed in CHECKS");
                check_triggers(name, code, kind);
                check_near_miss(name);
                check_allowed(name, code, kind);
            }
        )+
    };
}

checks! {
    start_budget: "start-budget",
    stop_timeout: "stop-timeout",
    literal_secret: "literal-secret",
    user_data_size: "user-data-size",
    env_file_in_context: "env-file-in-context",
    parallel_memory: "parallel-memory",
    arg_override: "arg-override",
    unpinned_image: "unpinned-image",
    missing_ignore: "missing-ignore",
    memory_estimates: "memory-estimates",
}

#[test]
fn every_check_has_its_three_specs_and_nothing_else_is_there() {
    let mut expected: Vec<String> = CHECKS
        .iter()
        .flat_map(|(name, ..)| {
            ["", ".ok", ".allowed"].map(|suffix| format!("tests/checks/{name}{suffix}.kdl"))
        })
        .collect();
    expected.sort();
    let mut found = files_in("tests/checks", "kdl");
    found.sort();
    assert_eq!(found, expected);
    for path in &found {
        assert!(!header(path).is_empty(), "{path} must start with a `//` comment");
    }
}

/// The secrets of `tests/checks/literal-secret.kdl`, which no output may show.
const SECRETS: &[&str] = &[
    "hunter2hunter2",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
    "letmein99",
    "BEGIN OPENSSH PRIVATE KEY",
    "deploybot7f3a9c",
];

#[test]
fn a_secret_is_never_printed_in_any_format() {
    let path = "tests/checks/literal-secret.kdl";
    let text = std::fs::read_to_string(repo_file(path)).unwrap();
    for secret in SECRETS {
        assert!(text.contains(secret), "the spec holds {secret}");
    }
    for format in ["human", "json"] {
        let output = Deployc::new()
            .args([
                "check",
                "--spec-only",
                "--message-format",
                format,
                "--color",
                "always",
                path,
            ])
            .run();
        output.status(2).no_panic();
        let shown = format!("{}{}", output.stdout, output.stderr);
        assert_eq!(shown.matches("E0403").count(), 6, "{shown}");
        for secret in SECRETS {
            assert!(
                !shown.contains(secret),
                "{format} output shows {secret}:\n{shown}"
            );
        }
    }
}

/// `deployc check deploy.kdl` with `spec` saved as `deploy.kdl` in a fresh folder.
fn check_text(spec: &str) -> crate::support::Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.kdl"), spec).unwrap();
    Deployc::new()
        .current_dir(dir.path())
        .args(["check", "--spec-only", "deploy.kdl"])
        .run()
}

#[test]
fn a_secret_on_a_line_with_another_error_is_masked_there_too() {
    check_text("version 1\nproject \"shop\" {\n    env TOKEN=\"ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\" BAD-KEY=\"x\"\n}\nservice \"web\" { image \"nginx:1.27\"; }\n")
        .invalid_spec()
        .stderr_contains("error[E0202]")
        .stderr_contains("error[E0403]")
        .stderr_lacks("aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
}

/// A spec whose build context, `<root>/.`, is a real folder of this machine.
fn go_spec(root: &std::path::Path, build_extra: &str, tail: &str) -> String {
    format!(
        "version 1\nproject \"ci\" {{\n    root \"{}\"\n}}\nservice \"gateway\" {{\n    build \"gateway.Dockerfile\"\n}}\nbuild {{\n{build_extra}}}\n{tail}",
        root.display()
    )
}

#[test]
fn a_vendor_folder_in_a_context_on_this_machine_needs_an_ignore() {
    let root = tempfile::tempdir().unwrap();
    let spec_dir = tempfile::tempdir().unwrap();
    let spec = spec_dir.path().join("deploy.kdl");
    let check = |text: String| {
        std::fs::write(&spec, text).unwrap();
        Deployc::new().args(["check", "--spec-only"]).arg(&spec).run()
    };

    let without_vendor = check(go_spec(root.path(), "", ""));
    without_vendor.status(0).stderr_lacks("W0505");

    std::fs::create_dir(root.path().join("vendor")).unwrap();
    check(go_spec(root.path(), "", ""))
        .status(0)
        .stderr_contains("warning[W0505]: the build context of `gateway` has a `vendor/` directory");
    check(go_spec(root.path(), "    ignored \"/vendor/\"\n", ""))
        .status(0)
        .stderr_lacks("warning[");
    check(go_spec(
        root.path(),
        "",
        "allow \"missing-ignore\" reason=\"the Dockerfile copies vendor/ on purpose\"\n",
    ))
    .status(0)
    .stderr_lacks("warning[");
}

#[test]
fn a_service_goflags_decides_for_that_service() {
    let output = check_text(
        "version 1\nproject \"ci\"\nservice \"a\" {\n    build \"a.Dockerfile\"\n    arg GOFLAGS=\"-mod=vendor\"\n}\nservice \"b\" {\n    build \"b.Dockerfile\"\n    arg GOFLAGS=\"-trimpath -mod=mod\"\n}\n",
    );
    output.status(0);
    assert_eq!(output.codes(), ["W0505"], "{}", output.stderr);
    output.stderr_contains(" --> deploy.kdl:9:17");
}
