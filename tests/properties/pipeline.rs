//! The whole pipeline on generated specs: services built or pulled, and every
//! block of the language in random combinations, mostly valid, sometimes not
//! (unknown names, bad values, missing pieces, stray tokens). `compile` never
//! panics; a spec with errors gets diagnostics that each have a code and a
//! span inside the source, and no artifacts; any other spec gets its
//! artifacts, whose scripts parse, whose unit reads back with systemd's rules,
//! whose user-data carries the others byte for byte, and whose JSON parses.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::{cases, config, kdl, probe, unit_file};

/// One of `valid` mostly, one of `invalid` now and then: a spec has a few
/// dozen values, so the share of specs without an error stays fair.
fn pick(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> impl Strategy<Value = String> + Clone {
    let invalid = if invalid.is_empty() { valid } else { invalid };
    prop_oneof![40 => prop::sample::select(valid), 1 => prop::sample::select(invalid)].prop_map(str::to_owned)
}

/// One of `items`, as an owned string.
fn one(items: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    pick(items, &[])
}

/// `line` (a node) or nothing.
fn maybe(line: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    prop::option::weighted(0.5, line).prop_map(Option::unwrap_or_default)
}

/// A KDL string of one of `valid`, or now and then of `invalid`.
fn quoted(pool: (&'static [&'static str], &'static [&'static str])) -> impl Strategy<Value = String> + Clone {
    pick(pool.0, pool.1).prop_map(|s| kdl::literal(&s))
}

type Pool = (&'static [&'static str], &'static [&'static str]);

const NAMES: Pool = (
    &["api", "web", "worker", "db", "cache-1", "a.b_c"],
    &["Bad", "", "-x"],
);
const DURATIONS: Pool = (
    &["1s", "30s", "5m", "20m", "1h30m", "2h"],
    &["0s", "90", "1x", "400d"],
);
const SIZES: Pool = (&["512M", "1G", "10G", "2gb"], &["0K", "10", "1.5G"]);
const PATHS: Pool = (
    &[
        "/opt/app",
        "/srv/app/",
        "/var/log/app",
        "/home/u/app",
        "/tmp",
        "/",
    ],
    &["rel", "/a b", "/x/../y"],
);
const RELS: Pool = (
    &[
        "Dockerfile",
        "docker/api.Dockerfile",
        ".",
        "./cmd/",
        "go.mod",
        "-x",
    ],
    &["/abs", "a/../b", ""],
);
const URLS: Pool = (
    &[
        "http://localhost:8080/health",
        "https://example.com/x?y=1",
        "http://127.0.0.1/",
    ],
    &["https://user:pw@example.com/", "ftp://x", "http://"],
);
const IMAGES: Pool = (
    &[
        "postgres:16.4",
        "redis",
        "ghcr.io/acme/api@sha256:abc",
        "x:latest",
    ],
    &["Bad Image"],
);
const TEXTS: Pool = (
    &["hello", "a b", "50%", "$(id)", "it's", "\"q\"", "", "trailing\\"],
    &["tab\there"],
);
const SSM: Pool = (&["ssm:/app/token"], &["ssm:x", "/app/token", "ssm:/a b"]);
const NAMES_ALL: &[&str] = &["api", "web", "worker", "db", "cache-1", "a.b_c", "Bad", "", "-x"];

fn built() -> impl Strategy<Value = String> {
    (
        quoted(RELS),
        maybe(quoted(RELS).prop_map(|c| format!(" context={c}"))),
        maybe(quoted(TEXTS).prop_map(|t| format!(" target={t}"))),
    )
        .prop_map(|(f, c, t)| format!("    build {f}{c}{t}\n"))
}

fn pulled() -> impl Strategy<Value = String> {
    quoted(IMAGES).prop_map(|i| format!("    image {i}\n"))
}

