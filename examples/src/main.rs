//! The `recommender` binary: the asset-core CLI over the recommender assets.

fn main() -> std::process::ExitCode {
    examples::recommender::link();
    asset_core::cli::main()
}
