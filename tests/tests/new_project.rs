//! A new user's first project, outside this workspace: the `Cargo.toml`
//! snippet of README.md and the code of the book's "Getting started",
//! written to a temporary folder, built with cargo and run. If either
//! drifts from what works, this fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_path_buf()
}

/// The body of the first fenced block opening with `fence` after `after`.
fn block<'a>(text: &'a str, after: &str, fence: &str) -> &'a str {
    let from = text
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not found"));
    let rest = &text[from..];
    let open = rest
        .find(&format!("```{fence}\n"))
        .unwrap_or_else(|| panic!("no ```{fence} block after {after:?}"));
    let body = &rest[open + fence.len() + 4..];
    let close = body.find("\n```").expect("the block is closed");
    &body[..=close]
}

/// A rustdoc block as its source file: hidden lines (`# ...`) are the
/// doctest's scaffolding, and so is its hidden `fn main` with the checks
/// inside it, which the project replaces with the CLI's.
fn without_hidden_lines(code: &str) -> String {
    let mut out = String::new();
    let mut in_hidden_main = false;
    for line in code.lines() {
        if line.starts_with("# fn main") {
            in_hidden_main = true;
        } else if in_hidden_main && line == "# }" {
            in_hidden_main = false;
        } else if !in_hidden_main && !line.starts_with("# ") && line != "#" {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_readme_snippet_and_the_getting_started_code_build_and_run_as_a_new_crate() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let manifest = block(&readme, "## Your own pipeline", "toml");
    let placeholder = r#"path = "../assetflow/asset-core""#;
    assert!(manifest.contains(placeholder), "{manifest}");
    let manifest = manifest.replace(
        placeholder,
        &format!("path = {:?}", root.join("asset-core").display().to_string()),
    );
    let chapter = std::fs::read_to_string(root.join("book/src/getting-started.md"))
        .expect("getting-started.md");
    let assets = block(&chapter, "## Your first asset", "rust,standalone_crate");
    let main = block(
        &chapter,
        "Give the binary the CLI",
        "rust,no_run,standalone_crate",
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("my-pipeline");
    std::fs::create_dir_all(project.join("src")).expect("src");
    std::fs::write(project.join("Cargo.toml"), manifest).expect("Cargo.toml");
    std::fs::write(
        project.join("src/main.rs"),
        format!("{}\n{main}", without_hidden_lines(assets)),
    )
    .expect("main.rs");
    // The workspace's lock: the same dependency versions, so `--offline`
    // finds them all in the local registry cache.
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).expect("Cargo.lock");

    // Built in trybuild's target folder: the macro's compile tests build
    // the same dependencies there (outside the workspace, with the same
    // profile), so this reuses them instead of compiling arrow and parquet
    // once more; cargo's lock on the folder orders the two builds.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("tests")
        .join("trybuild");
    let cargo = Path::new(env!("CARGO"));
    let mut build = Command::new(cargo);
    build
        .args(["build", "--offline", "--quiet", "--bin", "my-pipeline"])
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS");
    // The compiler of this build, not whatever toolchain the temporary
    // folder would resolve to.
    let rustc = cargo.with_file_name("rustc");
    if rustc.exists() {
        build.env("RUSTC", rustc);
    }
    let build = build.output().expect("cargo runs");
    assert!(
        build.status.success(),
        "the new project does not build:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let binary = target.join("debug").join("my-pipeline");
    let data = dir.path().join("data");
    let run = |args: &[&str]| {
        let out = Command::new(&binary)
            .args(args)
            .arg("--root")
            .arg(&data)
            .current_dir(&project)
            .env_remove("ASSETFLOW_ROOT")
            .output()
            .expect("the pipeline runs");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let list = run(&["list"]);
    assert!(
        list.contains("orders") && list.contains("revenue"),
        "{list}"
    );
    let first = run(&["materialize", "--partition", "2024-01-01"]);
    assert!(first.contains("2 materialized"), "{first}");
    let again = run(&["materialize", "--partition", "2024-01-01"]);
    assert!(again.contains("0 materialized, 2 fresh"), "{again}");
}
