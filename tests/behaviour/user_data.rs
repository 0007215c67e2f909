//! `user-data.sh` run against the stubs: the bootstrap of a host end to end,
//! retries with backoff, waiting for Docker, token checks and secrecy, and one
//! clear FAILED line for every failure.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::support::{
    Calls, Deployment, Outcome, Sandbox, Script, files_containing, files_under, mode, read_text,
};

/// The repository token stored in SSM; it must never leave the credential helper.
const TOKEN: &str = "ghp_Zq7StubTokenForBehaviourTests0123";
/// The env-file stored in SSM.
const ENV_TEXT: &str = "DATABASE_URL=postgres://app:s3cret@db/app\nMODE=production";
const CLOUDWATCH_CTL: &str = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl";
const CLOUDWATCH_CONFIG: &str = "/opt/aws/amazon-cloudwatch-agent/etc/app-cloudwatch-agent.json";
const BUILD_SCRIPT: &str = "/usr/local/libexec/deployc/app-build.sh";
const UNIT: &str = "/etc/systemd/system/app.service";
const DEPLOY_UNIT: &str = "/etc/systemd/system/app-deploy.service";

/// A host spec with its `retry` line, `docker-wait` and project `env-file` given.
fn host_spec(retry: &str, docker_wait: &str, env_file: &str) -> String {
    format!(
        r#"version 1
project "app" {{
    root "$T/srv/app"
    env-file "{env_file}"
}}
service "api" {{
    build "Dockerfile" context="."
    timeout "2s"
}}
build {{
    log-dir "$T/logs" fallback="$T/fallback"
    ignored "{env_file}"
}}
health {{
    running "api"
    timeout "2s" interval="1s"
}}
host {{
    packages "jq"
    repo "https://github.com/acme/app" branch="release" token="ssm:/app/github-token"
    {retry}
    docker-wait "{docker_wait}"
    env-file from="ssm:/app/env"
    log "$T/host/user-data.log"
}}
cloudwatch {{
    log-group "/app/deploy" retention-days=30
}}
"#
    )
}

/// The bootstrap's own waits: those before it starts the unit (the health
/// check it runs afterwards waits between its passes too).
fn bootstrap_sleeps(calls: &Calls) -> Vec<String> {
    let start = calls.position("systemctl", &["enable", "--now", "app.service"]);
    calls.0[..start]
        .iter()
        .filter(|c| c.name == "sleep")
        .map(|c| c.args.join(" "))
        .collect()
}

fn default_spec() -> String {
    host_spec(
        r#"retry attempts=3 delay="1s" backoff="exponential""#,
        "6s",
        ".env",
    )
}

/// A sandbox with the upstream repository's files, the token and the env-file in SSM.
fn host() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("upstream/Dockerfile", "FROM python:3.12-slim\n")
        .write("upstream/docker-compose.yml", "services: {}\n")
        .write("upstream/app.py", "print('hello')\n")
        .ssm("/app/github-token", TOKEN)
        .ssm("/app/env", ENV_TEXT);
    sb
}

/// The deployment's user-data, with the git stub serving the upstream files to TOKEN.
fn user_data<'a>(sb: &'a Sandbox, deployment: &'a Deployment<'a>) -> Script<'a> {
    deployment
        .user_data()
        .env("STUB_GIT_TOKEN", TOKEN)
        .env("STUB_GIT_REPO", sb.spelt("upstream"))
}

/// The run failed with exit status 1, and its last line, on the console and
/// in the log, is its only FAILED line and says `message`.
#[track_caller]
fn failed_with(sb: &Sandbox, run: &Outcome, message: &str) {
    run.status(1).last_line_has(&format!("FAILED: {message}"));
    let failed = run.lines_with("FAILED");
    assert_eq!(
        failed.len(),
        1,
        "one FAILED line, not {failed:#?}\n{}",
        run.describe()
    );
    let log = sb.read("host/user-data.log");
    assert_eq!(
        log.lines().last(),
        Some(run.last_line()),
        "the log ends with the FAILED line too"
    );
}

/// Files left in the sandbox's /tmp (the credential helper must not be one).
fn files_in_tmp(sb: &Sandbox) -> Vec<PathBuf> {
    files_under(&sb.host_path("/tmp"))
}

