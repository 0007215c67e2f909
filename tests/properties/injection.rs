//! Injection: a hostile string in one string field of an otherwise complete
//! spec. Either validation rejects it, with an error whose span lies inside
//! the value as written, or it reaches every artifact intact and inert:
//!
//! - the build script and user-data parse (`bash -n`), their assignment blocks
//!   run (see `probe`) and hold the exact value, and nothing in it ran (no
//!   `CANARY` file appears);
//! - the heredocs of the user-data hold exactly the other artifacts;
//! - the unit, read with systemd's rules (`unit_file`), has the same
//!   directives as the same spec with a plain value, and the value read back
//!   is the value;
//! - the CloudWatch config parses, with the value in its place.
//!
//! `sandboxed` runs a smaller share against the stubs of the behaviour tests.

use std::collections::HashMap;
use std::ops::Range;

use deployc::values::{AbsPath, RelPath};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use crate::{cases, config, hostile, kdl, probe, unit_file};

/// Every string a spec holds, by the hole it fills in [`TEMPLATE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    ProjectName,
    Description,
    Docs,
    Root,
    ComposeFile,
    User,
    Group,
    EnvValue,
    EnvFile,
    ServiceName,
    Dockerfile,
    Context,
    Target,
    Requires,
    ServiceArg,
    Image,
    LogDir,
    LogFallback,
    Ignored,
    SharedArg,
    SymlinksFrom,
    Link,
    Running,
    HealthUrl,
    Package,
    RepoUrl,
    Branch,
    Token,
    EnvFrom,
    HostLog,
    LogGroup,
    CloudwatchFile,
    Stream,
    Disk,
    AllowReason,
}

/// What a field holds, which decides how hostile values are shaped for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Url,
    Abs,
    Rel,
    /// Names, accounts, images, packages, branches, SSM references, log groups and streams.
    Word,
}

impl Field {
    pub const ALL: &[Field] = &[
        Field::ProjectName,
        Field::Description,
        Field::Docs,
        Field::Root,
        Field::ComposeFile,
        Field::User,
        Field::Group,
        Field::EnvValue,
        Field::EnvFile,
        Field::ServiceName,
        Field::Dockerfile,
        Field::Context,
        Field::Target,
        Field::Requires,
        Field::ServiceArg,
        Field::Image,
        Field::LogDir,
        Field::LogFallback,
        Field::Ignored,
        Field::SharedArg,
        Field::SymlinksFrom,
        Field::Link,
        Field::Running,
        Field::HealthUrl,
        Field::Package,
        Field::RepoUrl,
        Field::Branch,
        Field::Token,
        Field::EnvFrom,
        Field::HostLog,
        Field::LogGroup,
        Field::CloudwatchFile,
        Field::Stream,
        Field::Disk,
        Field::AllowReason,
    ];

