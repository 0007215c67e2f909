//! Fixed cases: the bugs the properties found, and the check of the unit
//! reader (`unit_file`) against systemd itself.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::injection::{self, Case, Field, Verdict};
use crate::unit_file;

/// The unit of an accepted case.
fn unit_of(case: &Case) -> String {
    match injection::compile_and_check(case, "/srv") {
        Ok(Verdict::Accepted(a)) => a.unit,
        Ok(Verdict::Rejected) => panic!("{case:?} is rejected"),
        Err(e) => panic!("{case:?}: {e}"),
    }
}

/// A description ending in a backslash ended its line with one, and systemd
/// joined the next line (`Documentation=`) onto the description.
#[test]
#[ignore = "needs systemd-analyze: run `make test`"]
fn a_description_ending_in_a_backslash_keeps_the_next_line() {
    for value in ["trailing\\", "two\\\\", "three\\\\\\", "\\", "a\\b\\"] {
        let case = Case {
            field: Field::Description,
            value: value.to_owned(),
        };
        let unit = unit_of(&case);
        let parsed = unit_file::parse(&unit).expect("the unit reads");
        assert_eq!(parsed.single("Unit", "Description").unwrap(), value, "{unit}");
        assert_eq!(
            parsed.single("Unit", "Documentation").unwrap(),
            "https://example.com/docs",
            "{unit}"
        );
        let verified = verify(&unit);
        assert_eq!(verified.description.as_deref(), Some(value), "{unit}");
        assert_eq!(verified.documentation, ["https://example.com/docs"], "{unit}");
    }
}

/// systemd ignores a `Documentation=` URL holding anything but ASCII, so a
/// docs URL with, say, an accented letter was silently dropped.
#[test]
#[ignore = "needs systemd-analyze: run `make test`"]
fn a_docs_url_with_non_ascii_characters_stays_in_the_unit() {
    for (value, uri) in [
        ("https://example.com/caf\u{e9}", "https://example.com/caf%C3%A9"),
        (
            "https://example.com/\u{65e5}?q=100%",
            "https://example.com/%E6%97%A5?q=100%",
        ),
        ("https://example.com/\u{200b}x", "https://example.com/%E2%80%8Bx"),
    ] {
        let case = Case {
            field: Field::Docs,
            value: value.to_owned(),
        };
        let unit = unit_of(&case);
        let parsed = unit_file::parse(&unit).expect("the unit reads");
        let documentation = unit_file::documentation(parsed.single("Unit", "Documentation").unwrap());
        assert_eq!(documentation.unwrap(), [uri], "{unit}");
        let verified = verify(&unit);
        assert!(verified.line_warnings.is_empty(), "{:?}", verified.line_warnings);
        assert_eq!(verified.documentation, [uri], "{unit}");
    }
}

/// `comment` keeps a value from ending a comment line; anywhere else (in a
/// double-quoted bash string, say) it escapes nothing. The user-data printed
/// the project name through it inside double quotes.
#[test]
fn comment_values_are_only_printed_on_comment_lines() {
    let templates = [
        include_str!("../../src/render/templates/unit.service.hbs"),
        include_str!("../../src/render/templates/build.sh.hbs"),
        include_str!("../../src/render/templates/user-data.sh.hbs"),
    ];
    for template in templates {
        for line in template.lines().filter(|l| l.contains("{{comment")) {
            assert!(line.trim_start().starts_with('#'), "{line}");
        }
    }
}

/// systemd drops a `Description=` holding a Unicode noncharacter (U+FFFF,
/// U+FDD0, …) as not UTF-8 clean, and will not load a unit whose
/// `Environment=` holds one; deployc accepted them as text.
#[test]
#[ignore = "needs systemd-analyze: run `make test`"]
fn a_noncharacter_is_refused_where_systemd_would_refuse_the_unit() {
    for value in ["a\u{ffff}", "\u{fdd0}b", "\u{10fffe}"] {
        for field in [Field::Description, Field::EnvValue] {
            let case = Case {
                field,
                value: value.to_owned(),
            };
            let (spec, at) = case.spec("/srv");
            let compiled = deployc::compile("deploy.kdl", spec.as_bytes());
            let codes: Vec<_> = compiled
                .checked
                .diagnostics
                .iter()
                .filter(|d| {
                    d.span
                        .range()
                        .is_some_and(|(o, l)| o >= at.start && o + l <= at.end)
                })
                .map(|d| d.problem.code())
                .collect();
            assert_eq!(codes, ["E0222"], "{case:?}");
        }
    }
    // What systemd does with one, which the unit reader reports too.
    let unit = "[Unit]\nDescription=a\u{ffff}\n[Service]\nType=oneshot\nExecStart=/bin/true\n";
    assert!(unit_file::parse(unit).is_err());
    let verified = verify(unit);
    assert!(
        verified
            .line_warnings
            .iter()
            .any(|w| w.contains("not UTF-8 clean")),
        "{:?}",
        verified.line_warnings
    );
}

fn verify(unit: &str) -> unit_file::Verified {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("app.service");
    std::fs::write(&path, unit).expect("writing the unit");
    unit_file::systemd_verify(&path)
}

/// The fields that reach the unit.
const UNIT_FIELDS: &[Field] = &[
    Field::Description,
    Field::Docs,
    Field::EnvValue,
    Field::Root,
    Field::ComposeFile,
    Field::EnvFile,
];

/// How many accepted cases are compared with systemd: each costs one run of
/// `systemd-analyze`, and the property runs the reader on thousands more.
const SYSTEMD_SAMPLE: usize = 24;

/// The reader agrees with `systemd-analyze verify` (its debug dump of the
/// loaded unit) on the description, documentation, environment and every
/// command line of units holding hostile values, and systemd warns about no
/// line of them.
#[test]
#[ignore = "needs systemd-analyze: run `make test`"]
fn the_unit_reader_agrees_with_systemd() {
    let mut runner = TestRunner::deterministic();
    let strategy = (proptest::sample::select(UNIT_FIELDS), injection::case());
    let mut compared = 0;
    let mut tried = 0;
    while compared < SYSTEMD_SAMPLE {
        tried += 1;
        assert!(tried < 5000, "too few accepted cases: {compared} of {tried}");
        let (field, case) = strategy.new_tree(&mut runner).expect("a case").current();
        let case = Case { field, ..case };
        let Ok(Verdict::Accepted(accepted)) = injection::compile_and_check(&case, "/srv") else {
            continue;
        };
        compared += 1;
        let unit = &accepted.unit;
        let parsed = unit_file::parse(unit).expect("the unit reads");
        let verified = verify(unit);
        assert!(
            verified.line_warnings.is_empty(),
            "{:?}\n{unit}",
            verified.line_warnings
        );
        let description = unit_file::text(parsed.single("Unit", "Description").unwrap()).unwrap();
        assert_eq!(verified.description, Some(description), "{unit}");
        let documentation =
            unit_file::documentation(parsed.single("Unit", "Documentation").unwrap()).unwrap();
        assert_eq!(verified.documentation, documentation, "{unit}");
        let environment: Vec<String> = parsed
            .values("Service", "Environment")
            .iter()
            .flat_map(|v| unit_file::environment(v).unwrap())
            .collect();
        assert_eq!(verified.environment, environment, "{unit}");
        let commands: Vec<Vec<String>> = parsed
            .entries
            .iter()
            .filter(|e| e.key.starts_with("Exec"))
            .map(|e| unit_file::exec(&e.value).unwrap())
            .collect();
        assert_eq!(verified.commands, commands, "{unit}");
    }
}