/// A successful bootstrap: the sandbox, the run and the rendered artifacts.
struct Bootstrapped {
    sb: Sandbox,
    run: Outcome,
    artifacts: HashMap<&'static str, Vec<u8>>,
}

fn bootstrapped() -> Bootstrapped {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).run();
    run.status(0);
    let artifacts = [
        "app-build.sh",
        "app.service",
        "app-deploy.service",
        "cloudwatch-agent.json",
    ]
    .into_iter()
    .map(|file| (file, deployment.artifact(file)))
    .collect();
    drop(deployment);
    Bootstrapped { sb, run, artifacts }
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_host_is_bootstrapped_step_by_step_and_ends_healthy() {
    let Bootstrapped { sb, run, .. } = bootstrapped();
    run.last_line_has("user-data: done in")
        .last_line_has("app.service is active and healthy")
        .stdout_contains("user-data: docker answers (poll 1)")
        .stdout_contains("health: every check passes");
    assert!(
        run.stderr.is_empty(),
        "everything goes to the log and the console:\n{}",
        run.describe()
    );
    assert_eq!(
        sb.read("host/user-data.log"),
        run.stdout,
        "the log holds everything the console shows"
    );

    let calls = sb.calls();
    let order = [
        calls.position(
            "dnf",
            &["install", "-y", "docker", "git", "amazon-cloudwatch-agent", "jq"],
        ),
        calls.position("systemctl", &["enable", "--now", "docker.service"]),
        calls.position("docker", &["info"]),
        calls.position("curl", &["-fsSL", "--connect-timeout", "20", "-o"]),
        calls.position("docker", &["compose", "version"]),
        calls.position(
            "amazon-cloudwatch-agent-ctl",
            &[
                "-a",
                "append-config",
                "-m",
                "ec2",
                "-s",
                "-c",
                &format!("file:{CLOUDWATCH_CONFIG}"),
            ],
        ),
        calls.position(
            "aws",
            &[
                "ssm",
                "get-parameter",
                "--name",
                "/app/github-token",
                "--with-decryption",
            ],
        ),
        calls.position("git", &["-c", "credential.helper="]),
        calls.position(
            "aws",
            &["ssm", "get-parameter", "--name", "/app/env", "--with-decryption"],
        ),
        calls.position("systemctl", &["daemon-reload"]),
        calls.position("systemctl", &["enable", "--now", "app-journal.service"]),
        calls.position("systemctl", &["enable", "--now", "app.service"]),
        calls.position("docker", &["ps"]),
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "packages, docker, downloads, compose, CloudWatch, token, git, env-file, units, health; not {order:?}:\n{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_repository_is_checked_then_cloned_on_its_branch_with_the_token_from_ssm() {
    let Bootstrapped { sb, run, .. } = bootstrapped();
    let calls = sb.calls();
    let gits = calls.matching("git", &[]);
    assert_eq!(gits.len(), 3, "ls-remote, clone, rev-parse:\n{calls}");
    let helper = gits[0].args[3].clone();
    assert!(
        helper.starts_with("credential.helper=/tmp/"),
        "a helper in a private temp dir: {helper}"
    );
    let auth = ["-c", "credential.helper=", "-c", &helper];
    let ls_remote = [
        "ls-remote",
        "--exit-code",
        "--heads",
        "--",
        "https://github.com/acme/app",
        "release",
    ];
    assert_eq!(gits[0].args, [&auth[..], &ls_remote].concat());
    let root = sb.spelt("srv/app");
    let clone = [
        "clone",
        "--quiet",
        "--branch",
        "release",
        "--single-branch",
        "--",
        "https://github.com/acme/app",
        &root,
    ];
    assert_eq!(gits[1].args, [&auth[..], &clone].concat());
    assert_eq!(
        calls.args_of("git-credential"),
        ["ok 700", "ok 700"],
        "both got the token from the helper, a file of mode 0700"
    );
    assert_eq!(
        sb.read("srv/app/app.py"),
        "print('hello')\n",
        "the clone is the project root"
    );
    run.stdout_contains(&format!("{root} is at 9fceb02 of release"));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_units_the_build_script_and_the_cloudwatch_config_are_installed_as_rendered() {
    let Bootstrapped { sb, artifacts, .. } = bootstrapped();
    let installed = |path: &str| std::fs::read(sb.host_path(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(installed(CLOUDWATCH_CONFIG), artifacts["cloudwatch-agent.json"]);
    // Each file without its comment lines: what runs is what was rendered.
    let carried =
        |file: &str| deployc::render::carried(std::str::from_utf8(&artifacts[file]).unwrap()).into_bytes();
    assert_eq!(installed(BUILD_SCRIPT), carried("app-build.sh"));
    assert_eq!(installed(DEPLOY_UNIT), carried("app-deploy.service"));
    assert_eq!(mode(&sb.host_path(BUILD_SCRIPT)), 0o755);
    assert_eq!(installed(UNIT), carried("app.service"));
    assert_eq!(mode(&sb.host_path(UNIT)), 0o644);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_env_file_holds_exactly_the_ssm_value_for_root_only() {
    let Bootstrapped { sb, .. } = bootstrapped();
    assert_eq!(sb.read("srv/app/.env"), format!("{ENV_TEXT}\n"));
    assert_eq!(mode(&sb.path("srv/app/.env")), 0o600);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_token_never_leaves_the_credential_helper() {
    let Bootstrapped { sb, run, .. } = bootstrapped();
    run.stdout_lacks(TOKEN);
    assert!(!run.stderr.contains(TOKEN), "the console shows the token");
    assert!(
        !read_text(&sb.call_log()).contains(TOKEN),
        "a command line holds the token"
    );
    let config = sb.read("srv/app/.git/config");
    assert!(config.contains("url = https://github.com/acme/app\n"), "{config}");
    assert!(!config.contains(TOKEN), ".git/config holds the token:\n{config}");
    for folder in sb.written_folders() {
        let found = files_containing(&folder, TOKEN);
        assert!(found.is_empty(), "files hold the token: {found:?}");
    }
    assert_eq!(
        files_in_tmp(&sb),
        Vec::<PathBuf>::new(),
        "the credential helper is removed"
    );
}

/// When git clone fails `failures` times: the run, the delays `sleep` was
/// asked for, and how many clones were tried.
fn clone_retry_delays(retry: &str, failures: &str) -> (Outcome, Vec<String>, usize) {
    let sb = host();
    let deployment = sb.deploy(&host_spec(retry, "6s", ".env"));
    let run = user_data(&sb, &deployment)
        .env("STUB_GIT_CLONE_FAILS", failures)
        .run();
    let calls = sb.calls();
    let clones = calls
        .matching("git", &["-c", "credential.helper="])
        .iter()
        .filter(|c| c.has("clone"))
        .count();
    (run, bootstrap_sleeps(&calls), clones)
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failing_clone_is_retried_with_exponential_backoff() {
    let (run, delays, clones) =
        clone_retry_delays(r#"retry attempts=3 delay="1s" backoff="exponential""#, "2");
    run.status(0)
        .stdout_contains(
            "git clone https://github.com/acme/app failed (exit 128, attempt 1 of 3); retrying in 1s",
        )
        .stdout_contains("attempt 2 of 3); retrying in 2s");
    assert_eq!(delays, ["1", "2"]);
    assert_eq!(clones, 3);

    let (run, delays, _) = clone_retry_delays(r#"retry attempts=4 delay="1s" backoff="exponential""#, "3");
    run.status(0);
    assert_eq!(delays, ["1", "2", "4"]);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failing_clone_is_retried_with_linear_backoff() {
    let (run, delays, clones) = clone_retry_delays(r#"retry attempts=4 delay="2s" backoff="linear""#, "3");
    run.status(0);
    assert_eq!(delays, ["2", "4", "6"]);
    assert_eq!(clones, 4);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failing_clone_is_retried_with_constant_backoff() {
    let (run, delays, clones) = clone_retry_delays(r#"retry attempts=4 delay="3s" backoff="constant""#, "3");
    run.status(0);
    assert_eq!(delays, ["3", "3", "3"]);
    assert_eq!(clones, 4);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_clone_that_keeps_failing_stops_the_bootstrap() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_GIT_CLONE_FAILS", "all")
        .run();
    failed_with(
        &sb,
        &run,
        "cloning the repository: could not clone https://github.com/acme/app",
    );
    run.stdout_contains("git clone https://github.com/acme/app failed 3 times (last exit 128)");
    let calls = sb.calls();
    assert_eq!(calls.args_of("sleep"), ["1", "2"]);
    assert!(
        calls
            .matching("systemctl", &["enable", "--now", "app.service"])
            .is_empty(),
        "{calls}"
    );
    assert!(!sb.host_path(UNIT).exists(), "nothing is installed");
    assert_eq!(
        files_in_tmp(&sb),
        Vec::<PathBuf>::new(),
        "the credential helper is removed"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn docker_is_polled_until_it_answers() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_DOCKER_INFO_FAILS", "2")
        .run();
    run.status(0)
        .stdout_contains("user-data: docker answers (poll 3)");
    let calls = sb.calls();
    assert_eq!(calls.matching("docker", &["info"]).len(), 3, "{calls}");
    assert_eq!(
        bootstrap_sleeps(&calls),
        ["2", "2"],
        "two waits between three polls"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn docker_that_never_answers_fails_after_docker_wait() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_DOCKER_INFO_FAILS", "all")
        .run();
    failed_with(
        &sb,
        &run,
        "starting docker: docker did not answer within 6s; see journalctl -u docker.service",
    );
    let calls = sb.calls();
    assert_eq!(
        calls.matching("docker", &["info"]).len(),
        3,
        "6s of polls every 2s:\n{calls}"
    );
    assert!(
        calls.matching("git", &[]).is_empty(),
        "nothing after docker:\n{calls}"
    );
}

/// Regression: each poll could take 10s, so a `docker info` that hangs
/// stretched docker-wait up to six-fold.
#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_docker_client_that_hangs_cannot_stretch_docker_wait() {
    let sb = host();
    let deployment = sb.deploy(&host_spec(
        r#"retry attempts=3 delay="1s" backoff="exponential""#,
        "3s",
        ".env",
    ));
    let run = user_data(&sb, &deployment)
        .env("STUB_DOCKER_INFO_HANG", "1")
        .run();
    failed_with(&sb, &run, "starting docker: docker did not answer within 3s");
    assert!(
        run.elapsed < Duration::from_secs(7),
        "docker-wait 3s took {:?}\n{}",
        run.elapsed,
        run.describe()
    );
}

/// Runs the bootstrap with `token` in SSM and checks it stopped before any clone.
fn refused_token(token: &str, server_token: &str, message: &str) -> Sandbox {
    let sb = host();
    sb.ssm("/app/github-token", token);
    let deployment = sb.deploy(&default_spec());
    let run = deployment
        .user_data()
        .env("STUB_GIT_TOKEN", server_token)
        .env("STUB_GIT_REPO", sb.spelt("upstream"))
        .run();
    failed_with(&sb, &run, message);
    let calls = sb.calls();
    assert!(
        !calls.0.iter().any(|c| c.name == "git" && c.has("clone")),
        "no clone with a bad token:\n{calls}"
    );
    assert!(!sb.path("srv/app").exists(), "nothing is cloned");
    if !token.is_empty() {
        assert!(!run.stdout.contains(token), "the log shows the token");
        assert!(
            !read_text(&sb.call_log()).contains(token),
            "a command line holds the token"
        );
    }
    assert_eq!(
        files_in_tmp(&sb),
        Vec::<PathBuf>::new(),
        "the credential helper is removed"
    );
    sb
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_empty_token_stops_before_cloning() {
    let sb = refused_token(
        "",
        TOKEN,
        "reading the repository token: SSM parameter /app/github-token is empty",
    );
    assert!(sb.calls().matching("git", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_token_with_a_space_stops_before_cloning() {
    let sb = refused_token(
        "ghp_first half",
        TOKEN,
        "reading the repository token: SSM parameter /app/github-token does not hold a token",
    );
    assert!(sb.calls().matching("git", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_token_the_remote_rejects_stops_before_cloning() {
    let sb = refused_token(
        "ghp_ExpiredTokenLongEnough",
        TOKEN,
        "checking access to the repository: cannot read branch release of https://github.com/acme/app \
         with the token from /app/github-token; check the token's access and expiry",
    );
    let calls = sb.calls();
    assert_eq!(
        calls.args_of("git-credential"),
        ["wrong 700"; 3],
        "ls-remote, tried 3 times:\n{calls}"
    );
    for folder in sb.written_folders() {
        assert!(files_containing(&folder, "ghp_ExpiredTokenLongEnough").is_empty());
    }
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn package_installs_are_retried() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).env("STUB_DNF_FAILS", "1").run();
    run.status(0).stdout_contains("Failed to download metadata");
    let calls = sb.calls();
    assert_eq!(
        calls.matching("dnf", &["install", "-y", "docker"]).len(),
        2,
        "{calls}"
    );
    assert_eq!(bootstrap_sleeps(&calls), ["1"]);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn packages_that_never_install_stop_the_bootstrap() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).env("STUB_DNF_FAILS", "all").run();
    failed_with(
        &sb,
        &run,
        "installing packages: could not install docker git amazon-cloudwatch-agent jq",
    );
    assert!(sb.calls().matching("systemctl", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_env_file_in_the_repository_is_replaced_and_made_private() {
    let sb = host();
    sb.write("upstream/.env", "STALE=1\n");
    crate::support::set_mode(&sb.path("upstream/.env"), 0o644);
    let deployment = sb.deploy(&default_spec());
    user_data(&sb, &deployment).run().status(0);
    assert_eq!(sb.read("srv/app/.env"), format!("{ENV_TEXT}\n"));
    assert_eq!(mode(&sb.path("srv/app/.env")), 0o600);
}

/// Regression: the env-file was written in a subshell without creating its
/// folder, so a missing folder failed the bootstrap with two FAILED lines.
#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_env_file_in_a_folder_the_repository_lacks_is_written() {
    let sb = host();
    let deployment = sb.deploy(&host_spec(
        r#"retry attempts=3 delay="1s" backoff="exponential""#,
        "6s",
        "config/app.env",
    ));
    let run = user_data(&sb, &deployment).run();
    run.status(0);
    assert_eq!(sb.read("srv/app/config/app.env"), format!("{ENV_TEXT}\n"));
    assert_eq!(mode(&sb.path("srv/app/config/app.env")), 0o600);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_unreadable_env_parameter_stops_the_bootstrap() {
    let sb = Sandbox::new();
    sb.write("upstream/Dockerfile", "FROM scratch\n")
        .ssm("/app/github-token", TOKEN);
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).run();
    failed_with(
        &sb,
        &run,
        "writing the env-file: could not read SSM parameter /app/env; the error above says why",
    );
    assert!(
        run.stdout.contains("ParameterNotFound"),
        "the console shows why:\n{}",
        run.describe()
    );
    assert!(!sb.host_path(UNIT).exists());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_unit_that_does_not_start_shows_the_journal_and_fails() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_SYSTEMCTL_FAIL", "app.service")
        .run();
    failed_with(
        &sb,
        &run,
        "starting app.service: app.service did not start; the journal above says why",
    );
    run.stdout_contains("stub journal: app-build.sh: build of api failed");
    let calls = sb.calls();
    calls.position("journalctl", &["-u", "app.service"]);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_unhealthy_deployment_fails_the_bootstrap() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_PS_DOWN", "api")
        .env("STUB_SLEEP_REAL", "1")
        .run();
    failed_with(
        &sb,
        &run,
        "verifying health: app.service started but is not healthy",
    );
    run.stdout_contains("unhealthy after 0m02s: service api has no container");
}

/// Regression: a failing command substitution printed a FAILED line from its
/// subshell while the bootstrap went on and succeeded.
#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_clone_without_a_head_fails_once_and_stops() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).env("STUB_GIT_NO_HEAD", "1").run();
    failed_with(&sb, &run, "cloning the repository: line");
    run.stdout_contains("unknown revision");
    assert!(
        !sb.host_path(UNIT).exists(),
        "nothing is installed after a broken clone"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn docker_that_does_not_start_stops_the_bootstrap() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment)
        .env("STUB_SYSTEMCTL_FAIL", "docker.service")
        .run();
    failed_with(&sb, &run, "starting docker: line");
    run.stdout_contains("systemctl enable --now \"$ENGINE_UNIT\"");
    assert!(sb.calls().matching("docker", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_missing_cloudwatch_agent_stops_the_bootstrap_before_cloning() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    std::fs::remove_file(sb.host_path(CLOUDWATCH_CTL)).expect("removing the agent");
    let run = user_data(&sb, &deployment).run();
    failed_with(
        &sb,
        &run,
        &format!("starting the CloudWatch agent: {CLOUDWATCH_CTL} is missing after the install"),
    );
    assert!(sb.calls().matching("git", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_public_repository_is_cloned_without_a_token() {
    let sb = host();
    let spec = default_spec().replace(r#" token="ssm:/app/github-token""#, "");
    let deployment = sb.deploy(&spec);
    let run = deployment
        .user_data()
        .env("STUB_GIT_REPO", sb.spelt("upstream"))
        .run();
    run.status(0);
    let calls = sb.calls();
    assert!(
        calls
            .matching("aws", &["ssm", "get-parameter", "--name", "/app/github-token"])
            .is_empty()
    );
    calls.position(
        "git",
        &[
            "ls-remote",
            "--exit-code",
            "--heads",
            "--",
            "https://github.com/acme/app",
            "release",
        ],
    );
    calls.position(
        "git",
        &["clone", "--quiet", "--branch", "release", "--single-branch", "--"],
    );
    assert_eq!(
        calls.args_of("git-credential"),
        ["none -", "none -"],
        "no helper, no password"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_existing_clone_is_fetched_and_checked_out_instead_of_cloned_again() {
    let sb = host();
    sb.write("srv/app/.git/config", "[core]\n")
        .write("srv/app/local.txt", "kept\n");
    let deployment = sb.deploy(&default_spec());
    user_data(&sb, &deployment).run().status(0);
    let calls = sb.calls();
    let helper = calls.matching("git", &["-c", "credential.helper="])[0].args[3].clone();
    let root = sb.spelt("srv/app");
    calls.position(
        "git",
        &[
            "-c",
            "credential.helper=",
            "-c",
            &helper,
            "-C",
            &root,
            "fetch",
            "--quiet",
            "origin",
            "release",
        ],
    );
    calls.position(
        "git",
        &["-C", &root, "checkout", "--quiet", "-B", "release", "FETCH_HEAD"],
    );
    assert!(
        !calls.0.iter().any(|c| c.name == "git" && c.has("clone")),
        "{calls}"
    );
    assert_eq!(sb.read("srv/app/local.txt"), "kept\n");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_root_that_is_not_a_clone_is_left_alone_and_stops_the_bootstrap() {
    let sb = host();
    sb.write("srv/app/precious.txt", "not a clone\n");
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).run();
    failed_with(
        &sb,
        &run,
        &format!(
            "cloning the repository: {} exists and is not a clone; move it away",
            sb.spelt("srv/app")
        ),
    );
    assert_eq!(sb.read("srv/app/precious.txt"), "not a clone\n");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_host_without_repository_cloudwatch_or_secrets_only_installs_and_starts() {
    let sb = Sandbox::new();
    sb.write("srv/app/docker-compose.yml", "services: {}\n")
        .write("srv/app/Dockerfile", "FROM scratch\n");
    let deployment = sb.deploy(
        r#"version 1
project "app" { root "$T/srv/app"; }
service "api" { build "Dockerfile" context="."; }
build { log-dir "$T/logs" fallback="$T/fallback"; }
host {
    packages "docker"
    log "$T/host/user-data.log"
}
"#,
    );
    let run = deployment.user_data().run();
    run.status(0).last_line_has("app.service is active and healthy");
    let calls = sb.calls();
    assert_eq!(
        calls.args_of("dnf"),
        ["install -y docker"],
        "no git or agent to install"
    );
    for absent in ["git", "aws", "amazon-cloudwatch-agent-ctl"] {
        assert!(
            calls.matching(absent, &[]).is_empty(),
            "{absent} is not needed:\n{calls}"
        );
    }
    calls.position("systemctl", &["enable", "--now", "app.service"]);
    let script = String::from_utf8(deployment.artifact("app-build.sh")).unwrap();
    assert_eq!(
        std::fs::read(sb.host_path(BUILD_SCRIPT)).unwrap(),
        deployc::render::carried(&script).into_bytes()
    );
}

// ---------------------------------------------------------------------------
// Per distribution: the packages, downloads and the agent each installs.
// ---------------------------------------------------------------------------

const UBUNTU: &str = "NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\n";
const DEBIAN: &str = "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
const COMPOSE_URL: &str =
    "https://github.com/docker/compose/releases/download/v2.40.0/docker-compose-linux-x86_64";
const BUILDX_URL: &str =
    "https://github.com/docker/buildx/releases/download/v0.29.1/buildx-v0.29.1.linux-amd64";
const PLUGINS: &str = "/usr/local/lib/docker/cli-plugins";
const AGENT_DEB: &str =
    "https://amazoncloudwatch-agent.s3.amazonaws.com/debian/amd64/latest/amazon-cloudwatch-agent.deb";

/// The default spec for another distribution.
fn spec_for(os: &str) -> String {
    default_spec().replace("host {\n", &format!("host {{\n    os \"{os}\"\n"))
}

/// The URLs the bootstrap downloaded, in order.
fn downloads(calls: &Calls) -> Vec<String> {
    calls
        .matching("curl", &["-fsSL"])
        .iter()
        .map(|c| c.args.last().cloned().unwrap_or_default())
        .collect()
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn on_al2023_compose_and_buildx_are_pinned_downloads_where_the_unit_finds_them() {
    let Bootstrapped { sb, run, .. } = bootstrapped();
    let calls = sb.calls();
    assert_eq!(
        calls.args_of("dnf"),
        ["install -y docker git amazon-cloudwatch-agent jq"],
        "AL2023's names; no docker-compose-plugin, which AL2023 lacks"
    );
    assert_eq!(downloads(&calls), [COMPOSE_URL, BUILDX_URL]);
    for plugin in ["docker-compose", "docker-buildx"] {
        let path = sb.host_path(&format!("{PLUGINS}/{plugin}"));
        assert_eq!(mode(&path), 0o755, "{plugin} is installed system-wide");
        run.stdout_contains(&format!("as {PLUGINS}/{plugin}"));
    }
    assert!(
        calls.matching("apt-get", &[]).is_empty(),
        "only the chosen distribution's steps:\n{calls}"
    );
    // The unit's DOCKER_CONFIG, so compose is looked up where the unit looks.
    run.stdout_contains("Docker Compose version v2.29.0-stub");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_download_that_is_not_the_pinned_release_is_refused() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).env("STUB_SHA256_BAD", "1").run();
    failed_with(
        &sb,
        &run,
        &format!("installing release binaries: {COMPOSE_URL} has sha256"),
    );
    run.last_line_has(
        ", not bd5835ccbbf06a42dcb5294c65e34a4634b34447afb9ed6fc7adf18a000e0f99: not installed",
    );
    assert!(!sb.host_path(&format!("{PLUGINS}/docker-compose")).exists());
    assert!(!sb.host_path(UNIT).exists());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn on_ubuntu_everything_comes_from_apt_and_the_agent_from_its_signed_deb() {
    let sb = host();
    sb.os_release(UBUNTU);
    let deployment = sb.deploy(&spec_for("ubuntu"));
    std::fs::remove_file(sb.host_path(CLOUDWATCH_CTL)).expect("a host without the agent");
    let run = user_data(&sb, &deployment).run();
    run.status(0).stdout_contains("starts on ubuntu 24.04");
    let calls = sb.calls();
    assert_eq!(
        calls.args_of("apt-get"),
        [
            "-o DPkg::Lock::Timeout=600 update -q",
            "-o DPkg::Lock::Timeout=600 install -y -q docker.io docker-compose-v2 docker-buildx git gnupg curl ca-certificates jq",
        ],
        "Ubuntu's names, waiting for the first boot's apt lock"
    );
    assert!(calls.matching("dnf", &[]).is_empty());
    assert_eq!(
        downloads(&calls),
        [
            AGENT_DEB.to_owned(),
            format!("{AGENT_DEB}.sig"),
            "https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg".to_owned(),
        ],
        "no release binaries: Ubuntu packages compose and buildx"
    );
    let verify = calls.position("gpg", &["--batch", "--status-fd", "1", "--verify"]);
    let install = calls.position("dpkg", &["-i", "-E"]);
    let start = calls.position("amazon-cloudwatch-agent-ctl", &["-a", "append-config"]);
    assert!(verify < install && install < start, "{calls}");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_agent_deb_not_signed_by_aws_is_not_installed() {
    let sb = host();
    sb.os_release(UBUNTU);
    let deployment = sb.deploy(&spec_for("ubuntu"));
    std::fs::remove_file(sb.host_path(CLOUDWATCH_CTL)).expect("a host without the agent");
    let run = user_data(&sb, &deployment)
        .env("STUB_GPG_SIGNER", "0123456789ABCDEF0123456789ABCDEF01234567")
        .run();
    failed_with(
        &sb,
        &run,
        &format!(
            "installing the CloudWatch agent: {AGENT_DEB} is not signed by AWS's key 937616F3450B7D806CBD9725D58167303B789C72: not installed"
        ),
    );
    assert!(sb.calls().matching("dpkg", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn on_debian_compose_is_downloaded_and_an_old_client_needs_no_buildx() {
    let sb = host();
    sb.os_release(DEBIAN);
    let deployment = sb.deploy(&spec_for("debian"));
    let run = user_data(&sb, &deployment)
        .env("STUB_DOCKER_VERSION", "20.10.24+dfsg1")
        .run();
    run.status(0)
        .stdout_contains("docker 20.10.24+dfsg1 needs no Docker buildx v0.29.1");
    let calls = sb.calls();
    assert_eq!(
        calls.args_of("apt-get")[1],
        "-o DPkg::Lock::Timeout=600 install -y -q docker.io git gnupg curl ca-certificates jq"
    );
    assert_eq!(downloads(&calls), [COMPOSE_URL], "the agent was there already");
    assert!(!sb.host_path(&format!("{PLUGINS}/docker-buildx")).exists());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn another_distribution_is_refused_before_anything_is_installed() {
    let sb = host();
    sb.os_release(UBUNTU);
    let deployment = sb.deploy(&spec_for("debian"));
    let run = user_data(&sb, &deployment).run();
    failed_with(
        &sb,
        &run,
        "checking the distribution: this host runs ubuntu 24.04, but the spec bootstraps debian (host os)",
    );
    let calls = sb.calls();
    assert!(calls.matching("apt-get", &[]).is_empty() && calls.matching("systemctl", &[]).is_empty());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn without_aws_the_cli_is_installed_and_its_absence_is_named() {
    let sb = host();
    sb.os_release(UBUNTU);
    let deployment = sb.deploy(&spec_for("ubuntu"));
    // The package "installs" nothing here, so aws is still missing afterwards.
    let run = user_data(&sb, &deployment).without_stub("aws").run();
    failed_with(
        &sb,
        &run,
        "reading the repository token: the AWS CLI (aws) is not installed, so SSM parameter /app/github-token cannot be read",
    );
    assert!(
        sb.calls().args_of("apt-get")[1].ends_with(" jq awscli"),
        "{}",
        sb.calls()
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_role_that_may_not_read_the_parameter_is_named_as_the_cause() {
    let sb = host();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).env("STUB_AWS_DENIED", "1").run();
    failed_with(
        &sb,
        &run,
        "reading the repository token: the instance role may not read SSM parameter /app/github-token: give it the policy that deployc iam-policy prints",
    );
    run.stdout_contains("AccessDeniedException");
    assert!(
        !sb.calls()
            .matching("dnf", &["install", "-y", "docker"])
            .is_empty(),
        "aws was there: no AWS CLI package"
    );
    assert!(!sb.calls().args_of("dnf")[0].contains("awscli"));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_second_run_only_enables_and_starts_the_units() {
    let Bootstrapped { sb, .. } = bootstrapped();
    let marker = sb.host_path("/var/lib/deployc/app/bootstrapped");
    assert!(
        read_text(&marker).ends_with("Z\n"),
        "the done-marker holds the time"
    );
    let first = sb.calls().0.len();
    let deployment = sb.deploy(&default_spec());
    let run = user_data(&sb, &deployment).run();
    run.status(0).last_line_has("bootstrapped before, at ");
    let calls = sb.calls();
    let again: Vec<String> = calls.0[first..]
        .iter()
        .map(|c| format!("{} {}", c.name, c.args.join(" ")))
        .collect();
    assert_eq!(
        again,
        ["systemctl enable --now app.service app-journal.service"],
        "no packages, no clone, no build"
    );
}
