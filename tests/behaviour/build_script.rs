//! `<project>-build.sh` run against the stubs: every exit code, the build
//! logs, order and parallelism, the cache policy, symlinks, ignore files, the
//! lock, and what reaches `docker build`.

use std::time::{Duration, Instant};

use crate::support::{Outcome, Sandbox};

/// A spec of project "app" rooted at `$T/root`, built into `$T/logs`; tests
/// add services, `build` lines and blocks.
struct Spec {
    services: Vec<String>,
    build: Vec<String>,
    log_dir: String,
    blocks: Vec<String>,
}

fn spec() -> Spec {
    Spec {
        services: Vec::new(),
        build: Vec::new(),
        log_dir: "$T/logs".into(),
        blocks: Vec::new(),
    }
}

impl Spec {
    /// A service node, such as `service "api" { build "Dockerfile" context="." }`.
    fn service(mut self, node: &str) -> Self {
        self.services.push(node.to_owned());
        self
    }

    /// A service built from `$T/root/Dockerfile` with the whole root as context.
    fn built(self, name: &str) -> Self {
        self.service(&format!(
            "service \"{name}\" {{ build \"Dockerfile\" context=\".\"; }}"
        ))
    }

    /// A line of the `build` block.
    fn build(mut self, line: &str) -> Self {
        self.build.push(line.to_owned());
        self
    }

    fn log_dir(mut self, dir: &str) -> Self {
        self.log_dir = dir.to_owned();
        self
    }

    /// A top-level block such as `cache { ... }`.
    fn block(mut self, text: &str) -> Self {
        self.blocks.push(text.to_owned());
        self
    }

    fn text(&self) -> String {
        format!(
            "version 1\nproject \"app\" {{\n    root \"$T/root\"\n}}\n{}\nbuild {{\n    log-dir \"{}\" fallback=\"$T/fallback\"\n{}\n}}\n{}\n",
            self.services.join("\n"),
            self.log_dir,
            self.build
                .iter()
                .map(|l| format!("    {l}\n"))
                .collect::<String>(),
            self.blocks.join("\n"),
        )
    }
}

/// A sandbox with a project root holding a compose file, a Dockerfile and a source file.
fn project() -> Sandbox {
    let sb = Sandbox::new();
    sb.write("root/docker-compose.yml", "services: {}\n")
        .write("root/Dockerfile", "FROM python:3.12-slim\nCOPY app.py /app.py\n")
        .write("root/app.py", "print('hello')\n");
    sb
}

fn log(sb: &Sandbox, service: &str, tag: &str) -> String {
    sb.read(&format!("logs/build-{service}-{tag}.log"))
}

