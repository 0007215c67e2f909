//! Bad specs: each file in `tests/bad_specs/` shows one family of mistake.
//! `deployc check FILE` must refuse it with exit status 2, name the expected
//! diagnostic code, and print the diagnostics recorded in the snapshot
//! `tests/integration/snapshots/<file stem>.snap`.
//!
//! To add a case: write `tests/bad_specs/NAME.kdl` (a header comment saying
//! what it tests), add a line to the `bad_specs!` list below, and run
//! `INSTA_UPDATE=always cargo test` (or `cargo insta review`); then read the
//! new snapshot before committing it.

use crate::support::{Deployc, Outcome, Rng, files_in};

/// Snapshots of this module are named after the spec file, without a module prefix.
fn snapshot(name: &str, input: &str, description: &str, stderr: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(input);
    settings.set_description(description);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name, stderr));
}

/// The first comment line of a bad spec: what it tests.
fn header(path: &str) -> String {
    let text = std::fs::read_to_string(crate::support::repo_file(path)).expect("readable spec");
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("//"))
        .map(|l| l.trim().to_owned())
        .unwrap_or_default()
}

/// Runs `deployc check tests/bad_specs/FILE` (relative, from the repository
/// root, so snapshots hold no machine paths) and checks what it says.
fn check_bad_spec(file: &str, codes: &[&str]) {
    let path = format!("tests/bad_specs/{file}");
    let output = Deployc::new().args(["check", &path]).run();
    output.invalid_spec().no_ansi().stdout_empty();
    let found = output.codes();
    for code in codes {
        assert!(
            found.iter().any(|c| c == code),
            "{path}: expected a diagnostic {code}, found {found:?}\n{}",
            output.stderr
        );
    }
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    snapshot(stem, &path, &header(&path), &output.stderr);
}

macro_rules! bad_specs {
    ($($test:ident: $file:literal => [$($code:literal),+ $(,)?],)+) => {
        $(
            #[test]
            fn $test() {
                check_bad_spec($file, &[$($code),+]);
            }
        )+

        /// Every file of the list, to check that none is left out.
        const LISTED: &[&str] = &[$($file),+];
    };
}

