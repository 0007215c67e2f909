//! `deployc check`: exit statuses, several specs, standard input, the default
//! spec, JSON diagnostics, colour, KDL v1 and JSON specs.

use crate::support::{Deployc, repo_file};

const VALID: &str = "tests/fixtures/valid.kdl";
const INVALID: &str = "tests/bad_specs/unknown-node.kdl";

#[test]
fn a_valid_spec_exits_0() {
    Deployc::new()
        .args(["check", "--spec-only", VALID])
        .run()
        .status(0)
        .stdout_empty()
        .stderr_is("  checked tests/fixtures/valid.kdl: ok\n");
}

#[test]
fn every_fixture_spec_is_valid() {
    for spec in [
        "tests/fixtures/valid.kdl",
        "tests/fixtures/every-node.kdl",
        "tests/fixtures/every-node.json",
        "tests/fixtures/v1.kdl",
        "tests/fixtures/valid.json",
    ] {
        Deployc::new()
            .args(["check", "--spec-only", "--deny-warnings", spec])
            .run()
            .status(0)
            .stderr_is(&format!("  checked {spec}: ok\n"));
    }
}

/// Every script a fixture spec renders parses: the fixtures use nodes no
/// example does (registries, every notifier), whose bash the golden files and
/// their validators never see.
#[test]
fn every_fixture_spec_renders_scripts_bash_parses() {
    for spec in [
        "tests/fixtures/every-node.kdl",
        "tests/fixtures/every-node.json",
        "tests/fixtures/valid.kdl",
    ] {
        let compiled = deployc::compile(spec, &std::fs::read(repo_file(spec)).unwrap());
        let artifacts = compiled
            .artifacts
            .unwrap_or_else(|| panic!("{spec} does not compile"));
        let scripts: Vec<_> = artifacts.iter().filter(|a| a.file.ends_with(".sh")).collect();
        assert!(!scripts.is_empty(), "{spec} renders no script");
        for script in scripts {
            let mut bash = std::process::Command::new("bash")
                .arg("-n")
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("bash runs");
            std::io::Write::write_all(&mut bash.stdin.take().unwrap(), &script.bytes).unwrap();
            let out = bash.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{spec}: {} does not parse: {}",
                script.file,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn an_invalid_spec_exits_2() {
    Deployc::new()
        .args(["check", INVALID])
        .run()
        .invalid_spec()
        .stdout_empty()
        .stderr_contains("error[E0101]: unknown node `servce` in the spec")
        .stderr_contains(" --> tests/bad_specs/unknown-node.kdl:4:1\n")
        .stderr_contains("= help: did you mean `service`?")
        .stderr_contains("error: could not check `tests/bad_specs/unknown-node.kdl`: 1 error\n");
}

#[test]
fn a_missing_file_exits_3() {
    Deployc::new()
        .args(["check", "tests/fixtures/does-not-exist.kdl"])
        .run()
        .status(3)
        .stdout_empty()
        .stderr_is("error: cannot read `tests/fixtures/does-not-exist.kdl`: no such file or directory\n");
}

#[test]
fn a_directory_exits_3() {
    Deployc::new()
        .args(["check", "tests/fixtures"])
        .run()
        .status(3)
        .stdout_empty()
        .stderr_is("error: cannot read `tests/fixtures`: is a directory\n");
}

#[test]
fn several_specs_are_each_reported_and_the_worst_exit_wins() {
    Deployc::new()
        .args(["check", "--spec-only", VALID, "-"])
        .stdin(std::fs::read(repo_file("tests/fixtures/every-node.kdl")).unwrap())
        .run()
        .status(0)
        .stderr_is("  checked tests/fixtures/valid.kdl: ok\n  checked <stdin>: ok\n");

    let output = Deployc::new()
        .args(["check", "--spec-only", INVALID, VALID])
        .run();
    output
        .status(2)
        .stderr_contains("could not check `tests/bad_specs/unknown-node.kdl`")
        .stderr_contains("checked tests/fixtures/valid.kdl: ok");
    let invalid_at = output.stderr.find("could not check").unwrap();
    let valid_at = output.stderr.find("checked tests/fixtures/valid.kdl").unwrap();
    assert!(invalid_at < valid_at, "specs are reported in the order given");

    // A missing file (3) is worse than an invalid spec (2); the specs after it
    // are still checked.
    Deployc::new()
        .args(["check", "--spec-only", VALID, "missing.kdl", INVALID])
        .run()
        .status(3)
        .stderr_contains("checked tests/fixtures/valid.kdl: ok")
        .stderr_contains("error: cannot read `missing.kdl`")
        .stderr_contains("could not check `tests/bad_specs/unknown-node.kdl`");
    Deployc::new()
        .args(["check", INVALID, "missing.kdl"])
        .run()
        .status(3)
        .stderr_contains("could not check `tests/bad_specs/unknown-node.kdl`");
}

#[test]
fn several_specs_in_one_folder_can_be_checked() {
    Deployc::new()
        .args(["check", "--spec-only", VALID, "tests/fixtures/every-node.kdl"])
        .run()
        .status(0)
        .stderr_is("  checked tests/fixtures/valid.kdl: ok\n  checked tests/fixtures/every-node.kdl: ok\n");
}

#[test]
fn dash_reads_standard_input() {
    let spec = std::fs::read(repo_file(INVALID)).unwrap();
    Deployc::new()
        .args(["check", "--spec-only", "-"])
        .stdin(spec)
        .run()
        .invalid_spec()
        .stderr_contains(" --> <stdin>:4:1\n")
        .stderr_contains("error: could not check `<stdin>`: 1 error");

    let spec = std::fs::read(repo_file(VALID)).unwrap();
    Deployc::new()
        .args(["check", "--spec-only", "-"])
        .stdin(spec)
        .run()
        .status(0)
        .stderr_is("  checked <stdin>: ok\n");
}

#[test]
fn empty_standard_input_is_an_empty_spec() {
    Deployc::new()
        .args(["check", "-"])
        .run()
        .invalid_spec()
        .stderr_contains("error[E0001]: the spec is empty")
        .stderr_contains("--> <stdin>");
}

#[test]
fn the_default_spec_is_deploy_kdl_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    Deployc::new()
        .current_dir(dir.path())
        .args(["check", "--spec-only"])
        .run()
        .status(3)
        .stderr_is("error: cannot read `deploy.kdl`: no such file or directory\n");

    std::fs::copy(repo_file(VALID), dir.path().join("deploy.kdl")).unwrap();
    Deployc::new()
        .current_dir(dir.path())
        .args(["check", "--spec-only"])
        .run()
        .status(0)
        .stderr_is("  checked deploy.kdl: ok\n");

    std::fs::copy(repo_file(INVALID), dir.path().join("deploy.kdl")).unwrap();
    Deployc::new()
        .current_dir(dir.path())
        .args(["check", "--spec-only"])
        .run()
        .invalid_spec()
        .stderr_contains(" --> deploy.kdl:4:1\n");
}

#[test]
fn json_diagnostics_are_one_object_per_line_on_stdout() {
    let output = Deployc::new()
        .args([
            "check",
            "--spec-only",
            "--message-format",
            "json",
            "tests/bad_specs/many-errors.kdl",
        ])
        .run();
    output.status(2).stderr_empty().stdout_lacks("could not check");
    let lines = output.json_lines();
    assert_eq!(lines.len(), 14, "{}", output.stdout);
    for line in &lines {
        let object = line.as_object().expect("each line is an object");
        for key in ["file", "line", "column", "code", "severity", "message", "help"] {
            assert!(object.contains_key(key), "no `{key}` in {line}");
        }
        assert_eq!(line["type"], "diagnostic");
        assert_eq!(line["file"], "tests/bad_specs/many-errors.kdl");
        assert_eq!(line["severity"], "error");
        assert!(line["code"].as_str().unwrap().starts_with('E'), "{line}");
        assert!(line["line"].as_u64().unwrap() >= 1, "{line}");
        assert!(line["column"].as_u64().unwrap() >= 1, "{line}");
        assert!(!line["message"].as_str().unwrap().is_empty(), "{line}");
    }
    let unknown = lines
        .iter()
        .find(|l| l["code"] == "E0101")
        .expect("the unknown node is reported");
    assert_eq!(unknown["line"], 8);
    assert_eq!(unknown["column"], 1);
    assert_eq!(unknown["message"], "unknown node `servce` in the spec");
    assert_eq!(unknown["help"], "did you mean `service`?");
}

#[test]
fn json_diagnostics_without_a_place_have_null_line_and_column() {
    let output = Deployc::new()
        .args([
            "check",
            "--spec-only",
            "--message-format",
            "json",
            "tests/bad_specs/missing-project.kdl",
        ])
        .run();
    output.status(2).stderr_empty();
    let lines = output.json_lines();
    assert_eq!(lines.len(), 1, "{}", output.stdout);
    assert_eq!(lines[0]["code"], "E0109");
    assert!(
        lines[0]["line"].is_null() && lines[0]["column"].is_null(),
        "{}",
        lines[0]
    );
}

#[test]
fn json_diagnostics_carry_warnings_and_deny_warnings() {
    let args = [
        "check",
        "--spec-only",
        "--message-format",
        "json",
        "tests/fixtures/unused-allow.kdl",
    ];
    let output = Deployc::new().args(args).run();
    output.status(0).stderr_empty();
    let lines = output.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["severity"], "warning");
    assert_eq!(lines[0]["code"], "W0504");
    assert_eq!(lines[0]["line"], 5);

    let output = Deployc::new().args(args).arg("--deny-warnings").run();
    output.status(2);
    assert_eq!(output.json_lines()[0]["severity"], "error");
}

#[test]
fn json_format_of_a_valid_spec_prints_nothing() {
    Deployc::new()
        .args(["check", "--spec-only", "--message-format", "json", VALID])
        .run()
        .status(0)
        .stdout_empty()
        .stderr_empty();
}

#[test]
fn no_ansi_escapes_when_piped_even_without_no_color() {
    let output = Deployc::new()
        .env("NO_COLOR", "")
        .args([
            "check",
            "--spec-only",
            "tests/bad_specs/many-errors.kdl",
            "missing.kdl",
            VALID,
        ])
        .run();
    output.status(3).no_ansi();
    Deployc::new()
        .env("NO_COLOR", "")
        .env("CLICOLOR_FORCE", "1")
        .args(["check", "--spec-only", "tests/fixtures/warnings.kdl"])
        .run()
        .status(0)
        .no_ansi();
}

#[test]
fn a_kdl_v1_document_is_accepted() {
    Deployc::new()
        .args(["check", "--spec-only", "tests/fixtures/v1.kdl"])
        .run()
        .status(0)
        .stderr_is("  checked tests/fixtures/v1.kdl: ok\n");

    let bytes = std::fs::read(repo_file("tests/fixtures/v1.kdl")).unwrap();
    let checked = deployc::check("v1.kdl", &bytes);
    let spec = checked.spec.expect("a v1 document is a valid spec");
    assert!(*spec.cache.skip_unchanged);
    assert!(*spec.host.as_ref().unwrap().gzip);
    assert_eq!(
        spec.project.description.as_ref().unwrap().as_str(),
        r"The shop \ its API"
    );
    assert_eq!(
        spec.project.env.get("GREETING").unwrap().value.as_str(),
        r"hello\n"
    );
}

#[test]
fn a_kdl_v1_document_is_checked_like_any_other() {
    let spec = "version 1\nproject \"shop\" {\n    root r\"opt\"\n}\nservice \"api\" { build \"Dockerfile\"; }\ncache { skip-unchanged \"yes\"; }\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.kdl"), spec).unwrap();
    let output = Deployc::new().current_dir(dir.path()).arg("check").run();
    output.invalid_spec();
    assert_eq!(output.codes(), ["E0203", "E0106"], "{}", output.stderr);
    assert_eq!(output.locations(), ["deploy.kdl:3:10", "deploy.kdl:6:24"]);
}

