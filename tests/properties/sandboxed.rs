//! A share of the injection cases, run for real: the build script or the
//! user-data of an accepted case runs under bubblewrap against the behaviour
//! tests' stubs, which record their argv. A hostile build argument must
//! arrive at `docker build` as one argument, byte for byte; a hostile URL at
//! `curl` or `git`, a branch at `git`, a package at `dnf`, an SSM parameter at
//! `aws`; a hostile ignore pattern in preflight's own message; and no
//! `CANARY` file may appear anywhere the scripts can write.

use deployc::values::{AbsPath, RelPath};
use proptest::prelude::*;

use crate::injection::{self, Case, Field, Verdict};
use crate::support::{Sandbox, files_under};
use crate::{cases, config, hostile};

/// The fields whose values the build script hands to a command.
const RUN_FIELDS: &[Field] = &[
    Field::Target,
    Field::ServiceArg,
    Field::SharedArg,
    Field::Dockerfile,
    Field::Context,
    Field::Ignored,
    Field::HealthUrl,
];

fn run_case() -> impl Strategy<Value = Case> {
    (prop::sample::select(RUN_FIELDS), injection::case()).prop_map(|(field, case)| Case {
        field,
        value: case.value,
    })
}

fn joined(base: &str, rel: &str) -> String {
    base.parse::<AbsPath>()
        .expect("a valid base")
        .join(&rel.parse::<RelPath>().expect("accepted, so valid"))
        .to_string()
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let sb = Sandbox::new();
    let base = sb.spelt("");
    let base = base.trim_end_matches('/');
    let (spec, _) = case.spec(base);
    let Verdict::Accepted(_) = injection::compile_and_check(case, base)? else {
        return Ok(());
    };
    let root = format!("{base}/root");
    let context = match case.field {
        Field::Context => joined(&root, &case.value),
        _ => root.clone(),
    };
    let relative = |path: &str| path[base.len() + 1..].to_owned();
    let dockerfile = match case.field {
        Field::Dockerfile => joined(&context, &case.value),
        _ => format!("{context}/Dockerfile"),
    };
    sb.write(&relative(&dockerfile), "FROM scratch\n")
        .write("root/Dockerfile", "FROM scratch\n")
        .write("root/compose.yml", "services: {}\n")
        .write("root/.env", "")
        .write(&relative(&format!("{context}/.dockerignore")), "x\n");
    let deployment = sb.deploy(&spec);
    let v = case.value.as_str();
    match case.field {
        Field::Ignored => {
            let out = deployment.build_script().arg("preflight").run();
            let shown = format!("{}{}", out.stdout, out.stderr);
            prop_assert!(
                shown.contains(&format!("add the line: {v}\n"))
                    || shown.contains(&format!("ignore files list {v}\n")),
                "{}",
                out.describe()
            );
        }
        Field::HealthUrl => {
            deployment.build_script().arg("health").run().status(0);
            let calls = sb.calls();
            let curls = calls.matching("curl", &[]);
            prop_assert!(
                curls.iter().any(|c| c.args.last().map(String::as_str) == Some(v)),
                "{calls}"
            );
        }
        _ => {
            deployment
                .build_script()
                .args(&["build", "api"])
                .env("DEPLOYC_TAG", "t1")
                .run()
                .status(0);
            let calls = sb.calls();
            let builds = calls.matching("docker", &["build"]);
            prop_assert_eq!(builds.len(), 1, "{}", calls);
            let args = &builds[0].args;
            let pair = |flag: &str, value: &str| args.windows(2).any(|w| w[0] == flag && w[1] == value);
            match case.field {
                Field::Target => prop_assert!(pair("--target", v), "{args:?}"),
                Field::ServiceArg => {
                    prop_assert!(pair("--build-arg", &format!("SERVICE_ARG={v}")), "{args:?}")
                }
                Field::SharedArg => prop_assert!(pair("--build-arg", &format!("SHARED_ARG={v}")), "{args:?}"),
                Field::Dockerfile => prop_assert!(pair("--file", &dockerfile), "{args:?}"),
                _ => prop_assert_eq!(args.last(), Some(&context), "{:?}", args),
            }
        }
    }
    no_canary(&sb)
}

