//! The model through the library: `tests/fixtures/every-node.kdl` uses every
//! node and property; it must decode to the values written, survive a trip
//! through JSON, and equal its hand-written JSON twin. Defaults must be the
//! same whether a spec is read from KDL or from JSON.

use deployc::model::Spec;
use deployc::values::{
    Backoff, CacheMode, Engine, HealthFailure, HostOs, Lint, Missing, Order, Progress, RestartPolicy,
};

use crate::support::repo_file;

fn read(path: &str) -> Vec<u8> {
    std::fs::read(repo_file(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Checks `text` as the file `name` and returns its model, failing on any diagnostic.
#[track_caller]
fn clean(name: &str, text: &[u8]) -> Spec {
    let checked = deployc::check(name, text);
    let shown: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| deployc::diagnostic::render_human(d, &checked.source, false))
        .collect();
    assert!(shown.is_empty(), "{name} is not clean:\n{}", shown.join("\n"));
    checked.spec.unwrap_or_else(|| panic!("{name} has no model"))
}

fn every_node() -> Spec {
    clean("every-node.kdl", &read("tests/fixtures/every-node.kdl"))
}

fn secs(d: &deployc::values::Duration) -> u64 {
    d.secs()
}

const GIB: u64 = 1 << 30;

#[test]
fn every_node_checks_clean() {
    every_node();
}

#[test]
fn the_model_survives_serde_json() {
    let spec = every_node();
    let json = serde_json::to_string_pretty(&spec).unwrap();
    let back: Spec = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spec);
    // And serialising again gives the same text: the JSON form is canonical.
    assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
}

#[test]
fn the_models_json_is_a_valid_json_spec() {
    let spec = every_node();
    let json = serde_json::to_string(&spec).unwrap();
    let from_json = clean("every-node.json", json.as_bytes());
    assert_eq!(from_json, spec);
}

#[test]
fn the_hand_written_json_spec_equals_the_kdl_one() {
    let from_json = clean("every-node.json", &read("tests/fixtures/every-node.json"));
    assert_eq!(from_json, every_node());
}

#[test]
fn the_small_fixtures_agree_too() {
    let kdl = clean("valid.kdl", &read("tests/fixtures/valid.kdl"));
    let json = clean("valid.json", &read("tests/fixtures/valid.json"));
    // valid.kdl also sets COMPOSE_PROJECT_NAME; everything else is the same.
    let mut kdl_without_env = kdl.clone();
    kdl_without_env.project.env = Default::default();
    assert_eq!(json, kdl_without_env);
    assert_ne!(json, kdl);
}

#[test]
fn every_node_decodes_to_the_values_written() {
    let spec = every_node();
    assert_eq!(*spec.version, 1);

    let p = &spec.project;
    assert_eq!(p.name.as_str(), "mcp-portal");
    assert_eq!(p.description.as_ref().unwrap().as_str(), "MCP Portal Service");
    assert_eq!(
        p.docs.as_ref().unwrap().as_str(),
        "https://github.com/jrmatherly/mcp-hub-gateway"
    );
    assert_eq!(p.root.as_ref().unwrap().as_str(), "/opt/mcp-portal");
    assert_eq!(p.compose_file.as_str(), "docker-compose.prod.yaml");
    assert_eq!(p.user.as_str(), "deploy");
    assert_eq!(p.group.as_ref().unwrap().as_str(), "docker");
    let env: Vec<(&str, &str)> = p.env.iter().map(|v| (v.key.as_str(), v.value.as_str())).collect();
    assert_eq!(
        env,
        [
            ("COMPOSE_PROJECT_NAME", "mcp_portal"),
            ("LOG_LEVEL", "info"),
            ("RUST_BACKTRACE", "1")
        ],
        "env keeps the order written, across repeated `env` nodes"
    );
    assert_eq!(p.env_file.as_ref().unwrap().as_str(), ".env");
    assert_eq!(*p.restart.policy, RestartPolicy::OnFailure);
    assert_eq!(secs(&p.restart.delay), 45);

    let names: Vec<&str> = spec.service.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["backend", "frontend", "postgres", "cache"],
        "spec order is build order"
    );
    let backend = &spec.service[0];
    let build = backend.build.as_ref().unwrap();
    assert_eq!(build.dockerfile.as_str(), "Dockerfile.portal");
    assert_eq!(build.context.as_str(), "backend");
    assert_eq!(build.target.as_ref().unwrap().as_str(), "production");
    let requires: Vec<&str> = backend.requires.iter().map(|r| r.as_str()).collect();
    assert_eq!(requires, ["cmd", "go.mod", "pkg"]);
    assert_eq!(backend.arg.get("GO_FLAGS").unwrap().value.as_str(), "-mod=mod");
    assert_eq!(backend.arg.get("PYTHON_VERSION").unwrap().value.as_str(), "3.11");
    assert_eq!(secs(backend.timeout.as_ref().unwrap()), 30 * 60);
    assert_eq!(backend.memory.as_ref().unwrap().bytes(), 3 * GIB);
    assert_eq!(backend.cpus.as_ref().unwrap().to_string(), "1.5");
    assert!(backend.image.is_none());
    let frontend = &spec.service[1];
    assert_eq!(
        frontend.build.as_ref().unwrap().context.as_str(),
        ".",
        "default context"
    );
    assert!(frontend.build.as_ref().unwrap().target.is_none());
    assert!(
        frontend.timeout.is_none(),
        "no timeout of its own: build.timeout applies"
    );
    assert_eq!(spec.service[2].image.as_ref().unwrap().as_str(), "postgres:16.4");
    assert!(spec.service[2].build.is_none());

    let b = &spec.build;
    assert_eq!(*b.order, Order::Parallel);
    assert_eq!(**b.max.as_ref().unwrap(), 2);
    assert_eq!(secs(&b.timeout), 25 * 60);
    assert_eq!(*b.progress, Progress::Auto);
    assert_eq!(b.log_dir.as_ref().unwrap().as_str(), "/var/log/mcp-portal");
    assert_eq!(b.log_fallback.as_ref().unwrap().as_str(), "/srv/build-logs");
    assert_eq!(b.min_free_disk.as_ref().unwrap().bytes(), 10 * GIB);
    assert_eq!(b.min_free_memory.as_ref().unwrap().bytes(), 4 * GIB);
    let ignored: Vec<&str> = b.ignored.iter().map(|i| i.as_str()).collect();
    assert_eq!(ignored, ["vendor/", "node_modules/", ".git/", ".env"]);
    assert_eq!(b.arg.get("PYTHON_VERSION").unwrap().value.as_str(), "3.12");
    assert_eq!(*b.docker, Engine::Podman);
    assert_eq!(*b.keep, 3);

    let c = &spec.cache;
    assert_eq!(*c.first_build, CacheMode::Cached);
    assert_eq!(*c.rebuild, CacheMode::NoCache);
    assert!(*c.skip_unchanged);
    assert_eq!(c.prune_below.as_ref().unwrap().bytes(), 20 * GIB);

    assert_eq!(spec.symlinks.len(), 2);
    let links = &spec.symlinks[0];
    assert_eq!(links.from.as_str(), "/opt/docker/appdata/mcp-hub-gateway");
    let paths: Vec<(&str, Missing)> = links.link.iter().map(|l| (l.path.as_str(), *l.missing)).collect();
    assert_eq!(
        paths,
        [
            ("cmd", Missing::Fail),
            ("go.mod", Missing::Fail),
            ("pkg", Missing::EmptyDir)
        ]
    );
    assert_eq!(*spec.symlinks[1].link[0].missing, Missing::Skip);

    let t = &spec.timeouts;
    assert_eq!(secs(t.start.as_ref().unwrap()), 2 * 3600);
    assert_eq!(secs(&t.stop), 180);
    assert_eq!(secs(t.containers.as_ref().unwrap()), 120);
    assert_eq!(secs(&t.reload), 90);
    assert_eq!(secs(&t.pull), 600);
    assert_eq!(secs(&t.up), 240);

    let h = spec.health.as_ref().unwrap();
    let running: Vec<&str> = h.running.iter().map(|r| r.as_str()).collect();
    assert_eq!(running, ["backend", "frontend"]);
    assert_eq!(h.http.len(), 2);
    assert_eq!(h.http[0].url.as_str(), "http://localhost:8080/health");
    assert_eq!(*h.http[0].status, 200);
    assert_eq!(*h.http[1].status, 204);
    assert_eq!(secs(&h.timeout), 360);
    assert_eq!(secs(&h.interval), 10);
    assert_eq!(*h.on_failure, HealthFailure::Keep);
    assert_eq!(secs(h.every.as_ref().unwrap()), 300);
    assert_eq!(*h.restarts, 2);
    assert_eq!(secs(&h.within), 1800);
    let notify = spec.notify.as_ref().unwrap();
    assert_eq!(notify.sns[0].region(), "eu-west-1");
    assert_eq!(notify.webhook[0].parameter(), "/mcp-portal/slack-webhook");

    let host = spec.host.as_ref().unwrap();
    let packages: Vec<&str> = host.packages.iter().map(|p| p.as_str()).collect();
    assert_eq!(*host.os, HostOs::Ubuntu);
    assert_eq!(packages, ["jq", "htop"]);
    let repo = host.repo.as_ref().unwrap();
    assert_eq!(repo.url.as_str(), "https://github.com/acme/upscapp-be");
    assert_eq!(repo.branch.as_str(), "release/2.x");
    assert_eq!(repo.token.as_ref().unwrap().parameter(), "/upscpro/github-token");
    assert_eq!(*host.retry.attempts, 5);
    assert_eq!(secs(&host.retry.delay), 10);
    assert_eq!(*host.retry.backoff, Backoff::Linear);
    assert_eq!(secs(&host.docker_wait), 180);
    assert_eq!(
        host.env_file.as_ref().unwrap().as_str(),
        "ssm:/upscpro/stage2/env"
    );
    assert_eq!(host.log.as_str(), "/var/log/user-data-mcp.log");
    assert!(*host.gzip);

    let cw = spec.cloudwatch.as_ref().unwrap();
    assert_eq!(cw.log_group.as_str(), "/aws/ec2/upscpro-stage2-docker");
    assert_eq!(**cw.retention_days.as_ref().unwrap(), 30);
    assert_eq!(cw.file.len(), 2);
    assert_eq!(
        cw.file[0].stream.as_ref().unwrap().as_str(),
        "{instance_id}/deploy"
    );
    assert!(cw.file[1].stream.is_none());
    let metrics = cw.metrics.as_ref().unwrap();
    assert_eq!(secs(&metrics.interval), 30);
    assert!(metrics.memory);
    let disks: Vec<&str> = metrics.disk.iter().map(|d| d.as_str()).collect();
    assert_eq!(disks, ["/", "/data"]);

    let registries: Vec<(&str, bool, Option<&str>, Option<&str>)> = spec
        .registry
        .iter()
        .map(|r| {
            (
                r.host.as_str(),
                *r.ecr,
                r.user.as_ref().map(|u| u.as_str()),
                r.password.as_ref().map(|p| p.parameter()),
            )
        })
        .collect();
    assert_eq!(
        registries,
        [
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", true, None, None),
            (
                "ghcr.io",
                false,
                Some("deploy-bot"),
                Some("/mcp-portal/ghcr-token")
            ),
        ]
    );

    let allowed: Vec<Lint> = spec.allow.iter().map(|a| *a.lint).collect();
    assert_eq!(
        allowed,
        [Lint::UnpinnedImage, Lint::ArgOverride, Lint::ParallelMemory]
    );
    assert!(spec.allow.iter().all(|a| !a.reason.as_str().is_empty()));
}

