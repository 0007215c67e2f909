//! `deployc diff --base REV`: what a spec change does to the artifacts, from git history.

use crate::support::*;

/// A git repository in a sandbox, with local identity and no outside configuration.
fn repository() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.git(["init", "-q", "-b", "main"]);
    sandbox.git(["config", "user.name", "Deployc Tests"]);
    sandbox.git(["config", "user.email", "tests@deployc.invalid"]);
    sandbox
}

fn commit(sandbox: &Sandbox, message: &str) {
    sandbox.git(["add", "-A"]);
    sandbox.git(["commit", "-q", "-m", message]);
}

fn diff_base(sandbox: &Sandbox, base: &str) -> Outcome {
    let mut run = sandbox.deployc(["diff", "--base", base, "deploy.kdl", "-o", "out"]);
    for (key, value) in git_env() {
        run = run.env(key, value);
    }
    run.run()
}

#[test]
fn diff_against_the_previous_commit_shows_the_spec_change() {
    let sandbox = repository().spec("deploy.kdl", &Spec::shop());
    commit(&sandbox, "shop");
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("The shop, as reviewed"));
    commit(&sandbox, "describe the shop better");

    let run = diff_base(&sandbox, "HEAD~1");
    run.status(1)
        .stdout_contains("--- a/out/shop.service\n+++ b/out/shop.service\n")
        .stdout_contains("\n-Description=The shop service\n+Description=The shop, as reviewed\n")
        .stdout_lacks("/dev/null")
        .no_ansi();
    insta::assert_snapshot!("base_previous_commit", run.stdout);
    assert!(!sandbox.exists("out"), "--base reads history and writes nothing");

    // The same revision as the working spec: nothing to show.
    diff_base(&sandbox, "HEAD").status(0).stdout_empty();
}

#[test]
fn a_spec_that_did_not_exist_at_the_base_shows_every_artifact_as_new() {
    let sandbox = repository().write("README.md", "# infra\n");
    commit(&sandbox, "start");
    let spec = Spec::shop().cloudwatch(30);
    sandbox.change_spec("deploy.kdl", &spec);
    commit(&sandbox, "add the shop");

    let run = diff_base(&sandbox, "HEAD~1");
    run.status(1);
    let artifacts = spec.artifacts("deploy.kdl");
    for artifact in &artifacts {
        run.stdout_contains(&format!(
            "--- /dev/null\n+++ b/out/{}\n@@ -0,0 +1,",
            artifact.file
        ));
    }
    assert_eq!(
        run.stdout.matches("--- /dev/null").count(),
        artifacts.len(),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("\n--- a/").count(),
        0,
        "nothing existed before"
    );
}

#[test]
fn an_unknown_revision_is_a_clear_error() {
    let sandbox = repository().spec("deploy.kdl", &Spec::shop());
    commit(&sandbox, "shop");

    diff_base(&sandbox, "no-such-branch")
        .status(2)
        .stdout_empty()
        .stderr_contains("`no-such-branch` is not a revision of this repository")
        .no_panic();
}

#[test]
fn a_spec_outside_any_git_repository_is_a_clear_error() {
    let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop());
    // Make sure git does not find a repository above the temporary folder.
    let ceiling = sandbox.path().parent().expect("a parent").to_path_buf();

    let mut run = sandbox.deployc(["diff", "--base", "HEAD", "deploy.kdl", "-o", "out"]);
    for (key, value) in git_env() {
        run = run.env(key, value);
    }
    run.env("GIT_CEILING_DIRECTORIES", &ceiling)
        .run()
        .status(2)
        .stdout_empty()
        .stderr_contains("`deploy.kdl` is not in a git repository")
        .stderr_contains("--base")
        .no_panic();
}
