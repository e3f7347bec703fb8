//! Facts about the code that runs, recorded with every materialization.

use std::sync::OnceLock;

/// The git commit of the working directory's repository, or `unknown`: the
/// fallback for assets defined at run time (factories). Assets marked
/// `#[asset]` carry the commit their crate was compiled from
/// ([`SourceLocation::git_commit`](crate::SourceLocation)).
///
/// Read once per process (`git rev-parse HEAD`); a dirty working tree is
/// marked with a `+dirty` suffix so an uncommitted change is never mistaken
/// for the committed code. `ASSETFLOW_GIT_COMMIT` overrides it (for builds
/// shipped without their repository).
pub fn git_commit() -> &'static str {
    static COMMIT: OnceLock<String> = OnceLock::new();
    COMMIT.get_or_init(|| {
        if let Ok(commit) = std::env::var("ASSETFLOW_GIT_COMMIT") {
            return commit;
        }
        let run = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .stderr(std::process::Stdio::null())
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        match run(&["rev-parse", "HEAD"]) {
            Some(head) if !head.is_empty() => {
                let dirty = run(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                if dirty { format!("{head}+dirty") } else { head }
            }
            _ => "unknown".into(),
        }
    })
}