bad_specs! {
    // The shape of the document.
    unknown_node: "unknown-node.kdl" => ["E0101"],
    registry: "registry.kdl" => ["E0223", "E0320", "E0321", "E0322"],
    unknown_property: "unknown-property.kdl" => ["E0102"],
    unknown_no_suggestion: "unknown-no-suggestion.kdl" => ["E0101", "E0102"],
    unexpected_argument: "unexpected-argument.kdl" => ["E0103"],
    missing_argument: "missing-argument.kdl" => ["E0104"],
    wrong_type_duration: "wrong-type-duration.kdl" => ["E0106"],
    duplicate_property: "duplicate-property.kdl" => ["E0107"],
    duplicate_node: "duplicate-node.kdl" => ["E0108"],
    missing_version: "missing-version.kdl" => ["E0109"],
    unsupported_version: "unsupported-version.kdl" => ["E0301"],
    version_not_first: "version-not-first.kdl" => ["E0112"],
    missing_project: "missing-project.kdl" => ["E0109"],
    repeated_project: "repeated-project.kdl" => ["E0108"],
    type_annotation: "type-annotation.kdl" => ["E0111"],
    quoted_variable: "quoted-variable.kdl" => ["E0113"],
    invalid_image_name: "invalid-image-name.kdl" => ["E0319"],
    syntax_error: "syntax-error.kdl" => ["E0005"],

    // Services.
    duplicate_service: "duplicate-service.kdl" => ["E0302"],
    build_and_image: "build-and-image.kdl" => ["E0303"],
    neither_build_nor_image: "neither-build-nor-image.kdl" => ["E0304"],
    health_unknown_service: "health-unknown-service.kdl" => ["E0305"],

    // Single values.
    invalid_name: "invalid-name.kdl" => ["E0201"],
    invalid_env_key: "invalid-env-key.kdl" => ["E0202"],
    root_relative: "root-relative.kdl" => ["E0203"],
    compose_file_absolute: "compose-file-absolute.kdl" => ["E0204"],
    path_parent: "path-parent.kdl" => ["E0205"],
    invalid_duration: "invalid-duration.kdl" => ["E0208"],
    zero_duration: "zero-duration.kdl" => ["E0209"],
    invalid_size: "invalid-size.kdl" => ["E0210"],
    bad_enum_order: "bad-enum-order.kdl" => ["E0211"],
    bad_enum_restart: "bad-enum-restart.kdl" => ["E0211"],
    bad_enum_missing: "bad-enum-missing.kdl" => ["E0211"],
    bad_enum_first_build: "bad-enum-first-build.kdl" => ["E0211"],
    bad_enum_backoff: "bad-enum-backoff.kdl" => ["E0211"],
    bad_enum_docker: "bad-enum-docker.kdl" => ["E0211"],
    retention_days: "retention-days.kdl" => ["E0212"],

    // Combinations.
    restart_always: "restart-always.kdl" => ["E0306"],
    parallel_without_max: "parallel-without-max.kdl" => ["E0307"],
    ssm_in_env: "ssm-in-env.kdl" => ["E0309"],
    env_file_without_target: "env-file-without-target.kdl" => ["E0310"],
    allow_unknown_lint: "allow-unknown-lint.kdl" => ["E0316"],
    podman_on_al2023: "podman-on-al2023.kdl" => ["E0326"],

    // Checks against failures seen in real deployments.
    start_budget: "start-budget.kdl" => ["E0401"],
    containers_stop: "containers-stop.kdl" => ["E0402"],
    literal_secret_token: "literal-secret-token.kdl" => ["E0403"],
    literal_secret_env: "literal-secret-env.kdl" => ["E0403"],

    // Everything at once: one run reports every problem.
    many_errors: "many-errors.kdl" => [
        "E0201", "E0203", "E0204", "E0306", "E0101", "E0102", "E0303",
        "E0106", "E0210", "E0304", "E0205", "E0307", "E0402", "E0305",
    ],

    // JSON specs.
    json_unknown_field: "json-unknown-field.json" => ["E0006"],
    json_syntax_error: "json-syntax-error.json" => ["E0006"],
    json_bad_value: "json-bad-value.json" => ["E0006"],
    json_validation: "json-validation.json" => ["E0303", "E0305"],
}

#[test]
fn every_bad_spec_file_is_listed_and_has_a_header() {
    let mut files = files_in("tests/bad_specs", "kdl");
    files.extend(files_in("tests/bad_specs", "json"));
    for path in &files {
        let file = path.trim_start_matches("tests/bad_specs/");
        assert!(
            LISTED.contains(&file),
            "{path} is not in the bad_specs! list of tests/integration/bad_specs.rs"
        );
        if file.ends_with(".kdl") {
            assert!(
                !header(path).is_empty(),
                "{path} must start with a `//` comment saying what it tests"
            );
        }
    }
    assert!(files.len() >= 28, "only {} bad specs", files.len());
    assert_eq!(files.len(), LISTED.len(), "a listed bad spec has no file");
}

#[test]
fn many_errors_are_all_reported_in_one_run() {
    let output = Deployc::new()
        .args(["check", "tests/bad_specs/many-errors.kdl"])
        .run();
    output
        .invalid_spec()
        .stderr_contains("error: could not check `tests/bad_specs/many-errors.kdl`: 14 errors");
    // Top to bottom, each at its own place.
    let lines: Vec<usize> = output
        .locations()
        .iter()
        .map(|l| l.rsplit(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.len(), 14, "{:?}", output.locations());
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "not in source order: {lines:?}"
    );
}

// ---------------------------------------------------------------------------
// Warnings: `check` passes, `check --deny-warnings` fails.