/// The fields whose values the user-data hands to a command. (Paths are left
/// out: the sandbox shows the scripts the real host outside its own folders.)
const BOOTSTRAP_FIELDS: &[Field] = &[
    Field::RepoUrl,
    Field::Branch,
    Field::Package,
    Field::Token,
    Field::EnvFrom,
];

/// The repository token the git stub wants.
const TOKEN: &str = "ghp_PropertyTestToken0123456789";

/// Values shaped to pass validation mostly: URLs keep their host, the other
/// fields take only the characters they allow (anything else is rejected, as
/// the in-process property checks).
fn bootstrap_case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(BOOTSTRAP_FIELDS),
        hostile::string(),
        "[A-Za-z0-9_][A-Za-z0-9_/-]{0,12}",
        "[A-Za-z0-9][A-Za-z0-9.+_:~-]{0,12}",
    )
        .prop_map(|(field, hostile, path, package)| {
            let value = match field {
                Field::RepoUrl => format!("{}{hostile}", injection::REPO_BASE),
                Field::Token | Field::EnvFrom => format!("ssm:/{path}"),
                Field::Branch => path.trim_end_matches('/').to_owned() + "x",
                _ => package,
            };
            Case { field, value }
        })
}

fn bootstrap(case: &Case) -> Result<(), TestCaseError> {
    let sb = Sandbox::new();
    let base = sb.spelt("");
    let base = base.trim_end_matches('/');
    let (spec, _) = case.spec(base);
    let Verdict::Accepted(_) = injection::compile_and_check(case, base)? else {
        return Ok(());
    };
    sb.write("upstream/Dockerfile", "FROM scratch\n")
        .write("upstream/compose.yml", "services: {}\n")
        .ssm("/app/token", TOKEN)
        .ssm("/app/env", "MODE=test\n");
    let deployment = sb.deploy(&spec);
    let out = deployment
        .user_data()
        .env("STUB_GIT_TOKEN", TOKEN)
        .env("STUB_GIT_REPO", sb.spelt("upstream"))
        .run();
    let calls = sb.calls();
    let v = case.value.as_str();
    let called = |name: &str, check: &dyn Fn(&[String]) -> bool| {
        calls.matching(name, &[]).iter().any(|c| check(&c.args))
    };
    let pair = |flag: &'static str, value: String| {
        move |args: &[String]| args.windows(2).any(|w| w[0] == flag && w[1] == value)
    };
    let ok = match case.field {
        Field::RepoUrl => called("git", &|args| args.iter().any(|a| a == v)),
        Field::Branch => called("git", &pair("--branch", v.to_owned())),
        Field::Package => called("dnf", &|args| args.iter().any(|a| a == v)),
        _ => called("aws", &pair("--name", v["ssm:".len()..].to_owned())),
    };
    prop_assert!(
        ok,
        "{:?} did not arrive as one argument; calls:\n{}\n{}",
        v,
        calls,
        out.describe()
    );
    no_canary(&sb)
}

fn no_canary(sb: &Sandbox) -> Result<(), TestCaseError> {
    for folder in sb.written_folders() {
        let canaries: Vec<_> = files_under(&folder)
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n == hostile::CANARY))
            .collect();
        prop_assert!(canaries.is_empty(), "a value ran: {canaries:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(cases(120)))]

    #[test]
    #[ignore = "needs bubblewrap: run `make test`"]
    fn hostile_values_arrive_at_the_commands_intact(case in run_case()) {
        run(&case)?;
    }
}

proptest! {
    #![proptest_config(config(cases(32)))]

    #[test]
    #[ignore = "needs bubblewrap: run `make test`"]
    fn hostile_values_arrive_at_the_bootstrap_commands_intact(case in bootstrap_case()) {
        bootstrap(&case)?;
    }
}