    fn hole(self) -> &'static str {
        match self {
            Field::ProjectName => "project",
            Field::Description => "description",
            Field::Docs => "docs",
            Field::Root => "root",
            Field::ComposeFile => "compose_file",
            Field::User => "user",
            Field::Group => "group",
            Field::EnvValue => "env_value",
            Field::EnvFile => "env_file",
            Field::ServiceName => "service",
            Field::Dockerfile => "dockerfile",
            Field::Context => "context",
            Field::Target => "target",
            Field::Requires => "requires",
            Field::ServiceArg => "service_arg",
            Field::Image => "image",
            Field::LogDir => "log_dir",
            Field::LogFallback => "log_fallback",
            Field::Ignored => "ignored",
            Field::SharedArg => "shared_arg",
            Field::SymlinksFrom => "symlinks_from",
            Field::Link => "link",
            Field::Running => "running",
            Field::HealthUrl => "health_url",
            Field::Package => "package",
            Field::RepoUrl => "repo_url",
            Field::Branch => "branch",
            Field::Token => "token",
            Field::EnvFrom => "env_from",
            Field::HostLog => "host_log",
            Field::LogGroup => "log_group",
            Field::CloudwatchFile => "cloudwatch_file",
            Field::Stream => "stream",
            Field::Disk => "disk",
            Field::AllowReason => "reason",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Field::Description
            | Field::EnvValue
            | Field::Target
            | Field::ServiceArg
            | Field::Ignored
            | Field::SharedArg
            | Field::AllowReason => Kind::Text,
            Field::Docs | Field::HealthUrl | Field::RepoUrl => Kind::Url,
            Field::Root
            | Field::LogDir
            | Field::LogFallback
            | Field::SymlinksFrom
            | Field::HostLog
            | Field::CloudwatchFile
            | Field::Disk => Kind::Abs,
            Field::ComposeFile
            | Field::EnvFile
            | Field::Dockerfile
            | Field::Context
            | Field::Requires
            | Field::Link => Kind::Rel,
            _ => Kind::Word,
        }
    }

    /// Paths decide the unit's sandbox (`ReadWritePaths=`, `LogsDirectory=`, …)
    /// and names its commands; any other value leaves the unit's shape alone.
    fn shapes_unit(self) -> bool {
        matches!(
            self,
            Field::Root
                | Field::LogDir
                | Field::LogFallback
                | Field::ProjectName
                | Field::ServiceName
                | Field::Running
        )
    }
}

/// A complete spec: every block, every string field a hole. `$T` is the
/// folder the paths live under.
const TEMPLATE: &str = r#"version 1
project @project@ {
    description @description@
    docs @docs@
    root @root@
    compose-file @compose_file@
    user @user@ group=@group@
    env GREETING=@env_value@
    env-file @env_file@
}
service @service@ {
    build @dockerfile@ context=@context@ target=@target@
    requires @requires@
    arg SERVICE_ARG=@service_arg@
    timeout "2s"
}
service "db" { image @image@; }
build {
    log-dir @log_dir@ fallback=@log_fallback@
    ignored @ignored@ @env_file@
    arg SHARED_ARG=@shared_arg@
}
symlinks from=@symlinks_from@ {
    link @link@ missing="empty-dir"
}
health {
    running @running@ "db"
    http @health_url@ status=200
    timeout "2s" interval="1s"
}
host {
    packages @package@
    repo @repo_url@ branch=@branch@ token=@token@
    env-file from=@env_from@
    log @host_log@
    gzip #true
}
cloudwatch {
    log-group @log_group@ retention-days=30
    file @cloudwatch_file@ stream=@stream@
    metrics { memory; disk @disk@; }
}
allow "unpinned-image" reason=@reason@
"#;

/// Where the health check and the docs point unless a case says otherwise;
/// hostile URLs mostly keep this host, so that the unit's shape stays put.
const HEALTH_BASE: &str = "http://localhost:8080/";
const DOCS_BASE: &str = "https://example.com/";
pub const REPO_BASE: &str = "https://github.com/";

/// The plain value of a field, with paths under `base`.
fn plain(field: Field, base: &str) -> String {
    match field {
        Field::ProjectName => "app".into(),
        Field::Description => "The app".into(),
        Field::Docs => format!("{DOCS_BASE}docs"),
        Field::Root => format!("{base}/root"),
        Field::ComposeFile => "compose.yml".into(),
        Field::User => "root".into(),
        Field::Group => "docker".into(),
        Field::EnvValue => "hello".into(),
        Field::EnvFile => ".env".into(),
        Field::ServiceName | Field::Running => "api".into(),
        Field::Dockerfile => "Dockerfile".into(),
        Field::Context => ".".into(),
        Field::Target => "prod".into(),
        Field::Requires => "Dockerfile".into(),
        Field::ServiceArg => "one".into(),
        Field::Image => "postgres".into(),
        Field::LogDir => format!("{base}/logs"),
        Field::LogFallback => format!("{base}/fallback"),
        Field::Ignored => "vendor/".into(),
        Field::SharedArg => "two".into(),
        Field::SymlinksFrom => format!("{base}/shared"),
        Field::Link => "pkg".into(),
        Field::HealthUrl => format!("{HEALTH_BASE}health"),
        Field::Package => "jq".into(),
        Field::RepoUrl => format!("{REPO_BASE}acme/app"),
        Field::Branch => "main".into(),
        Field::Token => "ssm:/app/token".into(),
        Field::EnvFrom => "ssm:/app/env".into(),
        Field::HostLog => format!("{base}/host/user-data.log"),
        Field::LogGroup => "/app/deploy".into(),
        Field::CloudwatchFile => format!("{base}/logs/app.log"),
        Field::Stream => "{instance_id}/app".into(),
        Field::Disk => "/".into(),
        Field::AllowReason => "our mirror pins it".into(),
    }
}

