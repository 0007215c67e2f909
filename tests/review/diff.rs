//! `deployc diff`: what a render would change, for reviewers and CI.
//!
//! Runs use a relative `-o out`, so the snapshots hold no temporary paths.
//! Update snapshots with `INSTA_UPDATE=always cargo test --test review`, then
//! read the `.snap` diff in git before committing it.

use crate::support::*;

/// A sandbox whose `out/` holds the render of `spec` (saved as deploy.kdl).
fn rendered(spec: &Spec) -> Sandbox {
    let sandbox = Sandbox::new().spec("deploy.kdl", spec);
    sandbox.deployc(["render", "-o", "out"]).run().status(0);
    sandbox
}

fn diff(sandbox: &Sandbox, extra: &[&str]) -> Outcome {
    sandbox.deployc(["diff", "-o", "out"]).args(extra).run()
}

#[test]
fn up_to_date_artifacts_diff_to_nothing_and_exit_0() {
    let sandbox = rendered(&Spec::shop().host().cloudwatch(30));
    diff(&sandbox, &[]).status(0).stdout_empty();
    diff(&sandbox, &["--stat"]).status(0).stdout_empty();
}

#[test]
fn a_spec_change_shows_as_a_unified_diff_and_exits_1() {
    let sandbox = rendered(&Spec::shop());
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("The shop, reviewed"));
    let before = sandbox.folder("out");

    let run = diff(&sandbox, &[]);
    run.status(1)
        .stdout_contains("--- a/out/shop.service\n+++ b/out/shop.service\n@@ ")
        .stdout_contains("\n-Description=The shop service\n+Description=The shop, reviewed\n")
        .no_ansi();
    insta::assert_snapshot!("spec_change", run.stdout);
    sandbox.folder("out").unchanged_since(&before);
}

#[test]
fn fewer_context_lines_with_u() {
    let sandbox = rendered(&Spec::shop());
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("The shop, reviewed"));

    let one = diff(&sandbox, &["-U", "1"]);
    one.status(1)
        .stdout_contains("-Description=The shop service\n+Description=The shop, reviewed\n");
    insta::assert_snapshot!("context_1", one.stdout);
    let three = diff(&sandbox, &[]);
    assert!(
        one.stdout.lines().count() + 4 <= three.stdout.lines().count(),
        "-U 1 shows two fewer lines of context on each side"
    );
    diff(&sandbox, &["--unified", "0"])
        .status(1)
        .stdout_contains("@@ -4 +4 @@\n-Description");
}

#[test]
fn a_new_artifact_diffs_from_dev_null() {
    let sandbox = rendered(&Spec::shop());
    sandbox.change_spec("deploy.kdl", &Spec::shop().cloudwatch(30));

    let run = diff(&sandbox, &[]);
    run.status(1)
        .stdout_contains("--- /dev/null\n+++ b/out/cloudwatch-agent.json\n@@ -0,0 +1,")
        .stdout_lacks("b/out/shop.service");
    insta::assert_snapshot!("new_artifact", run.stdout);
}

#[test]
fn a_removed_artifact_diffs_to_dev_null() {
    let sandbox = rendered(&Spec::shop().cloudwatch(30));
    sandbox.change_spec("deploy.kdl", &Spec::shop());

    let run = diff(&sandbox, &[]);
    run.status(1)
        .stdout_contains("--- a/out/cloudwatch-agent.json\n+++ /dev/null\n@@ -1,")
        .stdout_lacks("a/out/shop.service");
    insta::assert_snapshot!("removed_artifact", run.stdout);
}