fn service(index: usize) -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        20 => built().boxed(),
        12 => pulled().boxed(),
        1 => Just(String::new()).boxed(),
        1 => (built(), pulled()).prop_map(|(b, p)| b + &p).boxed(),
    ];
    (
        prop_oneof![8 => Just(NAMES.0[index % 4]), 1 => prop::sample::select(NAMES_ALL)],
        kind,
        maybe(quoted(RELS).prop_map(|r| format!("    requires {r}\n"))),
        maybe(
            (
                pick(&["GO_FLAGS", "PYTHON_VERSION"], &["9bad", "API_TOKEN"]),
                quoted(TEXTS),
            )
                .prop_map(|(k, v)| format!("    arg {k}={v}\n")),
        ),
        maybe(quoted(DURATIONS).prop_map(|d| format!("    timeout {d}\n"))),
        maybe(quoted(SIZES).prop_map(|s| format!("    memory {s}\n"))),
    )
        .prop_map(|(name, kind, requires, arg, timeout, memory)| {
            format!(
                "service {} {{\n{kind}{requires}{arg}{timeout}{memory}}}\n",
                kdl::literal(name)
            )
        })
}

fn project() -> impl Strategy<Value = String> {
    (
        prop_oneof![30 => Just("app"), 1 => prop::sample::select(NAMES_ALL)],
        maybe(quoted(TEXTS).prop_map(|t| format!("    description {t}\n"))),
        maybe(quoted(URLS).prop_map(|u| format!("    docs {u}\n"))),
        maybe(quoted(PATHS).prop_map(|p| format!("    root {p}\n"))),
        maybe(quoted(RELS).prop_map(|r| format!("    compose-file {r}\n"))),
        maybe(pick(
            &["    user \"app\" group=\"docker\"\n", "    user \"root\"\n"],
            &["    user \"Bad\"\n"],
        )),
        maybe(
            (
                pick(
                    &["MODE", "GREETING"],
                    &["1X", "COMPOSE_PROJECT_NAME", "DB_PASSWORD"],
                ),
                quoted(TEXTS),
            )
                .prop_map(|(k, v)| format!("    env {k}={v}\n")),
        ),
        maybe(quoted(RELS).prop_map(|r| format!("    env-file {r}\n"))),
        maybe(
            (
                pick(&["no", "on-failure"], &["always", "sometimes"]),
                quoted(DURATIONS),
            )
                .prop_map(|(p, d)| format!("    restart \"{p}\" delay={d}\n")),
        ),
    )
        .prop_map(|(name, d, docs, root, compose, user, env, env_file, restart)| {
            format!(
                "project {} {{\n{d}{docs}{root}{compose}{user}{env}{env_file}{restart}}}\n",
                kdl::literal(name)
            )
        })
}

fn build_block() -> impl Strategy<Value = String> {
    (
        maybe(pick(
            &["    order \"sequential\"\n", "    order \"parallel\" max=2\n"],
            &["    order \"parallel\"\n", "    order \"random\"\n"],
        )),
        maybe(quoted(DURATIONS).prop_map(|d| format!("    timeout {d}\n"))),
        maybe(one(&["    progress \"plain\"\n", "    progress \"auto\"\n"])),
        maybe(
            (
                quoted((
                    &["/var/log/app", "/opt/app/logs", "/home/u/logs"],
                    &["logs", "/tmp"],
                )),
                quoted((&["/srv/app-logs", "/opt/app/fallback"], &["/a b", "/var/tmp/app"])),
            )
                .prop_map(|(l, f)| format!("    log-dir {l} fallback={f}\n")),
        ),
        maybe(
            (quoted(SIZES), quoted(SIZES)).prop_map(|(d, m)| format!("    min-free disk={d} memory={m}\n")),
        ),
        maybe(
            (quoted(TEXTS), quoted((&["vendor/", "node_modules/"], &[])))
                .prop_map(|(a, b)| format!("    ignored {a} {b}\n")),
        ),
        maybe(
            (one(&["PYTHON_VERSION", "GO_FLAGS"]), quoted(TEXTS))
                .prop_map(|(k, v)| format!("    arg {k}={v}\n")),
        ),
        maybe(pick(
            &["    docker \"docker\"\n", "    docker \"podman\"\n"],
            &["    docker \"nerdctl\"\n"],
        )),
    )
        .prop_map(|(o, t, p, l, m, i, a, d)| format!("build {{\n{o}{t}{p}{l}{m}{i}{a}{d}}}\n"))
}