/// One case: `value` in `field`, every other field plain.
#[derive(Clone, Debug)]
pub struct Case {
    pub field: Field,
    pub value: String,
}

impl Case {
    /// The spec text, and where the value's literal is in it.
    pub fn spec(&self, base: &str) -> (String, Range<usize>) {
        let (text, at) = kdl::fill(
            TEMPLATE,
            |hole| {
                let field = Field::ALL
                    .iter()
                    .copied()
                    .find(|f| f.hole() == hole)
                    .expect("every hole is a field");
                if field == self.field {
                    kdl::literal(&self.value)
                } else if field == Field::Running && self.field == Field::ServiceName {
                    // The health check names the service, whatever it is called.
                    kdl::literal(&self.value)
                } else {
                    kdl::literal(&plain(field, base))
                }
            },
            self.field.hole(),
        );
        (text, at.expect("the field's hole is in the template"))
    }

    /// The same spec with the field's plain value.
    fn twin(&self, base: &str) -> Case {
        Case {
            field: self.field,
            value: plain(self.field, base),
        }
    }
}

/// Hostile values for any field, shaped so that a fair share gets past
/// validation: URLs keep their scheme and host, paths their leading `/`.
pub fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(Field::ALL),
        prop_oneof![3 => hostile::string(), 1 => hostile::path_like()],
        0..4u8,
    )
        .prop_map(|(field, hostile, shape)| {
            let value = match (field.kind(), shape) {
                (_, 0) => hostile,
                (Kind::Url, _) => match field {
                    Field::Docs => format!("{DOCS_BASE}{hostile}"),
                    Field::RepoUrl => format!("{REPO_BASE}{hostile}"),
                    _ => format!("{HEALTH_BASE}{hostile}"),
                },
                (Kind::Abs, _) => format!("/srv/{hostile}"),
                (Kind::Word, 1) if field == Field::Token || field == Field::EnvFrom => {
                    format!("ssm:/{hostile}")
                }
                _ => hostile,
            };
            Case { field, value }
        })
}

/// What a case came to.
pub enum Verdict {
    Rejected,
    Accepted(Box<Accepted>),
}

/// The artifacts of an accepted case, decoded.
pub struct Accepted {
    pub unit_name: String,
    pub unit: String,
    pub build_script: String,
    pub user_data: String,
    pub cloudwatch: serde_json::Value,
}

fn fail(what: impl Into<String>) -> TestCaseError {
    TestCaseError::fail(what.into())
}

