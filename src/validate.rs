//! Checks that need the whole spec: references, combinations, ranges, and the
//! lints. Works the same on specs read from KDL and from JSON.

use std::collections::HashMap;

use crate::budget;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{Spec, Vars};
use crate::problem::{IgnoreReason, Problem, RETENTION_DAYS};
use crate::span::{Span, Spanned};
use crate::suggest::closest;
use crate::values::{Duration, Engine, HealthFailure, HostOs, Lint, Order, RestartPolicy};

pub fn validate(spec: &Spec, d: &mut Diagnostics) {
    check_version(spec, d);
    check_services(spec, d);
    check_build(spec, d);
    check_durations(spec, d);
    check_health(spec, d);
    check_host(spec, d);
    check_cloudwatch(spec, d);
    check_links(spec, d);
    check_env(spec, d);
    check_image_names(spec, d);
    check_secrets(spec, d);
    check_timeouts(spec, d);
    check_registries(spec, d);
    check_monitor(spec, d);
    check_env_file_context(spec, d);

    let mut warnings = Diagnostics::default();
    lint_parallel_memory(spec, &mut warnings);
    lint_arg_overrides(spec, &mut warnings);
    lint_unpinned_images(spec, &mut warnings);
    lint_missing_ignores(spec, &mut warnings);
    apply_allows(spec, warnings, d);
}

fn check_version(spec: &Spec, d: &mut Diagnostics) {
    if *spec.version != 1 {
        d.report(
            Problem::UnsupportedVersion {
                version: (*spec.version).into(),
            },
            spec.version.span,
        );
    }
}

fn check_services(spec: &Spec, d: &mut Diagnostics) {
    let mut first: HashMap<&str, Span> = HashMap::new();
    for service in &spec.service {
        let name = service.name.as_str();
        if name.is_empty() {
            continue;
        }
        if let Some(span) = first.get(name) {
            d.push(
                Diagnostic::new(
                    Problem::DuplicateService {
                        name: name.to_owned(),
                    },
                    service.name.span,
                )
                .with_related(*span, "first defined here"),
            );
        } else {
            first.insert(name, service.name.span);
        }
        match (&service.build, &service.image) {
            (Some(build), Some(image)) => d.push(
                Diagnostic::new(
                    Problem::BuildAndImage {
                        service: name.to_owned(),
                    },
                    image.span,
                )
                .with_related(build.dockerfile.span, "built here"),
            ),
            (None, None) if !service.image_refused => d.report(
                Problem::NeitherBuildNorImage {
                    service: name.to_owned(),
                },
                service.name.span,
            ),
            _ => {}
        }
    }
}

/// Docker's rule for one component of an image name:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn docker_name_component(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let separator = &name[i..];
        let len = if separator.starts_with("__") {
            2
        } else if separator.starts_with(['.', '_']) {
            1
        } else {
            bytes[i..].iter().take_while(|&&c| c == b'-').count()
        };
        if len == 0 {
            return false;
        }
        i += len;
    }
}

fn check_image_names(spec: &Spec, d: &mut Diagnostics) {
    // An invalid project name was reported already; every image would repeat it.
    if spec.project.name.as_str().parse::<crate::values::Name>().is_err() {
        return;
    }
    let project = crate::plan::compose_project_name(spec);
    for service in spec
        .service
        .iter()
        .filter(|s| s.build.is_some() && !s.name.as_str().is_empty())
    {
        let image = format!("{project}-{}", service.name);
        if !docker_name_component(&image) {
            d.report(Problem::InvalidImageName { image }, service.name.span);
        }
    }
}

fn check_build(spec: &Spec, d: &mut Diagnostics) {
    let build = &spec.build;
    match (*build.order, &build.max) {
        (Order::Parallel, None) => d.report(Problem::ParallelWithoutMax, build.order.span),
        (Order::Sequential, Some(max)) => d.report(Problem::MaxWithoutParallel, max.span),
        (Order::Parallel, Some(max)) => range(d, "`max`", 1, 64, (**max).into(), max.span),
        (Order::Sequential, None) => {}
    }
    range(d, "`keep`", 1, 100, (*build.keep).into(), build.keep.span);
    if *spec.project.restart.policy == RestartPolicy::Always {
        d.report(Problem::RestartAlways, spec.project.restart.policy.span);
    }
    let log_dir = build
        .log_dir
        .as_ref()
        .map(|l| l.as_str().to_owned())
        .unwrap_or_else(|| format!("/var/log/{}", spec.project.name));
    if let Some(fallback) = &build.log_fallback
        && log_dir == fallback.as_str()
    {
        let span = build.log_dir.as_ref().map_or(fallback.span, |l| l.span);
        d.report(Problem::LogDirIsFallback, span);
    }
    // The units run with PrivateTmp=: what they write under /tmp is gone when they stop.
    for dir in build.log_dir.iter().chain(&build.log_fallback) {
        if ["/tmp", "/var/tmp"]
            .iter()
            .any(|t| dir.starts_with(&t.parse().expect("valid")))
        {
            d.report(Problem::PrivateTmpLogs { dir: dir.to_string() }, dir.span);
        }
    }
}

