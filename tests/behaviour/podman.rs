//! One real build: the generated build script drives the real podman (no
//! stub, no network: `FROM scratch`), with vfs storage and chroot isolation
//! kept inside the sandbox.

use std::path::Path;

use crate::support::{Sandbox, set_mode, write_file};

const PODMAN: &str = "/usr/bin/podman";

/// podman's global options keeping every image and lock in the sandbox (its
/// /tmp is the sandbox's own: podman wants a runroot under 50 characters).
fn storage_options(sb: &Sandbox) -> Vec<String> {
    vec![
        format!("--root={}", sb.spelt("podman/storage")),
        "--runroot=/tmp/podman-run".into(),
        "--storage-driver=vfs".into(),
        "--cgroup-manager=cgroupfs".into(),
        "--events-backend=file".into(),
    ]
}

#[test]
#[ignore = "needs bubblewrap and podman: run `make test`"]
fn podman_really_builds_an_image_and_logs_its_whole_output() {
    assert!(
        Path::new(PODMAN).exists(),
        "{PODMAN} is missing: install podman (as root: `make tools`, or apt-get install podman) to run the real build test"
    );
    let sb = Sandbox::new();
    sb.write("root/docker-compose.yml", "services: {}\n")
        .write("root/Dockerfile", "FROM scratch\nCOPY hello.txt /hello.txt\n")
        .write("root/hello.txt", "hello from deployc\n");
    // The script calls plain `podman`: this one keeps podman's state in the sandbox.
    let wrapper = sb.path("bin/podman");
    let options = storage_options(&sb).join(" ");
    write_file(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = build ]; then\n    shift\n    exec {PODMAN} {options} build --isolation=chroot \"$@\"\nfi\nexec {PODMAN} {options} \"$@\"\n"
        ),
    );
    set_mode(&wrapper, 0o755);
    let deployment = sb.deploy(
        r#"version 1
project "podtest" {
    root "$T/root"
}
service "hello" {
    build "Dockerfile" context="."
    timeout "2m"
}
build {
    docker "podman"
    log-dir "$T/logs" fallback="$T/fallback"
}
"#,
    );

    let run = deployment
        .build_script()
        .arg("build")
        .env("DEPLOYC_TAG", "t1")
        .env("BUILDAH_ISOLATION", "chroot")
        .path_first_instead_of_stubs(sb.path("bin"))
        .run();
    run.status(0)
        .stdout_contains("build: hello: succeeded")
        .stdout_contains("STEP 1/2: FROM scratch");

    sb.write("image-exists.sh", "podman image exists podtest-hello:latest\n");
    sb.script(sb.path("image-exists.sh"))
        .path_first_instead_of_stubs(sb.path("bin"))
        .run()
        .status(0);

    let log = sb.read("logs/build-hello-t1.log");
    for line in [
        "image:    podtest-hello:t1",
        "STEP 1/2: FROM scratch",
        "STEP 2/2: COPY hello.txt /hello.txt",
        "COMMIT podtest-hello:t1",
        "Successfully tagged localhost/podtest-hello:latest",
        "result:   succeeded",
    ] {
        assert!(log.contains(line), "the build log lacks {line:?}:\n{log}");
    }
    assert!(
        sb.host_path("/var/lib/deployc/podtest/built/hello").exists(),
        "the first-build marker is written"
    );
}
