//! What can go wrong with a whole batch, as opposed to one URL.
//!
//! One URL's failure is an [`HttpError`](crate::http::HttpError) in that URL's slot, and the
//! other URLs keep their pages. The batch itself fails only when a strategy breaks its promise
//! of one result per URL: then results can no longer be matched to their URLs, and both
//! contexts ([`Downloader`](super::Downloader), [`StaticDownloader`](super::StaticDownloader))
//! say so rather than hand them back. A strategy that panics breaks it too: the built-in ones
//! catch a fetcher's panic per URL, but a strategy of your own (an [`FnStrategy`] calling its
//! fetcher directly, say) has no slot to put it in, so the contexts catch it for the batch.
//!
//! [`FnStrategy`]: super::FnStrategy

/// Why a context could not hand back the results of a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StrategyError {
    /// The strategy broke its contract: it returned a number of results other than one per URL,
    /// so results can no longer be matched to their URLs.
    #[error("strategy {strategy:?} returned {got} results for {expected} URLs")]
    WrongCount {
        /// The strategy's name.
        strategy: String,
        /// How many URLs were given.
        expected: usize,
        /// How many results came back.
        got: usize,
    },
    /// The strategy panicked (in its own code, or in a fetcher it called without catching),
    /// so no result of the batch can be trusted. The panic was caught at the context.
    #[error("strategy {strategy:?} panicked: {message}")]
    Panicked {
        /// The strategy's name.
        strategy: String,
        /// The panic's message, when it had one.
        message: String,
    },
}