fn range(d: &mut Diagnostics, what: &'static str, min: i128, max: i128, value: i128, span: Span) {
    if value < min || value > max {
        d.report(
            Problem::OutOfRange {
                what,
                min,
                max,
                value,
            },
            span,
        );
    }
}

fn nonzero(d: &mut Diagnostics, what: &'static str, duration: &Spanned<Duration>) {
    if duration.secs() == 0 {
        d.report(Problem::ZeroDuration { what }, duration.span);
    }
}

fn check_durations(spec: &Spec, d: &mut Diagnostics) {
    nonzero(d, "a build timeout", &spec.build.timeout);
    for service in &spec.service {
        if let Some(timeout) = &service.timeout {
            nonzero(d, "a build timeout", timeout);
        }
    }
    let t = &spec.timeouts;
    if let Some(start) = &t.start {
        nonzero(d, "the start timeout", start);
    }
    nonzero(d, "the stop timeout", &t.stop);
    if let Some(containers) = &t.containers {
        nonzero(d, "the containers' stop timeout", containers);
    }
    nonzero(d, "the reload timeout", &t.reload);
    nonzero(d, "the pull timeout", &t.pull);
    nonzero(d, "the up timeout", &t.up);
    if let Some(health) = &spec.health {
        nonzero(d, "the health timeout", &health.timeout);
        nonzero(d, "the health check interval", &health.interval);
    }
    if let Some(host) = &spec.host {
        nonzero(d, "`docker-wait`", &host.docker_wait);
    }
    if let Some(metrics) = spec.cloudwatch.as_ref().and_then(|c| c.metrics.as_ref()) {
        nonzero(d, "the metrics interval", &metrics.interval);
    }
}

fn check_health(spec: &Spec, d: &mut Diagnostics) {
    let Some(health) = &spec.health else { return };
    let names: Vec<&str> = spec.service.iter().map(|s| s.name.as_str()).collect();
    for running in &health.running {
        if !names.contains(&running.as_str()) {
            d.report(
                Problem::UnknownService {
                    name: running.to_string(),
                    suggestion: closest(running.as_str(), names.iter().copied()).map(str::to_owned),
                },
                running.span,
            );
        }
    }
    for check in &health.http {
        range(
            d,
            "an HTTP status",
            100,
            599,
            (*check.status).into(),
            check.status.span,
        );
    }
}

fn check_host(spec: &Spec, d: &mut Diagnostics) {
    let Some(host) = &spec.host else { return };
    range(
        d,
        "`attempts`",
        1,
        20,
        (*host.retry.attempts).into(),
        host.retry.attempts.span,
    );
    if let Some(from) = &host.env_file
        && spec.project.env_file.is_none()
    {
        d.report(Problem::EnvFileWithoutTarget, from.span);
    }
    if let Some(repo) = &host.repo
        && repo.token.is_some()
        && !repo.url.is_https()
    {
        d.report(Problem::TokenNeedsHttps, repo.url.span);
    }
    if *host.os == HostOs::Al2023 && *spec.build.docker == Engine::Podman {
        d.report(
            Problem::PodmanOnAl2023,
            if host.os.span.range().is_some() {
                host.os.span
            } else {
                host.span
            },
        );
    }
}

fn check_cloudwatch(spec: &Spec, d: &mut Diagnostics) {
    let Some(cloudwatch) = &spec.cloudwatch else {
        return;
    };
    if let Some(days) = &cloudwatch.retention_days
        && !RETENTION_DAYS.contains(&(**days).into())
    {
        d.report(
            Problem::InvalidRetention {
                value: (**days).into(),
            },
            days.span,
        );
    }
    if let Some(metrics) = &cloudwatch.metrics
        && !metrics.memory
        && metrics.disk.is_empty()
    {
        d.report(Problem::NothingToMeasure, metrics.span);
    }
}