fn check_warnings(fixture: &str, snapshot_name: &str, codes: &[&str]) {
    let path = format!("tests/fixtures/{fixture}");
    let description = header(&path);

    let output = Deployc::new().args(["check", "--spec-only", &path]).run();
    output
        .status(0)
        .stdout_empty()
        .no_panic()
        .stderr_lacks("error[")
        .stderr_lacks("error:")
        .stderr_contains(&format!("checked {path}: {} warning", codes.len()));
    assert_eq!(output.codes(), codes, "{}", output.stderr);
    snapshot(snapshot_name, &path, &description, &output.stderr);

    let denied = Deployc::new()
        .args(["check", "--spec-only", "--deny-warnings", &path])
        .run();
    denied
        .status(2)
        .stdout_empty()
        .no_panic()
        .stderr_lacks("warning[")
        .stderr_contains(&format!("error: could not check `{path}`: {} error", codes.len()));
    assert_eq!(denied.codes(), codes, "{}", denied.stderr);
    snapshot(
        &format!("{snapshot_name}-denied"),
        &path,
        &description,
        &denied.stderr,
    );
}

#[test]
fn lint_warnings_pass_check_and_fail_with_deny_warnings() {
    check_warnings(
        "warnings.kdl",
        "warnings",
        &["W0502", "W0503", "W0503", "W0506", "W0501", "W0505"],
    );
}

#[test]
fn an_unused_allow_is_a_warning() {
    check_warnings("unused-allow.kdl", "unused-allow", &["W0504"]);
}

#[test]
fn quiet_hides_warnings_but_not_errors() {
    Deployc::new()
        .args(["check", "--spec-only", "--quiet", "tests/fixtures/warnings.kdl"])
        .run()
        .status(0)
        .stderr_empty()
        .stdout_empty();
    Deployc::new()
        .args(["check", "-q", "tests/bad_specs/allow-unknown-lint.kdl"])
        .run()
        .status(2)
        .stderr_contains("error[E0316]")
        .stderr_lacks("warning[");
}

// ---------------------------------------------------------------------------
// Input that is not a spec at all: never a panic, hang or stack overflow;
// always a diagnostic and exit status 2.

/// Checks `bytes` saved as `name` in a fresh directory, from that directory.
fn check_bytes(name: &str, bytes: &[u8]) -> Outcome {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(name), bytes).expect("write spec");
    Deployc::new().current_dir(dir.path()).args(["check", name]).run()
}

#[test]
fn an_empty_file_is_an_empty_spec() {
    check_bytes("deploy.kdl", b"")
        .invalid_spec()
        .stderr_contains("error[E0001]: the spec is empty")
        .stderr_contains("--> deploy.kdl\n");
}

#[test]
fn a_whitespace_only_file_is_an_empty_spec() {
    check_bytes("deploy.kdl", b"  \n\t\r\n\n   \n")
        .invalid_spec()
        .stderr_contains("error[E0001]: the spec is empty");
}

#[test]
fn a_comment_only_file_has_no_version_and_no_project() {
    let output = check_bytes("deploy.kdl", b"// just a comment\n/* and another */\n");
    output.invalid_spec();
    assert_eq!(output.codes(), ["E0109", "E0109"], "{}", output.stderr);
}

#[test]
fn non_utf8_bytes_are_located() {
    check_bytes("deploy.kdl", b"version 1\nproject \"sh\xffop\"\n")
        .invalid_spec()
        .stderr_contains("error[E0002]: the spec is not valid UTF-8 (first bad byte at offset 21)")
        .stderr_contains("--> deploy.kdl:2:12")
        .stderr_contains("help: save the spec as UTF-8 text");
}

#[test]
fn random_binary_is_refused() {
    let bytes = Rng::new(0x5eed).bytes(64 * 1024);
    check_bytes("deploy.kdl", &bytes)
        .invalid_spec()
        .no_ansi()
        .stderr_contains("error[E0002]");
}

#[test]
fn random_binary_named_json_is_refused() {
    let bytes = Rng::new(0x15011).bytes(64 * 1024);
    check_bytes("deploy.json", &bytes).invalid_spec();
}

