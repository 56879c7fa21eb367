//! The errors a learner meets with `Send` across `.await`, pinned as compile-fail tests.

#[test]
fn send_errors_across_await() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