/// The images whose builds the docker stub started, in order.
fn builds_started(sb: &Sandbox) -> Vec<String> {
    sb.calls()
        .matching("build-start", &[])
        .iter()
        .map(|c| c.args[0].clone())
        .collect()
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn help_exits_0_and_documents_the_exit_codes() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("help")
        .run()
        .status(0)
        .stdout_contains(
            "Usage: app-build.sh preflight | build [SERVICE...] | pull | health | stop | rollback | help",
        )
        .stdout_contains("Built services: api")
        .stdout_contains("3 engine or compose unavailable, 4 preflight failed, 5 unhealthy");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_unknown_command_is_a_usage_error() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    let run = deployment.build_script().arg("deploy").run();
    run.status(1).stderr_contains("Usage: app-build.sh");
    assert!(
        run.stdout.is_empty(),
        "usage errors go to stderr\n{}",
        run.describe()
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_unknown_service_is_a_usage_error_and_builds_nothing() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").built("worker").text());
    deployment
        .build_script()
        .args(&["build", "api", "nope"])
        .run()
        .status(1)
        .stderr_contains("no built service named nope; built services: api worker");
    assert_eq!(builds_started(&sb), Vec::<String>::new());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_invalid_tag_is_a_usage_error() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "v1 $(id)")
        .run()
        .status(1)
        .stderr_contains("DEPLOYC_TAG=v1 $(id) is not a valid image tag");
    assert_eq!(builds_started(&sb), Vec::<String>::new());
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_build_streams_its_whole_output_to_its_log_and_to_stdout() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_LINES", "60")
        .run();
    run.status(0).stdout_contains("build: api: succeeded");

    let log = log(&sb, "api", "t1");
    let mut expected: Vec<String> = (2..60)
        .map(|i| format!("#{i} [stage-0 {i}/60] RUN step {i} of app-api"))
        .collect();
    expected.push("#60 stub stderr: warning from the build of app-api".into());
    expected.push("#60 naming to docker.io/library/app-api:t1 done".into());
    for line in &expected {
        assert!(log.lines().any(|l| l == line), "the log lacks {line:?}:\n{log}");
        run.stdout_contains(line);
    }
    for banner in [
        "======== deployc build start ========",
        "service:  api",
        "tag:      t1",
        "image:    app-api:t1",
        "cache:    no-cache (the first build on this host)",
        &format!("log:      {}", sb.spelt("logs/build-api-t1.log")),
        "======== deployc build end ========",
        "duration: 0m0",
        "result:   succeeded",
    ] {
        assert!(
            log.contains(banner),
            "the log lacks the banner line {banner:?}:\n{log}"
        );
        run.stdout_contains(banner);
    }
    assert!(log.contains("time:     20"), "the banners give the time:\n{log}");
    let start = log.find("deployc build start").expect("a start banner");
    let end = log.find("deployc build end").expect("an end banner");
    let first = log.find("#0 building with").expect("the build's first line");
    let last = log.find("naming to docker.io").expect("the build's last line");
    assert!(
        start < first && last < end,
        "the banners frame the output:\n{log}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn build_args_and_target_reach_docker_build_as_separate_words() {
    let sb = project();
    let tricky = r#"it's \"quoted\" $(touch $T/pwned) `touch $T/pwned2` and  two  spaces; echo $HOME"#;
    let deployment = sb.deploy(
        &spec()
            .service(&format!(
                "service \"api\" {{\n    build \"Dockerfile\" context=\".\" target=\"production\"\n    arg GREETING=\"{tricky}\"\n}}"
            ))
            .build("progress \"plain\"")
            .build("arg PYTHON_VERSION=\"3.12\"")
            .text(),
    );
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .run()
        .status(0);

    let calls = sb.calls();
    let builds = calls.matching("docker", &["build"]);
    assert_eq!(builds.len(), 1, "one build:\n{calls}");
    let greeting = format!(
        "GREETING=it's \"quoted\" $(touch {0}/pwned) `touch {0}/pwned2` and  two  spaces; echo $HOME",
        sb.spelt("")
    );
    let expected = [
        "build",
        "--no-cache",
        "--file",
        &sb.spelt("root/Dockerfile"),
        "--target",
        "production",
        "--build-arg",
        "PYTHON_VERSION=3.12",
        "--build-arg",
        &greeting,
        "--tag",
        "app-api:t1",
        "--tag",
        "app-api:latest",
        &sb.spelt("root"),
    ];
    assert_eq!(builds[0].args, expected, "docker build's argv");
    // A `--progress` flag is refused by a Docker CLI without buildx; the setting
    // reaches both builders through the environment the unit gives the script.
    let unit = String::from_utf8(deployment.artifact("app.service")).unwrap();
    assert!(unit.contains("\nEnvironment=BUILDKIT_PROGRESS=plain\n"), "{unit}");
    assert!(
        !sb.path("pwned").exists() && !sb.path("pwned2").exists(),
        "a build arg ran a command"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn sequential_builds_follow_the_spec_order() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("zeta").built("alpha").built("mid").text());
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .run()
        .status(0)
        .stdout_contains("build: zeta: succeeded\nbuild: alpha: succeeded\nbuild: mid: succeeded");
    assert_eq!(builds_started(&sb), ["app-zeta", "app-alpha", "app-mid"]);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failed_build_exits_2_and_stops_the_builds_after_it() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("zeta").built("alpha").built("mid").text());
    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_FAIL", "app-alpha")
        .run();
    run.status(2)
        .stdout_contains("build: zeta: succeeded")
        .stdout_contains("build: alpha: FAILED (exit 1)")
        .stdout_contains("build: mid: FAILED (stopped early)")
        .stderr_contains("build of alpha mid failed; read build-<service>-t1.log in")
        .stderr_contains("systemctl restart app.service");
    assert_eq!(
        builds_started(&sb),
        ["app-zeta", "app-alpha"],
        "mid is not built after alpha failed"
    );
    let log = log(&sb, "alpha", "t1");
    assert!(
        log.contains("did not complete successfully: exit code: 2"),
        "{log}"
    );
    assert!(log.contains("result:   FAILED (exit 1)"), "{log}");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_build_that_hangs_is_killed_at_its_timeout() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .service("service \"api\" {\n    build \"Dockerfile\" context=\".\"\n    timeout \"2s\"\n}")
            .text(),
    );
    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_HANG", "app-api")
        .run();
    run.status(2)
        .took_less_than(Duration::from_secs(8))
        .stdout_contains("build: api: TIMED OUT after 0m02s")
        .stderr_contains("build of api failed");
    assert!(
        run.elapsed >= Duration::from_secs(2),
        "killed before its limit: {:?}",
        run.elapsed
    );
    let log = log(&sb, "api", "t1");
    assert!(
        log.contains("#40 hanging forever"),
        "the log has the output before the hang:\n{log}"
    );
    assert!(log.contains("result:   TIMED OUT after 0m02s"), "{log}");
    let calls = sb.calls();
    let pid = &calls.matching("build-start", &["app-api"])[0].args[1];
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the hanging build (pid {pid}) is still running"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_passes_when_everything_is_in_place() {
    let sb = project();
    sb.write("root/.dockerignore", "/vendor\nnode_modules/\n")
        .write("root/go.mod", "module app\n");
    let deployment = sb.deploy(
        &spec()
            .service("service \"api\" {\n    build \"Dockerfile\" context=\".\"\n    requires \"go.mod\"\n}")
            .build("min-free disk=\"1M\" memory=\"1M\"")
            .build("ignored \"vendor/\" \"node_modules/\"")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(0)
        .stdout_contains("preflight: docker answers")
        .stdout_contains("preflight: every required path exists")
        .stdout_contains("preflight: ignore files list vendor/ node_modules/")
        .stdout_contains("preflight: ok");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_3_when_the_engine_does_not_answer() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("preflight")
        .env("STUB_DOCKER_INFO_FAILS", "all")
        .run()
        .status(3)
        .stderr_contains("Cannot connect to the Docker daemon")
        .stderr_contains(
            "docker does not answer; start it (systemctl start docker.service), then check: docker info",
        );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn build_and_pull_exit_3_when_the_engine_does_not_answer() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .service("service \"db\" { image \"postgres:16.4\"; }")
            .text(),
    );
    for command in ["build", "pull"] {
        deployment
            .build_script()
            .arg(command)
            .env("STUB_DOCKER_INFO_FAILS", "all")
            .run()
            .status(3)
            .stderr_contains("docker does not answer");
    }
    assert!(
        sb.calls().matching("docker", &["build"]).is_empty()
            && sb.calls().matching("docker", &["pull"]).is_empty(),
        "nothing is built or pulled without an engine"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_4_when_free_disk_is_below_min_free() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").build("min-free disk=\"1000T\"").text());
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains("free on /, the spec asks for 1048576000 MiB (min-free disk)");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_4_when_a_required_path_is_missing() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .service("service \"api\" {\n    build \"Dockerfile\" context=\".\"\n    requires \"go.mod\"\n}")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} does not exist (required by api)",
            sb.spelt("root/go.mod")
        ));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_4_when_the_dockerignore_lacks_a_pattern_and_names_the_line_to_add() {
    let sb = project();
    sb.write("root/.dockerignore", "node_modules\n.git\n");
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .build("ignored \"vendor/\" \"node_modules/\"")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} does not list vendor/; add the line: vendor/",
            sb.spelt("root/.dockerignore")
        ));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_checks_the_dockerfile_specific_ignore_file_docker_reads_first() {
    let sb = project();
    sb.write("root/.dockerignore", "vendor/\nnode_modules/\n")
        .write("root/Dockerfile.dockerignore", "vendor/\n");
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .build("ignored \"vendor/\" \"node_modules/\"")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} does not list node_modules/; add the line: node_modules/",
            sb.spelt("root/Dockerfile.dockerignore")
        ));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_4_when_compose_expects_another_image_than_the_one_built() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("preflight")
        .env("STUB_COMPOSE_IMAGE", "registry.example.com/api:1.0")
        .env("STUB_COMPOSE_DEPS", "postgres:16.4")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "the compose file does not expect api's image as app-api (it names: postgres:16.4, \
             registry.example.com/api:1.0); remove image: from api in {}",
            sb.spelt("root/docker-compose.yml")
        ));
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_finds_the_built_image_among_those_of_its_dependencies() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("preflight")
        .env("STUB_COMPOSE_DEPS", "postgres:16.4 redis:7.4-alpine")
        .run()
        .status(0)
        .stdout_contains("preflight: the compose file expects the images built here");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_3_with_the_install_hint_when_compose_is_missing() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    deployment
        .build_script()
        .arg("preflight")
        .env("STUB_NO_COMPOSE", "1")
        .run()
        .status(3)
        .stderr_contains("docker: 'compose' is not a docker command.")
        .stderr_contains(
            "docker compose does not work here; install Docker Compose v2 where the docker CLI finds it",
        );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_says_which_builder_the_builds_get() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").text());
    let script = || deployment.build_script().arg("preflight");
    script()
        .run()
        .status(0)
        .stdout_contains("preflight: docker 27.0.0 builds with the legacy builder (no buildx plugin here)");
    script().env("STUB_BUILDX", "1").run().status(0).stdout_contains(
        "preflight: docker 27.0.0 builds with BuildKit through github.com/docker/buildx v0.17.1-stub",
    );
    script()
        .env("DOCKER_BUILDKIT", "1")
        .run()
        .status(4)
        .stderr_contains(
            "DOCKER_BUILDKIT=1, but docker 27.0.0 has no buildx plugin and would refuse every build",
        );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn preflight_exits_4_when_a_context_has_no_ignore_file() {
    let sb = project();
    let deployment = sb.deploy(&spec().built("api").build("ignored \"vendor/\"").text());
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains("api has no ignore file (looked for")
        .stderr_contains("create one listing: vendor/");
}

