//! Command-line conventions: version, help, completions, manual.

use crate::support::*;

#[test]
fn version_prints_the_package_version() {
    Deployc::new()
        .args(["--version"])
        .run()
        .status(0)
        .stdout_is(&format!("deployc {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn the_help_of_each_workflow_command_has_examples() {
    for command in ["check", "render", "diff"] {
        let run = Deployc::new().args([command, "--help"]).run();
        run.status(0)
            .stdout_contains("Examples:")
            .stdout_contains(&format!("deployc {command}"));
    }
    Deployc::new()
        .args(["diff", "--help"])
        .run()
        .stdout_contains("--base")
        .stdout_contains("--stat")
        .stdout_contains("--unified");
    Deployc::new()
        .args(["render", "--help"])
        .run()
        .stdout_contains("--force");
}

#[test]
fn the_top_level_help_says_where_to_start_and_where_codes_are_explained() {
    Deployc::new()
        .arg("--help")
        .run()
        .status(0)
        .stdout_contains("deployc init")
        .stdout_contains("`deployc check --explain CODE` explains a diagnostic code")
        .stdout_contains("`deployc check --explain` lists every code")
        .stdout_contains("Exit status: 0 success");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let run = Deployc::new().args(["completions", shell]).run();
        run.status(0).stdout_contains("deployc").stderr_empty();
        for subcommand in ["init", "render", "diff", "check"] {
            run.stdout_contains(subcommand);
        }
    }
    Deployc::new()
        .args(["completions", "cmd.exe"])
        .run()
        .status(2)
        .stderr_contains("invalid value");
}

#[test]
fn man_prints_roff() {
    let run = Deployc::new().args(["man"]).run();
    run.status(0)
        .stdout_contains(".TH deployc")
        .stdout_contains("render");
    assert!(
        run.stdout.starts_with(".ie") || run.stdout.starts_with(".TH"),
        "roff starts with a request: {:?}",
        &run.stdout[..run.stdout.len().min(40)]
    );
}

#[test]
fn man_prints_the_page_of_each_command_deployc_1_refers_to() {
    let top = Deployc::new().args(["man"]).run();
    let referred: Vec<String> = top
        .stdout
        .lines()
        .filter_map(|line| line.strip_prefix("deployc\\-")?.strip_suffix("(1)"))
        // roff escapes a name's hyphens (`iam\-policy`)
        .map(|name| name.replace("\\-", "-"))
        .collect();
    for command in [
        "init",
        "check",
        "render",
        "diff",
        "iam-policy",
        "schema",
        "completions",
        "man",
    ] {
        assert!(
            referred.iter().any(|r| r == command),
            "deployc(1) lists no {command}: {referred:?}"
        );
    }
    for command in &referred {
        Deployc::new()
            .args(["man", command])
            .run()
            .status(0)
            .stderr_empty()
            .stdout_contains(&format!(
                ".TH deployc-{command} 1  \"deployc {}\"",
                env!("CARGO_PKG_VERSION")
            ))
            .stdout_contains(&format!("\\fBdeployc {}\\fR", command.replace('-', "\\-")));
    }
    Deployc::new()
        .args(["man", "frobnicate"])
        .run()
        .status(2)
        .stdout_empty()
        .stderr_contains("`frobnicate` is not a deployc command; pages exist for `init`, `check`");
}

#[test]
fn man_out_dir_writes_every_page_deployc_1_refers_to() {
    let dir = tempfile::tempdir().unwrap();
    let run = Deployc::new().args(["man", "--out-dir"]).arg(dir.path()).run();
    run.status(0).stderr_empty().stdout_contains("created");
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    for page in [
        "deployc.1",
        "deployc-check.1",
        "deployc-render.1",
        "deployc-man.1",
    ] {
        assert!(written.iter().any(|w| w == page), "no {page} in {written:?}");
    }
    assert!(!written.iter().any(|w| w == "deployc-help.1"), "{written:?}");
    let check = std::fs::read_to_string(dir.path().join("deployc-check.1")).unwrap();
    assert_eq!(
        check,
        Deployc::new().args(["man", "check"]).run().stdout,
        "the file is the page `deployc man check` prints"
    );
    Deployc::new()
        .args(["man", "check", "--out-dir"])
        .arg(dir.path())
        .run()
        .status(2)
        .stderr_contains("cannot be used with");
}

#[test]
fn usage_errors_exit_2() {
    Deployc::new()
        .args(["render", "--no-such-flag"])
        .run()
        .status(2)
        .stderr_contains("--no-such-flag");
    Deployc::new().args(["frobnicate"]).run().status(2);
    Deployc::new()
        .args(["-q", "-v", "check"])
        .run()
        .status(2)
        .stderr_contains("cannot be used with");
}
