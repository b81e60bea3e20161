//! The `hoist` command line: parse the arguments, run one subcommand.

// On glibc the C `main` below is the entry, in place of std's start-up
// (`startup`): std gets the arguments from its own `.init_array` entry there.
#![cfg_attr(all(not(test), target_os = "linux", target_env = "gnu"), no_main)]

mod background;
mod backtrace;
mod cache;
mod commands;
mod coredump;
mod debuginfo;
mod entry;
mod identify;
mod image;
mod input;
mod key;
mod limits;
mod options;
mod output;
mod prefault;
mod profile;
mod size;
mod startup;
mod threads;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};

const EXAMPLES: &str = "\
Examples:
  hoist app.wasm arg1 arg2                 run a WASI program (the same as `hoist run`)
  hoist run --dir . --env KEY=VAL app.wasm   give it the current directory and a variable
  hoist run --invoke add math.wasm 1 2     call one export and print its results
  hoist compile app.wasm                   compile ahead of time, to app.hwasm
  hoist run -W help                        list wasm keys (also -S, -C, -O and -D help)
  hoist run -D debug-info app.wasm         file:line in trap backtraces (needs DWARF)

Options go before the module: everything after it goes to the guest.";

/// A standalone WebAssembly runtime.
#[derive(Parser)]
#[command(
    name = "hoist",
    version,
    about,
    max_term_width = 100,
    override_usage = "hoist [OPTIONS] <MODULE> [ARGS]...\n       hoist <COMMAND>",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(subcommand)]
    command: commands::Command,
}

/// The clap command, for completions.
pub fn cli_command() -> clap::Command {
    Cli::command()
}

/// Every subcommand name and alias, for `implicit_run`.
const SUBCOMMANDS: &[&str] = &[
    "run",
    "compile",
    "inspect",
    "objdump",
    "parse",
    "validate",
    "wast",
    "cache",
    "completion",
];

/// The process entry (C's `main`), in place of std's start-up: see
/// `startup`. A panic has printed its message by the time it is caught
/// here, and ends the process with std's status for it, 101.
#[cfg_attr(
    all(not(test), target_os = "linux", target_env = "gnu"),
    unsafe(export_name = "main")
)]
extern "C" fn c_main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    startup::prepare();
    let code = std::panic::catch_unwind(run).unwrap_or(ExitCode::from(101));
    // `exit`, like returning from std's `main`: flushes stdout, runs atexit.
    std::process::exit(startup::status(code))
}

/// Elsewhere (std needs its start-up to see the arguments), std's `main`.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn main() -> ExitCode {
    run()
}

// Where `c_main` is not the entry (test builds have the harness's `main`),
// this keeps it, and all it reaches, compiled and linted.
#[cfg(any(test, not(all(target_os = "linux", target_env = "gnu"))))]
const _: extern "C" fn(std::ffi::c_int, *const *const std::ffi::c_char) -> std::ffi::c_int = c_main;

fn run() -> ExitCode {
    let args = implicit_run(std::env::args_os().collect());
    let cli = match commands::run::RunArgs::plain(&args) {
        Some(run) => Cli {
            command: commands::Command::Run(run),
        },
        None => match parse(&args) {
            Ok(cli) => cli,
            Err(error) => return commands::usage_error(error),
        },
    };
    match cli.command.execute() {
        Ok(code) => code,
        Err(err) => commands::failure(&err),
    }
}

/// `args` as clap parses them.
fn parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    options::note_command_line(args);
    clap_parse(args)
}

/// [`parse`] without recording the command line's options (which is once
/// per process, and decides which hidden aliases clap is given).
fn clap_parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    let matches = command_for(args).try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// The clap command to parse `args` with: for `hoist run` and `hoist
/// compile` (unless help is asked for), only that subcommand, since
/// building all of them costs more than the rest of running a small
/// program; otherwise the whole tree.
fn command_for(args: &[OsString]) -> clap::Command {
    use clap::Args;
    let wants_help = args
        .iter()
        .any(|a| a == "-h" || a == "--help" || a == "help");
    let sub = match args.get(1).and_then(|a| a.to_str()) {
        _ if wants_help => None,
        Some("run") => Some(commands::run::RunArgs::augment_args(clap::Command::new(
            "run",
        ))),
        Some("compile") => Some(commands::compile::CompileArgs::augment_args(
            clap::Command::new("compile"),
        )),
        _ => None,
    };
    match sub {
        Some(sub) => clap::Command::new("hoist")
            .max_term_width(100)
            .subcommand_required(true)
            .subcommand(sub),
        None => Cli::command(),
    }
}

