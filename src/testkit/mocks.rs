//! The mockall mocks of every trait a user implements, generated here once.
//!
//! Each is `mockall::mock!` over the trait's `#[async_trait]` signature (or, for
//! [`NativeFetch`], its native `async fn`): set expectations with `expect_<method>()`, `times`,
//! `withf`, `returning` and `in_sequence`. Async methods return ready values; wrap a mock in
//! [`Delayed`](super::Delayed) to make it take (virtual) time (all but `MockNativeFetch`:
//! `Delayed` implements the `#[async_trait]` traits, and `NativeFetch` is not one).
//! The module is private and its mocks re-exported, so mockall's helper modules stay out of the
//! docs.

use std::sync::Arc;

use async_trait::async_trait;

use crate::factory::{Device, DeviceError};
use crate::http::{BoxError, HttpError, HttpGet};
use crate::observer::Observer;
use crate::pipeline::plan::{Step, StepContext, StepError};
use crate::pipeline::stream::Stage;
use crate::strategy::{FetchStrategy, Fetched, NativeFetch};

mockall::mock! {
    /// A mock [`HttpGet`]: `expect_get()`.
    pub HttpGet {}
    #[async_trait]
    impl HttpGet for HttpGet {
        async fn get(&self, url: &str) -> Result<String, HttpError>;
    }
}

mockall::mock! {
    /// A mock [`FetchStrategy`]: `expect_name()`, `expect_fetch_all()`.
    pub FetchStrategy {}
    #[async_trait]
    impl FetchStrategy for FetchStrategy {
        fn name(&self) -> &str;
        async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
    }
}

mockall::mock! {
    /// A mock [`NativeFetch`], the strategy trait of static dispatch: `expect_name()`,
    /// `expect_fetch_all()`. Hand it to a
    /// [`StaticDownloader`](crate::strategy::StaticDownloader). mockall writes the trait's
    /// `-> impl Future + Send` as an `async fn`, so expectations return the results themselves,
    /// not futures.
    pub NativeFetch {}
    impl NativeFetch for NativeFetch {
        fn name(&self) -> &str;
        async fn fetch_all(&self, http: &Arc<dyn HttpGet>, urls: &[String]) -> Fetched;
    }
}

mockall::mock! {
    /// A mock [`Device`]: `expect_name()`, `expect_kind()`, `expect_send()`.
    pub Device {}
    #[async_trait]
    impl Device for Device {
        fn name(&self) -> &str;
        fn kind(&self) -> &str;
        async fn send(&self, message: &str) -> Result<String, DeviceError>;
    }
}

mockall::mock! {
    /// A mock [`Observer`] of events of type `E`: `expect_notify()`.
    pub Observer<E: Send + Sync + 'static> {}
    #[async_trait]
    impl<E: Send + Sync + 'static> Observer<E> for Observer<E> {
        async fn notify(&self, event: &E) -> Result<(), BoxError>;
    }
}

mockall::mock! {
    /// A mock [`Step`]: `expect_name()`, `expect_run()`.
    pub Step {}
    #[async_trait]
    impl Step for Step {
        fn name(&self) -> &str;
        async fn run(&self, cx: &StepContext) -> Result<(), StepError>;
    }
}

mockall::mock! {
    /// A mock [`Stage`] from `String` to `String` (a URL to a body, a body to a summary): the
    /// most common shape. Another shape is a few lines: see the [testkit](crate::testkit) docs.
    pub Stage {}
    #[async_trait]
    impl Stage<String, String> for Stage {
        async fn process(&self, input: String) -> Result<String, BoxError>;
    }
}
