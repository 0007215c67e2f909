//! KDL document → typed model. Reports every unknown node or property, wrong
//! type, missing or extra argument and repeated node, and keeps going so one
//! run shows all of them.

use std::collections::HashMap;
use std::str::FromStr;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::model::{
    Allow, Build, Cache, Cloudwatch, Health, Host, HttpCheck, Link, LogFile, Metrics, Notify, Project,
    Registry, Repo, Restart, Retry, Service, ServiceBuild, Spec, Symlinks, Timeouts, Var, Vars,
};
use crate::problem::Problem;
use crate::span::{Span, Spanned};
use crate::suggest::closest;
use crate::values::{
    AbsPath, Account, Backoff, Branch, CacheMode, Cpus, Duration, Engine, EnvKey, HealthFailure, HostOs,
    ImageRef, Lint, LogGroup, LogStream, Missing, Name, Order, Package, Progress, RegistryHost, RelPath,
    RestartPolicy, Size, SnsTopic, SsmRef, Text, Url,
};

/// Names of the checks that are errors: `allow` cannot silence them.
const ERROR_CHECKS: &[&str] = &[
    "start-budget",
    "stop-timeout",
    "literal-secret",
    "user-data-size",
    "env-file-in-context",
];

/// Every block of the language, by where it is written (`[]` is the top
/// level), with the nodes it may contain: the lists the decoder accepts and
/// suggests from. The language reference is tested against this.
pub const BLOCKS: &[(&[&str], &[&str])] = &[
    (&[], TOP_NODES),
    (&["project"], PROJECT_NODES),
    (&["service"], SERVICE_NODES),
    (&["build"], BUILD_NODES),
    (&["cache"], CACHE_NODES),
    (&["symlinks"], SYMLINKS_NODES),
    (&["timeouts"], TIMEOUT_NODES),
    (&["health"], HEALTH_NODES),
    (&["host"], HOST_NODES),
    (&["cloudwatch"], CLOUDWATCH_NODES),
    (&["cloudwatch", "metrics"], METRICS_NODES),
    (&["notify"], NOTIFY_NODES),
];

/// The properties of each node that takes any, by where the node is written.
/// A node's reader takes exactly these (see `Reader::in_block`); any other
/// property is reported as unknown, with a suggestion from this list.
/// `env` and `arg` are not here: every property of theirs is a variable.
pub const PROPERTIES: &[(&[&str], &[&str])] = &[
    (&["project", "user"], &["group"]),
    (&["project", "restart"], &["delay"]),
    (&["service", "build"], &["context", "target"]),
    (&["build", "order"], &["max"]),
    (&["build", "log-dir"], &["fallback"]),
    (&["build", "min-free"], &["disk", "memory"]),
    (&["symlinks"], &["from"]),
    (&["symlinks", "link"], &["missing"]),
    (&["timeouts", "stop"], &["containers"]),
    (&["health", "http"], &["status"]),
    (&["health", "timeout"], &["interval"]),
    (&["host", "repo"], &["branch", "token"]),
    (&["host", "retry"], &["attempts", "delay", "backoff"]),
    (&["host", "env-file"], &["from"]),
    (&["cloudwatch", "log-group"], &["retention-days"]),
    (&["cloudwatch", "file"], &["stream"]),
    (&["cloudwatch", "metrics"], &["interval"]),
    (&["health", "every"], &["restarts", "within"]),
    (&["registry"], &["ecr", "user", "password"]),
    (&["allow"], &["reason"]),
];

/// A value that can be read from a KDL argument or property.
trait FromKdl: Sized {
    const EXPECTED: &'static str;
    fn from_kdl(value: &KdlValue) -> Result<Self, Problem>;
}

fn wrong_type(expected: &'static str, value: &KdlValue) -> Problem {
    let found = match value {
        KdlValue::String(s) => format!("the string \"{s}\""),
        KdlValue::Integer(i) => format!("the integer `{i}`"),
        KdlValue::Float(f) => format!("the number `{f:?}`"),
        KdlValue::Bool(b) => format!("the boolean `#{b}`"),
        KdlValue::Null => "`#null`".to_owned(),
    };
    Problem::WrongType { expected, found }
}

macro_rules! from_kdl_string {
    ($expected:literal: $($ty:ty),+) => {
        $(impl FromKdl for $ty {
            const EXPECTED: &'static str = $expected;
            fn from_kdl(value: &KdlValue) -> Result<Self, Problem> {
                match value {
                    KdlValue::String(s) => <$ty>::from_str(s),
                    other => Err(wrong_type(Self::EXPECTED, other)),
                }
            }
        })+
    };
}

from_kdl_string!("a string": Name, EnvKey, AbsPath, RelPath, Text, Url, SsmRef, ImageRef, Account,
    Package, Branch, LogGroup, LogStream, Order, RestartPolicy, Missing, CacheMode, Backoff, Engine,
    HostOs, Progress, HealthFailure, RegistryHost, SnsTopic);
from_kdl_string!("a duration string": Duration);
from_kdl_string!("a size string": Size);

impl FromKdl for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_kdl(value: &KdlValue) -> Result<Self, Problem> {
        match value {
            KdlValue::Bool(b) => Ok(*b),
            other => Err(wrong_type(Self::EXPECTED, other)),
        }
    }
}