#[test]
fn a_json_spec_is_accepted() {
    Deployc::new()
        .args(["check", "--spec-only", "tests/fixtures/valid.json"])
        .run()
        .status(0)
        .stderr_is("  checked tests/fixtures/valid.json: ok\n");
}

#[test]
fn a_bad_json_spec_has_a_located_diagnostic() {
    Deployc::new()
        .args(["check", "tests/bad_specs/json-unknown-field.json"])
        .run()
        .invalid_spec()
        .stderr_contains("error[E0006]: invalid JSON spec: unknown field `servce`")
        .stderr_contains(" --> tests/bad_specs/json-unknown-field.json:4:");

    let output = Deployc::new()
        .args([
            "check",
            "--message-format",
            "json",
            "tests/bad_specs/json-syntax-error.json",
        ])
        .run();
    output.status(2);
    let lines = output.json_lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["code"], "E0006");
    assert_eq!(lines[0]["line"], 4);
}

#[test]
fn usage_errors_exit_2() {
    Deployc::new()
        .args(["check", "--no-such-flag"])
        .run()
        .status(2)
        .stdout_empty()
        .stderr_contains("--no-such-flag");
    Deployc::new()
        .args(["check", "--message-format", "xml", VALID])
        .run()
        .status(2)
        .stderr_contains("xml");
    Deployc::new().arg("frobnicate").run().status(2).stdout_empty();
    Deployc::new().run().status(2).stdout_empty();
}

