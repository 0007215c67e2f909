//! `deployc init`: a starter spec to begin from, which checks clean.

use crate::support::*;

#[test]
fn the_starter_checks_clean_and_renders() {
    let sandbox = Sandbox::new();
    sandbox
        .deployc(["init"])
        .run()
        .status(0)
        .stdout_is("  created deploy.kdl\n")
        .stderr_is("note: edit it, then `deployc render` writes its artifacts into `deploy`\n");
    let spec = String::from_utf8(sandbox.read("deploy.kdl")).unwrap();
    for node in [
        "\nversion 1\n",
        "\nproject ",
        "\nservice ",
        "\nbuild {",
        "\nhealth {",
        "\n// host {",
        "\n// cloudwatch {",
    ] {
        assert!(
            spec.contains(node),
            "the starter has no `{}`:\n{spec}",
            node.trim()
        );
    }
    assert!(
        spec.lines().filter(|l| l.trim_start().starts_with("//")).count() >= 10,
        "the starter explains itself in comments:\n{spec}"
    );

    sandbox
        .deployc(["check", "--spec-only", "--deny-warnings"])
        .run()
        .status(0)
        .stderr_is("  checked deploy.kdl: ok\n");
    sandbox.deployc(["render"]).run().status(0);
    sandbox
        .deployc(["check", "--deny-warnings"])
        .run()
        .status(0)
        .stderr_is("  checked deploy.kdl: ok\n");
}

#[test]
fn the_project_is_named_after_the_folder_of_the_spec() {
    let sandbox = Sandbox::new();
    sandbox
        .deployc(["init", "My Shop.v2/staging.kdl"])
        .run()
        .status(0)
        .stdout_is("  created My Shop.v2/staging.kdl\n")
        .stderr_contains(
            "`deployc render 'My Shop.v2/staging.kdl'` writes its artifacts into `My Shop.v2/deploy`",
        );
    let spec = String::from_utf8(sandbox.read("My Shop.v2/staging.kdl")).unwrap();
    assert!(spec.contains("\nproject \"my-shop-v2\" {\n"), "{spec}");
    sandbox
        .deployc([
            "check",
            "--spec-only",
            "--deny-warnings",
            "My Shop.v2/staging.kdl",
        ])
        .run()
        .status(0);

    // Printed instead of written: the same text, named after the current folder.
    let printed = sandbox
        .deployc(["init", "-"])
        .current_dir(sandbox.join("My Shop.v2"))
        .run();
    printed.status(0).stderr_empty();
    assert_eq!(printed.stdout, spec);
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let sandbox = Sandbox::new().write("deploy.kdl", "my own spec\n");
    sandbox
        .deployc(["init"])
        .run()
        .status(2)
        .stdout_empty()
        .stderr_is("error: `deploy.kdl` already exists; run again with --force to overwrite it\n");
    assert_eq!(sandbox.read("deploy.kdl"), b"my own spec\n");

    sandbox
        .deployc(["init", "--force"])
        .run()
        .status(0)
        .stdout_is(" replaced deploy.kdl\n");
    assert!(
        String::from_utf8(sandbox.read("deploy.kdl"))
            .unwrap()
            .starts_with("// ")
    );

    sandbox
        .deployc(["init", "."])
        .run()
        .status(2)
        .stderr_contains("`.` is a folder; name the spec file");
}
