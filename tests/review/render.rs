//! `deployc render`: what it writes, what it reports, and that it writes only what changed.

use std::time::{Duration, SystemTime};

use crate::support::*;

/// A fixed time in the past, so "not rewritten" is visible in the mtime.
fn long_ago() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)
}

#[test]
fn render_creates_every_artifact_and_the_manifest_and_reports_each() {
    let spec = Spec::shop_on_ec2();
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    let artifacts = spec.artifacts("deploy.kdl");
    assert_eq!(
        file_names(&artifacts),
        [
            "shop.service",
            "shop-build.sh",
            "shop-deploy.service",
            "user-data.sh",
            "user-data.sh.gz"
        ],
        "the spec has a host block: user-data to read, and gzip'd to deliver; the role's policy is not the host's (`deployc iam-policy`)"
    );

    sandbox
        .deployc(["render"])
        .run()
        .status(0)
        .stderr_empty()
        .reports_each("created", "deploy", &artifacts);

    sandbox.folder("deploy").renders(&artifacts, "deploy.kdl");
}

#[test]
fn gzip_user_data_is_reported_by_its_compressed_size() {
    let spec = Spec::shop().host().cloudwatch(30);
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    let artifacts = spec.artifacts("deploy.kdl");
    assert_eq!(
        file_names(&artifacts),
        [
            "shop.service",
            "shop-build.sh",
            "shop-deploy.service",
            "shop-journal.service",
            "user-data.sh",
            "user-data.sh.gz",
            "cloudwatch-agent.json"
        ],
        "the spec has a host and a cloudwatch block, so every artifact"
    );
    let user_data = artifacts
        .iter()
        .find(|a| a.file == "user-data.sh.gz")
        .expect("user-data.sh.gz");
    assert!(!user_data.executable, "gzip'd user-data is data, not a script");

    let run = sandbox.deployc(["render"]).run();
    run.status(0).reports_each("created", "deploy", &artifacts);
    let (_, rest) = run.status_of("deploy/user-data.sh.gz");
    assert!(
        rest.contains(&format!("uses {} of EC2's 16384 bytes", user_data.bytes.len())),
        "{rest}"
    );
    sandbox.folder("deploy").renders(&artifacts, "deploy.kdl");
}

#[test]
fn a_second_render_reports_unchanged_and_rewrites_nothing() {
    let spec = Spec::shop_on_ec2();
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    let artifacts = spec.artifacts("deploy.kdl");
    sandbox.deployc(["render"]).run().status(0);
    for name in sandbox.folder("deploy").names() {
        set_mtime(&sandbox.join(format!("deploy/{name}")), long_ago());
    }
    let before = sandbox.folder("deploy");

    sandbox
        .deployc(["render"])
        .run()
        .status(0)
        .reports_each("unchanged", "deploy", &artifacts);

    sandbox.folder("deploy").unchanged_since(&before);
}

#[test]
fn a_spec_change_rewrites_only_the_files_whose_bytes_change() {
    let old = Spec::shop();
    let new = Spec::shop().description("The shop, now with a better description");
    let sandbox = Sandbox::new().spec("deploy.kdl", &old);
    sandbox.deployc(["render"]).run().status(0);
    for name in sandbox.folder("deploy").names() {
        set_mtime(&sandbox.join(format!("deploy/{name}")), long_ago());
    }
    let before = sandbox.folder("deploy");
    let old_artifacts = old.artifacts("deploy.kdl");
    let new_artifacts = new.artifacts("deploy.kdl");
    let unchanged: Vec<&str> = new_artifacts
        .iter()
        .filter(|a| old_artifacts.contains(a))
        .map(|a| a.file.as_str())
        .collect();
    assert!(
        !unchanged.is_empty() && unchanged.len() < new_artifacts.len(),
        "precondition: some files change, some do not"
    );

    sandbox.change_spec("deploy.kdl", &new);
    let run = sandbox.deployc(["render"]).run();
    run.status(0);

    let after = sandbox.folder("deploy");
    after.renders(&new_artifacts, "deploy.kdl");
    for artifact in &new_artifacts {
        let (verb, _) = run.status_of(&format!("deploy/{}", artifact.file));
        let rewritten = after.files[&artifact.file].mtime != before.files[&artifact.file].mtime;
        if unchanged.contains(&artifact.file.as_str()) {
            assert_eq!(verb, "unchanged", "{}", artifact.file);
            assert!(
                !rewritten,
                "{} did not change and must not be rewritten",
                artifact.file
            );
        } else {
            assert_eq!(verb, "updated", "{}", artifact.file);
            assert!(rewritten, "{} changed", artifact.file);
        }
    }
}