/// Compiles the case and checks everything that needs no process.
pub fn compile_and_check(case: &Case, base: &str) -> Result<Verdict, TestCaseError> {
    let (spec, at) = case.spec(base);
    let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
    let diagnostics = &compiled.checked.diagnostics;
    if diagnostics.has_errors() {
        prop_assert!(compiled.artifacts.is_none());
        // One error is on the value itself; others may follow from it.
        let on_value = diagnostics.iter().filter(|d| d.is_error()).any(|d| {
            d.span
                .range()
                .is_some_and(|(offset, len)| offset >= at.start && offset + len <= at.end)
                // The project name is half of each image name, which is checked at its service.
                || (case.field == Field::ProjectName && d.problem.code() == "E0319")
                // Stray `{` count against the whole document, wherever the limit is reached.
                || (case.value.contains('{') && d.problem.code() == "E0004")
        });
        let shown: Vec<String> = diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{} {:?}: {}",
                    d.problem.code(),
                    d.span.range(),
                    d.problem.message()
                )
            })
            .collect();
        prop_assert!(on_value, "no error on the value at {at:?}: {shown:#?}\n{spec}");
        return Ok(Verdict::Rejected);
    }
    let artifacts = compiled
        .artifacts
        .as_ref()
        .ok_or_else(|| fail("a spec without errors renders"))?;
    let file = |name: &str| -> Result<Vec<u8>, TestCaseError> {
        artifacts
            .iter()
            .find(|a| a.file == name)
            .map(|a| a.bytes.clone())
            .ok_or_else(|| fail(format!("no artifact {name}")))
    };
    let project = if case.field == Field::ProjectName {
        case.value.clone()
    } else {
        "app".to_owned()
    };
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8: {e}")));
    let accepted = Accepted {
        unit_name: format!("{project}.service"),
        unit: text(file(&format!("{project}.service"))?)?,
        build_script: text(file(&format!("{project}-build.sh"))?)?,
        user_data: text(crate::gunzip(&file("user-data.sh.gz")?))?,
        cloudwatch: serde_json::from_slice(&file("cloudwatch-agent.json")?)
            .map_err(|e| fail(format!("the CloudWatch config is not JSON: {e}")))?,
    };
    check_heredocs(&accepted)?;
    check_unit(case, &accepted.unit, base)?;
    check_cloudwatch(case, &accepted.cloudwatch)?;
    Ok(Verdict::Accepted(Box::new(accepted)))
}

/// The user-data carries the other artifacts byte for byte (the build script
/// without its comment lines), the deploy unit among them.
fn check_heredocs(a: &Accepted) -> Result<(), TestCaseError> {
    let bodies = probe::heredocs(&a.user_data).map_err(fail)?;
    prop_assert_eq!(
        bodies.len(),
        5,
        "five heredocs: {:?}",
        bodies.keys().collect::<Vec<_>>()
    );
    prop_assert_eq!(&bodies["DEPLOYC_UNIT"], &deployc::render::carried(&a.unit));
    prop_assert_eq!(
        &bodies["DEPLOYC_BUILD_SCRIPT"],
        &deployc::render::carried(&a.build_script)
    );
    let requisite = format!("\nRequisite={}\n", a.unit_name);
    prop_assert!(bodies["DEPLOYC_UNIT_2"].contains(&requisite), "the deploy unit");
    let follows = format!(" --unit={} ", a.unit_name);
    prop_assert!(
        bodies["DEPLOYC_UNIT_3"].contains(&follows),
        "the journal follower"
    );
    let json: serde_json::Value = serde_json::from_str(&bodies["DEPLOYC_CLOUDWATCH"])
        .map_err(|e| fail(format!("the embedded CloudWatch config: {e}")))?;
    prop_assert_eq!(&json, &a.cloudwatch);
    Ok(())
}

/// The valid value as the model keeps it (paths are normalised).
fn abs(value: &str) -> String {
    value.parse::<AbsPath>().expect("accepted, so valid").to_string()
}

fn rel_under(base: &str, value: &str) -> String {
    base.parse::<AbsPath>()
        .expect("a valid base")
        .join(&value.parse::<RelPath>().expect("accepted, so valid"))
        .to_string()
}

/// A URL as `Documentation=` must hold it: ASCII only, so anything else is
/// percent-encoded as UTF-8 (the same address).
pub fn as_uri(url: &str) -> String {
    url.chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\') {
                c.to_string()
            } else {
                c.to_string().bytes().map(|b| format!("%{b:02X}")).collect()
            }
        })
        .collect()
}