const LINKS: &str = r#"symlinks from="$T/shared" {
    link "cmd"
    link "pkg" missing="empty-dir"
    link "docs" missing="skip"
}"#;

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn symlinks_link_existing_sources_and_handle_missing_ones_as_asked() {
    let sb = project();
    sb.write("shared/cmd/main.go", "package main\n")
        .write("root/app/Dockerfile", "FROM scratch\n");
    // The build context is root/app: the links in root are outside it, so they stay links.
    let deployment = sb.deploy(
        &spec()
            .service(
                "service \"api\" {\n    build \"Dockerfile\" context=\"app\"\n    requires \"cmd\" \"pkg\"\n}",
            )
            .block(LINKS)
            .text(),
    );
    let run = deployment.build_script().arg("preflight").run();
    run.status(0)
        .stdout_contains(&format!(
            "preflight: {} -> {}",
            sb.spelt("root/cmd"),
            sb.spelt("shared/cmd")
        ))
        .stdout_contains(&format!(
            "warning: {} does not exist; {} is an empty directory (missing=\"empty-dir\")",
            sb.spelt("shared/pkg"),
            sb.spelt("root/pkg")
        ))
        .stdout_contains(&format!(
            "preflight: {} does not exist; not linking {} (missing=\"skip\")",
            sb.spelt("shared/docs"),
            sb.spelt("root/docs")
        ));
    assert_eq!(
        std::fs::read_link(sb.path("root/cmd")).expect("cmd is a symlink"),
        sb.path("shared/cmd")
    );
    let pkg = std::fs::symlink_metadata(sb.path("root/pkg")).expect("pkg exists");
    assert!(pkg.is_dir(), "pkg is a real, empty directory");
    assert_eq!(std::fs::read_dir(sb.path("root/pkg")).unwrap().count(), 0);
    assert!(
        std::fs::symlink_metadata(sb.path("root/docs")).is_err(),
        "docs is skipped"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_missing_symlink_source_fails_preflight_by_default() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .block("symlinks from=\"$T/shared\" {\n    link \"go.mod\"\n}")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} does not exist, so {} cannot link to it; create it, or set missing=\"empty-dir\" or \"skip\" on its link",
            sb.spelt("shared/go.mod"),
            sb.spelt("root/go.mod")
        ));
    assert!(
        std::fs::symlink_metadata(sb.path("root/go.mod")).is_err(),
        "nothing is created"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn links_inside_a_build_context_are_copies_kept_up_to_date() {
    let sb = project();
    sb.write("shared/cmd/main.go", "package main\n")
        .write("shared/go.mod", "module example.com/app\n");
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .block("symlinks from=\"$T/shared\" {\n    link \"cmd\"\n    link \"go.mod\" missing=\"skip\"\n}")
            .text(),
    );
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(0)
        .stdout_contains(&format!(
            "preflight: {} is a copy of {} (it is in a build context, which cannot follow a link)",
            sb.spelt("root/cmd"),
            sb.spelt("shared/cmd")
        ));
    let cmd = std::fs::symlink_metadata(sb.path("root/cmd")).expect("cmd exists");
    assert!(cmd.is_dir(), "a real directory, which a build context sends");
    assert_eq!(sb.read("root/cmd/main.go"), "package main\n");
    assert_eq!(sb.read("root/go.mod"), "module example.com/app\n");

    // The next preflight copies again, so the build sees the source as it is now.
    sb.write("shared/cmd/main.go", "package main // v2\n");
    std::fs::remove_file(sb.path("shared/go.mod")).unwrap();
    deployment
        .build_script()
        .arg("preflight")
        .run()
        .status(0)
        .stdout_contains(&format!(
            "preflight: {} is gone; removed the copy at {}",
            sb.spelt("shared/go.mod"),
            sb.spelt("root/go.mod")
        ));
    assert_eq!(sb.read("root/cmd/main.go"), "package main // v2\n");
    assert!(
        std::fs::symlink_metadata(sb.path("root/go.mod")).is_err(),
        "a copy whose source is gone is removed (missing=\"skip\")"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_real_directory_at_a_link_target_is_refused() {
    let sb = project();
    sb.write("shared/cmd/main.go", "package main\n")
        .write("root/cmd/local.go", "package main\n")
        .write("root/app/Dockerfile", "FROM scratch\n");
    let in_context = sb.deploy(&spec().built("api").block(LINKS).text());
    in_context
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} exists and is not a copy this script made of {}; move it away so the copy can take its place",
            sb.spelt("root/cmd"),
            sb.spelt("shared/cmd")
        ));
    let outside = sb.deploy(
        &spec()
            .service("service \"api\" { build \"Dockerfile\" context=\"app\"; }")
            .block(LINKS)
            .text(),
    );
    outside
        .build_script()
        .arg("preflight")
        .run()
        .status(4)
        .stderr_contains(&format!(
            "{} exists and is not a symlink; move it away so it can link to {}",
            sb.spelt("root/cmd"),
            sb.spelt("shared/cmd")
        ));
    assert_eq!(
        sb.read("root/cmd/local.go"),
        "package main\n",
        "the directory is left alone"
    );
}