/// `hoist app.wasm ARGS` is `hoist run app.wasm ARGS`, as in wasmtime and
/// WasmEdge; so is `hoist --dir . app.wasm` (options of `run` first). A
/// first argument that names neither a subcommand nor a module is left to
/// clap, which says so and suggests a subcommand. WasmEdge's `-v` alone is
/// `--version`.
fn implicit_run(mut args: Vec<OsString>) -> Vec<OsString> {
    let Some(first) = args.get(1).and_then(|a| a.to_str()).map(str::to_string) else {
        // Not UTF-8: no subcommand is spelled so; a file may be.
        if args.len() > 1 {
            args.insert(1, "run".into());
        }
        return args;
    };
    // A fixed list: building the clap command just to ask costs more than
    // the rest of a small run (a test keeps the list in step).
    let subcommand = SUBCOMMANDS.contains(&first.as_str()) || first == "help";
    if subcommand || matches!(first.as_str(), "-h" | "--help" | "-V" | "--version") {
        return args;
    }
    if first == "-v" && args.len() == 2 {
        args[1] = "--version".into();
        return args;
    }
    let path = std::path::Path::new(&first);
    let module_like = path.exists()
        || first.contains('/')
        || matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("wasm" | "wat" | "hwasm" | "cwasm")
        );
    if first.starts_with('-') || module_like {
        args.insert(1, "run".into());
    }
    args
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    /// `RunArgs::plain` takes exactly what clap would parse the same way.
    #[test]
    fn plain_runs_parse_as_clap_parses_them() {
        let lines: &[&[&str]] = &[
            &["hoist", "app.wasm"],
            &["hoist", "run", "app.wasm"],
            &[
                "hoist", "app.wasm", "a", "-b", "--c", "d", "--dir", ".", "-W", "x",
            ],
            &["hoist", "run", "./prog", "--", "x", "-"],
            &["hoist", "run", "run", "compile"],
            &["hoist", "run", "dir/app.hwasm", "--invoke", "f"],
        ];
        let mut lines: Vec<Vec<OsString>> = lines
            .iter()
            .map(|line| line.iter().map(OsString::from).collect())
            .collect();
        // A file name that is not UTF-8.
        lines.push(vec![
            "hoist".into(),
            "run".into(),
            OsString::from_vec(b"a\xffb.wasm".to_vec()),
        ]);
        for line in lines {
            let args = super::implicit_run(line.clone());
            let plain = super::commands::run::RunArgs::plain(&args)
                .unwrap_or_else(|| panic!("{line:?} is a plain run"));
            let Ok(super::Cli {
                command: super::commands::Command::Run(parsed),
            }) = super::clap_parse(&args)
            else {
                panic!("clap does not parse {line:?} as a run");
            };
            assert_eq!(format!("{plain:?}"), format!("{parsed:?}"), "{line:?}");
        }
    }

    /// Options, stdin and help are clap's.
    #[test]
    fn anything_but_a_plain_run_is_left_to_clap() {
        let lines: &[&[&str]] = &[
            &["hoist", "run", "--dir", ".", "app.wasm"],
            &["hoist", "run", "-", "x"],
            &["hoist", "run", "app.wasm", "--help"],
            &["hoist", "run", "app.wasm", "-V"],
            &["hoist", "run", "help"],
            &["hoist", "run", ""],
            &["hoist", "run"],
            &["hoist", "compile", "app.wasm"],
            &["hoist", "--version"],
        ];
        for line in lines {
            let args: Vec<OsString> = line.iter().map(OsString::from).collect();
            assert!(
                super::commands::run::RunArgs::plain(&super::implicit_run(args)).is_none(),
                "{line:?}"
            );
        }
    }

    #[test]
    fn the_subcommand_list_is_complete() {
        use clap::CommandFactory;
        let mut names: Vec<String> = super::Cli::command()
            .get_subcommands()
            .flat_map(|s| {
                std::iter::once(s.get_name().to_string())
                    .chain(s.get_all_aliases().map(str::to_string))
            })
            .collect();
        names.sort();
        let mut listed: Vec<String> = super::SUBCOMMANDS.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(names, listed);
    }

    use super::*;

    fn implicit(args: &[&str]) -> Vec<String> {
        implicit_run(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn a_module_first_means_run() {
        assert_eq!(
            implicit(&["hoist", "app.wasm", "x"]),
            ["hoist", "run", "app.wasm", "x"]
        );
        assert_eq!(
            implicit(&["hoist", "--dir", ".", "app.wasm"]),
            ["hoist", "run", "--dir", ".", "app.wasm"]
        );
        assert_eq!(implicit(&["hoist", "-", "x"]), ["hoist", "run", "-", "x"]);
        assert_eq!(
            implicit(&["hoist", "compile", "a.wasm"]),
            ["hoist", "compile", "a.wasm"]
        );
        assert_eq!(implicit(&["hoist", "--help"]), ["hoist", "--help"]);
        assert_eq!(implicit(&["hoist", "-v"]), ["hoist", "--version"]);
        // A typo of a subcommand stays a typo.
        assert_eq!(implicit(&["hoist", "rnu", "x"]), ["hoist", "rnu", "x"]);
    }
}
