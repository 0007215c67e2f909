//! Several specs in one call.

use crate::support::*;

fn alpha() -> Spec {
    Spec::project("alpha").image("web", "nginx:1.27-alpine")
}

#[test]
fn each_spec_renders_into_its_own_folder_under_o() {
    let sandbox = Sandbox::new()
        .spec("a.kdl", &alpha())
        .spec("b.kdl", &Spec::shop());

    let run = sandbox.deployc(["render", "a.kdl", "b.kdl", "-o", "out"]).run();
    run.status(0);
    run.reports_each("created", "out/a", &alpha().artifacts("a.kdl"));
    assert_eq!(run.status_of("out/b/shop.service").0, "created");

    sandbox
        .folder("out/a")
        .renders(&alpha().artifacts("a.kdl"), "a.kdl");
    sandbox
        .folder("out/b")
        .renders(&Spec::shop().artifacts("b.kdl"), "b.kdl");
    let mut entries: Vec<String> = std::fs::read_dir(sandbox.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        ["a", "b"],
        "out/ holds one folder per spec, named after it"
    );
}

#[test]
fn an_invalid_spec_does_not_stop_the_others_and_the_worst_exit_wins() {
    let sandbox = Sandbox::new()
        .spec("a.kdl", &alpha())
        .write(
            "bad.kdl",
            "version 1\nproject \"bad\"\nservce \"x\" { image \"nginx:1.27\"; }\n",
        )
        .spec("c.kdl", &Spec::shop());

    sandbox
        .deployc(["render", "a.kdl", "bad.kdl", "c.kdl", "-o", "out"])
        .run()
        .status(2)
        .stderr_contains("error[E")
        .stderr_contains("bad.kdl")
        .no_panic();
    sandbox
        .folder("out/a")
        .renders(&alpha().artifacts("a.kdl"), "a.kdl");
    sandbox
        .folder("out/c")
        .renders(&Spec::shop().artifacts("c.kdl"), "c.kdl");
    assert!(
        !sandbox.exists("out/bad"),
        "nothing is written for an invalid spec"
    );

    // A missing spec is an I/O failure (3), worse than an invalid one (2).
    sandbox
        .deployc(["render", "a.kdl", "missing.kdl", "bad.kdl", "-o", "again"])
        .run()
        .status(3)
        .stderr_contains("missing.kdl");
    sandbox
        .folder("again/a")
        .renders(&alpha().artifacts("a.kdl"), "a.kdl");
}

#[test]
fn two_specs_cannot_share_a_folder() {
    let sandbox = Sandbox::new()
        .spec("a.kdl", &alpha())
        .spec("b.kdl", &Spec::shop());

    sandbox
        .deployc(["render", "a.kdl", "b.kdl"])
        .run()
        .status(2)
        .stderr_contains("`a.kdl` and `b.kdl` would both render into `deploy`")
        .stderr_contains("-o DIR");
    assert!(!sandbox.exists("deploy"), "nothing is written");

    // Under -o, two specs with the same name collide the same way.
    let twins = Sandbox::new()
        .spec("x/deploy.kdl", &alpha())
        .spec("y/deploy.kdl", &Spec::shop());
    twins
        .deployc(["render", "x/deploy.kdl", "y/deploy.kdl", "-o", "out"])
        .run()
        .status(2)
        .stderr_contains("would both render into");
    assert!(!twins.exists("out"));
}