fn check_links(spec: &Spec, d: &mut Diagnostics) {
    let mut first: HashMap<&str, Span> = HashMap::new();
    for link in spec.symlinks.iter().flat_map(|s| &s.link) {
        match first.get(link.path.as_str()) {
            Some(span) => d.push(
                Diagnostic::new(
                    Problem::DuplicateLink {
                        path: link.path.to_string(),
                    },
                    link.path.span,
                )
                .with_related(*span, "first linked here"),
            ),
            None => {
                first.insert(link.path.as_str(), link.path.span);
            }
        }
    }
}

/// The variable that names the Compose project; deployc sets it from the project name otherwise.
pub const COMPOSE_PROJECT_VAR: &str = "COMPOSE_PROJECT_NAME";

fn check_env(spec: &Spec, d: &mut Diagnostics) {
    if let Some(var) = spec.project.env.get(COMPOSE_PROJECT_VAR) {
        let value = var.value.as_str();
        let ok = value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && value
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if !ok {
            d.report(
                Problem::InvalidComposeProject {
                    value: value.to_owned(),
                },
                var.value.span,
            );
        }
    }
    for vars in all_vars(spec) {
        for var in vars.iter() {
            if var.value.as_str().starts_with("ssm:") {
                d.report(Problem::SsmNotSupportedHere, var.value.span);
            }
        }
    }
}

fn all_vars(spec: &Spec) -> impl Iterator<Item = &Vars> {
    std::iter::once(&spec.project.env)
        .chain(std::iter::once(&spec.build.arg))
        .chain(spec.service.iter().map(|s| &s.arg))
}

const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
];

fn check_secrets(spec: &Spec, d: &mut Diagnostics) {
    for vars in all_vars(spec) {
        for var in vars.iter() {
            let key = var.key.as_str().to_ascii_uppercase();
            let value = var.value.as_str();
            let named_secret = SECRET_WORDS.iter().any(|w| key.contains(w))
                && value.len() >= 8
                && !value.chars().all(|c| c.is_ascii_digit())
                && !crate::secrets::is_reference(value);
            if named_secret {
                d.report(
                    Problem::LiteralSecret {
                        what: format!("the value of `{}`", var.key),
                    },
                    var.value.span,
                );
            }
        }
    }
    // A user name alone is a credential too: git hosts take a token as the user.
    let mut urls: Vec<(&Spanned<crate::values::Url>, &str)> = Vec::new();
    urls.extend(spec.project.docs.iter().map(|u| (u, "the docs URL")));
    if let Some(repo) = spec.host.as_ref().and_then(|h| h.repo.as_ref()) {
        urls.push((&repo.url, "the repository URL"));
    }
    for check in spec.health.iter().flat_map(|h| &h.http) {
        urls.push((&check.url, "a health check URL"));
    }
    for (url, what) in urls {
        if url.has_userinfo() {
            d.report(
                Problem::LiteralSecret {
                    what: format!("the user name or password in {what}"),
                },
                url.span,
            );
        }
    }
}

fn check_timeouts(spec: &Spec, d: &mut Diagnostics) {
    let t = &spec.timeouts;
    if let Some(containers) = &t.containers
        && containers.secs() >= t.stop.secs()
    {
        d.push(
            Diagnostic::new(
                Problem::ContainerStopNotBelowStop {
                    containers: containers.to_string(),
                    stop: t.stop.to_string(),
                },
                containers.span,
            )
            .with_related(t.stop.span, "the stop timeout"),
        );
    }
    if let Some(start) = &t.start {
        let budget = budget::start_budget(spec);
        if **start < budget.total() {
            d.report(
                Problem::StartBudget {
                    start: start.to_string(),
                    budget: budget.total().to_string(),
                    stages: budget.stages,
                },
                start.span,
            );
        }
    }
}

fn check_monitor(spec: &Spec, d: &mut Diagnostics) {
    if let Some(health) = &spec.health {
        if *health.on_failure == HealthFailure::Rollback && !spec.service.iter().any(|s| s.build.is_some()) {
            d.report(Problem::RollbackWithoutBuilds, health.on_failure.span);
        }
        if let Some(every) = &health.every {
            nonzero(d, "the monitor interval", every);
            nonzero(d, "the restart window", &health.within);
            range(
                d,
                "`restarts`",
                1,
                20,
                (*health.restarts).into(),
                health.restarts.span,
            );
        }
    }
    if let Some(notify) = &spec.notify
        && notify.sns.is_empty()
        && notify.webhook.is_empty()
        && !notify.refused
    {
        d.report(Problem::NothingToNotify, notify.span);
    }
}