macro_rules! from_kdl_integer {
    ($($ty:ty),+) => {
        $(impl FromKdl for $ty {
            const EXPECTED: &'static str = "an integer";
            fn from_kdl(value: &KdlValue) -> Result<Self, Problem> {
                match value {
                    KdlValue::Integer(i) => <$ty>::try_from(*i).map_err(|_| Problem::OutOfRange {
                        what: "this number",
                        min: <$ty>::MIN.into(),
                        max: <$ty>::MAX.into(),
                        value: *i,
                    }),
                    other => Err(wrong_type(Self::EXPECTED, other)),
                }
            }
        })+
    };
}

from_kdl_integer!(u16, u32, i64);

impl FromKdl for Cpus {
    const EXPECTED: &'static str = "a number";
    fn from_kdl(value: &KdlValue) -> Result<Self, Problem> {
        match value {
            KdlValue::Integer(i) => u32::try_from(*i)
                .ok()
                .and_then(|n| n.checked_mul(1000))
                .map_or_else(
                    || Err(Problem::InvalidCpus { value: i.to_string() }),
                    Cpus::from_millis,
                ),
            KdlValue::Float(f) => Cpus::from_f64(*f),
            other => Err(wrong_type(Self::EXPECTED, other)),
        }
    }
}

/// Where a property's value is written, without its `name=`.
fn value_span(entry: &KdlEntry) -> Span {
    let span = entry.span();
    let repr_len = entry
        .format()
        .map_or(span.len(), |f| f.value_repr.len())
        .min(span.len());
    Span::new(span.offset() + span.len() - repr_len, repr_len)
}

fn name_span(node: &KdlNode) -> Span {
    Span::from_kdl(node.name().span())
}

fn convert<T: FromKdl>(d: &mut Diagnostics, entry: &KdlEntry) -> Option<Spanned<T>> {
    let span = value_span(entry);
    if entry.ty().is_some() {
        d.report(Problem::TypeAnnotation, Span::from_kdl(entry.span()));
        return None;
    }
    match T::from_kdl(entry.value()) {
        Ok(value) => Some(Spanned::new(value, span)),
        Err(problem) => {
            d.report(problem, span);
            None
        }
    }
}

/// Reads one node's arguments, properties and children, remembering what was
/// asked for so that `finish` can report everything else.
struct Reader<'a> {
    node: &'a KdlNode,
    /// The properties the node takes, from `PROPERTIES`.
    props: &'static [&'static str],
    /// The properties read, which must be `props`: checked in debug builds.
    known_props: Vec<&'static str>,
    args_taken: usize,
    children_taken: bool,
    vars_read: bool,
}

impl<'a> Reader<'a> {
    fn new(d: &mut Diagnostics, node: &'a KdlNode) -> Self {
        if let Some(ty) = node.ty() {
            d.report(Problem::TypeAnnotation, Span::from_kdl(ty.span()));
        }
        Reader {
            node,
            props: &[],
            known_props: Vec::new(),
            args_taken: 0,
            children_taken: false,
            vars_read: false,
        }
    }

    /// A reader for a node with properties, written in `block`: it takes the
    /// properties `PROPERTIES` lists for the node there.
    fn in_block(d: &mut Diagnostics, node: &'a KdlNode, block: &[&str]) -> Self {
        let name = node.name().value();
        let props = PROPERTIES
            .iter()
            .find(|(path, _)| path.split_last() == Some((&name, block)))
            .map_or(&[][..], |(_, props)| *props);
        Reader {
            props,
            ..Reader::new(d, node)
        }
    }

    /// Remembers that `name` was asked for; it must be one of the node's `PROPERTIES`.
    fn ask(&mut self, name: &'static str) {
        debug_assert!(
            self.props.contains(&name),
            "`{}` reads `{name}=`, which decode::PROPERTIES does not list for it (or its reader is not made with `Reader::in_block`)",
            self.name()
        );
        self.known_props.push(name);
    }

    fn name(&self) -> String {
        self.node.name().value().to_owned()
    }

    fn positional(&self) -> impl Iterator<Item = &'a KdlEntry> + 'a {
        self.node.entries().iter().filter(|e| e.name().is_none())
    }

    /// The first argument, which must be there.
    fn arg<T: FromKdl>(&mut self, d: &mut Diagnostics, what: &'static str) -> Option<Spanned<T>> {
        self.args_taken = self.args_taken.max(1);
        match self.positional().next() {
            Some(entry) => convert(d, entry),
            None => {
                d.report(
                    Problem::MissingArgument {
                        node: self.name(),
                        what,
                    },
                    name_span(self.node),
                );
                None
            }
        }
    }

    /// All arguments, at least one.
    fn args<T: FromKdl>(&mut self, d: &mut Diagnostics, what: &'static str) -> Vec<Spanned<T>> {
        self.args_taken = usize::MAX;
        let entries: Vec<&KdlEntry> = self.positional().collect();
        if entries.is_empty() {
            d.report(
                Problem::MissingArgument {
                    node: self.name(),
                    what,
                },
                name_span(self.node),
            );
        }
        entries.into_iter().filter_map(|e| convert(d, e)).collect()
    }

    fn prop<T: FromKdl>(&mut self, d: &mut Diagnostics, name: &'static str) -> Option<Spanned<T>> {
        self.ask(name);
        let mut found: Option<&KdlEntry> = None;
        for entry in self.node.entries() {
            if entry.name().map(|n| n.value()) != Some(name) {
                continue;
            }
            match found {
                None => found = Some(entry),
                Some(first) => d.push(
                    Diagnostic::new(
                        Problem::DuplicateProperty {
                            name: name.to_owned(),
                        },
                        Span::from_kdl(entry.span()),
                    )
                    .with_related(Span::from_kdl(first.span()), "first given here"),
                ),
            }
        }
        found.and_then(|entry| convert(d, entry))
    }