#[test]
fn help_and_version_exit_0() {
    Deployc::new()
        .args(["check", "--help"])
        .run()
        .status(0)
        .stdout_contains("--deny-warnings")
        .stdout_contains("--message-format");
    Deployc::new()
        .arg("--version")
        .run()
        .status(0)
        .stdout_contains(env!("CARGO_PKG_VERSION"));
}

#[test]
fn explain_prints_the_long_explanation_of_a_code() {
    let output = Deployc::new().args(["check", "--explain", "w0505"]).run();
    output
        .status(0)
        .stderr_empty()
        .stdout_contains("```kdl")
        .stdout_contains("allow \"missing-ignore\" reason=");
    assert_eq!(
        output.stdout,
        deployc::explain::explain("W0505").expect("W0505 is explained")
    );
}

#[test]
fn explain_refuses_an_unknown_code_and_a_spec_beside_it() {
    Deployc::new()
        .args(["check", "--explain", "E0402x"])
        .run()
        .status(2)
        .stdout_empty()
        .stderr_contains("error: `E0402x` is not a deployc diagnostic code; did you mean E0402?");
    Deployc::new()
        .args(["check", "--explain", "E0401", "deploy.kdl"])
        .run()
        .status(2)
        .stdout_empty()
        .stderr_contains("cannot be used with");
}

