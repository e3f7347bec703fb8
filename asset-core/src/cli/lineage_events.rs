//! OpenLineage events from the commands that run steps (`materialize`,
//! `daemon`): `[openlineage]` is checked before anything runs, events go
//! out on a background thread while the command goes on, and at its end
//! the command waits a bounded time for them and prints what each sink
//! took.

use std::path::Path;
use std::sync::Arc;

use crate::config::ConfigFile;
use crate::error::Error;
use crate::materialize::Materializer;
use crate::openlineage::OpenLineage;

/// The emitter `[openlineage]` in the file at `config` asks for (`None`
/// without the section); a mistake is a usage error naming file and line.
pub(super) fn start(config: &Path) -> Result<Option<Arc<OpenLineage>>, Error> {
    let file = ConfigFile::load_given(config)?;
    Ok(OpenLineage::from_config(&file)?.map(Arc::new))
}

/// `materializer`, telling `lineage` about its runs.
pub(super) fn attach(
    materializer: Materializer,
    lineage: Option<&Arc<OpenLineage>>,
) -> Materializer {
    match lineage {
        Some(lineage) => materializer.with_listener(lineage.clone()),
        None => materializer,
    }
}

/// Waits for the queued events and prints one line per sink: how many
/// were delivered and, if any were not, how many and why.
pub(super) fn finish(lineage: Option<Arc<OpenLineage>>) {
    let Some(lineage) = lineage else {
        return;
    };
    for tally in lineage.finish() {
        if tally.undelivered > 0 {
            tracing::warn!("{}", tally.summary());
        }
        // At the very end of the run: a failed write changes nothing of it.
        let _ = crate::cli::output::write(&format!("{}\n", tally.summary()));
    }
}
