//! Fixtures for the cross-crate integration tests: small pipelines built at
//! run time (asset factories) whose behaviour a test can steer — fail, panic
//! or sleep in a chosen asset — so whole runs can be checked end to end.

pub mod cli;
pub mod fixtures;
pub mod http_receiver;
pub mod webhook;