/// The sections and directives the unit template can write, its partials' included.
fn template_directives() -> Vec<(String, String)> {
    let partial = |name: &str| match name {
        "identity" => include_str!("../../src/render/templates/identity.hbs"),
        "stages" => include_str!("../../src/render/templates/stages.hbs"),
        "sandbox" => include_str!("../../src/render/templates/sandbox.hbs"),
        other => panic!("the unit template uses an unknown partial {other}"),
    };
    let template = include_str!("../../src/render/templates/unit.service.hbs");
    let lines = template.lines().flat_map(|line| {
        match line.strip_prefix("{{> ").and_then(|l| l.split([' ', '}']).next()) {
            Some(name) => partial(name).lines().collect::<Vec<_>>(),
            None => vec![line],
        }
    });
    let mut section = String::new();
    let mut found = Vec::new();
    for line in lines {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((key, _)) = line.split_once('=')
            && key.chars().all(|c| c.is_ascii_alphanumeric())
            && !key.is_empty()
        {
            found.push((section.clone(), key.to_owned()));
        }
    }
    found
}

pub fn check_unit(case: &Case, unit_text: &str, base: &str) -> Result<(), TestCaseError> {
    let unit = unit_file::parse(unit_text).map_err(|e| fail(format!("{e}\n{unit_text}")))?;
    prop_assert_eq!(&unit.sections, &["Unit", "Service", "Install"]);
    let known = template_directives();
    for key in unit.keys() {
        prop_assert!(
            known.contains(&key),
            "{key:?} is not a directive of the template\n{unit_text}"
        );
    }
    let keeps_host = case.field != Field::HealthUrl || case.value.starts_with(HEALTH_BASE);
    if !case.field.shapes_unit() && keeps_host && case.value != plain(case.field, base) {
        let twin = compile_and_check(&case.twin(base), base)?;
        let Verdict::Accepted(twin) = twin else {
            return Err(fail("the plain spec is valid"));
        };
        let twin_unit = unit_file::parse(&twin.unit).map_err(fail)?;
        prop_assert_eq!(unit.keys(), twin_unit.keys(), "{}", unit_text);
    }
    let read = |r: Result<Vec<String>, String>| r.map_err(|e| fail(format!("{e}\n{unit_text}")));
    let mut commands = Vec::new();
    for e in unit.entries.iter().filter(|e| e.key.starts_with("Exec")) {
        commands.push(read(unit_file::exec(&e.value))?);
    }
    let environment: Vec<String> = read(
        unit.values("Service", "Environment")
            .iter()
            .map(|v| unit_file::environment(v))
            .collect::<Result<Vec<_>, _>>()
            .map(|v| v.concat()),
    )?;
    let description = unit_file::text(unit.single("Unit", "Description").map_err(fail)?).map_err(fail)?;
    let documentation = read(unit_file::documentation(
        unit.single("Unit", "Documentation").map_err(fail)?,
    ))?;
    let up = commands
        .iter()
        .find(|argv| argv.iter().any(|a| a == "up"))
        .ok_or_else(|| fail("no up command"))?;
    let after = |flag: &str| up.iter().skip_while(|a| *a != flag).nth(1).cloned();
    let root = match case.field {
        Field::Root => abs(&case.value),
        _ => plain(Field::Root, base),
    };
    let v = case.value.as_str();
    match case.field {
        Field::Description => prop_assert_eq!(description, v.trim()),
        Field::Docs => prop_assert_eq!(documentation, vec![as_uri(v)]),
        Field::EnvValue => prop_assert!(
            environment.contains(&format!("GREETING={v}")),
            "{environment:?}\n{unit_text}"
        ),
        Field::Root => {
            prop_assert_eq!(
                unit.single("Service", "WorkingDirectory").map_err(fail)?,
                root.as_str()
            );
            prop_assert_eq!(after("--project-directory"), Some(root.clone()));
        }
        Field::ComposeFile => prop_assert_eq!(after("--file"), Some(rel_under(&root, v))),
        Field::EnvFile => prop_assert_eq!(after("--env-file"), Some(rel_under(&root, v))),
        Field::User => prop_assert_eq!(unit.single("Service", "User").map_err(fail)?, v),
        Field::Group => prop_assert_eq!(unit.single("Service", "Group").map_err(fail)?, v),
        _ => {}
    }
    Ok(())
}

