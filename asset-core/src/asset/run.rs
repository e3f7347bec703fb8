//! Running asset functions: sync ones off the async workers.

use crate::error::AssetError;

/// Runs a sync asset function on tokio's blocking pool so CPU-bound work never
/// stalls the async workers that drive IO. A panic becomes the step's error.
pub async fn run_blocking<F, R>(f: F) -> Result<R, AssetError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r),
        Err(e) if e.is_panic() => Err(AssetError::msg(format!(
            "panicked: {}",
            panic_message(&*e.into_panic())
        ))),
        Err(e) => Err(AssetError::msg(format!("cancelled: {e}"))),
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".into()
    }
}

/// Identity helper for the macro: the value an asset returned, as a result.
pub fn into_asset_result<T>(value: T) -> Result<T, AssetError> {
    Ok(value)
}