    fn required_prop<T: FromKdl>(&mut self, d: &mut Diagnostics, name: &'static str) -> Option<Spanned<T>> {
        let has = self
            .node
            .entries()
            .iter()
            .any(|e| e.name().map(|n| n.value()) == Some(name));
        if !has {
            self.ask(name);
            d.report(
                Problem::MissingProperty {
                    node: self.name(),
                    property: name,
                },
                name_span(self.node),
            );
            return None;
        }
        self.prop(d, name)
    }

    /// Every property, as `KEY=value` pairs added to `vars`.
    fn vars(&mut self, d: &mut Diagnostics, vars: &mut VarsBuilder) {
        let props: Vec<&KdlEntry> = self
            .node
            .entries()
            .iter()
            .filter(|e| e.name().is_some())
            .collect();
        let mut quoted = 0;
        for entry in self.positional() {
            if let KdlValue::String(text) = entry.value()
                && let Some((key, value)) = text.split_once('=')
                && EnvKey::from_str(key).is_ok()
            {
                quoted += 1;
                let problem = Problem::QuotedVar {
                    key: key.to_owned(),
                    value: value.to_owned(),
                };
                d.report(problem, Span::from_kdl(entry.span()));
            }
        }
        if quoted > 0 {
            self.args_taken = usize::MAX;
        } else if props.is_empty() {
            d.report(
                Problem::MissingArgument {
                    node: self.name(),
                    what: "one or more KEY=\"value\" pairs",
                },
                name_span(self.node),
            );
        }
        for entry in props {
            let ident = entry.name().expect("filtered to properties");
            let key_span = Span::from_kdl(ident.span());
            let key = match EnvKey::from_str(ident.value()) {
                Ok(key) => Spanned::new(key, key_span),
                Err(problem) => {
                    d.report(problem, key_span);
                    continue;
                }
            };
            let Some(value) = convert::<Text>(d, entry) else {
                continue;
            };
            if let Some(first) = vars.seen.get(key.as_str()) {
                d.push(
                    Diagnostic::new(Problem::DuplicateKey { key: key.to_string() }, key_span)
                        .with_related(*first, "first set here"),
                );
                continue;
            }
            vars.seen.insert(key.to_string(), key_span);
            vars.vars.0.push(Var { key, value });
        }
        // Every property was read as a variable: none is unknown.
        self.vars_read = true;
    }

    fn children(&mut self) -> &'a [KdlNode] {
        self.children_taken = true;
        self.node.children().map_or(&[], |c| c.nodes())
    }

    /// Reports what was not asked for. `takes` describes the arguments.
    fn finish(self, d: &mut Diagnostics, takes: &'static str) {
        debug_assert!(
            self.props.iter().all(|p| self.known_props.contains(p)),
            "`{}` takes properties it never reads: {:?}",
            self.name(),
            self.props
        );
        let mut positional = 0usize;
        for entry in self.node.entries() {
            match entry.name() {
                Some(ident) if !self.vars_read => {
                    let name = ident.value();
                    if !self.props.contains(&name) {
                        d.report(
                            Problem::UnknownProperty {
                                name: name.to_owned(),
                                node: self.name(),
                                suggestion: closest(name, self.props.iter().copied()),
                            },
                            Span::from_kdl(ident.span()),
                        );
                    }
                }
                Some(_) => {}
                None => {
                    positional += 1;
                    if positional > self.args_taken {
                        d.report(
                            Problem::UnexpectedArgument {
                                node: self.name(),
                                takes,
                            },
                            Span::from_kdl(entry.span()),
                        );
                    }
                }
            }
        }
        if !self.children_taken
            && let Some(children) = self.node.children()
        {
            d.report(
                Problem::UnexpectedChildren { node: self.name() },
                Span::from_kdl(children.span()),
            );
        }
    }
}

/// Variables gathered from repeated `env` or `arg` nodes, with an index so
/// that a repeated key is found without rescanning.
#[derive(Default)]
struct VarsBuilder {
    vars: Vars,
    seen: HashMap<String, Span>,
}

/// Tracks nodes that may appear once in a block.
#[derive(Default)]
struct Seen(HashMap<String, Span>);

impl Seen {
    /// True the first time `node`'s name is seen; reports it otherwise.
    fn first(&mut self, d: &mut Diagnostics, node: &KdlNode) -> bool {
        let name = node.name().value();
        match self.0.get(name) {
            Some(first) => {
                d.push(
                    Diagnostic::new(
                        Problem::DuplicateNode {
                            name: name.to_owned(),
                        },
                        name_span(node),
                    )
                    .with_related(*first, "first given here"),
                );
                false
            }
            None => {
                self.0.insert(name.to_owned(), name_span(node));
                true
            }
        }
    }
}

fn unknown_node(d: &mut Diagnostics, node: &KdlNode, parent: &'static str, known: &[&'static str]) {
    let name = node.name().value();
    debug_assert!(
        !known.contains(&name),
        "`{name}` is listed in {parent} but not decoded"
    );
    d.report(
        Problem::UnknownNode {
            name: name.to_owned(),
            parent,
            suggestion: closest(name, known.iter().copied()),
        },
        name_span(node),
    );
}

/// A node that is a single argument and nothing else, such as `timeout "20m"`.
fn single<T: FromKdl>(d: &mut Diagnostics, node: &KdlNode, what: &'static str) -> Option<Spanned<T>> {
    let mut r = Reader::new(d, node);
    let value = r.arg(d, what);
    r.finish(d, "one argument");
    value
}