fn check_cloudwatch(case: &Case, json: &serde_json::Value) -> Result<(), TestCaseError> {
    let collected = json["logs"]["logs_collected"]["files"]["collect_list"]
        .as_array()
        .ok_or_else(|| fail("no collect_list"))?;
    let all = |key: &str| -> Vec<String> {
        collected
            .iter()
            .filter_map(|c| c[key].as_str().map(str::to_owned))
            .collect()
    };
    let v = case.value.as_str();
    match case.field {
        Field::LogGroup => prop_assert!(all("log_group_name").iter().all(|g| g == v)),
        Field::Stream => prop_assert!(all("log_stream_name").iter().any(|s| s == v)),
        Field::CloudwatchFile => prop_assert!(all("file_path").contains(&abs(v))),
        Field::HostLog => prop_assert!(all("file_path").contains(&abs(v))),
        Field::Disk => prop_assert_eq!(
            &json["metrics"]["metrics_collected"]["disk"]["resources"],
            &serde_json::json!([abs(v)])
        ),
        _ => {}
    }
    Ok(())
}

/// The scripts parse, their variables hold the value, and nothing ran.
pub fn check_scripts(case: &Case, a: &Accepted, base: &str) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (name, script) in [("build script", &a.build_script), ("user-data", &a.user_data)] {
        probe::syntax(script, dir.path()).map_err(|e| fail(format!("the {name} does not parse: {e}")))?;
    }
    let service = if case.field == Field::ServiceName {
        case.value.as_str()
    } else {
        "api"
    };
    let vars = probe::variables(&a.build_script, service, Some(&a.user_data), dir.path()).map_err(fail)?;
    let canaries = std::fs::read_dir(dir.path()).expect("reading the folder").count();
    prop_assert_eq!(canaries, 0, "the probe created files: a value ran");
    check_variables(case, &vars, base)
}

