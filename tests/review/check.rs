//! `deployc check` on a rendered folder: drift between the spec and the artifacts.

use crate::support::*;

fn rendered(spec: &Spec) -> Sandbox {
    let sandbox = Sandbox::new().spec("deploy.kdl", spec);
    sandbox.deployc(["render"]).run().status(0);
    sandbox
}

#[test]
fn a_folder_that_matches_its_spec_checks_clean() {
    let sandbox = rendered(&Spec::shop());
    let before = sandbox.folder("deploy");
    sandbox
        .deployc(["check"])
        .run()
        .status(0)
        .stderr_contains("checked deploy.kdl: ok")
        .stderr_lacks("warning")
        .stderr_lacks("error");
    sandbox.deployc(["check", "--deny-warnings"]).run().status(0);
    sandbox.folder("deploy").unchanged_since(&before);
}

#[test]
fn a_spec_changed_without_render_warns_about_each_stale_file() {
    let sandbox = rendered(&Spec::shop());
    let new = Spec::project("shop")
        .built("api", "25m")
        .image("db", "postgres:16.4");
    sandbox.change_spec("deploy.kdl", &new);
    let stale: Vec<String> = new
        .artifacts("deploy.kdl")
        .into_iter()
        .zip(Spec::shop().artifacts("deploy.kdl"))
        .filter(|(n, o)| n.bytes != o.bytes)
        .map(|(n, _)| n.file)
        .collect();
    assert!(
        stale.contains(&"shop-build.sh".to_owned()),
        "precondition: {stale:?}"
    );
    let before = sandbox.folder("deploy");

    let run = sandbox.deployc(["check"]).run();
    run.status(0);
    for file in &stale {
        run.stderr_contains(&format!("warning[W0603]: `deploy/{file}` is out of date"));
    }
    assert_eq!(run.stderr.matches("W0603").count(), stale.len(), "{}", run.stderr);

    sandbox
        .deployc(["check", "--deny-warnings"])
        .run()
        .status(2)
        .stderr_contains("[W0603]: `deploy/shop-build.sh` is out of date");
    sandbox.folder("deploy").unchanged_since(&before);
}

#[test]
fn a_removal_pending_is_also_drift() {
    let sandbox = rendered(&Spec::shop().cloudwatch(30));
    sandbox.change_spec("deploy.kdl", &Spec::shop());
    sandbox
        .deployc(["check"])
        .run()
        .status(0)
        .stderr_contains("warning[W0603]: `deploy/cloudwatch-agent.json` is out of date")
        .stderr_contains("removed");
}

#[test]
fn a_hand_edit_is_an_error() {
    let sandbox = rendered(&Spec::shop());
    sandbox.hand_edit("deploy/shop.service");
    let before = sandbox.folder("deploy");

    sandbox
        .deployc(["check"])
        .run()
        .status(2)
        .stderr_contains("error[E0601]: `deploy/shop.service` was edited by hand")
        .stderr_lacks("W0603");
    sandbox.folder("deploy").unchanged_since(&before);
}

#[test]
fn a_spec_without_its_folder_warns_and_fails_with_deny_warnings() {
    let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop());
    let missing = "`deploy` does not exist: `deploy.kdl` has not been rendered there";

    sandbox
        .deployc(["check"])
        .run()
        .status(0)
        .stderr_contains(&format!("warning[W0605]: {missing}"))
        .stderr_contains("run `deployc render`")
        .stderr_contains("checked deploy.kdl: 1 warning");
    sandbox
        .deployc(["check", "--deny-warnings"])
        .run()
        .status(2)
        .stderr_contains(&format!("error[W0605]: {missing}"))
        .stderr_contains("error: could not check `deploy.kdl`: 1 error");
    // A spec whose artifacts live elsewhere is checked alone.
    sandbox
        .deployc(["check", "--spec-only", "--deny-warnings"])
        .run()
        .status(0)
        .stderr_is("  checked deploy.kdl: ok\n");
    assert!(!sandbox.exists("deploy"), "check writes nothing");
}

#[test]
fn each_artifact_missing_from_the_folder_is_stale() {
    let sandbox = rendered(&Spec::shop_on_ec2());
    std::fs::remove_file(sandbox.join("deploy/user-data.sh")).unwrap();
    let missing =
        "warning[W0603]: `deploy/user-data.sh` is out of date: `deployc render` would have created it";
    let run = sandbox.deployc(["check"]).run();
    run.status(0).stderr_contains(missing);
    assert_eq!(run.stderr.matches("W0603").count(), 1, "{}", run.stderr);
    sandbox
        .deployc(["check", "--deny-warnings"])
        .run()
        .status(2)
        .stderr_contains("error[W0603]: `deploy/user-data.sh` is out of date");
}

#[test]
fn the_folder_of_another_spec_is_an_error() {
    let sandbox = rendered(&Spec::shop());
    sandbox.put(
        "staging.kdl",
        Spec::project("staging").image("web", "nginx:1.27").text(),
    );
    sandbox
        .deployc(["check", "staging.kdl", "-o", "deploy"])
        .run()
        .status(2)
        .stderr_contains("error[E0604]: `deploy` holds the artifacts of `deploy.kdl`, not of `staging.kdl`")
        .stderr_lacks("W0603");
}
