//! The command-line reference page, generated from the clap definitions
//! when the site is generated, so it cannot drift from the binary.

use std::fmt::Write as _;

use clap::CommandFactory;

use crate::cli::Cli;
use crate::site::escape::markdown;

/// Where the page goes, under `src/`.
pub const PATH: &str = "reference/cli.md";

/// The page: global options, then every command with its flags.
pub fn page() -> String {
    let cli = Cli::command();
    let mut out = String::from("# Command-line reference\n\n");
    out.push_str("Generated from the binary's own argument definitions.\n\n");
    out.push_str("Exit codes: 0 success, 1 a step failed, 2 a usage error (unknown asset, bad partition key, bad flags, an unwritable output folder), 130 interrupted with Ctrl-C.\n\n");
    out.push_str("## Options of every command\n\n");
    arguments(&cli, true, &mut out);
    for sub in cli.get_subcommands() {
        command(sub, sub.get_name(), &mut out);
    }
    out
}

fn command(cmd: &clap::Command, name: &str, out: &mut String) {
    let _ = writeln!(out, "## `{name}`\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(out, "{}\n", markdown(&about.to_string()));
    }
    arguments(cmd, false, out);
    for sub in cmd.get_subcommands() {
        command(sub, &format!("{name} {}", sub.get_name()), out);
    }
}

fn arguments(cmd: &clap::Command, global: bool, out: &mut String) {
    let args: Vec<&clap::Arg> = cmd
        .get_arguments()
        .filter(|a| {
            a.is_global_set() == global && !["help", "version"].contains(&a.get_id().as_str())
        })
        .collect();
    if args.is_empty() {
        return;
    }
    out.push_str("| argument | default | what it does |\n| --- | --- | --- |\n");
    for arg in args {
        let name = match (arg.get_long(), arg.get_short()) {
            (Some(long), Some(short)) => format!("`-{short}`, `--{long}`"),
            (Some(long), None) => format!("`--{long}`"),
            (None, Some(short)) => format!("`-{short}`"),
            (None, None) => format!("`{}`", arg.get_id().as_str().to_uppercase()),
        };
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let mut help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|_| arg.get_action().takes_values())
            .map(|v| v.get_name().to_owned())
            .collect();
        if !values.is_empty() {
            let _ = write!(help, " One of: {}.", values.join(", "));
        }
        if let Some(env) = arg.get_env() {
            let _ = write!(help, " Environment: {}.", env.to_string_lossy());
        }
        let _ = writeln!(
            out,
            "| {name} | {} | {} |",
            if defaults.is_empty() {
                "-".to_owned()
            } else {
                markdown(&defaults.join(", "))
            },
            markdown(&help)
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_and_flag_is_listed() {
        let page = page();
        for sub in Cli::command().get_subcommands() {
            assert!(
                page.contains(&format!("## `{}`", sub.get_name())),
                "{}",
                sub.get_name()
            );
            for arg in sub.get_arguments().filter_map(|a| a.get_long()) {
                if arg != "help" {
                    assert!(
                        page.contains(&format!("`--{arg}`")),
                        "{} --{arg}",
                        sub.get_name()
                    );
                }
            }
        }
        assert!(page.contains("`--root`"), "global options");
        assert!(page.contains("| `--out` | lineage\\-site |"), "{page}");
    }
}