const MINIMAL: &str = "version 1\nproject \"shop\"\nservice \"api\" { build \"Dockerfile\"; }\n";

#[test]
fn a_minimal_spec_gets_the_documented_defaults() {
    let spec = clean("deploy.kdl", MINIMAL.as_bytes());
    let p = &spec.project;
    assert!(
        p.root.is_none(),
        "the root defaults to /opt/<project> when planned"
    );
    assert_eq!(p.compose_file.as_str(), "docker-compose.yml");
    assert_eq!(p.user.as_str(), "root");
    assert!(
        p.group.is_none(),
        "the group defaults to the engine's when planned"
    );
    assert!(p.env.is_empty());
    assert!(p.env_file.is_none());
    assert_eq!(*p.restart.policy, RestartPolicy::OnFailure);
    assert_eq!(secs(&p.restart.delay), 30);

    let api = &spec.service[0];
    assert_eq!(api.build.as_ref().unwrap().context.as_str(), ".");

    assert_eq!(*spec.build.order, Order::Sequential);
    assert!(spec.build.max.is_none());
    assert_eq!(secs(&spec.build.timeout), 20 * 60);
    assert_eq!(*spec.build.progress, Progress::Plain);
    assert!(spec.build.log_dir.is_none());
    assert!(
        spec.build.log_fallback.is_none(),
        "the state directory, when planned"
    );
    assert_eq!(*spec.build.docker, Engine::Docker);
    assert_eq!(*spec.build.keep, 5);

    assert_eq!(*spec.cache.first_build, CacheMode::NoCache);
    assert_eq!(*spec.cache.rebuild, CacheMode::Cached);
    assert!(*spec.cache.skip_unchanged);
    assert!(spec.cache.prune_below.is_none());

    let t = &spec.timeouts;
    assert!(
        t.start.is_none(),
        "the start timeout defaults to the computed budget"
    );
    assert_eq!(secs(&t.stop), 120);
    assert!(t.containers.is_none());
    assert_eq!(secs(&t.reload), 120);
    assert_eq!(secs(&t.pull), 600);
    assert_eq!(secs(&t.up), 300);

    assert!(spec.health.is_none() && spec.host.is_none() && spec.cloudwatch.is_none());
    assert!(spec.symlinks.is_empty() && spec.allow.is_empty() && spec.registry.is_empty());
}

