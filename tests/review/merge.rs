//! Merging two branches that both changed the spec and rendered it: the
//! manifest merges wherever the artifacts do, and one documented command
//! gets a conflicted folder back to a clean one.

use crate::support::*;

/// A repository on `main` whose first commit holds `spec` and its render.
fn repository(spec: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.git(["init", "-q", "-b", "main"]);
    sandbox.git(["config", "user.name", "Deployc Tests"]);
    sandbox.git(["config", "user.email", "tests@deployc.invalid"]);
    sandbox.put("deploy.kdl", spec);
    sandbox.deployc(["render"]).run().status(0);
    commit(&sandbox, "base");
    sandbox
}

fn commit(sandbox: &Sandbox, message: &str) {
    sandbox.git(["add", "-A"]);
    sandbox.git(["commit", "-q", "-m", message]);
}

/// Commits `spec` and its render on `branch`, from where the sandbox is.
fn change_on(sandbox: &Sandbox, branch: &str, spec: &str) {
    sandbox.git(["checkout", "-q", "-B", branch]);
    sandbox.put("deploy.kdl", spec);
    sandbox.deployc(["render"]).run().status(0);
    commit(sandbox, branch);
}

/// Branches `theirs` off the first commit with `their_spec`, commits
/// `our_spec` on `main`, and merges `theirs` into `main`; whether git merged
/// without conflicts.
fn merge(sandbox: &Sandbox, our_spec: &str, their_spec: &str) -> bool {
    change_on(sandbox, "theirs", their_spec);
    sandbox.git(["checkout", "-q", "main"]);
    change_on(sandbox, "main", our_spec);
    sandbox.git_succeeds(["merge", "-q", "--no-edit", "theirs"])
}

fn with_build_block(spec: &Spec) -> String {
    format!("{}build {{\n    min-free disk=\"20G\"\n}}\n", spec.text())
}

/// Which files differ between the renders of two spec texts.
fn changed_files(before: &str, after: &str) -> Vec<String> {
    let (before, after) = (
        compiled("deploy.kdl", before.as_bytes()),
        compiled("deploy.kdl", after.as_bytes()),
    );
    after
        .iter()
        .filter(|a| !before.contains(a))
        .map(|a| a.file.clone())
        .collect()
}

#[test]
fn branches_that_changed_different_artifacts_merge_cleanly() {
    let base = Spec::shop().text();
    let ours = Spec::shop().description("The shop, reviewed").text();
    let theirs = with_build_block(&Spec::shop());
    assert_eq!(
        changed_files(&base, &ours),
        ["shop.service", "shop-deploy.service"],
        "precondition"
    );
    assert_eq!(changed_files(&base, &theirs), ["shop-build.sh"], "precondition");
    let sandbox = repository(&base);

    // The two hashes sit on neighbouring entries of the manifest.
    assert!(merge(&sandbox, &ours, &theirs), "git could not merge");

    let merged = with_build_block(&Spec::shop().description("The shop, reviewed"));
    assert_eq!(String::from_utf8(sandbox.read("deploy.kdl")).unwrap(), merged);
    sandbox.deployc(["check", "--deny-warnings"]).run().status(0);
    sandbox
        .folder("deploy")
        .renders(&compiled("deploy.kdl", merged.as_bytes()), "deploy.kdl");
}

#[test]
fn a_manifest_git_could_not_merge_is_written_again_by_render() {
    let base = Spec::shop().text();
    let ours = Spec::shop().description("The shop, reviewed").text();
    let theirs = Spec::project("shop")
        .built("api", "25m")
        .image("db", "postgres:16.4")
        .text();
    assert_eq!(
        changed_files(&base, &theirs),
        ["shop.service", "shop-build.sh", "shop-deploy.service"],
        "precondition"
    );
    let sandbox = repository(&base);

    assert!(!merge(&sandbox, &ours, &theirs), "the manifest must conflict");
    let merged = Spec::project("shop")
        .description("The shop, reviewed")
        .built("api", "25m")
        .image("db", "postgres:16.4");
    assert_eq!(
        String::from_utf8(sandbox.read("deploy.kdl")).unwrap(),
        merged.text()
    );
    let conflicted = sandbox.git_output(["diff", "--name-only", "--diff-filter=U"]);
    assert_eq!(
        conflicted, "deploy/.deployc-manifest\n",
        "git merged every artifact"
    );

    let stale = "warning[W0603]: `deploy/.deployc-manifest` is out of date";
    sandbox.deployc(["check"]).run().status(0).stderr_contains(stale);
    sandbox.deployc(["check", "--deny-warnings"]).run().status(2);

    let run = sandbox.deployc(["render"]).run();
    run.status(0)
        .stdout_contains("  updated deploy/.deployc-manifest (its merge conflict resolved)\n");
    assert_eq!(run.status_of("deploy/shop.service").0, "unchanged");
    sandbox
        .folder("deploy")
        .renders(&merged.artifacts("deploy.kdl"), "deploy.kdl");
    sandbox.deployc(["check", "--deny-warnings"]).run().status(0);
}

#[test]
fn artifacts_git_could_not_merge_are_rendered_again_with_force() {
    let base = Spec::shop().text();
    let with_timeout = |timeout| {
        Spec::project("shop")
            .built("api", timeout)
            .image("db", "postgres:16.4")
    };
    let sandbox = repository(&base);
    assert!(!merge(
        &sandbox,
        &with_timeout("20m").text(),
        &with_timeout("25m").text()
    ));
    // The reviewer settles the spec; the artifacts still hold both sides.
    let settled = with_timeout("25m");
    sandbox.change_spec("deploy.kdl", &settled);
    let before = sandbox.folder("deploy");

    let markers = "error[E0601]: `deploy/shop.service` holds git's merge conflict markers";
    sandbox
        .deployc(["check"])
        .run()
        .status(2)
        .stderr_contains(markers);
    sandbox
        .deployc(["render"])
        .run()
        .status(2)
        .stderr_contains(markers)
        .stderr_contains("then run `deployc render --force`");
    sandbox.folder("deploy").unchanged_since(&before);

    sandbox.deployc(["render", "--force"]).run().status(0);
    sandbox
        .folder("deploy")
        .renders(&settled.artifacts("deploy.kdl"), "deploy.kdl");
    sandbox.deployc(["check", "--deny-warnings"]).run().status(0);
}
