//! `deployc schema` and the committed `schema/deployc.schema.json`.

use serde_json::Value;

use crate::support::{Deployc, repo_file};

const COMMITTED: &str = "schema/deployc.schema.json";

fn printed_schema() -> String {
    let output = Deployc::new().arg("schema").run();
    output.status(0).stderr_empty();
    output.stdout.clone()
}

fn schema() -> Value {
    serde_json::from_str(&printed_schema()).expect("the schema is JSON")
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let printed = printed_schema();
    let committed = std::fs::read_to_string(repo_file(COMMITTED)).unwrap_or_default();
    assert!(
        committed == printed,
        "{COMMITTED} is out of date with the spec model; regenerate it with\n\n    \
         cargo run -q -- schema > {COMMITTED}\n\nand commit the result"
    );
}

#[test]
fn the_binary_prints_what_the_library_returns() {
    assert_eq!(printed_schema(), deployc::schema());
}

#[test]
fn the_schema_describes_the_spec() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["title"], "deployc spec");
    // Its fields are not KDL's, so it sends KDL users to the language reference.
    let description = schema["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("JSON spec") && description.contains("`deployc language`"),
        "{description}"
    );
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false, "unknown fields are errors");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        required.contains(&"version") && required.contains(&"project"),
        "{required:?}"
    );
    let properties = schema["properties"].as_object().unwrap();
    for node in [
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
        "allow",
    ] {
        assert!(properties.contains_key(node), "no top-level `{node}`");
    }
}

/// A node's description, directly or through `$ref`, `anyOf`, `oneOf` or `items`.
fn description<'a>(root: &'a Value, node: &'a Value) -> Option<&'a str> {
    if let Some(d) = node
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        return Some(d);
    }
    if let Some(target) = node.get("$ref").and_then(Value::as_str) {
        return description(root, resolve(root, target));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(found) = node
            .get(key)
            .and_then(Value::as_array)
            .and_then(|alternatives| alternatives.iter().find_map(|a| description(root, a)))
        {
            return Some(found);
        }
    }
    node.get("items").and_then(|items| description(root, items))
}

fn resolve<'a>(root: &'a Value, reference: &str) -> &'a Value {
    let pointer = reference.strip_prefix('#').expect("a local reference");
    root.pointer(pointer)
        .unwrap_or_else(|| panic!("dangling reference {reference}"))
}

#[test]
fn every_property_has_a_description() {
    let schema = schema();
    assert!(
        description(&schema, &schema["properties"]["project"]).is_some_and(|d| !d.is_empty()),
        "`project` has no description"
    );
    let mut objects: Vec<(String, &Value)> = vec![("the spec".to_owned(), &schema)];
    for (name, definition) in schema["$defs"].as_object().unwrap() {
        assert!(
            description(&schema, definition).is_some(),
            "$defs/{name} has no description"
        );
        objects.push((name.clone(), definition));
    }
    let mut missing = Vec::new();
    for (name, object) in objects {
        for (property, value) in object
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if description(&schema, value).is_none() {
                missing.push(format!("{name}.{property}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:?}"
    );
}

#[test]
fn keywords_are_listed_with_their_meaning() {
    let schema = schema();
    let order = &schema["$defs"]["Order"]["oneOf"];
    let words: Vec<&str> = order
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["const"].as_str().unwrap())
        .collect();
    assert_eq!(words, ["sequential", "parallel"]);
    assert!(
        order
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["description"].is_string())
    );
}

// ---------------------------------------------------------------------------
// A small validator for the JSON Schema keywords `deployc schema` uses, so the
// fixtures can be checked against it without another crate. `pattern` and
// `format` are not checked (no regex engine); everything else is.

fn validate(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        validate(root, resolve(root, target), value, path, errors);
    }
    if let Some(expected) = schema.get("type") {
        let types: Vec<&str> = match expected {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            other => panic!("unknown type {other}"),
        });
        if !ok {
            errors.push(format!("{path}: {value} is not of type {types:?}"));
            return;
        }
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        errors.push(format!("{path}: {value} is not {constant}"));
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errors.push(format!("{path}: {n} < {min}"));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errors.push(format!("{path}: {n} > {max}"));
        }
    }
    let passes = |alternative: &Value| {
        let mut inner = Vec::new();
        validate(root, alternative, value, path, &mut inner);
        inner.is_empty()
    };
    if let Some(any) = schema.get("anyOf").and_then(Value::as_array)
        && !any.iter().any(passes)
    {
        errors.push(format!("{path}: {value} matches no alternative of anyOf"));
    }
    if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one.iter().filter(|a| passes(a)).count();
        if matching != 1 {
            errors.push(format!(
                "{path}: {value} matches {matching} alternatives of oneOf"
            ));
        }
    }
    if let Some(items) = schema.get("items")
        && let Some(array) = value.as_array()
    {
        for (i, item) in array.iter().enumerate() {
            validate(root, items, item, &format!("{path}[{i}]"), errors);
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                errors.push(format!("{path}: missing required `{key}`"));
            }
        }
        for (key, item) in object {
            let item_path = format!("{path}.{key}");
            match (
                properties.and_then(|p| p.get(key)),
                schema.get("additionalProperties"),
            ) {
                (Some(property), _) => validate(root, property, item, &item_path, errors),
                (None, Some(Value::Bool(false))) => errors.push(format!("{path}: unknown property `{key}`")),
                (None, Some(additional)) if additional.is_object() => {
                    validate(root, additional, item, &item_path, errors)
                }
                (None, _) => {}
            }
        }
    }
}

fn schema_errors(value: &Value) -> Vec<String> {
    let schema = schema();
    let mut errors = Vec::new();
    validate(&schema, &schema, value, "$", &mut errors);
    errors
}

#[test]
fn the_json_fixtures_validate_against_the_schema() {
    for fixture in ["tests/fixtures/every-node.json", "tests/fixtures/valid.json"] {
        let text = std::fs::read_to_string(repo_file(fixture)).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let errors = schema_errors(&value);
        assert!(
            errors.is_empty(),
            "{fixture} does not match the schema: {errors:#?}"
        );
    }
}

#[test]
fn the_models_json_form_validates_against_the_schema() {
    let bytes = std::fs::read(repo_file("tests/fixtures/every-node.kdl")).unwrap();
    let spec = deployc::check("every-node.kdl", &bytes)
        .spec
        .expect("a valid spec");
    let errors = schema_errors(&serde_json::to_value(&spec).unwrap());
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_schema_refuses_what_check_refuses() {
    let text = std::fs::read_to_string(repo_file("tests/fixtures/every-node.json")).unwrap();
    let good: Value = serde_json::from_str(&text).unwrap();

    let mut unknown_field = good.clone();
    unknown_field["servce"] = Value::Array(vec![]);
    let mut bad_keyword = good.clone();
    bad_keyword["build"]["order"] = "paralel".into();
    let mut missing_project = good.clone();
    missing_project.as_object_mut().unwrap().remove("project");
    let mut wrong_type = good;
    wrong_type["service"][0]["timeout"] = 90.into();

    for (what, value) in [
        ("an unknown field", unknown_field),
        ("a bad keyword", bad_keyword),
        ("a missing project", missing_project),
        ("a number for a duration", wrong_type),
    ] {
        assert!(!schema_errors(&value).is_empty(), "the schema accepts {what}");
        let checked = deployc::check("x.json", value.to_string().as_bytes());
        assert!(checked.diagnostics.has_errors(), "check accepts {what}");
    }
}