fn cache_block() -> impl Strategy<Value = String> {
    (
        pick(&["no-cache", "cached"], &["sometimes"]),
        one(&["no-cache", "cached"]),
        any::<bool>(),
        maybe(quoted(SIZES).prop_map(|s| format!("    prune-below {s}\n"))),
    )
        .prop_map(|(f, r, skip, prune)| {
            format!("cache {{\n    first-build \"{f}\"\n    rebuild \"{r}\"\n    skip-unchanged #{skip}\n{prune}}}\n")
        })
}

fn symlinks_block() -> impl Strategy<Value = String> {
    (
        quoted(PATHS),
        prop::sample::subsequence(vec!["cmd", "go.mod", "pkg", "-x"], 0..3),
        pick(&["fail", "empty-dir", "skip"], &["maybe"]),
    )
        .prop_map(|(from, links, missing)| {
            let links: String = links
                .iter()
                .map(|l| format!("    link \"{l}\" missing=\"{missing}\"\n"))
                .collect();
            format!("symlinks from={from} {{\n{links}}}\n")
        })
}

fn timeouts_block() -> impl Strategy<Value = String> {
    let line = |name: &'static str| maybe(quoted(DURATIONS).prop_map(move |d| format!("    {name} {d}\n")));
    // A given start timeout is mostly shorter than the budget, an error.
    let start = prop::option::weighted(0.1, quoted(DURATIONS).prop_map(|d| format!("    start {d}\n")))
        .prop_map(Option::unwrap_or_default);
    let stop = maybe(
        (
            quoted(DURATIONS),
            maybe(quoted(DURATIONS).prop_map(|c| format!(" containers={c}"))),
        )
            .prop_map(|(s, c)| format!("    stop {s}{c}\n")),
    );
    (start, stop, line("reload"), line("pull"), line("up"))
        .prop_map(|(a, b, c, d, e)| format!("timeouts {{\n{a}{b}{c}{d}{e}}}\n"))
}

fn health_block() -> impl Strategy<Value = String> {
    (
        maybe(quoted((&["api"], &["cache-1", "Bad"])).prop_map(|n| format!("    running {n}\n"))),
        maybe(
            (quoted(URLS), pick(&["200", "204"], &["99999", "\"ok\""]))
                .prop_map(|(u, s)| format!("    http {u} status={s}\n")),
        ),
        maybe(
            (quoted(DURATIONS), quoted(DURATIONS))
                .prop_map(|(t, i)| format!("    timeout {t} interval={i}\n")),
        ),
    )
        .prop_map(|(r, h, t)| format!("health {{\n{r}{h}{t}}}\n"))
}

fn host_block() -> impl Strategy<Value = String> {
    (
        maybe(pick(
            &["    packages \"git\" \"docker\"\n", "    packages \"jq\"\n"],
            &["    packages \"-x\"\n"],
        )),
        maybe(
            (
                quoted(URLS),
                pick(&["main", "release/1.2"], &["bad..branch"]),
                maybe(quoted(SSM).prop_map(|t| format!(" token={t}"))),
            )
                .prop_map(|(u, b, t)| format!("    repo {u} branch=\"{b}\"{t}\n")),
        ),
        maybe(pick(
            &[
                "    retry attempts=3 delay=\"5s\" backoff=\"exponential\"\n",
                "    retry backoff=\"linear\"\n",
            ],
            &["    retry attempts=0\n"],
        )),
        maybe(quoted(DURATIONS).prop_map(|d| format!("    docker-wait {d}\n"))),
        maybe(quoted(SSM).prop_map(|s| format!("    env-file from={s}\n"))),
        maybe(quoted(PATHS).prop_map(|p| format!("    log {p}\n"))),
        prop_oneof![3 => Just(""), 1 => Just("    gzip #true\n"), 1 => Just("    gzip #false\n")],
    )
        .prop_map(|(p, r, rt, w, e, l, g)| format!("host {{\n{p}{r}{rt}{w}{e}{l}{g}}}\n"))
}

