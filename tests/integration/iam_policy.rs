//! `deployc iam-policy`: the instance role's policy printed, written to a
//! file of the user's infrastructure code only when it changes, and compared
//! with it for CI (`--check`, exit 1 and a diff when stale).

use crate::support::{Deployc, repo_file};

const ON_AWS: &str = "examples/upscpro-stage2.kdl";
const OFF_AWS: &str = "examples/minimal.kdl";

fn expected_policy() -> String {
    let bytes = std::fs::read(repo_file(ON_AWS)).unwrap();
    let compiled = deployc::compile(ON_AWS, &bytes);
    deployc::render::iam_policy(compiled.plan.as_ref().expect("compiles")).expect("calls AWS")
}

#[test]
fn it_prints_the_policy_on_stdout() {
    Deployc::new()
        .args(["iam-policy", ON_AWS])
        .run()
        .status(0)
        .stdout_is(&expected_policy())
        .stderr_empty();
}

#[test]
fn a_spec_that_calls_no_aws_api_needs_no_policy() {
    Deployc::new()
        .args(["iam-policy", OFF_AWS])
        .run()
        .status(0)
        .stdout_empty()
        .stderr_is("note: `examples/minimal.kdl` makes no AWS call: its instance role needs no policy\n");
}

#[test]
fn it_writes_the_file_only_when_it_changes_and_check_tells_drift() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("infra/policy.json");
    let file_arg = "infra/policy.json";
    let on_aws = repo_file(ON_AWS);
    let off_aws = repo_file(OFF_AWS);
    // `iam-policy SPEC -o infra/policy.json EXTRA...`, run in `dir`.
    let policy = |spec: &std::path::Path, extra: &[&str]| {
        Deployc::new()
            .current_dir(dir.path())
            .arg("iam-policy")
            .arg(spec)
            .args(["-o", file_arg])
            .args(extra)
            .run()
    };
    let size = format!("{:.1} KiB", expected_policy().len() as f64 / 1024.0);

    policy(&on_aws, &["--check"])
        .status(1)
        .stdout_contains(&format!("+++ b/{file_arg}"))
        .stdout_contains("+      \"Sid\": \"ReadParameters\",");
    assert!(!file.exists(), "--check writes nothing");

    policy(&on_aws, &[])
        .status(0)
        .stdout_is(&format!("  created {file_arg} ({size})\n"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected_policy());
    let written = std::fs::metadata(&file).unwrap().modified().unwrap();

    policy(&on_aws, &[])
        .status(0)
        .stdout_is(&format!("unchanged {file_arg} ({size})\n"));
    assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), written);
    policy(&on_aws, &["--check"]).status(0).stdout_empty();

    let edited = expected_policy().replace("ssm:GetParameter", "ssm:GetParameters");
    std::fs::write(&file, &edited).unwrap();
    policy(&on_aws, &["--check", "--message-format", "json"])
        .status(1)
        .stdout_is(&format!(
            "{{\"type\":\"diff\",\"path\":\"{file_arg}\",\"change\":\"updated\"}}\n"
        ));
    policy(&on_aws, &[])
        .status(0)
        .stdout_is(&format!("  updated {file_arg} ({size})\n"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected_policy());

    // A spec that stops calling AWS leaves the file, which nothing records as deployc's, and says so.
    policy(&off_aws, &[])
        .status(0)
        .stderr_contains("is no longer used");
    assert!(file.exists());
    policy(&off_aws, &["--check"])
        .status(1)
        .stdout_contains(&format!("--- a/{file_arg}"));
}

#[test]
fn an_invalid_spec_writes_nothing_and_check_needs_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    Deployc::new()
        .args(["iam-policy", "tests/bad_specs/unknown-node.kdl", "-o"])
        .arg(&file)
        .run()
        .status(2)
        .stderr_contains("error: could not compile `tests/bad_specs/unknown-node.kdl`: 1 error")
        .stdout_empty();
    assert!(!file.exists());
    Deployc::new()
        .args(["iam-policy", ON_AWS, "--check"])
        .run()
        .status(2)
        .stderr_contains("--output <FILE>");
}