/// Random text made of KDL's punctuation: valid UTF-8, so it reaches the parser.
fn kdl_noise(seed: u64, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ab01 {}[]()\"=;#-.\\\n\tversion project";
    let mut rng = Rng::new(seed);
    (0..len)
        .map(|_| ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize])
        .collect()
}

#[test]
fn random_kdl_punctuation_is_refused() {
    for seed in 1..=8 {
        let output = check_bytes("deploy.kdl", &kdl_noise(seed, 64 * 1024));
        output.invalid_spec();
    }
}

#[test]
fn a_syntax_error_points_at_its_line_and_column() {
    let spec = "version 1\nproject \"shop\" {\n    description \"The shop\n}\n";
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0005]: invalid KDL")
        .stderr_contains("--> deploy.kdl:3:17\n");

    let spec = "version 1\nproject \"shop\"\nservice \"web\" {\n    image \"nginx:1.27\" ]\n}\n";
    let output = check_bytes("deploy.kdl", spec.as_bytes());
    output.invalid_spec().stderr_contains("error[E0005]");
    assert!(
        output.locations().iter().any(|l| l.starts_with("deploy.kdl:4:")),
        "no diagnostic on line 4: {:?}\n{}",
        output.locations(),
        output.stderr
    );
}

#[test]
fn nesting_20000_levels_deep_is_refused() {
    let depth = 20_000;
    let spec = "a {".repeat(depth) + &"}".repeat(depth);
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0004]: more than 3 `{` blocks are open at once")
        .stderr_contains("--> deploy.kdl:1:");
}

#[test]
fn unclosed_nesting_20000_levels_deep_is_refused() {
    let spec = "a {\n".repeat(20_000);
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0004]")
        .stderr_contains("--> deploy.kdl:4:3");
}

#[test]
fn json_nested_20000_levels_deep_is_refused() {
    let spec = "[".repeat(20_000) + &"]".repeat(20_000);
    check_bytes("deploy.json", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0006]");
}

#[test]
fn deeply_nested_block_comments_are_refused() {
    // Valid KDL: refusing it as too deep and accepting it are both fine; crashing is not.
    let spec = format!(
        "version 1\n{}{}\nproject \"shop\"\nservice \"web\" {{ image \"nginx:1.27\"; }}\n",
        "/*".repeat(5_000),
        "*/".repeat(5_000)
    );
    check_bytes("deploy.kdl", spec.as_bytes())
        .status_in(&[0, 2])
        .no_panic();
}

#[test]
fn many_slashdashes_are_refused() {
    let spec = format!("version 1\nproject {}\"shop\"\n", "/-".repeat(5_000));
    check_bytes("deploy.kdl", spec.as_bytes())
        .status_in(&[0, 2])
        .no_panic();
}

#[test]
fn repeated_brackets_are_refused() {
    let spec = "a [".repeat(5_000);
    check_bytes("deploy.kdl", spec.as_bytes()).invalid_spec();
}

#[test]
fn deep_nesting_after_a_raw_string_ending_in_a_backslash_is_refused() {
    let spec = format!(
        "version 1\nproject \"shop\" {{\n    description #\"C:\\\"#\n}}\n{}",
        "a {".repeat(20_000)
    );
    check_bytes("deploy.kdl", spec.as_bytes()).invalid_spec();
}

#[test]
fn balanced_braces_in_a_raw_string_with_a_quote_are_not_nesting() {
    let spec = "version 1\nproject \"shop\" {\n    description #\"say \"{a}{b}{c}{d}{e}{f}{g}\"#\n}\nservice \"web\" { image \"nginx:1.27\"; }\n";
    check_bytes("deploy.kdl", spec.as_bytes()).status(0).no_panic();
}

#[test]
fn stray_braces_in_a_string_count_as_open_blocks() {
    let spec = "version 1\nproject \"shop\" {\n    description \"say {{{{{{\"\n}\nservice \"web\" { image \"nginx:1.27\"; }\n";
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains(
            "error[E0004]: more than 6 `{` are open at once, counting those in strings and comments",
        )
        .stderr_contains("--> deploy.kdl:3:27")
        .stderr_contains("balance or remove the stray braces");
}