/// A terminal escape sequence that would retitle the terminal, and a
/// right-to-left override that would reorder the line it is on.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{202e}";

/// `HOSTILE` as a KDL string escapes it.
const HOSTILE_KDL: &str = r"\u{1b}]0;pwned\u{7}\u{202e}";

/// `HOSTILE` as deployc shows it.
const HOSTILE_SHOWN: &str = r"\u{1b}]0;pwned\u{7}\u{202e}";

fn is_hostile(c: char) -> bool {
    (c.is_control() && c != '\n') || deployc::problem::is_invisible_format(c)
}

#[test]
fn control_characters_from_the_spec_are_escaped_in_every_format() {
    let spec = format!(
        "version 1\n\
         project \"shop\" \"{HOSTILE_KDL}\"=1\n\
         service \"a{HOSTILE_KDL}\" {{ build \"Dockerfile\"; }}\n\
         service \"b{HOSTILE_KDL}\" {{ }}\n\
         service \"web\" {{ build \"Dockerfile\"; }}\n\
         build {{ order \"parallel\" max=2; }}\n\
         \"{HOSTILE_KDL}\" \"x\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = format!("spec{HOSTILE}.kdl");
    std::fs::write(dir.path().join(&file), spec).unwrap();

    let human = Deployc::new()
        .current_dir(dir.path())
        .args(["check", &file])
        .run();
    human.invalid_spec();
    assert!(
        !human.stderr.chars().any(is_hostile),
        "raw control characters on stderr:\n{}",
        human.stderr.escape_debug()
    );
    human
        .stderr_contains(&format!("--> spec{HOSTILE_SHOWN}.kdl:"))
        .stderr_contains(&format!("unknown property `{HOSTILE_SHOWN}` on `project`"))
        .stderr_contains(&format!(
            "error[E0101]: unknown node `{HOSTILE_SHOWN}` in the spec"
        ))
        .stderr_contains(&format!("= note: no estimate: `a{HOSTILE_SHOWN}`"))
        .stderr_contains(&format!("in `service \"b{HOSTILE_SHOWN}\"`"))
        .stderr_contains(&format!("could not check `spec{HOSTILE_SHOWN}.kdl`"));

    let json = Deployc::new()
        .current_dir(dir.path())
        .args(["check", "--message-format", "json", &file])
        .run();
    json.status(2);
    let lines = json.json_lines();
    let mut escaped = Vec::new();
    for line in &lines {
        for field in ["message", "label", "note", "help"] {
            let Some(text) = line[field].as_str() else {
                continue;
            };
            assert!(
                !text.chars().any(is_hostile),
                "raw control characters in {field}: {}",
                text.escape_debug()
            );
            if text.contains(HOSTILE_SHOWN) {
                escaped.push(field);
            }
        }
    }
    for field in ["message", "note", "help"] {
        assert!(
            escaped.contains(&field),
            "no escaped text in any {field}: {}",
            json.stdout
        );
    }
}

#[test]
fn explain_without_a_code_lists_every_code_with_its_summary() {
    let output = Deployc::new().args(["check", "--explain"]).run();
    output.status(0).stderr_empty();
    let mut explained: Vec<(String, String)> = std::fs::read_dir(repo_file("src/explain"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let code = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            (code, text.lines().next().unwrap().to_owned())
        })
        .collect();
    explained.sort();
    let listed: Vec<(String, String)> = output
        .stdout
        .lines()
        .map(|line| {
            let (code, summary) = line
                .split_once("  ")
                .unwrap_or_else(|| panic!("not `CODE  summary`: {line}"));
            (code.to_owned(), summary.to_owned())
        })
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, explained, "every explanation, once");
    let codes: Vec<&str> = listed.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        deployc::explain::codes().collect::<Vec<_>>(),
        "in code order"
    );
}