fn cloudwatch_block() -> impl Strategy<Value = String> {
    (
        quoted((&["/app/deploy", "/aws/ec2/x#1"], &["bad group", ""])),
        maybe(pick(
            &[" retention-days=30"],
            &[" retention-days=31", " retention-days=-1"],
        )),
        maybe(
            (
                quoted(PATHS),
                maybe(
                    quoted((&["{instance_id}/x", "s p a c e"], &["a:b"]))
                        .prop_map(|s| format!(" stream={s}")),
                ),
            )
                .prop_map(|(p, s)| format!("    file {p}{s}\n")),
        ),
        maybe(pick(
            &[
                "    metrics interval=\"60s\" { memory; disk \"/\"; }\n",
                "    metrics { memory; }\n",
            ],
            &["    metrics { disk \"rel\"; }\n"],
        )),
    )
        .prop_map(|(g, r, f, m)| format!("cloudwatch {{\n    log-group {g}{r}\n{f}{m}}}\n"))
}

/// Stray text that makes a spec invalid in the ways people get wrong.
const JUNK: &[&str] = &[
    "servce \"x\" { image \"a:1\"; }\n",
    "project \"again\"\n",
    "build { unknown 1; }\n",
    "(t)service \"y\" { image \"a:1\"; }\n",
    "allow \"nothing\" reason=\"r\"\n",
    "allow \"unpinned-image\"\n",
    "{\n",
    "\"\n",
    "version 1\n",
];

/// A spec: the version line, the project, services, then blocks in random order.
pub fn spec() -> impl Strategy<Value = String> {
    let services = prop_oneof![1 => Just(0usize), 8 => 1..4usize].prop_flat_map(|n| {
        let each: Vec<_> = (0..n).map(|i| service(i).boxed()).collect();
        each.prop_map(|s| s.concat())
    });
    let blocks = (
        maybe(build_block().boxed()),
        maybe(cache_block().boxed()),
        maybe(symlinks_block().boxed()),
        maybe(timeouts_block().boxed()),
        maybe(health_block().boxed()),
        maybe(host_block().boxed()),
        maybe(cloudwatch_block().boxed()),
        maybe(one(&[
            "allow \"unpinned-image\" reason=\"our mirror\"\n",
            "allow \"arg-override\" reason=\"shared\"\n",
        ])),
    )
        .prop_map(|(a, b, c, d, e, f, g, h)| vec![a, b, c, d, e, f, g, h])
        .prop_shuffle();
    (
        prop_oneof![10 => Just("version 1\n"), 1 => Just("version 2\n"), 1 => Just("")],
        prop_oneof![12 => project().boxed(), 1 => Just(String::new()).boxed()],
        services,
        blocks,
        prop::option::weighted(0.1, one(JUNK)),
    )
        .prop_map(|(version, project, services, blocks, junk)| {
            format!(
                "{version}{project}{services}{}{}",
                blocks.concat(),
                junk.unwrap_or_default()
            )
        })
}

/// Problems of the spec as a whole: an empty spec, a required node missing.
const WHOLE_FILE: &[&str] = &["E0001", "E0109"];

fn fail(what: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(what.into())
}

