//! The commented spec `deployc init` writes: the common nodes, as a user
//! starts from them, for a project named after the folder it is in.

/// The starter spec, in `starter.kdl`, with `{project}` for the project name.
const TEMPLATE: &str = include_str!("starter.kdl");

/// What `deployc init` writes for a spec in a folder named `folder`.
pub fn starter_spec(folder: Option<&str>) -> String {
    TEMPLATE.replace("{project}", &project_name(folder))
}

/// `folder` as a project name, which also names the unit, the compose
/// project and the images: lowercase letters and digits, runs of anything
/// else made one `-`, at most 64 characters. `app` when nothing is left.
fn project_name(folder: Option<&str>) -> String {
    let mut name = String::new();
    for c in folder.unwrap_or_default().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            name.push(c);
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    name.truncate(64);
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "app".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_named_after_the_folder() {
        for (folder, name) in [
            (Some("shop"), "shop"),
            (Some("My Shop.v2"), "my-shop-v2"),
            (Some("--Über__Shop--"), "ber-shop"),
            (Some("日本"), "app"),
            (None, "app"),
        ] {
            assert_eq!(project_name(folder), name, "{folder:?}");
        }
        assert_eq!(project_name(Some(&"a-".repeat(40))).len(), 63);
    }

    #[test]
    fn the_starter_compiles_without_a_diagnostic() {
        for folder in [None, Some("shop"), Some("My Shop.v2"), Some(&*"x1".repeat(40))] {
            let spec = starter_spec(folder);
            let compiled = crate::compile("deploy.kdl", spec.as_bytes());
            let codes: Vec<&str> = compiled
                .checked
                .diagnostics
                .iter()
                .map(|d| d.problem.code())
                .collect();
            assert!(codes.is_empty(), "{folder:?}: {codes:?}\n{spec}");
            assert!(compiled.artifacts.is_some());
        }
    }

    /// The spec with its commented-out nodes (`host`, `cloudwatch`, the HTTP check) in.
    fn uncommented(spec: &str) -> String {
        let mut in_block = false;
        let mut out = String::new();
        for line in spec.lines() {
            let uncomment = match line.trim_start().strip_prefix("// ") {
                Some(code) if code.ends_with(" {") => {
                    in_block = true;
                    true
                }
                Some("}") => std::mem::take(&mut in_block),
                Some(code) => in_block || code.starts_with("http "),
                None => false,
            };
            if uncomment {
                out.push_str(&line.replacen("// ", "", 1));
            } else {
                out.push_str(line);
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_commented_out_nodes_compile_too() {
        let uncommented = uncommented(&starter_spec(Some("shop")));
        assert!(uncommented.contains("\nhost {") && uncommented.contains("\n    http \""));
        let compiled = crate::compile("deploy.kdl", uncommented.as_bytes());
        let codes: Vec<&str> = compiled
            .checked
            .diagnostics
            .iter()
            .map(|d| d.problem.code())
            .collect();
        assert!(codes.is_empty(), "{codes:?}\n{uncommented}");
        let files: Vec<&str> = compiled
            .artifacts
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|a| a.file.as_str())
            .collect();
        assert!(
            files.contains(&"user-data.sh.gz") && files.contains(&"cloudwatch-agent.json"),
            "{files:?}"
        );
    }
}