#[test]
fn a_changed_mode_is_restored_as_an_update() {
    let spec = Spec::shop();
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    sandbox.deployc(["render"]).run().status(0);
    std::fs::set_permissions(
        sandbox.join("deploy/shop-build.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();

    let run = sandbox.deployc(["render"]).run();
    run.status(0);
    assert_eq!(run.status_of("deploy/shop-build.sh").0, "updated");
    assert_eq!(run.status_of("deploy/shop.service").0, "unchanged");
    sandbox
        .folder("deploy")
        .renders(&spec.artifacts("deploy.kdl"), "deploy.kdl");
}

#[test]
fn output_is_the_same_bytes_across_runs_and_working_directories() {
    let spec = Spec::shop().host().cloudwatch(14);
    let artifacts = spec.artifacts("deploy.kdl");

    // Run 1: relative paths, from the spec's own folder.
    let first = Sandbox::new().spec("deploy.kdl", &spec);
    first.deployc(["render", "deploy.kdl"]).run().status(0);
    let one = first.folder("deploy");

    // Run 2: the same spec elsewhere, by absolute paths, from an unrelated working directory.
    let second = Sandbox::new()
        .spec("nested/place/deploy.kdl", &spec)
        .write("elsewhere/.keep", "");
    let spec_path = second.join("nested/place/deploy.kdl");
    let out = second.join("nested/place/rendered");
    second
        .deployc([
            "render".as_ref(),
            spec_path.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ])
        .current_dir(second.join("elsewhere"))
        .run()
        .status(0);
    let two = Folder::read(&out);

    // Run 3: the first place again, from scratch.
    std::fs::remove_dir_all(first.join("deploy")).unwrap();
    first.deployc(["render", "deploy.kdl"]).run().status(0);
    let three = first.folder("deploy");

    for folder in [&one, &two, &three] {
        folder.renders(&artifacts, "deploy.kdl");
    }
    let contents = |f: &Folder| -> Vec<(String, Vec<u8>, u32)> {
        f.files
            .iter()
            .map(|(n, e)| (n.clone(), e.bytes.clone(), e.mode))
            .collect()
    };
    assert!(
        contents(&one) == contents(&two),
        "two working directories gave different bytes"
    );
    assert!(
        contents(&one) == contents(&three),
        "two runs gave different bytes"
    );
}

#[test]
fn quiet_render_prints_nothing_and_still_writes() {
    let spec = Spec::shop();
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    sandbox
        .deployc(["-q", "render"])
        .run()
        .status(0)
        .stdout_empty()
        .stderr_empty();
    sandbox
        .folder("deploy")
        .renders(&spec.artifacts("deploy.kdl"), "deploy.kdl");
    sandbox
        .deployc(["render", "--quiet"])
        .run()
        .status(0)
        .stdout_empty()
        .stderr_empty();
}

#[test]
fn verbose_render_adds_the_start_budget() {
    let sandbox = Sandbox::new().spec("deploy.kdl", &Spec::shop());
    let run = sandbox.deployc(["-v", "render"]).run();
    run.status(0)
        .stderr_contains("worst case:")
        .stderr_contains("build api 15m");
    let start = run
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("start "))
        .unwrap_or_else(|| panic!("no start budget line in\n{}", run.stderr));
    assert!(start.contains("worst case:"), "{start}");
    let plain = sandbox.deployc(["render"]).run();
    plain.status(0).stderr_lacks("worst case:");
}

#[test]
fn json_render_prints_a_record_per_file_beside_the_diagnostics() {
    // An unpinned image: a warning, so a diagnostic record comes too.
    let spec = Spec::shop().image("cache", "redis");
    let sandbox = Sandbox::new().spec("deploy.kdl", &spec);
    let artifacts = spec.artifacts("deploy.kdl");

    let run = sandbox.deployc(["render", "--message-format", "json"]).run();
    run.status(0).stderr_empty();
    let lines = run.json_lines();
    let diagnostics: Vec<_> = lines.iter().filter(|l| l["type"] == "diagnostic").collect();
    assert_eq!(diagnostics.len(), 1, "{}", run.stdout);
    assert_eq!(diagnostics[0]["code"], "W0503");
    let records: Vec<_> = lines.iter().filter(|l| l["type"] == "render").collect();
    assert_eq!(records.len(), artifacts.len(), "{}", run.stdout);
    for (record, artifact) in records.iter().zip(&artifacts) {
        assert_eq!(record["path"], format!("deploy/{}", artifact.file));
        assert_eq!(record["change"], "created");
        assert_eq!(record["bytes"], artifact.bytes.len());
    }
    sandbox.folder("deploy").renders(&artifacts, "deploy.kdl");

    sandbox.change_spec("deploy.kdl", &Spec::shop());
    let again = sandbox.deployc(["render", "--message-format", "json"]).run();
    again.status(0).stderr_empty();
    let changes: Vec<(String, String)> = again
        .json_lines()
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "render", "{l}");
            (
                l["path"].as_str().unwrap().to_owned(),
                l["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        changes.contains(&("deploy/shop.service".into(), "updated".into())),
        "{changes:?}"
    );
    let removed = again.json_lines().into_iter().find(|l| l["change"] == "removed");
    assert!(removed.is_none(), "nothing is removed: {}", again.stdout);
}

#[test]
fn an_output_path_that_is_a_file_is_a_usage_error() {
    let sandbox = Sandbox::new()
        .spec("deploy.kdl", &Spec::shop())
        .write("notes.txt", "mine\n");
    for command in ["render", "diff", "check"] {
        sandbox
            .deployc([command, "-o", "notes.txt"])
            .run()
            .status(2)
            .stdout_empty()
            .stderr_is(
                "error: `notes.txt` is a file, not a folder for the artifacts; name a folder with -o DIR\n",
            );
        sandbox
            .deployc([command, "-o", "notes.txt/deploy"])
            .run()
            .status(2)
            .stderr_contains("`notes.txt/deploy` cannot be a folder: part of its path is a file");
    }
    assert_eq!(sandbox.read("notes.txt"), b"mine\n");
}