fn check_variables(
    case: &Case,
    vars: &HashMap<String, Vec<String>>,
    base: &str,
) -> Result<(), TestCaseError> {
    let get = |name: &str| vars.get(name).cloned().unwrap_or_default();
    let v = case.value.as_str();
    let one = |s: String| vec![s];
    let root = match case.field {
        Field::Root => abs(v),
        _ => plain(Field::Root, base),
    };
    let context = match case.field {
        Field::Context => rel_under(&root, v),
        _ => root.clone(),
    };
    let options = get("build_options");
    let pair = |flag: &str, value: String| options.windows(2).any(|w| w[0] == flag && w[1] == value);
    match case.field {
        Field::Target => prop_assert!(pair("--target", v.to_owned()), "{options:?}"),
        Field::ServiceArg => prop_assert!(pair("--build-arg", format!("SERVICE_ARG={v}")), "{options:?}"),
        Field::SharedArg => prop_assert!(pair("--build-arg", format!("SHARED_ARG={v}")), "{options:?}"),
        Field::Ignored => prop_assert_eq!(get("IGNORED"), vec![v.to_owned(), ".env".to_owned()]),
        Field::HealthUrl => prop_assert_eq!(get("HTTP_URLS"), one(v.to_owned())),
        Field::Image => prop_assert_eq!(get("PULLS"), one(v.to_owned())),
        Field::ServiceName => prop_assert_eq!(get("BUILT"), one(v.to_owned())),
        Field::Running => prop_assert_eq!(get("RUNNING"), vec![v.to_owned(), "db".to_owned()]),
        Field::Root => prop_assert_eq!(get("user-data ROOT"), one(root.clone())),
        Field::ComposeFile => prop_assert_eq!(get("COMPOSE_FILE"), one(rel_under(&root, v))),
        Field::EnvFile => {
            prop_assert_eq!(get("ENV_FILE"), one(rel_under(&root, v)));
            prop_assert_eq!(get("user-data ENV_FILE"), one(rel_under(&root, v)));
        }
        Field::Context => prop_assert_eq!(get("context"), one(context.clone())),
        Field::Dockerfile => prop_assert_eq!(get("dockerfile"), one(rel_under(&context, v))),
        Field::Requires => prop_assert_eq!(get("requires"), one(rel_under(&root, v))),
        Field::LogDir => prop_assert_eq!(get("LOG_DIR"), one(abs(v))),
        Field::LogFallback => prop_assert_eq!(get("LOG_FALLBACK"), one(abs(v))),
        Field::SymlinksFrom | Field::Link => {
            let (from, link) = match case.field {
                Field::Link => (plain(Field::SymlinksFrom, base), v.to_owned()),
                _ => (abs(v), plain(Field::Link, base)),
            };
            // The link is in the build context (the root), so it is copied: `1`.
            let want = vec![
                rel_under(&root, &link),
                rel_under(&from, &link),
                "empty-dir".to_owned(),
                "1".to_owned(),
            ];
            prop_assert_eq!(get("link"), want);
        }
        Field::Package => prop_assert!(get("user-data PACKAGES").contains(&v.to_owned())),
        Field::RepoUrl => prop_assert_eq!(get("user-data REPO_URL"), one(v.to_owned())),
        Field::Branch => prop_assert_eq!(get("user-data BRANCH"), one(v.to_owned())),
        Field::Token => prop_assert_eq!(
            get("user-data TOKEN_PARAMETER"),
            one(v["ssm:".len()..].to_owned())
        ),
        Field::EnvFrom => prop_assert_eq!(get("user-data ENV_PARAMETER"), one(v["ssm:".len()..].to_owned())),
        Field::HostLog => prop_assert_eq!(get("user-data LOG"), one(abs(v))),
        _ => {}
    }
    Ok(())
}

/// Per field, cases seen and accepted; `--nocapture` shows how much of each
/// field gets past validation.
#[derive(Default)]
struct Tally(HashMap<String, (u32, u32)>);

proptest! {
    #![proptest_config(config(cases(1500)))]

    /// Every field, in process plus one bash probe per accepted case.
    #[test]
    fn hostile_values_are_rejected_or_reach_the_artifacts_intact(case in case()) {
        match compile_and_check(&case, "/srv")? {
            Verdict::Rejected => {}
            Verdict::Accepted(accepted) => check_scripts(&case, &accepted, "/srv")?,
        }
    }
}

/// How many cases of each field were accepted, over a fixed sample: a guard
/// that the generator keeps reaching the renderers for the free-text fields.
#[test]
fn free_text_fields_are_mostly_accepted() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut tally = Tally::default();
    for _ in 0..600 {
        let case = case().new_tree(&mut runner).expect("a case").current();
        let accepted = matches!(compile_and_check(&case, "/srv"), Ok(Verdict::Accepted(_)));
        let entry = tally.0.entry(format!("{:?}", case.field)).or_default();
        entry.0 += 1;
        entry.1 += u32::from(accepted);
    }
    let mut rows: Vec<_> = tally.0.iter().collect();
    rows.sort();
    for (field, (seen, accepted)) in rows {
        eprintln!("{field}: {accepted} of {seen} accepted");
    }
    for field in [
        "Description",
        "EnvValue",
        "ServiceArg",
        "SharedArg",
        "Target",
        "Stream",
        "HealthUrl",
    ] {
        let (seen, accepted) = tally.0.get(field).copied().unwrap_or_default();
        assert!(
            seen > 0 && accepted * 3 >= seen,
            "{field}: {accepted} of {seen} accepted; the generator no longer reaches the renderers"
        );
    }
}