/// A node whose arguments all count, such as `requires "cmd" "go.mod"`.
fn list<T: FromKdl>(d: &mut Diagnostics, node: &KdlNode, what: &'static str) -> Vec<Spanned<T>> {
    let mut r = Reader::new(d, node);
    let values = r.args(d, what);
    r.finish(d, "a list of arguments");
    values
}

fn vars_node(d: &mut Diagnostics, node: &KdlNode, vars: &mut VarsBuilder) {
    let mut r = Reader::new(d, node);
    r.vars(d, vars);
    r.finish(d, "only KEY=\"value\" pairs");
}

const TOP_NODES: &[&str] = &[
    "version",
    "project",
    "service",
    "build",
    "cache",
    "symlinks",
    "timeouts",
    "health",
    "host",
    "cloudwatch",
    "notify",
    "registry",
    "allow",
];

/// Builds the model from a parsed document, reporting every problem in it.
pub fn decode(document: &KdlDocument, d: &mut Diagnostics) -> Spec {
    let mut seen = Seen::default();
    let mut version = None;
    let mut project = None;
    let mut spec_services = Vec::new();
    let mut build = None;
    let mut cache = None;
    let mut symlinks = Vec::new();
    let mut timeouts = None;
    let mut health = None;
    let mut host = None;
    let mut cloudwatch = None;
    let mut notify = None;
    let mut registry = Vec::new();
    let mut allow = Vec::new();
    for (index, node) in document.nodes().iter().enumerate() {
        let name = node.name().value();
        let once = matches!(
            name,
            "version"
                | "project"
                | "build"
                | "cache"
                | "timeouts"
                | "health"
                | "host"
                | "cloudwatch"
                | "notify"
        );
        if once && !seen.first(d, node) {
            continue;
        }
        match name {
            "version" => {
                if index != 0 {
                    d.report(Problem::VersionNotFirst, name_span(node));
                }
                version = single::<u32>(d, node, "the spec language version, 1");
            }
            "project" => project = Some(decode_project(d, node)),
            "service" => spec_services.extend(decode_service(d, node)),
            "build" => build = Some(decode_build(d, node)),
            "cache" => cache = Some(decode_cache(d, node)),
            "symlinks" => symlinks.extend(decode_symlinks(d, node)),
            "timeouts" => timeouts = Some(decode_timeouts(d, node)),
            "health" => health = Some(decode_health(d, node)),
            "host" => host = Some(decode_host(d, node)),
            "cloudwatch" => cloudwatch = decode_cloudwatch(d, node),
            "notify" => notify = Some(decode_notify(d, node)),
            "registry" => registry.extend(decode_registry(d, node)),
            "allow" => allow.extend(decode_allow(d, node)),
            _ => unknown_node(d, node, "the spec", TOP_NODES),
        }
    }
    if !seen.0.contains_key("version") {
        d.report(
            Problem::MissingNode {
                name: "version",
                parent: "the spec",
            },
            Span::NONE,
        );
    }
    let project = project.unwrap_or_else(|| {
        d.report(
            Problem::MissingNode {
                name: "project",
                parent: "the spec",
            },
            Span::NONE,
        );
        placeholder_project()
    });
    Spec {
        version: version.unwrap_or_else(|| Spanned::unspanned(1)),
        project,
        service: spec_services,
        build: build.unwrap_or_default(),
        cache: cache.unwrap_or_default(),
        symlinks,
        timeouts: timeouts.unwrap_or_default(),
        health,
        host,
        cloudwatch,
        notify,
        registry,
        allow,
    }
}

/// Stands in for a project that was missing or unreadable, so the rest of the
/// spec can still be checked. Specs with errors are never planned.
fn placeholder_project() -> Project {
    Project {
        name: Spanned::unspanned(Name::recovered("")),
        description: None,
        docs: None,
        root: None,
        compose_file: Spanned::unspanned("docker-compose.yml".parse().expect("valid")),
        user: Spanned::unspanned("root".parse().expect("valid")),
        group: None,
        env: Vars::default(),
        env_file: None,
        restart: Restart::default(),
    }
}

/// A name argument; an invalid one is reported and kept, so references to it
/// are not reported a second time.
fn name_arg(d: &mut Diagnostics, r: &mut Reader, what: &'static str) -> Spanned<Name> {
    let Some(entry) = r.positional().next() else {
        r.arg::<Name>(d, what);
        return Spanned::unspanned(Name::recovered(""));
    };
    r.args_taken = r.args_taken.max(1);
    match (entry.value(), convert::<Name>(d, entry)) {
        (_, Some(name)) => name,
        (KdlValue::String(raw), None) => Spanned::new(Name::recovered(raw), value_span(entry)),
        (_, None) => Spanned::new(Name::recovered(""), value_span(entry)),
    }
}

const PROJECT_NODES: &[&str] = &[
    "description",
    "docs",
    "root",
    "compose-file",
    "user",
    "env",
    "env-file",
    "restart",
];