#[test]
fn defaults_inside_blocks() {
    let spec = clean(
        "deploy.kdl",
        br#"version 1
project "shop"
service "api" { build "Dockerfile"; }
symlinks from="/srv" { link "pkg"; }
health { http "http://localhost/"; }
host { repo "https://github.com/acme/shop"; }
cloudwatch {
    log-group "/aws/shop"
    metrics { memory; }
}
"#,
    );
    assert_eq!(*spec.symlinks[0].link[0].missing, Missing::Fail);
    let health = spec.health.as_ref().unwrap();
    assert!(health.running.is_empty());
    assert_eq!(*health.http[0].status, 200);
    assert_eq!(secs(&health.timeout), 300);
    assert_eq!(secs(&health.interval), 5);
    assert_eq!(*health.on_failure, HealthFailure::Down);
    let host = spec.host.as_ref().unwrap();
    let repo = host.repo.as_ref().unwrap();
    assert_eq!(repo.branch.as_str(), "main");
    assert!(repo.token.is_none());
    assert_eq!(*host.os, HostOs::Al2023);
    assert_eq!(*host.retry.attempts, 6);
    assert_eq!(secs(&host.retry.delay), 5);
    assert_eq!(*host.retry.backoff, Backoff::Exponential);
    assert_eq!(secs(&host.docker_wait), 120);
    assert_eq!(host.log.as_str(), "/var/log/user-data.log");
    assert!(
        *host.gzip,
        "user-data is delivered gzip'd unless the spec says otherwise"
    );
    let cw = spec.cloudwatch.as_ref().unwrap();
    assert!(cw.retention_days.is_none());
    assert_eq!(secs(&cw.metrics.as_ref().unwrap().interval), 60);
}

