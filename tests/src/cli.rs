//! Running a pipeline binary as a user would, for the CLI tests: with a
//! root, arguments and extra environment, and nothing inherited that
//! would point it elsewhere (`ASSETFLOW_ROOT`).

use std::path::Path;
use std::process::{Command, Output};

/// Runs `binary --root ROOT ARGS...` with `env` set and waits for it.
/// Tests pass `env!("CARGO_BIN_EXE_fixture-pipeline")`, which only an
/// integration test can name.
pub fn run(binary: &str, root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(binary);
    cmd.arg("--root").arg(root).args(args);
    cmd.env_remove("ASSETFLOW_ROOT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the pipeline binary runs")
}

/// Output bytes as text, for assertions and messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