const HEALTH: &str = r#"health {
    running "api" "db"
    http "http://localhost:8080/health" status=200
    timeout "2s" interval="1s"
}"#;

fn health_spec() -> String {
    spec()
        .built("api")
        .service("service \"db\" { image \"postgres:16.4\"; }")
        .block(HEALTH)
        .text()
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn health_passes_when_every_service_runs_and_the_url_answers() {
    let sb = project();
    let deployment = sb.deploy(&health_spec());
    deployment
        .build_script()
        .arg("health")
        .run()
        .status(0)
        .stdout_contains("health: every check passes");
    let calls = sb.calls();
    assert_eq!(
        calls.matching("docker", &["ps"]).len(),
        4,
        "two passes, an interval apart, one ps per service each:\n{calls}"
    );
    assert!(
        calls
            .matching("curl", &[])
            .iter()
            .any(|c| c.has("http://localhost:8080/health")),
        "{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn health_exits_5_naming_the_service_that_is_not_running() {
    let sb = project();
    let deployment = sb.deploy(&health_spec());
    let run = deployment
        .build_script()
        .arg("health")
        .env("STUB_PS_DOWN", "db")
        .env("STUB_SLEEP_REAL", "1")
        .run();
    run.status(5)
        .took_less_than(Duration::from_secs(8))
        .stdout_contains("s of 2s): service db has no container")
        .stderr_contains(
            "unhealthy after 0m02s: service db has no container; see journalctl -u app.service and docker ps",
        );
    // bash counts whole seconds, so "2s" may end after a little over one.
    assert!(
        run.elapsed >= Duration::from_secs(1),
        "gave up before its timeout: {:?}",
        run.elapsed
    );
    let sleeps = sb.calls().args_of("sleep");
    assert!(
        !sleeps.is_empty() && sleeps.iter().all(|s| s == "1"),
        "waits the interval: {sleeps:?}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn health_uses_the_containers_own_healthchecks() {
    let sb = project();
    let deployment = sb.deploy(&health_spec());
    let health = |state: &str| {
        deployment
            .build_script()
            .arg("health")
            .env("STUB_STATE", state)
            .env("STUB_SLEEP_REAL", "1")
            .run()
    };
    health("db=running:unhealthy")
        .status(5)
        .stderr_contains("unhealthy after 0m02s: service db: app-db-1 is unhealthy");
    health("db=running:starting")
        .status(5)
        .stdout_contains("service db: app-db-1 is starting");
    health("api=restarting:none")
        .status(5)
        .stderr_contains("service api: app-api-1 is restarting");
    health("db=running:healthy")
        .status(0)
        .stdout_contains("health: every check passes");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn health_fails_a_container_that_keeps_restarting() {
    let sb = project();
    let deployment = sb.deploy(&health_spec());
    deployment
        .build_script()
        .arg("health")
        .env("STUB_RESTARTING", "api")
        .env("STUB_SLEEP_REAL", "1")
        .run()
        .status(5)
        .stdout_contains("health: every check passes; checking again in 1s that it holds")
        .stderr_contains("unhealthy after 0m02s: a container restarted since the last check");
    assert!(
        sb.host_path("/var/lib/deployc/app/unhealthy").exists(),
        "the failure is recorded for stop"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn health_exits_5_naming_the_url_that_answers_wrong() {
    let sb = project();
    let deployment = sb.deploy(&health_spec());
    deployment
        .build_script()
        .arg("health")
        .env("STUB_CURL_CODE", "503")
        .env("STUB_SLEEP_REAL", "1")
        .run()
        .status(5)
        .stderr_contains("unhealthy after 0m02s: http://localhost:8080/health answered 503, expected 200");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn build_logs_fall_back_when_the_log_dir_cannot_be_created() {
    let sb = project();
    sb.write("blocker", "a regular file, so nothing can be created under it\n");
    let deployment = sb.deploy(&spec().built("api").log_dir("$T/blocker/logs").text());
    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .run();
    run.status(0).stdout_contains(&format!(
        "warning: cannot write to {}; build logs go to {}",
        sb.spelt("blocker/logs"),
        sb.spelt("fallback")
    ));
    let log = sb.read("fallback/build-api-t1.log");
    assert!(
        log.contains("result:   succeeded") && log.contains("RUN step 2 of app-api"),
        "{log}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn parallel_builds_run_at_most_max_at_once_and_every_one_is_reported() {
    let sb = project();
    let names = ["s1", "s2", "s3", "s4", "s5"];
    let mut spec = spec().build("order \"parallel\" max=2");
    for name in names {
        spec = spec.built(name);
    }
    let deployment = sb.deploy(&spec.text());
    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_SECONDS", "0.8")
        .run();
    run.status(0);
    for name in names {
        run.stdout_contains(&format!("build: {name}: succeeded"))
            .stdout_contains(&format!("[{name}] #2 [stage-0 2/40] RUN step 2 of app-{name}"));
        assert!(log(&sb, name, "t1").contains("result:   succeeded"));
    }

    let calls = sb.calls();
    let mut events: Vec<(u128, i32)> = Vec::new();
    for call in calls.matching("build-start", &[]) {
        events.push((call.at, 1));
    }
    for call in calls.matching("build-end", &[]) {
        events.push((call.at, -1));
    }
    assert_eq!(events.len(), 10, "five builds started and ended:\n{calls}");
    events.sort();
    let (mut running, mut most) = (0, 0);
    for (_, change) in events {
        running += change;
        most = most.max(running);
    }
    assert_eq!(
        most, 2,
        "at most max=2 builds at once, and two did run together:\n{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failed_parallel_build_fails_the_run_after_every_build_is_reported() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .build("order \"parallel\" max=2")
            .built("a")
            .built("b")
            .built("c")
            .text(),
    );
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_FAIL", "app-b")
        .run()
        .status(2)
        .stdout_contains("build: a: succeeded")
        .stdout_contains("build: b: FAILED (exit 1)")
        .stdout_contains("build: c: succeeded")
        .stderr_contains("build of b failed");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_first_attempt_runs_without_cache_and_every_later_build_uses_it() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .block(
                "cache {\n    first-build \"no-cache\"\n    rebuild \"cached\"\n    skip-unchanged #false\n}",
            )
            .text(),
    );
    let marker = sb.host_path("/var/lib/deployc/app/built/api");

    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("STUB_BUILD_FAIL", "app-api")
        .run()
        .status(2);
    assert!(
        marker.exists(),
        "the first attempt leaves its marker, failed or not"
    );
    assert!(log(&sb, "api", "t1").contains("cache:    no-cache (the first build on this host)"));

    // A retry after a first build that failed or timed out keeps what it cached,
    // or it could never get further than the first attempt did.
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t2")
        .run()
        .status(0);
    assert!(log(&sb, "api", "t2").contains("cache:    cached (a rebuild)"));

    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t3")
        .run()
        .status(0);
    assert!(log(&sb, "api", "t3").contains("cache:    cached (a rebuild)"));

    let calls = sb.calls();
    let no_cache: Vec<bool> = calls
        .matching("docker", &["build"])
        .iter()
        .map(|c| c.has("--no-cache"))
        .collect();
    assert_eq!(
        no_cache,
        [true, false, false],
        "--no-cache for the first attempt only:\n{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn skip_unchanged_skips_a_build_whose_inputs_did_not_change() {
    let sb = project();
    sb.write("root/.dockerignore", "vendor/\n");
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .build("ignored \"vendor/\"")
            .block("cache {\n    skip-unchanged #true\n}")
            .text(),
    );
    let build = |tag: &str| -> Outcome {
        deployment
            .build_script()
            .arg("build")
            .env("DEPLOYC_TAG", tag)
            .env("STUB_IMAGE_ID", "sha256:feedc0ffee")
            .run()
    };
    let docker_builds = || sb.calls().matching("docker", &["build"]).len();

    build("t1").status(0).stdout_contains("build: api: succeeded");
    assert_eq!(docker_builds(), 1);

    build("t2").status(0).stdout_contains("build: api: skipped");
    assert_eq!(docker_builds(), 1, "an unchanged build is not run again");
    let log2 = log(&sb, "api", "t2");
    assert!(
        log2.contains("result:   skipped, inputs unchanged (fingerprint"),
        "{log2}"
    );
    assert!(log2.contains("app-api:latest tagged t2"), "{log2}");
    assert!(
        sb.calls()
            .args_of("docker")
            .iter()
            .any(|c| c == "tag app-api:latest app-api:t2"),
        "a skipped build still tags the run's image"
    );

    sb.write("root/vendor/lib.go", "package vendored\n");
    build("t3").status(0).stdout_contains("build: api: skipped");
    assert_eq!(docker_builds(), 1, "an ignored directory is not a build input");

    sb.write("root/app.py", "print('hello, again')\n");
    build("t4").status(0).stdout_contains("build: api: succeeded");
    assert_eq!(docker_builds(), 2, "a changed file in the context is rebuilt");

    build("t5").status(0).stdout_contains("build: api: skipped");
    deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t6")
        .env("STUB_IMAGE_MISSING", "1")
        .run()
        .status(0)
        .stdout_contains("build: api: succeeded");
    assert_eq!(docker_builds(), 3, "a missing image is rebuilt");
}

/// A project whose builds skip when unchanged, and a build that reports whether it ran.
fn fingerprinted(sb: &Sandbox) -> impl Fn(&str) -> &'static str + '_ {
    let deployment = sb.deploy(&spec().built("api").text());
    let tag = std::cell::Cell::new(0);
    move |what: &str| {
        tag.set(tag.get() + 1);
        let run = deployment
            .build_script()
            .arg("build")
            .env("DEPLOYC_TAG", format!("t{}", tag.get()))
            .run();
        run.status(0);
        if run.stdout.contains("build: api: skipped") {
            "skipped"
        } else {
            assert!(
                run.stdout.contains("build: api: succeeded"),
                "{what}\n{}",
                run.describe()
            );
            "built"
        }
    }
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_fingerprint_follows_the_ignore_file_as_the_engine_reads_it() {
    let sb = project();
    sb.write(
        "root/.dockerignore",
        "# notes\n*.md\n!README.md\n/build/\ndocs/**\n**/*.tmp\n",
    )
    .write("root/README.md", "# app\n")
    .write("root/NOTES.md", "notes\n")
    .write("root/build/out.bin", "1")
    .write("root/docs/a/b.txt", "1")
    .write("root/src/x.tmp", "1");
    let build = fingerprinted(&sb);
    assert_eq!(build("first"), "built");
    sb.write("root/NOTES.md", "more notes\n")
        .write("root/build/out.bin", "2")
        .write("root/docs/a/b.txt", "2")
        .write("root/src/x.tmp", "2")
        .write("root/src/y.tmp", "new");
    assert_eq!(build("ignored files changed"), "skipped");
    sb.write("root/README.md", "# app, again\n");
    assert_eq!(build("a file taken back with ! changed"), "built");
    sb.write("root/src/main.py", "print()\n");
    assert_eq!(build("a new file"), "built");
    sb.write("root/.dockerignore", "*.md\n");
    assert_eq!(build("the ignore file changed what is sent"), "built");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn the_fingerprint_sees_modes_and_links_as_the_engine_sends_them() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let sb = project();
    sb.write("outside/config.txt", "v1\n");
    symlink(sb.path("outside/config.txt"), sb.path("root/config.txt")).unwrap();
    let build = fingerprinted(&sb);
    assert_eq!(build("first"), "built");
    sb.write("outside/config.txt", "v2\n");
    assert_eq!(
        build("the target of a link changed"),
        "skipped",
        "a link is sent as a link, so what it points at is not a build input"
    );
    std::fs::remove_file(sb.path("root/config.txt")).unwrap();
    symlink("/etc/hostname", sb.path("root/config.txt")).unwrap();
    assert_eq!(build("the link points elsewhere"), "built");
    std::fs::set_permissions(sb.path("root/app.py"), std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(build("a mode changed"), "built");
    assert_eq!(build("nothing changed"), "skipped");
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_context_that_cannot_be_read_is_built_and_says_why_it_cannot_be_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let sb = project();
    sb.write("root/data/db.bin", "private\n");
    std::fs::set_permissions(sb.path("root/data"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let deployment = sb.deploy(&spec().built("api").text());
    for tag in ["t1", "t2"] {
        deployment
            .build_script()
            .arg("build")
            .env("DEPLOYC_TAG", tag)
            .without_capabilities()
            .run()
            .status(0)
            .stdout_contains("build: api: succeeded")
            .stdout_contains(&format!(
                "warning: api: cannot read all of {} (find: ‘./data’: Permission denied); \
                 building it, and it will be built again next time",
                sb.spelt("root")
            ));
    }
    std::fs::set_permissions(sb.path("root/data"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_second_build_waits_for_the_lock_and_never_overlaps_the_first() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .block("cache {\n    skip-unchanged #false\n}")
            .text(),
    );
    let start = |tag: &str| {
        deployment
            .build_script()
            .arg("build")
            .env("DEPLOYC_TAG", tag)
            .env("STUB_BUILD_SECONDS", "1")
            .spawn()
    };
    let first = start("t1");
    // The second starts once the first is building, so it finds the lock taken.
    let deadline = Instant::now() + Duration::from_secs(20);
    while sb.calls().matching("build-start", &[]).is_empty() {
        assert!(Instant::now() < deadline, "the first build never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = start("t2");
    let (first, second) = (first.wait(), second.wait());
    first.status(0).stdout_lacks("another run holds");
    second
        .status(0)
        .stdout_contains("another run holds /var/lib/deployc/app/lock; waiting for it to finish");

    let calls = sb.calls();
    let starts = calls.matching("build-start", &[]);
    let ends = calls.matching("build-end", &[]);
    assert_eq!((starts.len(), ends.len()), (2, 2), "{calls}");
    assert!(
        starts[0].at < ends[0].at && ends[0].at <= starts[1].at && starts[1].at < ends[1].at,
        "the builds overlap:\n{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn pull_pulls_every_external_image() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .service("service \"db\" { image \"postgres:16.4\"; }")
            .service("service \"cache\" { image \"redis:7.4\"; }")
            .text(),
    );
    deployment
        .build_script()
        .arg("pull")
        .run()
        .status(0)
        .stdout_contains("pull: postgres:16.4")
        .stdout_contains("pull: redis:7.4");
    assert_eq!(
        sb.calls().args_of("docker"),
        [
            "info",
            "image inspect postgres:16.4",
            "pull postgres:16.4",
            "image inspect redis:7.4",
            "pull redis:7.4"
        ],
        "pull checks the engine first (exit 3 when it is down), then pulls"
    );
}

fn pull_spec() -> String {
    spec()
        .service("service \"db\" { image \"postgres:16.4\"; }")
        .block("timeouts {\n    pull \"30s\"\n}")
        .text()
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn an_unreachable_registry_does_not_hold_back_an_image_already_here() {
    let sb = project();
    let deployment = sb.deploy(&pull_spec());
    deployment
        .build_script()
        .arg("pull")
        .env("STUB_PULL_FAILS", "all")
        .run()
        .status(0)
        .stdout_contains("warning: pulling postgres:16.4 failed (attempt 1); retrying in 5s")
        .stdout_contains("warning: pulling postgres:16.4 failed (attempt 2); retrying in 10s")
        .stdout_contains(
            "warning: could not pull postgres:16.4 after 3 attempts; using the copy already on this host",
        );
    assert_eq!(sb.calls().args_of("sleep"), ["5", "10"]);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_pull_that_fails_is_retried_until_its_limit_then_exits_2() {
    let sb = project();
    let deployment = sb.deploy(&pull_spec());
    deployment
        .build_script()
        .arg("pull")
        .env("STUB_PULL_FAILS", "2")
        .env("STUB_IMAGE_MISSING", "1")
        .run()
        .status(0)
        .stdout_contains("warning: pulling postgres:16.4 failed (attempt 2); retrying in 10s");
    assert_eq!(
        sb.calls().matching("docker", &["pull"]).len(),
        3,
        "the third pull succeeds"
    );

    deployment
        .build_script()
        .arg("pull")
        .env("STUB_PULL_FAILS", "all")
        .env("STUB_IMAGE_MISSING", "1")
        .run()
        .status(2)
        .stderr_contains("pulling postgres:16.4 failed or took over 0m30s, and it is not on this host");
    // With sleep stubbed no time passes: waits of 5s, 10s and 20s fit in the
    // 30s limit, and a fourth of 40s would not.
    assert_eq!(sb.calls().args_of("sleep"), ["5", "10", "5", "10", "20"]);
}

fn stop_spec(timeouts: &str, health: &str) -> String {
    spec()
        .built("api")
        .block(&format!("timeouts {{\n    {timeouts}\n}}"))
        .block(&format!("health {{\n    running \"api\"\n    {health}\n}}"))
        .text()
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn stop_leaves_each_service_its_own_grace_period_unless_the_spec_sets_one() {
    let sb = project();
    let own = sb.deploy(&stop_spec("stop \"2m\"", ""));
    own.build_script()
        .arg("stop")
        .run()
        .status(0)
        .stdout_contains("stop: the containers of app are stopped and removed");
    let set = sb.deploy(&stop_spec("stop \"2m\" containers=\"20s\"", ""));
    set.build_script().arg("stop").run().status(0);
    let downs: Vec<String> = sb
        .calls()
        .args_of("docker")
        .into_iter()
        .filter(|c| c.contains(" down"))
        .map(|c| c[c.find(" down").unwrap()..].to_owned())
        .collect();
    assert_eq!(
        downs,
        [" down --remove-orphans", " down --remove-orphans --timeout 20"]
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_stop_that_outlasts_its_limit_kills_and_removes_what_is_left() {
    let sb = project();
    let deployment = sb.deploy(&stop_spec("stop \"2s\"", ""));
    let run = deployment
        .build_script()
        .arg("stop")
        .env("STUB_DOWN_HANG", "1")
        .run();
    run.status(0)
        .took_less_than(Duration::from_secs(10))
        .stdout_contains(
            "warning: the containers did not stop within 0m02s (timeouts stop); killing what is left",
        )
        .stdout_contains("stop: removed 1 containers and 0 networks of app");
    let calls = sb.calls();
    assert!(
        calls.args_of("docker").iter().any(|c| c == "rm --force c-any"),
        "{calls}"
    );
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn a_failed_health_check_keeps_the_containers_when_the_spec_says_so() {
    let sb = project();
    let keep = sb.deploy(&stop_spec("stop \"2m\"", "on-failure \"keep\""));
    std::fs::create_dir_all(sb.host_path("/var/lib/deployc/app")).unwrap();
    std::fs::write(sb.host_path("/var/lib/deployc/app/unhealthy"), "").unwrap();
    keep.build_script()
        .arg("stop")
        .env("SERVICE_RESULT", "exit-code")
        .run()
        .status(0)
        .stdout_contains("the containers keep running for inspection (health on-failure \"keep\")");
    assert!(sb.calls().matching("docker", &["compose"]).is_empty());
    // An ordinary stop, and the default policy, take the containers down.
    keep.build_script().arg("stop").run().status(0);
    let down = sb.deploy(&stop_spec("stop \"2m\"", ""));
    down.build_script()
        .arg("stop")
        .env("SERVICE_RESULT", "exit-code")
        .run()
        .status(0)
        .stdout_contains("stop: the containers of app are stopped and removed");
    assert_eq!(sb.calls().matching("docker", &["compose"]).len(), 2);
}

#[test]
#[ignore = "needs bubblewrap: run `make test`"]
fn only_the_newest_tags_and_build_logs_are_kept() {
    let sb = project();
    let deployment = sb.deploy(
        &spec()
            .built("api")
            .build("keep 2")
            .block("cache {\n    skip-unchanged #false\n}")
            .text(),
    );
    for tag in ["t1", "t2", "t3", "t4"] {
        deployment
            .build_script()
            .arg("build")
            .env("DEPLOYC_TAG", tag)
            .run()
            .status(0);
        // Logs are told apart by their time; whole seconds on some filesystems.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(
        std::fs::read_to_string(sb.host_path("/var/lib/deployc/app/tags/api")).unwrap(),
        "t3\nt4\n"
    );
    let removed: Vec<String> = sb
        .calls()
        .args_of("docker")
        .into_iter()
        .filter(|c| c.starts_with("image rm"))
        .collect();
    assert_eq!(removed, ["image rm app-api:t1", "image rm app-api:t2"]);
    let mut logs: Vec<String> = std::fs::read_dir(sb.path("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort();
    assert_eq!(logs, ["build-api-t3.log", "build-api-t4.log"]);
}