#[test]
fn kdl_and_json_agree_on_defaults() {
    let kdl = clean(
        "deploy.kdl",
        br#"version 1
project "shop"
service "api" { build "Dockerfile"; }
symlinks from="/srv" { link "pkg"; }
timeouts { }
health { }
host { repo "https://github.com/acme/shop"; }
cloudwatch {
    log-group "/aws/shop"
    metrics { memory; }
}
"#,
    );
    let json = clean(
        "deploy.json",
        br#"{
  "version": 1,
  "project": { "name": "shop" },
  "service": [{ "name": "api", "build": { "dockerfile": "Dockerfile" } }],
  "symlinks": [{ "from": "/srv", "link": [{ "path": "pkg" }] }],
  "timeouts": {},
  "health": {},
  "host": { "repo": { "url": "https://github.com/acme/shop" } },
  "cloudwatch": { "log-group": "/aws/shop", "metrics": { "memory": true } }
}"#,
    );
    assert_eq!(json, kdl);
}

#[test]
fn kdl_values_carry_spans_that_point_at_their_text() {
    let text = read("tests/fixtures/every-node.kdl");
    let text = std::str::from_utf8(&text).unwrap();
    let spec = every_node();
    let at = |range: Option<(usize, usize)>| {
        let (offset, len) = range.expect("a span");
        &text[offset..offset + len]
    };
    assert_eq!(at(spec.project.name.span.range()), "\"mcp-portal\"");
    assert_eq!(at(spec.version.span.range()), "1");
    assert_eq!(
        at(spec.service[0].timeout.as_ref().unwrap().span.range()),
        "\"30m\""
    );
    assert_eq!(at(spec.build.max.as_ref().unwrap().span.range()), "2");
    assert_eq!(
        at(spec.timeouts.containers.as_ref().unwrap().span.range()),
        "\"2m\""
    );
    assert_eq!(
        at(spec.project.env.iter().next().unwrap().key.span.range()),
        "COMPOSE_PROJECT_NAME"
    );
    assert_eq!(
        at(spec.project.env.iter().next().unwrap().value.span.range()),
        "\"mcp_portal\""
    );
    assert_eq!(at(spec.cache.skip_unchanged.span.range()), "#true");
}

