//! Test support shared with other crates' tests (the api's): services a test needs, created
//! fresh per test and removed after. Not part of the supported API.

pub mod postgres;