#[test]
fn a_10_mb_spec_is_refused_before_parsing() {
    let mut spec = String::from("version 1\nproject \"shop\"\n");
    let line = "// padding padding padding padding padding padding padding padding\n";
    while spec.len() < 10 * 1024 * 1024 {
        spec.push_str(line);
    }
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0003]: the spec is ")
        .stderr_contains(&format!(
            "more than the {} bytes a spec may have",
            deployc::parse::MAX_SPEC_BYTES
        ));
}

#[test]
fn a_spec_at_the_size_limit_is_read_and_one_byte_more_is_not() {
    let mut spec = String::from("version 1\nproject \"shop\"\nservice \"web\" { image \"nginx:1.27\"; }\n");
    let line = "// padding padding padding padding padding padding padding padding\n";
    while spec.len() + line.len() <= deployc::parse::MAX_SPEC_BYTES {
        spec.push_str(line);
    }
    spec.push_str(&"\n".repeat(deployc::parse::MAX_SPEC_BYTES - spec.len()));
    check_bytes("deploy.kdl", spec.as_bytes()).status(0).no_panic();
    spec.push('\n');
    check_bytes("deploy.kdl", spec.as_bytes())
        .invalid_spec()
        .stderr_contains("error[E0003]");
}

#[test]
fn thousands_of_errors_are_capped() {
    let spec = "version 1\nproject \"shop\"\n".to_owned() + &"servce \"x\"\n".repeat(5_000);
    let output = check_bytes("deploy.kdl", spec.as_bytes());
    output
        .invalid_spec()
        .stderr_contains("more problems were found and not shown")
        .stderr_contains("error: could not check `deploy.kdl`: 5000 errors");
    assert!(
        output.codes().len() <= 100,
        "{} diagnostics shown",
        output.codes().len()
    );
}

#[test]
fn check_writes_nothing_to_the_current_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let specs: [(&str, &[u8]); 4] = [
        ("deploy.kdl", include_bytes!("../fixtures/every-node.kdl")),
        ("bad.kdl", include_bytes!("../bad_specs/many-errors.kdl")),
        ("warn.kdl", include_bytes!("../fixtures/warnings.kdl")),
        ("binary.kdl", &[0xff, 0xfe, 0x00, 0x01]),
    ];
    for (name, bytes) in specs {
        std::fs::write(dir.path().join(name), bytes).expect("write spec");
    }
    let before = crate::support::tree(dir.path());
    for (args, status) in [
        (vec!["check"], 0),
        (vec!["check", "bad.kdl"], 2),
        (vec!["check", "warn.kdl"], 0),
        (vec!["check", "binary.kdl"], 2),
        (vec!["check", "missing.kdl"], 3),
        (vec!["check", "--deny-warnings", "warn.kdl"], 2),
        (vec!["check", "--message-format", "json", "bad.kdl"], 2),
    ] {
        Deployc::new()
            .current_dir(dir.path())
            .args(args)
            .run()
            .status(status)
            .no_panic();
    }
    assert_eq!(crate::support::tree(dir.path()), before, "check wrote files");
    for (name, bytes) in specs {
        assert_eq!(
            std::fs::read(dir.path().join(name)).unwrap(),
            bytes,
            "{name} changed"
        );
    }
}

// ---------------------------------------------------------------------------
// Diagnostics whose wording is wrong (known bugs).

#[test]
fn a_float_where_an_integer_is_expected_is_shown_as_written() {
    check_bytes("deploy.kdl", b"version 1.0\nproject \"shop\"\n")
        .invalid_spec()
        .stderr_contains("error[E0106]: expected an integer, found the number `1.0`");
}

#[test]
fn the_help_for_a_variables_node_without_pairs_shows_key_value() {
    check_bytes(
        "deploy.kdl",
        b"version 1\nproject \"shop\" {\n    env \"A=1\"\n}\nservice \"web\" { image \"nginx:1.27\"; }\n",
    )
    .invalid_spec()
    .stderr_lacks("`env \"...\"`")
    .stderr_contains("A=\"");
}