fn decode_project(d: &mut Diagnostics, node: &KdlNode) -> Project {
    let mut r = Reader::new(d, node);
    let name = name_arg(d, &mut r, "the project name");
    let mut project = placeholder_project();
    project.name = name;
    let mut env = VarsBuilder::default();
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if key != "env" && PROJECT_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        match key {
            "description" => project.description = single(d, child, "a description"),
            "docs" => project.docs = single(d, child, "a documentation URL"),
            "root" => project.root = single(d, child, "an absolute path"),
            "compose-file" => {
                if let Some(v) = single(d, child, "the compose file, relative to the root") {
                    project.compose_file = v;
                }
            }
            "user" => {
                let mut u = Reader::in_block(d, child, &["project"]);
                if let Some(user) = u.arg(d, "a user name") {
                    project.user = user;
                }
                project.group = u.prop(d, "group");
                u.finish(d, "one argument: the user name");
            }
            "env" => vars_node(d, child, &mut env),
            "env-file" => project.env_file = single(d, child, "a path relative to the root"),
            "restart" => {
                let mut u = Reader::in_block(d, child, &["project"]);
                if let Some(policy) = u.arg(d, "\"no\", \"on-failure\" or \"always\"") {
                    project.restart.policy = policy;
                }
                if let Some(delay) = u.prop(d, "delay") {
                    project.restart.delay = delay;
                }
                u.finish(d, "one argument: the restart policy");
            }
            _ => unknown_node(d, child, "`project`", PROJECT_NODES),
        }
    }
    r.finish(d, "one argument: the project name");
    project.env = env.vars;
    project
}

const SERVICE_NODES: &[&str] = &["build", "image", "requires", "arg", "timeout", "memory", "cpus"];

fn decode_service(d: &mut Diagnostics, node: &KdlNode) -> Option<Service> {
    let mut r = Reader::new(d, node);
    let name = name_arg(d, &mut r, "the service name");
    let mut service = Service {
        name,
        build: None,
        image: None,
        requires: Vec::new(),
        arg: Vars::default(),
        timeout: None,
        memory: None,
        cpus: None,
        image_refused: false,
    };
    let mut args = VarsBuilder::default();
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if matches!(key, "build" | "image" | "timeout" | "memory") && !seen.first(d, child) {
            continue;
        }
        match key {
            "build" => {
                let mut b = Reader::in_block(d, child, &["service"]);
                let dockerfile = b.arg(d, "the Dockerfile, relative to the context");
                let context = b.prop(d, "context");
                let target = b.prop(d, "target");
                b.finish(d, "one argument: the Dockerfile");
                if let Some(dockerfile) = dockerfile {
                    service.build = Some(ServiceBuild {
                        dockerfile,
                        context: context.unwrap_or_else(|| Spanned::unspanned(".".parse().expect("valid"))),
                        target,
                    });
                } else {
                    service.image_refused = true;
                }
            }
            "image" => {
                service.image = single::<ImageRef>(d, child, "an image reference");
                service.image_refused |= service.image.is_none();
            }
            "requires" => service
                .requires
                .extend(list(d, child, "paths relative to the root")),
            "arg" => vars_node(d, child, &mut args),
            "timeout" => service.timeout = single(d, child, "a duration such as \"20m\""),
            "memory" => service.memory = single(d, child, "a size such as \"3G\""),
            "cpus" => service.cpus = single(d, child, "a number of CPUs such as 2"),
            _ => unknown_node(d, child, "`service`", SERVICE_NODES),
        }
    }
    r.finish(d, "one argument: the service name");
    service.arg = args.vars;
    Some(service)
}

const BUILD_NODES: &[&str] = &[
    "order", "timeout", "progress", "log-dir", "min-free", "ignored", "arg", "docker", "keep",
];

fn decode_build(d: &mut Diagnostics, node: &KdlNode) -> Build {
    let mut r = Reader::new(d, node);
    let mut build = Build::default();
    let mut args = VarsBuilder::default();
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if !matches!(key, "ignored" | "arg") && BUILD_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        match key {
            "order" => {
                let mut o = Reader::in_block(d, child, &["build"]);
                let order = o.arg(d, "\"sequential\" or \"parallel\"");
                let max = o.prop(d, "max");
                // With the order unreadable, `max` cannot be judged against it.
                if let Some(order) = order {
                    build.order = order;
                    build.max = max;
                }
                o.finish(d, "one argument: the order");
            }
            "timeout" => {
                if let Some(v) = single(d, child, "a duration such as \"20m\"") {
                    build.timeout = v;
                }
            }
            "progress" => {
                if let Some(v) = single(d, child, "\"plain\" or \"auto\"") {
                    build.progress = v;
                }
            }
            "log-dir" => {
                let mut l = Reader::in_block(d, child, &["build"]);
                build.log_dir = l.arg(d, "an absolute path");
                build.log_fallback = l.prop(d, "fallback");
                l.finish(d, "one argument: the log directory");
            }
            "min-free" => {
                let mut m = Reader::in_block(d, child, &["build"]);
                build.min_free_disk = m.prop(d, "disk");
                build.min_free_memory = m.prop(d, "memory");
                if !child.entries().iter().any(|e| e.name().is_some()) {
                    d.report(
                        Problem::MissingProperty {
                            node: "min-free".into(),
                            property: "disk",
                        },
                        name_span(child),
                    );
                }
                m.finish(d, "no arguments, only disk= and memory=");
            }
            "ignored" => build
                .ignored
                .extend(list(d, child, "patterns such as \"vendor/\"")),
            "arg" => vars_node(d, child, &mut args),
            "docker" => {
                if let Some(v) = single(d, child, "\"docker\" or \"podman\"") {
                    build.docker = v;
                }
            }
            "keep" => {
                if let Some(v) = single(d, child, "how many images and logs to keep, such as 5") {
                    build.keep = v;
                }
            }
            _ => unknown_node(d, child, "`build`", BUILD_NODES),
        }
    }
    r.finish(d, "no arguments");
    build.arg = args.vars;
    build
}

