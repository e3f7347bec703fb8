//! An `#[asset]`-only pipeline records the commit each asset was compiled
//! from, so a run must not ask git (or spawn anything else) for it: a
//! spy `git` first on `PATH` records every call, and a whole run of the
//! example must leave it uncalled.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn materializing_the_example_spawns_no_git_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    let calls = dir.path().join("git-calls");
    let spy = bin.join("git");
    std::fs::write(
        &spy,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", calls.display()),
    )
    .expect("spy script");
    std::fs::set_permissions(&spy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // The spy answers when called, so a broken PATH setup cannot pass.
    let probe = Command::new("git")
        .arg("probe")
        .env("PATH", &bin)
        .status()
        .expect("spy runs");
    assert!(probe.success());
    std::fs::remove_file(&calls).expect("probe was recorded");

    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env!("CARGO_BIN_EXE_recommender"))
        .args(["materialize", "--partition", "2024-01-01", "--root"])
        .arg(dir.path().join("data"))
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("ASSETFLOW_GIT_COMMIT")
        .env_remove("ASSETFLOW_ROOT")
        .output()
        .expect("example runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !calls.exists(),
        "the run called git: {}",
        std::fs::read_to_string(&calls).unwrap_or_default()
    );
}