fn check_registries(spec: &Spec, d: &mut Diagnostics) {
    let mut first: HashMap<&str, Span> = HashMap::new();
    for registry in &spec.registry {
        let host = registry.host.as_str();
        if let Some(span) = first.get(host) {
            d.push(
                Diagnostic::new(
                    Problem::DuplicateRegistry {
                        host: host.to_owned(),
                    },
                    registry.host.span,
                )
                .with_related(*span, "first given here"),
            );
        } else {
            first.insert(host, registry.host.span);
        }
        let password_login = registry.user.is_some() && registry.password.is_some();
        let partial = registry.user.is_some() != registry.password.is_some();
        if *registry.ecr {
            if registry.host.ecr_region().is_none() {
                d.report(
                    Problem::NotEcr {
                        host: host.to_owned(),
                    },
                    registry.ecr.span,
                );
            }
            if registry.user.is_some() || registry.password.is_some() {
                d.report(
                    Problem::RegistryCredentials {
                        host: host.to_owned(),
                    },
                    registry.span,
                );
            }
        } else if !password_login || partial {
            d.report(
                Problem::RegistryCredentials {
                    host: host.to_owned(),
                },
                registry.span,
            );
        }
    }
}

/// An env-file holds the services' secrets; a build context that holds it sends
/// it to the engine with every build unless the ignore file leaves it out.
fn check_env_file_context(spec: &Spec, d: &mut Diagnostics) {
    let (Some(env_file), Some(root)) = (&spec.project.env_file, spec.project.root_or_default()) else {
        return;
    };
    let path = root.join(env_file);
    let mut reported: Vec<&str> = Vec::new();
    for service in &spec.service {
        let Some(build) = &service.build else { continue };
        let context = root.join(&build.context);
        if !path.starts_with(&context) || reported.contains(&build.context.as_str()) {
            continue;
        }
        let pattern = path.as_str()[context.as_str().len()..].trim_start_matches('/');
        if spec.build.ignored_paths().any(|p| p == pattern) {
            continue;
        }
        reported.push(build.context.as_str());
        let mut diagnostic = Diagnostic::new(
            Problem::EnvFileInContext {
                env_file: env_file.to_string(),
                service: service.name.to_string(),
                pattern: pattern.to_owned(),
            },
            env_file.span,
        );
        if build.context.span.range().is_some() {
            diagnostic = diagnostic.with_related(build.context.span, "the build context");
        }
        d.push(diagnostic);
    }
}

fn lint_parallel_memory(spec: &Spec, w: &mut Diagnostics) {
    // Without `max`, parallel builds are already an error that comes first.
    if *spec.build.order == Order::Parallel && spec.build.max.is_some() {
        let built: Vec<&crate::model::Service> = spec.service.iter().filter(|s| s.build.is_some()).collect();
        let missing: Vec<String> = built
            .iter()
            .filter(|s| s.memory.is_none())
            .map(|s| s.name.to_string())
            .collect();
        if !missing.is_empty() {
            w.report(
                Problem::MemoryEstimates {
                    missing,
                    built: built.len(),
                },
                spec.build.order.span,
            );
        }
    }
    let (Order::Parallel, Some(max), Some(available)) =
        (*spec.build.order, &spec.build.max, &spec.build.min_free_memory)
    else {
        return;
    };
    let mut memories: Vec<u64> = spec
        .service
        .iter()
        .filter(|s| s.build.is_some())
        .map(|s| s.memory.as_ref().map_or(0, |m| m.bytes()))
        .collect();
    memories.sort_unstable_by(|a, b| b.cmp(a));
    let peak: u64 = memories.iter().take(**max as usize).sum();
    if peak > available.bytes() {
        let peak_size: crate::values::Size = format!("{}K", peak.div_ceil(1024)).parse().expect("a size");
        w.push(
            Diagnostic::new(
                Problem::ParallelMemory {
                    max: **max,
                    peak: peak_size.to_string(),
                    available: available.to_string(),
                },
                max.span,
            )
            .with_related(available.span, "free memory required here"),
        );
    }
}

fn lint_arg_overrides(spec: &Spec, w: &mut Diagnostics) {
    let shared_args: HashMap<&str, &crate::model::Var> =
        spec.build.arg.iter().map(|v| (v.key.as_str(), v)).collect();
    for service in &spec.service {
        for var in service.arg.iter() {
            if let Some(shared) = shared_args.get(var.key.as_str())
                && shared.value.as_str() != var.value.as_str()
            {
                w.push(
                    Diagnostic::new(
                        Problem::ArgOverride {
                            key: var.key.to_string(),
                            shared: shared.value.to_string(),
                            service_value: var.value.to_string(),
                        },
                        var.value.span,
                    )
                    .with_related(shared.value.span, "shared value"),
                );
            }
        }
    }
}