#[test]
fn stat_prints_a_line_per_changed_file_and_a_total() {
    let sandbox = rendered(&Spec::shop().cloudwatch(30));
    sandbox.change_spec(
        "deploy.kdl",
        &Spec::project("shop")
            .built("api", "25m")
            .image("db", "postgres:16.4"),
    );

    let run = diff(&sandbox, &["--stat"]);
    run.status(1)
        .stdout_contains(" out/shop-build.sh ")
        .stdout_contains(" out/cloudwatch-agent.json ")
        .stdout_lacks("@@");
    assert!(
        run.stdout.lines().last().unwrap_or("").contains("files changed"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!("stat", run.stdout);
}

#[test]
fn stat_shows_a_mode_only_change() {
    let sandbox = rendered(&Spec::shop());
    std::fs::set_permissions(
        sandbox.join("out/shop-build.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    diff(&sandbox, &[]).status(1).stdout_contains("mode 0644 -> 0755");
    diff(&sandbox, &["--stat"])
        .status(1)
        .stdout_contains("out/shop-build.sh");
}

#[test]
fn quiet_prints_nothing_but_keeps_the_exit_code() {
    let sandbox = rendered(&Spec::shop());
    diff(&sandbox, &["--quiet"])
        .status(0)
        .stdout_empty()
        .stderr_empty();
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("Changed"));
    diff(&sandbox, &["--quiet"])
        .status(1)
        .stdout_empty()
        .stderr_empty();
    diff(&sandbox, &["-q", "--stat"])
        .status(1)
        .stdout_empty()
        .stderr_empty();
}

#[test]
fn invalid_and_missing_specs_have_their_own_exit_codes() {
    let sandbox = rendered(&Spec::shop());
    sandbox.put(
        "deploy.kdl",
        "version 1\nproject \"shop\"\nservice \"api\" { imag \"nginx:1.27\"; }\n",
    );
    diff(&sandbox, &[])
        .status(2)
        .stdout_empty()
        .stderr_contains("error[E")
        .stderr_contains("deploy.kdl:3:");

    sandbox
        .deployc(["diff", "missing.kdl", "-o", "out"])
        .run()
        .status(3)
        .stdout_empty()
        .stderr_contains("cannot read `missing.kdl`");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_without_no_color() {
    let sandbox = rendered(&Spec::shop());
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("Changed"));

    // Piped: no colour, whatever the environment says.
    let piped = sandbox.deployc(["diff", "-o", "out"]).colour_allowed().run();
    piped.status(1).no_ansi();
    sandbox
        .deployc(["diff", "-o", "out", "--color", "auto"])
        .run()
        .status(1)
        .no_ansi();

    // --color always: colour even when piped, even with NO_COLOR.
    let always = sandbox.deployc(["diff", "-o", "out", "--color", "always"]).run();
    always
        .status(1)
        .stdout_contains("\x1b[1m--- a/out/shop.service\x1b[0m")
        .stdout_contains("\x1b[31m-Description");
    let plain: String = strip_ansi(&always.stdout);
    assert_eq!(plain, piped.stdout, "colour changes nothing but the escapes");

    // On a terminal: colour by default, none with NO_COLOR=1 or --color never.
    let terminal = sandbox
        .deployc(["diff", "-o", "out"])
        .colour_allowed()
        .in_terminal()
        .run();
    terminal.status(1).stdout_contains("\x1b[");
    sandbox
        .deployc(["diff", "-o", "out", "--color", "auto"])
        .colour_allowed()
        .env("NO_COLOR", "1")
        .in_terminal()
        .run()
        .status(1)
        .stdout_contains("Description")
        .no_ansi();
    sandbox
        .deployc(["diff", "-o", "out", "--color", "never"])
        .colour_allowed()
        .in_terminal()
        .run()
        .status(1)
        .stdout_contains("Description")
        .no_ansi();
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The part of a diff about one file.
fn section<'a>(diff: &'a str, file: &str) -> &'a str {
    let start = diff
        .find(&format!("--- a/out/{file}\n"))
        .or_else(|| {
            diff.find(&format!("+++ b/out/{file}\n"))
                .map(|i| diff[..i].rfind("--- ").unwrap_or(i))
        })
        .unwrap_or_else(|| panic!("no diff of {file} in\n{diff}"));
    let rest = &diff[start..];
    let end = rest[4..].find("\n--- ").map_or(rest.len(), |i| i + 5);
    &rest[..end]
}

#[test]
fn gzip_user_data_is_diffed_as_its_decoded_text() {
    let sandbox = rendered(&Spec::shop().host());
    sandbox.change_spec("deploy.kdl", &Spec::shop().description("Shop, gzip'd").host());

    let run = diff(&sandbox, &[]);
    run.status(1);
    let user_data = section(&run.stdout, "user-data.sh.gz");
    assert!(
        user_data.starts_with("--- a/out/user-data.sh.gz\n+++ b/out/user-data.sh.gz\n@@ "),
        "{user_data}"
    );
    assert!(
        user_data.contains("\n+Description=Shop, gzip'd\n"),
        "the embedded unit changes:\n{user_data}"
    );
    assert!(
        !user_data.contains('\u{fffd}') && !user_data.contains('\0'),
        "gzip bytes leaked into the diff:\n{user_data}"
    );

    // New gzip'd user-data shows its whole script.
    let fresh = rendered(&Spec::shop());
    fresh.change_spec("deploy.kdl", &Spec::shop().host());
    let run = diff(&fresh, &[]);
    run.status(1)
        .stdout_contains("--- /dev/null\n+++ b/out/user-data.sh.gz\n@@ -0,0 +1,");
    let added = section(&run.stdout, "user-data.sh.gz");
    let first_line = added.lines().nth(3).unwrap_or("");
    assert!(
        first_line.starts_with("+#!"),
        "the script's first line, decoded: {first_line:?}"
    );
    assert!(!added.contains('\u{fffd}'), "gzip bytes leaked into the diff");
}

/// `check` and `diff` reuse the gzip'd user-data on disk instead of
/// compressing it again only when the manifest records deployc writing those
/// very bytes: the same script compressed by another hand is still an edit.
#[test]
fn gzip_user_data_compressed_again_by_hand_is_a_conflict() {
    use std::io::{Read, Write};
    let sandbox = rendered(&Spec::shop().host());
    let delivered = sandbox.read("out/user-data.sh.gz");
    let mut script = Vec::new();
    flate2::read::GzDecoder::new(&delivered[..])
        .read_to_end(&mut script)
        .unwrap();
    let mut fast = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    fast.write_all(&script).unwrap();
    let recompressed = fast.finish().unwrap();
    assert_ne!(recompressed, delivered, "another compression, other bytes");
    sandbox.put("out/user-data.sh.gz", &recompressed);

    sandbox
        .deployc(["check", "-o", "out"])
        .run()
        .status(2)
        .stderr_contains("error[E0601]: `out/user-data.sh.gz` was edited by hand since it was generated");
    sandbox.deployc(["render", "-o", "out"]).run().status(2);
    assert_eq!(
        sandbox.read("out/user-data.sh.gz"),
        recompressed,
        "a refused render writes nothing"
    );

    sandbox.put("out/user-data.sh.gz", &delivered);
    sandbox.deployc(["check", "-o", "out"]).run().status(0);
    diff(&sandbox, &[]).status(0).stdout_empty();
}

#[test]
fn json_diff_prints_a_record_per_changed_file_and_no_patch() {
    let old = Spec::shop().cloudwatch(30);
    let new = Spec::shop().host();
    let sandbox = rendered(&old);
    sandbox.change_spec("deploy.kdl", &new);
    let (old, new) = (old.artifacts("deploy.kdl"), new.artifacts("deploy.kdl"));
    let mut expected: Vec<(String, String)> = Vec::new();
    for artifact in &new {
        match old.iter().find(|a| a.file == artifact.file) {
            None => expected.push((format!("out/{}", artifact.file), "created".into())),
            Some(before) if before.bytes != artifact.bytes => {
                expected.push((format!("out/{}", artifact.file), "updated".into()));
            }
            Some(_) => {}
        }
    }
    // Removals come in the manifest's order, by name.
    let mut removed: Vec<&str> = old
        .iter()
        .filter(|a| !new.iter().any(|n| n.file == a.file))
        .map(|a| a.file.as_str())
        .collect();
    removed.sort_unstable();
    for file in removed {
        expected.push((format!("out/{file}"), "removed".into()));
    }
    assert!(
        new.iter().any(|a| old.contains(a)) && expected.iter().any(|(_, c)| c == "removed"),
        "precondition: a file is unchanged and one removed: {expected:?}"
    );

    let run = diff(&sandbox, &["--message-format", "json"]);
    run.status(1).stderr_empty().stdout_lacks("@@");
    let records: Vec<(String, String)> = run
        .json_lines()
        .iter()
        .map(|l| {
            assert_eq!(l["type"], "diff", "{l}");
            (
                l["path"].as_str().unwrap().to_owned(),
                l["change"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(records, expected);

    sandbox.deployc(["render", "-o", "out"]).run().status(0);
    diff(&sandbox, &["--message-format", "json"])
        .status(0)
        .stdout_empty();
}