/// The checks of one generated spec. `bash` runs `bash -n` on the scripts.
pub fn check(spec: &str, bash: bool) -> Result<bool, TestCaseError> {
    let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
    let diagnostics = &compiled.checked.diagnostics;
    for d in diagnostics.iter() {
        let code = d.problem.code();
        prop_assert!(
            code.len() == 5 && code.starts_with(['E', 'W']) && code[1..].chars().all(|c| c.is_ascii_digit()),
            "a bad code {code:?}"
        );
        // A missing `version` or `project` is nowhere in the text, so it has no span.
        if d.span.range().is_none() && WHOLE_FILE.contains(&code) {
            continue;
        }
        let (offset, len) = d
            .span
            .range()
            .ok_or_else(|| fail(format!("{code} {} has no span\n{spec}", d.problem.message())))?;
        prop_assert!(
            offset + len <= spec.len(),
            "{code} at {offset}+{len} is past the end ({})\n{spec}",
            spec.len()
        );
    }
    let Some(artifacts) = &compiled.artifacts else {
        prop_assert!(diagnostics.has_errors(), "no artifacts and no error\n{spec}");
        return Ok(false);
    };
    prop_assert!(!diagnostics.has_errors());
    let plan = compiled
        .plan
        .as_ref()
        .ok_or_else(|| fail("artifacts without a plan"))?;
    let bytes = |name: &str| {
        artifacts
            .iter()
            .find(|a| a.file == name)
            .map(|a| a.bytes.clone())
            .ok_or_else(|| fail(format!("no artifact {name}")))
    };
    let text = |b: Vec<u8>| String::from_utf8(b).map_err(|e| fail(format!("not UTF-8: {e}")));
    let unit = text(bytes(&plan.files.unit)?)?;
    let build_script = text(bytes(&plan.files.build_script)?)?;
    let parsed = unit_file::parse(&unit).map_err(|e| fail(format!("{e}\n{unit}")))?;
    prop_assert_eq!(&parsed.sections, &["Unit", "Service", "Install"]);
    for e in parsed.entries.iter().filter(|e| e.key.starts_with("Exec")) {
        unit_file::exec(&e.value).map_err(fail)?;
    }
    let cloudwatch = match &plan.files.cloudwatch {
        Some(name) => Some(text(bytes(name)?)?),
        None => None,
    };
    if let Some(json) = &cloudwatch {
        serde_json::from_str::<serde_json::Value>(json)
            .map_err(|e| fail(format!("bad JSON: {e}\n{json}")))?;
    }
    let user_data = match (&plan.files.user_data, &plan.host) {
        (Some(name), Some(host)) => {
            let readable = text(bytes(name)?)?;
            match &plan.files.user_data_gz {
                Some(gz) => prop_assert_eq!(text(crate::gunzip(&bytes(gz)?))?, readable.clone()),
                None => prop_assert!(!host.gzip, "gzip'd user-data is missing"),
            }
            Some(readable)
        }
        (None, None) => None,
        _ => return Err(fail("user-data and host disagree")),
    };
    prop_assert_eq!(
        artifacts.len(),
        2 + plan.units.all().len()
            + usize::from(user_data.is_some())
            + usize::from(plan.files.user_data_gz.is_some())
            + usize::from(cloudwatch.is_some())
    );
    if let Some(user_data) = &user_data {
        let bodies = probe::heredocs(user_data).map_err(fail)?;
        prop_assert_eq!(&bodies["DEPLOYC_UNIT"], &deployc::render::carried(&unit));
        prop_assert_eq!(
            &bodies["DEPLOYC_BUILD_SCRIPT"],
            &deployc::render::carried(&build_script)
        );
        prop_assert_eq!(bodies.get("DEPLOYC_CLOUDWATCH"), cloudwatch.as_ref());
    }
    if bash {
        let dir = tempfile::tempdir().expect("a temporary folder");
        probe::syntax(&build_script, dir.path()).map_err(|e| fail(format!("build script: {e}")))?;
        if let Some(user_data) = &user_data {
            probe::syntax(user_data, dir.path()).map_err(|e| fail(format!("user-data: {e}")))?;
        }
    }
    Ok(true)
}

proptest! {
    #![proptest_config(config(cases(3000)))]

    /// In process, every case; `bash -n` on one case in four.
    #[test]
    fn any_spec_compiles_to_diagnostics_or_sound_artifacts(spec in spec(), bash in 0..4u8) {
        check(&spec, bash == 0)?;
    }
}

/// The generator must keep producing specs that compile, or the property
/// above only ever tests diagnostics.
#[test]
fn a_fair_share_of_generated_specs_compiles() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut compiled = 0;
    for _ in 0..400 {
        let spec = spec().new_tree(&mut runner).expect("a spec").current();
        if check(&spec, false).expect("the property holds") {
            compiled += 1;
        }
    }
    assert!(compiled >= 60, "only {compiled} of 400 generated specs compiled");
}
