//! Running CPU-bound or blocking work off the async runtime's worker threads.

use std::future::Future;

/// Runs `job` on tokio's blocking pool when called inside a tokio runtime,
/// else on a new thread, so the IO managers also work under other executors.
///
/// The future resolves to `None` if the job panicked (or its thread could not
/// be started).
pub(crate) fn run<T, F>(job: F) -> impl Future<Output = Option<T>> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job = move || {
        // The receiver is gone only if the caller stopped waiting.
        let _ = tx.send(job());
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            drop(handle.spawn_blocking(job));
        }
        Err(_) => {
            if let Err(e) = std::thread::Builder::new()
                .name("io-managers-blocking".into())
                .spawn(job)
            {
                tracing::error!("cannot start a thread: {e}");
            }
        }
    }
    async move { rx.await.ok() }
}
