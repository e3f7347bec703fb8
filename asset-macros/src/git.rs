//! The git commit of the crate being compiled, captured when `#[asset]`
//! expands, so provenance names the commit the code was *built* from.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `HEAD`'s commit of the repository holding the crate being compiled, with
/// `+dirty` when tracked files differ from it; `unknown` outside a repository
/// or without git. `ASSETFLOW_GIT_COMMIT` at build time overrides it (for
/// builds from a source archive).
///
/// Asked once per compiler run: every asset of a crate gets the same answer.
pub(crate) fn commit_of_crate_being_built() -> String {
    static COMMIT: OnceLock<String> = OnceLock::new();
    COMMIT
        .get_or_init(|| {
            if let Ok(commit) = std::env::var("ASSETFLOW_GIT_COMMIT") {
                return commit;
            }
            let dir = std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            let git = |args: &[&str]| {
                Command::new("git")
                    .arg("-C")
                    .arg(&dir)
                    .args(args)
                    .stdin(Stdio::null())
                    .stderr(Stdio::null())
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            };
            match git(&["rev-parse", "HEAD"]) {
                Some(head) if !head.is_empty() => {
                    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                        .is_some_and(|s| !s.is_empty());
                    if dirty { format!("{head}+dirty") } else { head }
                }
                _ => "unknown".to_owned(),
            }
        })
        .clone()
}