fn lint_unpinned_images(spec: &Spec, w: &mut Diagnostics) {
    for image in spec.service.iter().filter_map(|s| s.image.as_ref()) {
        let pinned = image.has_digest() || image.tag().is_some_and(|t| t != "latest");
        if !pinned {
            w.report(
                Problem::UnpinnedImage {
                    image: image.to_string(),
                },
                image.span,
            );
        }
    }
}

/// A Go build that sends `vendor/` with its context: `-mod=mod` in `GOFLAGS`
/// (the build never reads it), or a `vendor/` directory in a context that is
/// on this machine. Either way `ignored` should list it.
fn lint_missing_ignores(spec: &Spec, w: &mut Diagnostics) {
    let ignores_vendor = spec
        .build
        .ignored_paths()
        .any(|p| p == "vendor" || p == "**/vendor");
    if ignores_vendor {
        return;
    }
    let mod_mod = |vars: &Vars| {
        vars.iter()
            .find(|v| {
                v.key.as_str() == "GOFLAGS"
                    && v.value.as_str().split_whitespace().any(|flag| flag == "-mod=mod")
            })
            .map(|v| v.value.span)
    };
    let shared = mod_mod(&spec.build.arg);
    let Some(root) = spec.project.root_or_default() else {
        return;
    };
    let mut reported: Vec<Span> = Vec::new();
    let mut contexts_seen: Vec<&str> = Vec::new();
    for service in &spec.service {
        let Some(build) = &service.build else { continue };
        let goflags_here = service.arg.iter().any(|v| v.key.as_str() == "GOFLAGS");
        if let Some(span) = if goflags_here {
            mod_mod(&service.arg)
        } else {
            shared
        } {
            if !reported.contains(&span) {
                reported.push(span);
                w.report(
                    Problem::MissingIgnore {
                        reason: IgnoreReason::ModMod,
                    },
                    span,
                );
            }
            continue;
        }
        let context = build.context.as_str();
        if contexts_seen.contains(&context) {
            continue;
        }
        contexts_seen.push(context);
        let vendor = std::path::Path::new(root.join(&build.context).as_str()).join("vendor");
        if vendor.is_dir() {
            let span = if build.context.span.range().is_some() {
                build.context.span
            } else {
                build.dockerfile.span
            };
            w.report(
                Problem::MissingIgnore {
                    reason: IgnoreReason::VendorOnDisk {
                        service: service.name.to_string(),
                    },
                },
                span,
            );
        }
    }
}

/// Drops the warnings an `allow` silences, and reports allows that silence nothing.
fn apply_allows(spec: &Spec, warnings: Diagnostics, d: &mut Diagnostics) {
    let mut first: HashMap<Lint, Span> = HashMap::new();
    for allow in &spec.allow {
        if let Some(span) = first.get(&*allow.lint) {
            d.push(
                Diagnostic::new(Problem::DuplicateAllow { lint: *allow.lint }, allow.lint.span)
                    .with_related(*span, "first allowed here"),
            );
        } else {
            first.insert(*allow.lint, allow.lint.span);
        }
        if allow.reason.as_str().trim().is_empty() {
            d.report(Problem::EmptyValue, allow.reason.span);
        }
    }
    let mut used: Vec<Lint> = Vec::new();
    for warning in warnings.into_vec() {
        match warning.problem.lint() {
            Some(lint) if first.contains_key(&lint) => used.push(lint),
            _ => d.push(warning),
        }
    }
    let mut reported: Vec<Lint> = Vec::new();
    for allow in &spec.allow {
        let lint = *allow.lint;
        if !used.contains(&lint) && !reported.contains(&lint) {
            reported.push(lint);
            d.report(Problem::UnusedAllow { lint }, allow.lint.span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::docker_name_component;

    #[test]
    fn image_names_follow_dockers_rule() {
        for ok in ["mcp_portal-backend", "a", "a.b", "a__b", "a---b", "shop-api.v2"] {
            assert!(docker_name_component(ok), "{ok}");
        }
        for bad in ["", "a.", "a..b", "a._b", "-a", "a-", "A", "a___b"] {
            assert!(!docker_name_component(bad), "{bad}");
        }
    }
}