const CACHE_NODES: &[&str] = &["first-build", "rebuild", "skip-unchanged", "prune-below"];

fn decode_cache(d: &mut Diagnostics, node: &KdlNode) -> Cache {
    let mut r = Reader::new(d, node);
    let mut cache = Cache::default();
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if CACHE_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        match key {
            "first-build" => {
                if let Some(v) = single(d, child, "\"no-cache\" or \"cached\"") {
                    cache.first_build = v;
                }
            }
            "rebuild" => {
                if let Some(v) = single(d, child, "\"cached\" or \"no-cache\"") {
                    cache.rebuild = v;
                }
            }
            "skip-unchanged" => {
                if let Some(v) = single(d, child, "#true or #false") {
                    cache.skip_unchanged = v;
                }
            }
            "prune-below" => cache.prune_below = single(d, child, "a size such as \"10G\""),
            _ => unknown_node(d, child, "`cache`", CACHE_NODES),
        }
    }
    r.finish(d, "no arguments");
    cache
}

const SYMLINKS_NODES: &[&str] = &["link"];

fn decode_symlinks(d: &mut Diagnostics, node: &KdlNode) -> Option<Symlinks> {
    let mut r = Reader::in_block(d, node, &[]);
    let from = r.required_prop(d, "from");
    let mut links = Vec::new();
    for child in r.children() {
        match child.name().value() {
            "link" => {
                let mut l = Reader::in_block(d, child, &["symlinks"]);
                let path = l.arg(d, "a path relative to the root");
                let missing = l.prop(d, "missing");
                l.finish(d, "one argument: the path");
                if let Some(path) = path {
                    links.push(Link {
                        path,
                        missing: missing.unwrap_or_else(|| Spanned::unspanned(Missing::Fail)),
                    });
                }
            }
            _ => unknown_node(d, child, "`symlinks`", SYMLINKS_NODES),
        }
    }
    r.finish(d, "no arguments, only from=");
    from.map(|from| Symlinks { from, link: links })
}

const TIMEOUT_NODES: &[&str] = &["start", "stop", "reload", "pull", "up"];

fn decode_timeouts(d: &mut Diagnostics, node: &KdlNode) -> Timeouts {
    let mut r = Reader::new(d, node);
    let mut timeouts = Timeouts::default();
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if TIMEOUT_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        let what = "a duration such as \"2m\"";
        match key {
            "start" => timeouts.start = single(d, child, what),
            "stop" => {
                let mut s = Reader::in_block(d, child, &["timeouts"]);
                if let Some(stop) = s.arg(d, what) {
                    timeouts.stop = stop;
                }
                timeouts.containers = s.prop(d, "containers");
                s.finish(d, "one argument: the stop timeout");
            }
            "reload" => {
                if let Some(v) = single(d, child, what) {
                    timeouts.reload = v;
                }
            }
            "pull" => {
                if let Some(v) = single(d, child, what) {
                    timeouts.pull = v;
                }
            }
            "up" => {
                if let Some(v) = single(d, child, what) {
                    timeouts.up = v;
                }
            }
            _ => unknown_node(d, child, "`timeouts`", TIMEOUT_NODES),
        }
    }
    r.finish(d, "no arguments");
    timeouts
}

const HEALTH_NODES: &[&str] = &["running", "http", "timeout", "on-failure", "every"];

fn decode_health(d: &mut Diagnostics, node: &KdlNode) -> Health {
    let mut r = Reader::new(d, node);
    let mut health = Health {
        running: Vec::new(),
        http: Vec::new(),
        timeout: crate::model::default_health_timeout(),
        interval: crate::model::default_health_interval(),
        on_failure: Spanned::default(),
        every: None,
        restarts: Spanned::unspanned(3),
        within: Spanned::unspanned(Duration::from_secs(3600)),
    };
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if matches!(key, "timeout" | "on-failure" | "every") && !seen.first(d, child) {
            continue;
        }
        match key {
            "running" => {
                let mut n = Reader::new(d, child);
                let names: Vec<&KdlEntry> = n.positional().collect();
                if names.is_empty() {
                    n.args::<Name>(d, "service names");
                }
                n.args_taken = usize::MAX;
                for entry in names {
                    match (entry.value(), convert::<Name>(d, entry)) {
                        (_, Some(name)) => health.running.push(name),
                        (KdlValue::String(raw), None) => health
                            .running
                            .push(Spanned::new(Name::recovered(raw), value_span(entry))),
                        _ => {}
                    }
                }
                n.finish(d, "service names");
            }
            "http" => {
                let mut h = Reader::in_block(d, child, &["health"]);
                let url = h.arg(d, "a URL");
                let status = h.prop(d, "status");
                h.finish(d, "one argument: the URL");
                if let Some(url) = url {
                    health.http.push(HttpCheck {
                        url,
                        status: status.unwrap_or_else(|| Spanned::unspanned(200)),
                    });
                }
            }
            "timeout" => {
                let mut t = Reader::in_block(d, child, &["health"]);
                if let Some(timeout) = t.arg(d, "a duration such as \"5m\"") {
                    health.timeout = timeout;
                }
                if let Some(interval) = t.prop(d, "interval") {
                    health.interval = interval;
                }
                t.finish(d, "one argument: the time the checks may take");
            }
            "on-failure" => {
                if let Some(v) = single(d, child, "\"down\", \"keep\" or \"rollback\"") {
                    health.on_failure = v;
                }
            }
            "every" => {
                let mut e = Reader::in_block(d, child, &["health"]);
                health.every = e.arg(d, "a duration such as \"5m\"");
                if let Some(restarts) = e.prop(d, "restarts") {
                    health.restarts = restarts;
                }
                if let Some(within) = e.prop(d, "within") {
                    health.within = within;
                }
                e.finish(d, "one argument: how often the monitor checks");
            }
            _ => unknown_node(d, child, "`health`", HEALTH_NODES),
        }
    }
    r.finish(d, "no arguments");
    health
}

