//! The errors a learner meets with `Send` across `.await`, and with a native `async fn` trait
//! used as `dyn`, pinned as compile-fail tests (`tests/ui/*.rs`, each with its `.stderr`).
//!
//! * `rc_across_await.rs`: an `Rc` held across an `.await` in `tokio::spawn`;
//! * `std_guard_across_await.rs`: a `std::sync::MutexGuard` held across one (pitfall 2 of
//!   `basics::pitfalls`);
//! * `native_async_trait_as_dyn.rs`: `dyn Trait` of a trait with a native `async fn` (E0038), the
//!   reason this crate's traits use `#[async_trait]`.
//!
//! trybuild compares the whole error text, normalised: it replaces paths, tokio's version and the
//! line numbers inside tokio, so only rustc's own wording remains. The files were written by
//! rustc 1.95; if a later compiler words an error differently, check that the error is still the
//! same one, then regenerate them: `TRYBUILD=overwrite cargo test --test compile_fail`.

#[test]
fn send_and_dyn_errors_stay_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