#[test]
fn defaults_and_json_values_have_no_span() {
    let spec = clean("deploy.kdl", MINIMAL.as_bytes());
    assert!(spec.project.name.span.range().is_some());
    assert!(
        spec.project.compose_file.span.range().is_none(),
        "a default was not written"
    );
    assert!(spec.build.timeout.span.range().is_none());

    let json = clean("every-node.json", &read("tests/fixtures/every-node.json"));
    assert!(json.project.name.span.range().is_none());
    assert!(json.service[0].timeout.as_ref().unwrap().span.range().is_none());
}

#[test]
fn durations_and_sizes_serialise_canonically() {
    let spec = every_node();
    let json = serde_json::to_value(&spec).unwrap();
    // Written "90s" in the spec; the JSON form is the canonical spelling.
    assert_eq!(json["timeouts"]["reload"], "1m30s");
    assert_eq!(json["timeouts"]["start"], "2h");
    assert_eq!(json["service"][0]["memory"], "3G");
    assert_eq!(json["project"]["compose-file"], "docker-compose.prod.yaml");
    assert_eq!(json["project"]["env"]["LOG_LEVEL"], "info");
    // Spans are not part of the JSON form.
    assert!(json["host"].get("span").is_none());
    assert!(json["cloudwatch"]["metrics"].get("span").is_none());
}

#[test]
fn a_spec_with_errors_has_no_model() {
    let checked = deployc::check("deploy.kdl", b"version 1\nproject \"Shop\"\n");
    assert!(checked.spec.is_none());
    assert!(checked.diagnostics.has_errors());
    assert_eq!(checked.diagnostics.error_count(), 1);
    assert_eq!(checked.source.name, "deploy.kdl");
}

#[test]
fn a_spec_with_only_warnings_has_a_model() {
    let checked = deployc::check("warnings.kdl", &read("tests/fixtures/warnings.kdl"));
    assert!(checked.spec.is_some());
    assert!(!checked.diagnostics.has_errors());
    assert_eq!(checked.diagnostics.warning_count(), 6);
}