const HOST_NODES: &[&str] = &[
    "os",
    "packages",
    "repo",
    "retry",
    "docker-wait",
    "env-file",
    "log",
    "gzip",
];

fn decode_host(d: &mut Diagnostics, node: &KdlNode) -> Host {
    let mut r = Reader::new(d, node);
    let mut host = Host {
        os: Spanned::unspanned(HostOs::default()),
        packages: Vec::new(),
        repo: None,
        retry: Retry::default(),
        docker_wait: Spanned::unspanned(Duration::from_secs(120)),
        env_file: None,
        log: Spanned::unspanned("/var/log/user-data.log".parse().expect("valid")),
        gzip: Spanned::unspanned(true),
        span: name_span(node),
    };
    let mut seen = Seen::default();
    for child in r.children() {
        let key = child.name().value();
        if key != "packages" && HOST_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        match key {
            "os" => {
                if let Some(v) = single(d, child, "\"al2023\", \"ubuntu\" or \"debian\"") {
                    host.os = v;
                }
            }
            "packages" => host.packages.extend(list(d, child, "package names")),
            "repo" => {
                let mut p = Reader::in_block(d, child, &["host"]);
                let url = p.arg(d, "the repository's URL");
                let branch = p.prop(d, "branch");
                let token = secret_prop(d, &mut p, "token", "the repository token");
                p.finish(d, "one argument: the URL");
                if let Some(url) = url {
                    host.repo = Some(Repo {
                        url,
                        branch: branch.unwrap_or_else(|| Spanned::unspanned("main".parse().expect("valid"))),
                        token,
                    });
                }
            }
            "retry" => {
                let mut p = Reader::in_block(d, child, &["host"]);
                if let Some(v) = p.prop(d, "attempts") {
                    host.retry.attempts = v;
                }
                if let Some(v) = p.prop(d, "delay") {
                    host.retry.delay = v;
                }
                if let Some(v) = p.prop::<Backoff>(d, "backoff") {
                    host.retry.backoff = v;
                }
                p.finish(d, "no arguments, only attempts=, delay= and backoff=");
            }
            "docker-wait" => {
                if let Some(v) = single(d, child, "a duration such as \"120s\"") {
                    host.docker_wait = v;
                }
            }
            "env-file" => {
                let mut p = Reader::in_block(d, child, &["host"]);
                host.env_file = if p
                    .node
                    .entries()
                    .iter()
                    .any(|e| e.name().is_some_and(|n| n.value() == "from"))
                {
                    secret_prop(d, &mut p, "from", "the env-file")
                } else {
                    p.required_prop::<SsmRef>(d, "from")
                };
                p.finish(d, "no arguments, only from=");
            }
            "log" => {
                if let Some(v) = single(d, child, "an absolute path") {
                    host.log = v;
                }
            }
            "gzip" => {
                if let Some(v) = single(d, child, "#true or #false") {
                    host.gzip = v;
                }
            }
            _ => unknown_node(d, child, "`host`", HOST_NODES),
        }
    }
    r.finish(d, "no arguments");
    host
}

/// A property that must name an SSM parameter. A literal value there is most
/// likely the secret itself, so it is reported as one rather than as bad syntax.
fn secret_prop(
    d: &mut Diagnostics,
    r: &mut Reader,
    name: &'static str,
    what: &'static str,
) -> Option<Spanned<SsmRef>> {
    let raw = r.prop::<Text>(d, name)?;
    ssm_or_secret(d, raw, format!("{what} `{name}=`"))
}

/// A node whose one argument must name an SSM parameter, as `secret_prop`.
fn secret_arg(d: &mut Diagnostics, node: &KdlNode, what: &'static str) -> Option<Spanned<SsmRef>> {
    let raw = single::<Text>(d, node, what)?;
    ssm_or_secret(d, raw, format!("{what} `{}`", node.name().value()))
}

fn ssm_or_secret(d: &mut Diagnostics, raw: Spanned<Text>, what: String) -> Option<Spanned<SsmRef>> {
    if raw.as_str().starts_with("ssm:") {
        match SsmRef::from_str(raw.as_str()) {
            Ok(reference) => Some(Spanned::new(reference, raw.span)),
            Err(problem) => {
                d.report(problem, raw.span);
                None
            }
        }
    } else {
        d.report(Problem::LiteralSecret { what }, raw.span);
        None
    }
}

const CLOUDWATCH_NODES: &[&str] = &["log-group", "file", "metrics"];

