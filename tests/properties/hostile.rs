//! Hostile strings: pieces that mean something to bash, systemd, JSON, KDL or
//! a heredoc, mixed with arbitrary characters.
//!
//! The payloads that would run a command all `touch CANARY` (relative: the
//! checks run in a fresh folder and look for the file afterwards).

use proptest::prelude::*;

/// What a test looks for after running a script with these strings in it.
pub const CANARY: &str = "CANARY";

/// Pieces with a meaning somewhere in the artifacts.
const PIECES: &[&str] = &[
    // bash
    "$(touch CANARY)",
    "`touch CANARY`",
    "${IFS}",
    "${x}",
    "$x",
    "$$",
    "'",
    "'\\''",
    "\"",
    ";touch CANARY;",
    " && touch CANARY",
    "|| touch CANARY",
    "| tee CANARY",
    "> CANARY",
    "<(touch CANARY)",
    "$'\\x41'",
    "!!",
    "~root",
    "*",
    "?",
    "[a]",
    "{a,b}",
    "#",
    "=",
    "-",
    "--",
    "-rf",
    "--build-arg",
    // heredoc terminators of the user-data, and common ones
    "DEPLOYC_UNIT",
    "DEPLOYC_BUILD_SCRIPT",
    "DEPLOYC_CLOUDWATCH",
    "EOF",
    "\nDEPLOYC_UNIT\n",
    "\nEOF\n",
    // systemd
    "%n",
    "%%",
    "%",
    "%i%",
    "\\",
    "\\\\",
    "\\x41",
    "\\n",
    "\\;",
    " ; ",
    "\n[Service]\nExecStart=/bin/touch /tmp/CANARY\n",
    "\nUser=root",
    "\\\nUser=root",
    "$HOME",
    "${HOME}",
    // JSON and KDL
    "\"}",
    "{\"a\":1}",
    "\\u0000",
    "/*",
    "//",
    // whitespace and controls
    " ",
    "\t",
    "\n",
    "\r",
    "\r\n",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{202e}",
    "\u{feff}",
    "\u{fdd0}",
    "\u{ffff}",
    "\u{10fffe}",
    // non-ASCII
    "é",
    "日本",
    "🦀",
    // URL and path shapes
    "http://localhost/",
    "/opt/app",
    "../",
    "./",
    "a/b",
    "@",
    ":",
    "ssm:/x",
];

/// One piece: a listed one, or a short run of arbitrary characters.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(PIECES).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9._/-]{1,6}",
        1 => prop::collection::vec(any::<char>(), 1..4).prop_map(|cs| cs.into_iter().collect()),
    ]
}

/// A hostile string of a few pieces.
pub fn string() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 1..5).prop_map(|pieces| pieces.concat())
}

/// A string made only of characters that valid paths may hold, with the
/// shapes paths get wrong (`-` first, `..`, `//`, `.`).
pub fn path_like() -> impl Strategy<Value = String> {
    "(-|\\.|\\.\\.|@|\\+)?[A-Za-z0-9._@+/-]{0,12}"
}
