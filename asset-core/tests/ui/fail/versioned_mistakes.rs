use asset_core::prelude::*;

#[versioned]
pub struct NotAFunction;

#[versioned(versoin = "2")]
fn misspelled() {}

#[versioned(uses = [itself])]
fn itself() {}

#[versioned]
fn helper() {}

#[asset(uses = [helper, helper])]
fn twice() {}

fn main() {}
