//! The command line: arguments, reading specs, printing diagnostics, exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{render_human, render_json};
use crate::Checked;

/// Exit statuses, the same for every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Success = 0,
    Differences = 1,
    Invalid = 2,
    Io = 3,
}

#[derive(Parser, Debug)]
#[command(name = "deployc", version, about = "Compile a Docker Compose deployment spec into the files that run it")]
pub struct Cli {
    /// Print only errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse, validate and lint specs; write nothing.
    #[command(after_help = "Examples:\n  deployc check\n  deployc check examples/*.kdl --deny-warnings\n  deployc check deploy.kdl --message-format json")]
    Check {
        /// Spec files (`-` reads standard input).
        #[arg(default_value = "deploy.kdl")]
        specs: Vec<PathBuf>,
        #[command(flatten)]
        diagnostics: DiagnosticArgs,
    },
    /// Compile specs and write their artifacts; only files that change are written.
    #[command(after_help = "Examples:\n  deployc render\n  deployc render examples/mcp-portal.kdl -o golden/mcp-portal")]
    Render {
        /// Spec files (`-` reads standard input).
        #[arg(default_value = "deploy.kdl")]
        specs: Vec<PathBuf>,
        /// Output folder. Default: `deploy/` next to the spec.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        #[command(flatten)]
        diagnostics: DiagnosticArgs,
    },
    /// Print the JSON Schema of the spec language.
    Schema,
}

#[derive(clap::Args, Debug)]
struct DiagnosticArgs {
    /// Treat warnings as errors.
    #[arg(long)]
    deny_warnings: bool,
    /// How diagnostics are printed: for people, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MessageFormat {
    Human,
    Json,
}

/// Runs deployc with the process's arguments and returns its exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { Exit::Invalid as i32 } else { 0 };
        }
    };
    run(cli) as i32
}

fn run(cli: Cli) -> Exit {
    match cli.command {
        Command::Check { specs, diagnostics } => check(&specs, &diagnostics, cli.quiet),
        Command::Render {
            specs,
            output,
            diagnostics,
        } => render(&specs, output.as_deref(), &diagnostics, cli.quiet),
        Command::Schema => {
            print!("{}", crate::schema());
            Exit::Success
        }
    }
}

/// Reads a spec file, or standard input for `-`.
fn read_spec(path: &std::path::Path) -> Result<(String, Vec<u8>), String> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        return Ok(("<stdin>".to_owned(), bytes));
    }
    let name = path.display().to_string();
    std::fs::read(path)
        .map(|bytes| (name.clone(), bytes))
        .map_err(|e| format!("cannot read `{name}`: {}", io_reason(&e)))
}

fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    // "No such file or directory (os error 2)" → "No such file or directory"
    text.split(" (os error").next().unwrap_or(&text).to_lowercase()
}

fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn print_error_line(message: &str) {
    let label = if stderr_color() { "\x1b[1;31merror\x1b[0m" } else { "error" };
    eprintln!("{label}: {message}");
}

/// Prints a spec's diagnostics and returns its exit status.
fn report(checked: &mut Checked, args: &DiagnosticArgs, quiet: bool, verb: &str, status_line: bool) -> Exit {
    if args.deny_warnings {
        checked.diagnostics.deny_warnings();
    }
    let color = stderr_color();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for diagnostic in checked.diagnostics.iter() {
        if quiet && !diagnostic.is_error() {
            continue;
        }
        match args.message_format {
            MessageFormat::Json => {
                let _ = writeln!(out, "{}", render_json(diagnostic, &checked.source));
            }
            MessageFormat::Human => eprintln!("{}", render_human(diagnostic, &checked.source, color)),
        }
    }
    if checked.diagnostics.dropped() > 0 && args.message_format == MessageFormat::Human {
        eprintln!(
            "note: {} more problems were found and not shown; fix these first\n",
            checked.diagnostics.dropped()
        );
    }
    let errors = checked.diagnostics.error_count();
    let warnings = checked.diagnostics.warning_count();
    let counted = count_phrase(errors, warnings);
    if errors > 0 {
        if args.message_format == MessageFormat::Human {
            print_error_line(&format!("could not {verb} `{}`: {counted}", checked.source.name));
        }
        Exit::Invalid
    } else {
        if status_line && !quiet && args.message_format == MessageFormat::Human {
            let status = if warnings > 0 { counted } else { "ok".to_owned() };
            eprintln!("{:>9} {}: {status}", past_tense(verb), checked.source.name);
        }
        Exit::Success
    }
}

fn past_tense(verb: &str) -> String {
    match verb {
        "check" => "checked".to_owned(),
        other => format!("{other}ed"),
    }
}

fn count_phrase(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

fn check(specs: &[PathBuf], args: &DiagnosticArgs, quiet: bool) -> Exit {
    let mut worst = Exit::Success;
    for path in specs {
        let exit = match read_spec(path) {
            Err(message) => {
                print_error_line(&message);
                Exit::Io
            }
            Ok((name, bytes)) => {
                let mut compiled = crate::compile(&name, &bytes);
                report(&mut compiled.checked, args, quiet, "check", true)
            }
        };
        worst = worst.max(exit);
    }
    worst
}

/// `deploy/` next to the spec, or in the current folder for standard input.
fn default_output(spec: &std::path::Path) -> PathBuf {
    if spec.as_os_str() == "-" {
        return PathBuf::from("deploy");
    }
    spec.parent().map_or_else(|| PathBuf::from("deploy"), |p| p.join("deploy"))
}

fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn render(specs: &[PathBuf], output: Option<&std::path::Path>, args: &DiagnosticArgs, quiet: bool) -> Exit {
    let mut worst = Exit::Success;
    for path in specs {
        let exit = render_one(path, output, args, quiet);
        worst = worst.max(exit);
    }
    worst
}

fn render_one(path: &std::path::Path, output: Option<&std::path::Path>, args: &DiagnosticArgs, quiet: bool) -> Exit {
    let (name, bytes) = match read_spec(path) {
        Ok(read) => read,
        Err(message) => {
            print_error_line(&message);
            return Exit::Io;
        }
    };
    let mut compiled = crate::compile(&name, &bytes);
    let exit = report(&mut compiled.checked, args, quiet, "render", false);
    let (Exit::Success, Some(artifacts)) = (exit, compiled.artifacts) else {
        return exit.max(Exit::Invalid);
    };
    let dir = output.map_or_else(|| default_output(path), std::path::Path::to_path_buf);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        print_error_line(&format!("cannot create `{}`: {}", dir.display(), io_reason(&e)));
        return Exit::Io;
    }
    for artifact in &artifacts {
        match crate::output::write_artifact(&dir, artifact) {
            Ok(status) => {
                if !quiet {
                    let mut line = format!(
                        "{:>9} {} ({})",
                        status.as_str(),
                        dir.join(&artifact.file).display(),
                        human_size(artifact.bytes.len())
                    );
                    if compiled.plan.as_ref().and_then(|p| p.files.user_data.as_ref()) == Some(&artifact.file) {
                        line.push_str(&format!(
                            ", {} of EC2's {} byte user-data limit",
                            artifact.bytes.len(),
                            crate::problem::USER_DATA_LIMIT
                        ));
                    }
                    eprintln!("{line}");
                }
            }
            Err(e) => {
                print_error_line(&format!(
                    "cannot write `{}`: {}",
                    dir.join(&artifact.file).display(),
                    io_reason(&e)
                ));
                return Exit::Io;
            }
        }
    }
    Exit::Success
}