fn decode_cloudwatch(d: &mut Diagnostics, node: &KdlNode) -> Option<Cloudwatch> {
    let mut r = Reader::new(d, node);
    let mut log_group: Option<(Spanned<LogGroup>, Option<Spanned<i64>>)> = None;
    let mut files = Vec::new();
    let mut metrics = None;
    let mut seen = Seen::default();
    let mut group_written = false;
    for child in r.children() {
        let key = child.name().value();
        if key != "file" && CLOUDWATCH_NODES.contains(&key) && !seen.first(d, child) {
            continue;
        }
        match key {
            "log-group" => {
                group_written = true;
                let mut g = Reader::in_block(d, child, &["cloudwatch"]);
                let group = g.arg(d, "the log group name");
                let retention = g.prop(d, "retention-days");
                g.finish(d, "one argument: the log group name");
                log_group = group.map(|group| (group, retention));
            }
            "file" => {
                let mut f = Reader::in_block(d, child, &["cloudwatch"]);
                let path = f.arg(d, "an absolute path");
                let stream = f.prop(d, "stream");
                f.finish(d, "one argument: the file's path");
                if let Some(path) = path {
                    files.push(LogFile { path, stream });
                }
            }
            "metrics" => metrics = Some(decode_metrics(d, child)),
            _ => unknown_node(d, child, "`cloudwatch`", CLOUDWATCH_NODES),
        }
    }
    r.finish(d, "no arguments");
    if !group_written {
        d.report(
            Problem::MissingNode {
                name: "log-group",
                parent: "`cloudwatch`",
            },
            name_span(node),
        );
    }
    let (log_group, retention_days) = log_group?;
    Some(Cloudwatch {
        log_group,
        retention_days,
        file: files,
        metrics,
    })
}

const METRICS_NODES: &[&str] = &["memory", "disk"];

fn decode_metrics(d: &mut Diagnostics, node: &KdlNode) -> Metrics {
    let mut r = Reader::in_block(d, node, &["cloudwatch"]);
    let mut metrics = Metrics {
        interval: Spanned::unspanned(Duration::from_secs(60)),
        memory: false,
        disk: Vec::new(),
        span: name_span(node),
    };
    if let Some(interval) = r.prop(d, "interval") {
        metrics.interval = interval;
    }
    let mut seen = Seen::default();
    for child in r.children() {
        match child.name().value() {
            "memory" => {
                if seen.first(d, child) {
                    Reader::new(d, child).finish(d, "no arguments");
                    metrics.memory = true;
                }
            }
            "disk" => metrics.disk.extend(list(d, child, "mount points such as \"/\"")),
            _ => unknown_node(d, child, "`metrics`", METRICS_NODES),
        }
    }
    r.finish(d, "no arguments, only interval=");
    metrics
}

const NOTIFY_NODES: &[&str] = &["sns", "webhook"];

fn decode_notify(d: &mut Diagnostics, node: &KdlNode) -> Notify {
    let mut r = Reader::new(d, node);
    let mut notify = Notify {
        sns: Vec::new(),
        webhook: Vec::new(),
        span: name_span(node),
        refused: false,
    };
    for child in r.children() {
        let accepted = match child.name().value() {
            "sns" => single(d, child, "an SNS topic's ARN").map(|t| notify.sns.push(t)),
            "webhook" => secret_arg(d, child, "the SSM parameter holding the webhook URL")
                .map(|w| notify.webhook.push(w)),
            _ => {
                unknown_node(d, child, "`notify`", NOTIFY_NODES);
                Some(())
            }
        };
        notify.refused |= accepted.is_none();
    }
    r.finish(d, "no arguments");
    notify
}

fn decode_registry(d: &mut Diagnostics, node: &KdlNode) -> Option<Registry> {
    let mut r = Reader::in_block(d, node, &[]);
    let host = r.arg(d, "the registry's host name");
    let ecr = r.prop(d, "ecr");
    let user = r.prop(d, "user");
    let password = secret_prop(d, &mut r, "password", "the registry password");
    r.finish(d, "one argument: the registry's host name");
    Some(Registry {
        host: host?,
        ecr: ecr.unwrap_or_default(),
        user,
        password,
        span: name_span(node),
    })
}

fn decode_allow(d: &mut Diagnostics, node: &KdlNode) -> Option<Allow> {
    let mut r = Reader::in_block(d, node, &[]);
    let name = r.arg::<Text>(d, "the lint to allow");
    let reason = r.required_prop::<Text>(d, "reason");
    r.finish(d, "one argument: the lint");
    let name = name?;
    let lint = match Lint::from_str(name.as_str()) {
        Ok(lint) => Spanned::new(lint, name.span),
        Err(_) => {
            let problem = if ERROR_CHECKS.contains(&name.as_str()) {
                Problem::AllowAnError {
                    name: name.to_string(),
                }
            } else {
                Problem::AllowNotALint {
                    name: name.to_string(),
                    suggestion: closest(name.as_str(), Lint::WORDS.iter().chain(ERROR_CHECKS).copied()),
                }
            };
            d.report(problem, name.span);
            return None;
        }
    };
    Some(Allow {
        lint,
        reason: reason?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_list_is_a_block() {
        // Only declarations start a line, so this test's own text is not counted.
        let declared = include_str!("decode.rs")
            .lines()
            .filter(|line| line.starts_with("const ") && line.contains("_NODES: &[&str]"))
            .count();
        assert_eq!(declared, BLOCKS.len(), "every `*_NODES` list belongs in BLOCKS");
    }

    #[test]
    fn blocks_and_properties_are_nodes_of_a_block() {
        let nodes_of = |block: &[&str]| {
            BLOCKS
                .iter()
                .find(|(path, _)| *path == block)
                .map(|(_, nodes)| *nodes)
        };
        for (path, _) in BLOCKS.iter().chain(PROPERTIES) {
            if let Some((node, block)) = path.split_last() {
                assert!(
                    nodes_of(block).is_some_and(|nodes| nodes.contains(node)),
                    "{path:?} is not a node of a block"
                );
            }
        }
    }
}
